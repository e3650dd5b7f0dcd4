use awaitly::{step, workflow};

#[workflow]
async fn checkout(loaded: Result<u8, String>) -> Result<u8, String> {
    step!(loaded)
}

fn main() {}
