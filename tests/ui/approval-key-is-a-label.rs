use awaitly::{ApprovalError, await_approval, step, workflow};

#[workflow]
async fn refund() -> Result<u32, String> {
    let amount = step!("refund", Ok::<u32, String>(120))?;
    let approved: Result<u32, ApprovalError> = await_approval!("refund", reason = "over the limit");
    approved.map(|value| value.min(amount)).map_err(|error| error.to_string())
}

fn main() {}
