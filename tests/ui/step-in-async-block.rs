use awaitly::{step, workflow};

async fn charge(item: u32) -> Result<u32, String> {
    Ok(item)
}

#[workflow]
async fn checkout(item: u32) -> Result<u32, String> {
    let charged = async { step!(charge(item).await) };
    let charged = charged.await?;
    Ok(charged + 1)
}

fn main() {}
