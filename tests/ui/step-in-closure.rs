use awaitly::{step, workflow};

fn price(item: u32) -> Result<u32, String> {
    Ok(item * 10)
}

#[workflow]
async fn checkout(items: Vec<u32>) -> Result<u32, String> {
    let prices = items
        .iter()
        .map(|item| step!(price(*item)))
        .collect::<Result<Vec<u32>, String>>()?;
    Ok(prices.iter().sum())
}

fn main() {}
