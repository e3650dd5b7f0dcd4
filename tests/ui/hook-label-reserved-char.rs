use awaitly::{await_hook, workflow};

#[workflow]
async fn approval() -> Result<bool, String> {
    let approved: bool = await_hook!("manager[1]");
    Ok(approved)
}

fn main() {}
