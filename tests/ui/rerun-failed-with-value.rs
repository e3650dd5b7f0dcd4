use awaitly::{step, workflow};

#[workflow(rerun_failed = true)]
async fn charge() -> Result<u32, String> {
    step!("charge", Ok::<u32, String>(1))
}

fn main() {}
