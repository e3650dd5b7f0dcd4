//! Issue 12's shapes, both ways, each after a round trip through the other side's serialiser:
//!
//! * awaitly → Rust: `tests/fixtures/awaitly/<name>.json` (written by awaitly) replays here; read
//!   and written back by us (`from_json` + `to_json`) it becomes
//!   `tests/fixtures/awaitly-via-rust/<name>.json`, which must be awaitly's text again, byte for
//!   byte — `interop/verify-rust-states.mjs` replays it in awaitly.
//! * Rust → awaitly: states we write go to `tests/fixtures/rust/<name>.json` (awaitly replays them
//!   in `verify-rust-states.mjs`); `interop/generate.mjs` passes each through awaitly's
//!   `deserializeResumeState` + `serializeResumeState` into
//!   `tests/fixtures/rust-via-awaitly/<name>.json`, which must replay here exactly as ours does.

use std::future::Future;
use std::sync::Arc;

use awaitly::{ApprovalDecision, ManualClock, Outcome, ResumeState, Suspension, inject_hook};
use serde_json::json;

use crate::workflows::{
    APPROVAL_KEY, CREATED_HOOK_ID, Calls, NOTE_HOOK_ID, T0, WAKE_AT, created_hook, nap,
    nested_cause, notes, refund, undefined_values,
};
use crate::{AWAITLY_NAMES, check_fixture, read_fixture};

fn at(millis: u64) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(millis))
}

fn awaitly_state(name: &str) -> ResumeState {
    ResumeState::from_json(&read_fixture("awaitly", name)).expect("awaitly's JSON decodes")
}

/// Replays `rust/<name>.json` and `rust-via-awaitly/<name>.json` (the same state after awaitly's
/// serialiser dropped our markers and extra fields) and expects the same outcome and the same
/// executions: what awaitly keeps is all a replay needs.
async fn same_after_awaitly<F, Fut>(name: &str, replay: F)
where
    F: Fn(ResumeState, Calls) -> Fut,
    Fut: Future<Output = String>,
{
    let mut outcomes = Vec::new();
    for dir in ["rust", "rust-via-awaitly"] {
        let text = read_fixture(dir, name);
        assert!(
            !text.is_empty(),
            "{dir}/{name}.json is missing: run node interop/generate.mjs"
        );
        let state =
            ResumeState::from_json(&text).unwrap_or_else(|error| panic!("{dir}/{name}: {error}"));
        let calls = Calls::default();
        let outcome = replay(state, calls.clone()).await;
        assert!(!outcome.starts_with("Stopped"), "{dir}/{name}: {outcome}");
        outcomes.push((outcome, calls.count()));
    }
    assert_eq!(
        outcomes[0], outcomes[1],
        "{name}: ours vs after awaitly's round trip"
    );
}

async fn replay_refund(state: ResumeState, calls: Calls) -> String {
    format!("{:?}", refund(calls).clock(at(T0)).run(state).await.outcome)
}

#[tokio::test]
async fn approvals_pending_granted_edited_rejected_expired_both_ways() {
    // awaitly → Rust.
    let run = refund(Calls::default())
        .run(awaitly_state("approval-pending"))
        .await;
    let Outcome::Suspended(Suspension::Approval(request)) = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(request.step_key, APPROVAL_KEY);
    assert_eq!(request.reason.as_deref(), Some("refund over the limit"));
    assert_eq!(request.metadata, Some(json!({ "amount": 150 })));
    for (name, expected, executed) in [
        ("approval-granted", Ok("refunded 120"), 1),
        ("approval-edited", Ok("refunded 80"), 0),
        ("approval-rejected", Err("was rejected: over budget"), 0),
        (
            "approval-expired",
            Err("was rejected: Approval request expired"),
            0,
        ),
    ] {
        let calls = Calls::default();
        let run = refund(calls.clone()).run(awaitly_state(name)).await;
        match (&run.outcome, expected) {
            (Outcome::Completed(done), Ok(expected)) => assert_eq!(done, expected, "{name}"),
            (Outcome::Failed(error), Err(expected)) => {
                assert!(error.ends_with(expected), "{name}: {error}");
            }
            (other, _) => panic!("{name}: {other:?}"),
        }
        assert_eq!(calls.count(), executed, "{name}");
    }

    // Rust → awaitly: requested at T0 (deadline in an hour), decided at T0 + 1 s, expired at the
    // deadline.
    let pending = refund(Calls::default()).clock(at(T0)).start().await;
    assert!(matches!(
        pending.outcome,
        Outcome::Suspended(Suspension::Approval(_))
    ));
    check_fixture("rust", "approval-pending", &pending.state);
    for (name, decision) in [
        ("approval-granted", ApprovalDecision::Grant(json!(120))),
        ("approval-edited", ApprovalDecision::Edit(json!(80))),
        (
            "approval-rejected",
            ApprovalDecision::Reject("over budget".into()),
        ),
    ] {
        let mut decided = pending.state.clone();
        decided
            .decide_approval(APPROVAL_KEY, &decision, Some("grace"), T0 + 1_000)
            .unwrap();
        check_fixture("rust", name, &decided);
    }
    let expired = refund(Calls::default())
        .clock(at(T0 + 3_600_000))
        .run(pending.state)
        .await;
    assert!(matches!(&expired.outcome, Outcome::Failed(error) if error.contains("expired")));
    check_fixture("rust", "approval-expired", &expired.state);

    for name in [
        "approval-pending",
        "approval-granted",
        "approval-edited",
        "approval-rejected",
        "approval-expired",
    ] {
        same_after_awaitly(name, replay_refund).await;
    }
}

