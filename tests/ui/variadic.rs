use awaitly::workflow;

#[workflow]
async fn sum(count: u32, _: ...) -> Result<u32, String> {
    Ok(count)
}

fn main() {}
