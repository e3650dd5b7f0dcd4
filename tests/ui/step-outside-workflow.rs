use awaitly::step;

async fn load() -> Result<u32, String> {
    Ok(1)
}

async fn checkout() -> Result<u32, String> {
    step!(load().await)
}

fn main() {}
