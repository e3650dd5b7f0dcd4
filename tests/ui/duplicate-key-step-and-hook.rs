use awaitly::{await_hook, step, workflow};

async fn approve() -> Result<bool, String> {
    Ok(true)
}

#[workflow]
async fn approval() -> Result<bool, String> {
    let approved: bool = await_hook!("approve");
    let checked = step!(approve().await)?;
    Ok(approved && checked)
}

fn main() {}
