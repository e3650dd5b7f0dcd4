use awaitly::{step, workflow};

async fn load(id: u32) -> Result<u32, String> {
    Ok(id)
}

#[workflow]
async fn checkout() -> Result<u32, String> {
    let first = step!(load(1).await)?;
    let second = step!(load(2).await)?;
    Ok(first + second)
}

fn main() {}
