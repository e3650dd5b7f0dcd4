use awaitly::{step, workflow};

async fn load() -> Result<u32, String> {
    Ok(1)
}

async fn charge(amount: Result<u32, String>) -> Result<u32, String> {
    amount
}

#[workflow]
async fn checkout() -> Result<u32, String> {
    step!("charge", charge(step!(load().await)).await)
}

fn main() {}
