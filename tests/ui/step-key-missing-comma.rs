use awaitly::{step, workflow};

async fn charge(item: u32) -> Result<u32, String> {
    Ok(item)
}

#[workflow]
async fn checkout(item: u32) -> Result<u32, String> {
    let charged = step!("charge", key = item charge(item).await)?;
    Ok(charged)
}

fn main() {}
