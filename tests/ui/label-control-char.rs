use awaitly::{step, workflow};

async fn load() -> Result<u32, String> {
    Ok(1)
}

#[workflow]
async fn checkout() -> Result<u32, String> {
    step!("load\n", load().await)
}

fn main() {}
