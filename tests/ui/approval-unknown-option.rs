use awaitly::{ApprovalError, await_approval, workflow};

#[workflow]
async fn refund(id: u32) -> Result<bool, String> {
    let approved: Result<bool, ApprovalError> = await_approval!(format!("approve:{id}"), approver = "grace");
    approved.map_err(|error| error.to_string())
}

fn main() {}