async fn replay_created_hook(state: ResumeState, calls: Calls) -> String {
    format!(
        "{:?}",
        created_hook(calls).clock(at(T0)).run(state).await.outcome
    )
}

#[tokio::test]
async fn created_hooks_both_ways() {
    // awaitly → Rust: the id is a plain step value there.
    let run = created_hook(Calls::default())
        .run(awaitly_state("created-hook-pending"))
        .await;
    let pending = run
        .outcome
        .pending_hook()
        .expect("suspended at the created hook");
    assert_eq!(pending.hook_id.as_str(), CREATED_HOOK_ID);
    assert_eq!(pending.metadata, Some(json!({ "orderId": "ord_1" })));
    let calls = Calls::default();
    let run = created_hook(calls.clone())
        .run(awaitly_state("created-hook-delivered"))
        .await;
    assert!(
        matches!(&run.outcome, Outcome::Completed(done) if done == "paid 7"),
        "{:?}",
        run.outcome
    );
    assert_eq!(calls.count(), 1);

    // Rust → awaitly. The id is minted at random on a first run: an earlier run's is given here,
    // so the fixture stays the same.
    let minted = ResumeState::from_json(
        r#"{"kind":"ResumeState","steps":[["payment",{"ok":true,"value":"hook-created-1","createdHook":true}]]}"#,
    )
    .unwrap();
    let suspended = created_hook(Calls::default())
        .clock(at(T0))
        .run(minted)
        .await;
    assert!(suspended.outcome.pending_hook().is_some());
    check_fixture("rust", "created-hook-pending", &suspended.state);
    let delivered = inject_hook(&suspended.state, &CREATED_HOOK_ID.into(), &7).unwrap();
    check_fixture("rust", "created-hook-delivered", &delivered);

    for name in ["created-hook-pending", "created-hook-delivered"] {
        same_after_awaitly(name, replay_created_hook).await;
    }
}

async fn replay_nap(name: &str, state: ResumeState, calls: Calls) -> String {
    let now = if name == "sleep-done" { WAKE_AT } else { T0 };
    format!("{:?}", nap(calls).clock(at(now)).run(state).await.outcome)
}

#[tokio::test]
async fn sleeps_both_ways() {
    // awaitly → Rust: `{"wakeAt": …}` without our `sleep` marker.
    let early = nap(Calls::default())
        .clock(at(T0))
        .run(awaitly_state("sleep-waiting"))
        .await;
    assert!(
        matches!(
            early.outcome,
            Outcome::Suspended(Suspension::Sleep {
                wake_at_ms: WAKE_AT,
                ..
            })
        ),
        "{:?}",
        early.outcome
    );
    let calls = Calls::default();
    let due = nap(calls.clone())
        .clock(at(WAKE_AT))
        .run(awaitly_state("sleep-waiting"))
        .await;
    assert!(matches!(&due.outcome, Outcome::Completed(done) if done == "rested"));
    assert_eq!(calls.count(), 1);
    let calls = Calls::default();
    let done = nap(calls.clone())
        .clock(at(WAKE_AT))
        .run(awaitly_state("sleep-done"))
        .await;
    assert!(matches!(&done.outcome, Outcome::Completed(done) if done == "rested"));
    assert_eq!(calls.count(), 0);

    // Rust → awaitly.
    let waiting = nap(Calls::default()).clock(at(T0)).start().await;
    check_fixture("rust", "sleep-waiting", &waiting.state);
    let done = nap(Calls::default())
        .clock(at(WAKE_AT))
        .run(waiting.state)
        .await;
    assert!(done.outcome.is_completed());
    check_fixture("rust", "sleep-done", &done.state);

    for name in ["sleep-waiting", "sleep-done"] {
        same_after_awaitly(name, |state, calls| replay_nap(name, state, calls)).await;
    }
}

