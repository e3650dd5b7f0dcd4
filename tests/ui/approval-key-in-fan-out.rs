use awaitly::{ApprovalError, await_approval, fan_out, workflow};

#[workflow]
async fn refunds(orders: Vec<u32>) -> Result<Vec<u32>, String> {
    let decided = fan_out!("refund-all", order in orders, key = order, {
        let decision: Result<u32, ApprovalError> = await_approval!("approve:refund");
        decision.map(|cents| cents + order).map_err(|error| error.to_string())
    });
    decided.into_iter().collect()
}

fn main() {}
