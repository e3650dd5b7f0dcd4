use awaitly::{sleep, step, workflow};

#[workflow]
async fn remind() -> Result<u32, String> {
    sleep!("wait", std::time::Duration::from_secs(1));
    step!("wait", Ok::<u32, String>(1))
}

fn main() {}
