use awaitly::{step, workflow};

async fn charge(item: u32) -> Result<u32, String> {
    Ok(item)
}

#[workflow]
async fn checkout(item: u32) -> Result<u32, String> {
    async fn helper(item: u32) -> Result<u32, String> {
        step!(charge(item).await)
    }
    helper(item).await
}

fn main() {}
