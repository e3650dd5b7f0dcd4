use awaitly::{step, workflow};

#[workflow]
async fn checkout(item: u32) -> Result<u32, String> {
    step!("charge", key = item)
}

fn main() {}
