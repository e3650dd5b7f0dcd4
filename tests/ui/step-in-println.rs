use awaitly::{step, workflow};

async fn load() -> Result<u32, String> {
    Ok(1)
}

#[workflow]
async fn checkout() -> Result<u32, String> {
    println!("loaded {:?}", step!(load().await));
    Ok(1)
}

fn main() {}
