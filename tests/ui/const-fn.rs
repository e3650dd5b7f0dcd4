use awaitly::workflow;

#[workflow]
const async fn charge(amount: u32) -> Result<u32, String> {
    Ok(amount)
}

fn main() {}
