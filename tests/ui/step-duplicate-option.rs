use awaitly::{step, workflow};

async fn charge(item: u32) -> Result<u32, String> {
    Ok(item)
}

#[workflow]
async fn checkout(item: u32) -> Result<u32, String> {
    step!("charge", key = item, key = item + 1, charge(item).await)
}

fn main() {}
