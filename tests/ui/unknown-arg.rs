use awaitly::{Outcome, step, workflow};

async fn load() -> Result<u32, String> {
    Ok(1)
}

#[workflow(name = "checkout")]
async fn checkout() -> Result<u32, String> {
    step!(load().await)
}

async fn caller() -> bool {
    let run = checkout().start().await;
    matches!(run.outcome, Outcome::Completed(1))
}

fn main() {
    let _ = caller;
}
