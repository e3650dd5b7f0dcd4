use awaitly::workflow;

#[workflow(crate = "awaitly runtime")]
async fn checkout() -> Result<(), String> {
    Ok(())
}

fn main() {}
