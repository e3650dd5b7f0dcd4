use awaitly::{race, workflow};

#[workflow]
async fn quote() -> Result<u8, String> {
    let first: u8 = race!("quote");
    Ok(first)
}

fn main() {}
