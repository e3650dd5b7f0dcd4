use awaitly::workflow;

async fn load() -> Result<u32, String> {
    Ok(1)
}

#[workflow]
async fn checkout() -> Result<usize, String> {
    let loaded = vec![awaitly::step!(load().await)?];
    Ok(loaded.len())
}

fn main() {}
