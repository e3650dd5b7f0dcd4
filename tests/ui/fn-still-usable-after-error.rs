use awaitly::{Outcome, step, workflow};

async fn load() -> Result<u32, String> {
    Ok(1)
}

#[workflow]
fn checkout(extra: u32) -> Result<u32, String> {
    let loaded = step!(load().await)?;
    Ok(loaded + extra)
}

async fn caller() -> bool {
    let run = checkout(1).start().await;
    matches!(run.outcome, Outcome::Completed(2))
}

fn main() {
    let _ = caller;
}
