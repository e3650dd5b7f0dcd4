use std::time::Duration;

use awaitly::{step, workflow};

async fn charge() -> Result<u32, String> {
    Ok(1)
}

#[workflow]
async fn checkout() -> Result<u32, String> {
    step!("charge", timeout = Duration::from_secs(1), charge().await)
}

fn main() {}
