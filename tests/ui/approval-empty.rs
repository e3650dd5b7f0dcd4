use awaitly::{ApprovalError, await_approval, workflow};

#[workflow]
async fn refund() -> Result<bool, String> {
    let approved: Result<bool, ApprovalError> = await_approval!();
    approved.map_err(|error| error.to_string())
}

fn main() {}
