use awaitly::{step, workflow};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct GatewayDown;

async fn charge() -> Result<u32, GatewayDown> {
    Err(GatewayDown)
}

#[workflow]
async fn checkout() -> Result<u32, GatewayDown> {
    step!(charge().await)
}

fn main() {}
