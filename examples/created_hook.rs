//! A hook created inside the workflow: `await_hook!("label")` mints the hook id on first execution,
//! records it in the resume state, and every replay reuses it — so the id in the callback URL
//! always finds the run (awaitly's `createHook()` inside a workflow mints a new id on each replay
//! and never resumes).
//!
//! Run: `cargo run --example created_hook`. Expected output: the run suspends with a hook id, a
//! replay without a payload suspends at the same id, and after injecting the approval the run
//! completes with the refund.

use awaitly::{Outcome, ResumeState, await_hook, inject_hook, step, workflow};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Approval {
    approved_by: String,
}

#[workflow]
async fn refund(order_id: String, amount_cents: u64) -> Result<String, String> {
    let approval: Approval = await_hook!(
        "manager-approval",
        metadata = serde_json::json!({ "orderId": order_id })
    );
    step!(
        "issue-refund",
        Ok::<String, String>(format!(
            "refunded {amount_cents} cents on {order_id}, approved by {}",
            approval.approved_by
        ))
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let run = refund("ord_7".into(), 1500).run(ResumeState::new()).await;
        let hook_id = run
            .outcome
            .pending_hook()
            .expect("waits for the manager")
            .hook_id
            .clone();
        println!("1. suspended; approval URL: POST /approvals/{hook_id}");

        let replay = refund("ord_7".into(), 1500).run(run.state.clone()).await;
        let same = replay
            .outcome
            .pending_hook()
            .expect("still waiting")
            .hook_id
            .clone();
        println!(
            "2. replayed without a payload: still waiting at {same} (same id: {})",
            same == hook_id
        );
        assert_eq!(same, hook_id);

        let stored = run.state.to_json();
        let state = ResumeState::from_json(&stored).expect("valid state");
        let state = inject_hook(
            &state,
            &hook_id,
            &Approval {
                approved_by: "grace".into(),
            },
        )
        .expect("pending");
        match refund("ord_7".into(), 1500).run(state).await.outcome {
            Outcome::Completed(message) => println!("3. completed: {message}"),
            other => panic!("expected completion, got {other:?}"),
        }
    });
}
