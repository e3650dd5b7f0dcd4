use awaitly::{await_hook, workflow};

struct Refund {
    id: u32,
}

#[workflow]
async fn approval() -> Result<bool, String> {
    let approved: bool = await_hook!("manager", metadata = Refund { id: 12 });
    Ok(approved)
}

fn main() {}
