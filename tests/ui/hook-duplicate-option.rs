use awaitly::{await_hook, workflow};

#[workflow]
async fn approval() -> Result<bool, String> {
    let approved: bool = await_hook!("manager", metadata = 1, metadata = 2);
    Ok(approved)
}

fn main() {}
