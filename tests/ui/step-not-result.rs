use awaitly::{step, workflow};

async fn load() -> u32 {
    1
}

#[workflow]
async fn checkout() -> Result<u32, String> {
    let loaded = step!(load().await);
    Ok(loaded)
}

fn main() {}
