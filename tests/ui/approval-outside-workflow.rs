use awaitly::await_approval;

async fn not_a_workflow() -> Result<bool, awaitly::ApprovalError> {
    await_approval!("approve:1")
}

fn main() {}
