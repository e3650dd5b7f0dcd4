use awaitly::{step, workflow};
use serde::Deserialize;

#[derive(Deserialize)]
struct Order {
    id: u32,
}

async fn create_order() -> Result<Order, String> {
    Ok(Order { id: 1 })
}

#[workflow]
async fn checkout() -> Result<u32, String> {
    let order = step!(create_order().await)?;
    Ok(order.id)
}

fn main() {}
