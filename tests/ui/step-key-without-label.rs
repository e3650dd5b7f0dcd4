use awaitly::{step, workflow};

async fn charge(item: u32) -> Result<u32, String> {
    Ok(item)
}

#[workflow]
async fn checkout(items: Vec<u32>) -> Result<u32, String> {
    let mut total = 0;
    for item in items {
        total += step!(key = item, charge(item).await)?;
    }
    Ok(total)
}

fn main() {}
