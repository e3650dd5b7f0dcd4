use awaitly::{await_hook, workflow};

#[workflow]
async fn approval() -> Result<bool, String> {
    let approved: bool = await_hook!("manager", metadata = "refund" key = 1);
    Ok(approved)
}

fn main() {}
