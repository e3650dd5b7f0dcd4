use awaitly::{await_hook, workflow};

#[workflow]
async fn approval() -> Result<bool, String> {
    let approved: bool = await_hook!("manager", "refund #12");
    Ok(approved)
}

fn main() {}
