use awaitly::{ApprovalError, await_approval, workflow};

#[workflow]
async fn refunds(ids: Vec<u32>) -> Result<u32, String> {
    let mut total = 0;
    for id in ids {
        let approved: Result<u32, ApprovalError> = await_approval!("approve:refund");
        total += approved.map_err(|error| error.to_string())? + id;
    }
    Ok(total)
}

fn main() {}
