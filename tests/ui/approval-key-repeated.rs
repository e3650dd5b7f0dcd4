use awaitly::{ApprovalError, await_approval, workflow};

#[workflow]
async fn refund(large: bool) -> Result<u32, String> {
    let approved: Result<u32, ApprovalError> = await_approval!("approve:refund");
    let again: Result<u32, ApprovalError> = await_approval!("approve:refund", reason = "twice");
    let first = approved.map_err(|error| error.to_string())?;
    let second = again.map_err(|error| error.to_string())?;
    Ok(if large { first } else { second })
}

fn main() {}