#[tokio::test]
async fn nested_causes_both_ways() {
    // awaitly → Rust: the failure replays; its cause chain is kept as awaitly wrote it.
    let calls = Calls::default();
    let run = nested_cause(calls.clone())
        .run(awaitly_state("nested-cause"))
        .await;
    let Outcome::Failed(error) = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(error["_tag"], "UnexpectedError");
    assert_eq!(calls.count(), 0);
    let cause = run.state.get("explode").unwrap().cause().unwrap();
    assert_eq!(cause["message"], "outer");
    assert_eq!(cause["cause"]["message"], "inner");
    assert_eq!(cause["cause"]["cause"]["value"], "root");

    // Rust → awaitly: the state that replay returns.
    check_fixture("rust", "nested-cause", &run.state);
    same_after_awaitly("nested-cause", |state, calls| async move {
        format!("{:?}", nested_cause(calls).run(state).await.outcome)
    })
    .await;
}

#[tokio::test]
async fn undefined_values_both_ways() {
    // awaitly → Rust: `undefined` replays as `None`, and stays `undefined` in the state.
    let calls = Calls::default();
    let run = undefined_values(calls.clone())
        .run(awaitly_state("undefined-values"))
        .await;
    assert!(
        matches!(run.outcome, Outcome::Failed(None)),
        "{:?}",
        run.outcome
    );
    assert_eq!(calls.count(), 0);
    let text = run.state.to_json();
    assert!(text.contains(r#"["nothing",{"ok":true}]"#), "{text}");
    assert!(text.contains(r#"["fail",{"ok":false,"cause":"#), "{text}");

    // Rust → awaitly.
    check_fixture("rust", "undefined-values", &run.state);
    same_after_awaitly("undefined-values", |state, calls| async move {
        format!("{:?}", undefined_values(calls).run(state).await.outcome)
    })
    .await;
}

async fn replay_notes(state: ResumeState, calls: Calls) -> String {
    format!(
        "{:?}",
        notes(NOTE_HOOK_ID.into(), calls)
            .clock(at(T0))
            .run(state)
            .await
            .outcome
    )
}

#[tokio::test]
async fn lone_surrogates_both_ways() {
    // awaitly → Rust: the cut title keys the approval; the run reaches the hook.
    let run = notes(NOTE_HOOK_ID.into(), Calls::default())
        .clock(at(T0))
        .run(awaitly_state("lone-surrogates"))
        .await;
    let pending = run
        .outcome
        .pending_hook()
        .expect("suspended at the note hook");
    let title = &pending.metadata.as_ref().unwrap()["title"];
    // In a Rust string the lone unit \ud83c is U+F0800 U+F003C (see ResumeState::from_json).
    assert_eq!(title, "tea \u{F0800}\u{F003C}");

    // Rust → awaitly: deliver the note; the summary joins texts holding the lone unit.
    let delivered = inject_hook(&run.state, &NOTE_HOOK_ID.into(), &"ok").unwrap();
    let calls = Calls::default();
    let done = notes(NOTE_HOOK_ID.into(), calls.clone())
        .run(delivered)
        .await;
    assert!(done.outcome.is_completed(), "{:?}", done.outcome);
    assert_eq!(calls.count(), 1, "only the summary ran");
    let text = done.state.to_json();
    assert!(
        text.contains(r#"["summary",{"ok":true,"value":"tea \ud83c|tea \ud83c!|ok"}]"#),
        "{text}"
    );
    check_fixture("rust", "lone-surrogates", &done.state);
    same_after_awaitly("lone-surrogates", replay_notes).await;
}

/// Every awaitly fixture, read and written back by us, is awaitly's text again (plus our
/// `"version"` line): lone surrogates, `undefined`, key order and numbers included.
#[test]
fn every_awaitly_fixture_is_written_back_byte_for_byte() {
    for name in AWAITLY_NAMES {
        let text = read_fixture("awaitly", name);
        let state = ResumeState::from_json(&text).unwrap_or_else(|error| panic!("{name}: {error}"));
        check_fixture("awaitly-via-rust", name, &state);
        let ours = state.to_json_pretty() + "\n";
        assert_eq!(ours.replacen("  \"version\": 1,\n", "", 1), text, "{name}");
    }
}
