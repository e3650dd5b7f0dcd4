use awaitly::{ApprovalError, await_approval, workflow};

#[workflow]
async fn refund() -> Result<u32, String> {
    let empty: Result<u32, ApprovalError> = await_approval!("");
    let reserved: Result<u32, ApprovalError> = await_approval!("approve[1]");
    let control: Result<u32, ApprovalError> = await_approval!("approve\t1");
    let hook: Result<u32, ApprovalError> = await_approval!("hook:approve");
    let sum = [empty, reserved, control, hook]
        .into_iter()
        .map(|approved| approved.map_err(|error| error.to_string()))
        .sum::<Result<u32, String>>()?;
    Ok(sum)
}

fn main() {}
