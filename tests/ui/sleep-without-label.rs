use awaitly::{sleep, workflow};

#[workflow]
async fn reminder() -> Result<(), String> {
    sleep!(std::time::Duration::from_secs(1));
    Ok(())
}

fn main() {}
