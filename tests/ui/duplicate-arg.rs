use awaitly::workflow;

#[workflow(crate = "::awaitly", crate = "::awaitly")]
async fn checkout() -> Result<(), String> {
    Ok(())
}

fn main() {}
