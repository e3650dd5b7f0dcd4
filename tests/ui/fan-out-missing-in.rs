use awaitly::{fan_out, step, workflow};

#[workflow]
async fn ship(orders: Vec<u8>) -> Result<Vec<u8>, String> {
    let shipped = fan_out!("ship-all", order orders, step!("ship", Ok::<u8, String>(order)));
    shipped.into_iter().collect()
}

fn main() {}
