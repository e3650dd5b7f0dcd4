use awaitly::{step, workflow};

async fn load() -> Result<u32, String> {
    Ok(1)
}

#[workflow]
async fn checkout() -> Result<u32, String> {
    let loaded = step!("a#2", load().await)?;
    Ok(loaded + 1)
}

fn main() {}
