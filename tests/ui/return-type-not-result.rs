use awaitly::workflow;

#[workflow]
async fn total(amount: u32) -> u32 {
    amount
}

fn main() {}
