use awaitly::{await_hook, workflow};

#[workflow]
async fn approval() -> Result<bool, String> {
    let approved: bool = await_hook!();
    Ok(approved)
}

fn main() {}
