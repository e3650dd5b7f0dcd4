//! The callback-hooks scenarios of awaitly (behaviour spec §5, 1–12), with our corrections.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use awaitly::{
    Clock, HookId, HookTimeout, InjectError, ManualClock, Outcome, PendingHookOptions, ResumeState,
    RunError, StepEntry, await_hook, clear_step, create_hook, get_pending_hooks, has_pending_hook,
    inject_hook, is_pending_hook, pending_hook, step, workflow,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::replay::assert_source_is_serde_json;

fn pending_state(ids: &[&str]) -> ResumeState {
    let mut state = ResumeState::new();
    for id in ids {
        let hook = pending_hook((*id).into(), PendingHookOptions::default());
        state.insert(hook.step_key.clone(), StepEntry::pending(&hook));
    }
    state
}

#[test]
fn pending_hook_names_its_hook_and_key() {
    let hook = pending_hook("X".into(), PendingHookOptions::default());
    assert_eq!(hook.hook_id.as_str(), "X");
    assert_eq!(hook.step_key, "hook:X");
    assert_eq!(serde_json::to_value(&hook).unwrap()["type"], "PENDING_HOOK");
}

#[test]
fn pending_hook_carries_exactly_its_metadata() {
    let metadata = json!({ "orderId": "ord_123", "source": "checkout" });
    let hook = pending_hook(
        "X".into(),
        PendingHookOptions {
            metadata: Some(metadata.clone()),
            ..Default::default()
        },
    );
    assert_eq!(hook.metadata, Some(metadata));
}

#[test]
fn is_pending_hook_only_for_pending_hooks() {
    assert!(is_pending_hook(&pending_hook(
        "X".into(),
        PendingHookOptions::default()
    )));
    assert!(is_pending_hook(
        &json!({ "type": "PENDING_HOOK", "hookId": "X", "stepKey": "hook:X" })
    ));
    assert!(!is_pending_hook(
        &json!({ "type": "PENDING_APPROVAL", "stepKey": "a" })
    ));
    assert!(!is_pending_hook(&json!({ "type": "OTHER" })));
    assert!(!is_pending_hook(&serde_json::Value::Null));
    assert!(!is_pending_hook(&json!("PENDING_HOOK")));
    assert!(!is_pending_hook(&StepEntry::ok(&1).unwrap()));
}

#[test]
fn inject_returns_a_new_state_and_leaves_the_input_alone() {
    let state = pending_state(&["h1"]);
    let injected = inject_hook(&state, &"h1".into(), &json!({ "paid": true })).unwrap();
    assert_eq!(
        injected.get("hook:h1").unwrap().value_json(),
        Some(r#"{"paid":true}"#)
    );
    assert!(has_pending_hook(&state, &"h1".into()));
    // Corrected: awaitly adds an entry for an id nobody waits on; we refuse it.
    let empty = ResumeState::new();
    assert!(matches!(
        inject_hook(&empty, &"h1".into(), &1),
        Err(InjectError::UnknownHook { .. })
    ));
    assert!(empty.is_empty());
}

#[test]
fn has_pending_hook_only_for_a_pending_entry() {
    let mut state = pending_state(&["h1"]);
    assert!(has_pending_hook(&state, &"h1".into()));
    state.insert("hook:h2", StepEntry::ok(&1).unwrap());
    state.insert("hook:h3", StepEntry::err(&"BOOM").unwrap());
    assert!(!has_pending_hook(&state, &"h2".into()));
    assert!(!has_pending_hook(&state, &"h3".into()));
    assert!(!has_pending_hook(&state, &"h4".into()));
}

#[test]
fn get_pending_hooks_lists_pending_ids_only_and_agrees_with_has_pending_hook() {
    let mut state = pending_state(&["h1", "h2"]);
    state.insert("done", StepEntry::ok(&1).unwrap());
    // A pending-hook error under a key that is not its own is not a hook anyone can deliver to.
    state.insert(
        "stray",
        StepEntry::pending(&pending_hook("h9".into(), PendingHookOptions::default())),
    );
    let ids: Vec<HookId> = get_pending_hooks(&state)
        .into_iter()
        .map(|hook| hook.hook_id)
        .collect();
    assert_eq!(ids, [HookId::from("h1"), HookId::from("h2")]);
    for id in &ids {
        assert!(has_pending_hook(&state, id));
    }
    assert!(!has_pending_hook(&state, &"h9".into()));
    assert!(get_pending_hooks(&ResumeState::new()).is_empty());
}

#[test]
fn create_hook_makes_distinct_ids_and_matching_keys() {
    let first = create_hook();
    let second = create_hook();
    assert!(!first.hook_id.as_str().is_empty());
    assert_eq!(first.step_key, format!("hook:{}", first.hook_id));
    assert_ne!(first.hook_id, second.hook_id);
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Payment {
    amount: u32,
}

#[workflow]
async fn pay(hook: HookId, calls: &'static AtomicU32) -> Result<u32, String> {
    step!("before", {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok::<u32, String>(1)
    })?;
    let payment: Payment = await_hook!(hook, metadata = json!({ "orderId": "ord_1" }));
    Ok(payment.amount)
}

#[tokio::test]
async fn suspend_inject_resume_and_rerun_without_injecting() {
    static WAITS: AtomicU32 = AtomicU32::new(0);
    let hook = create_hook();
    // 8: suspends at the hook, with the same id and the metadata.
    let run = pay(hook.hook_id.clone(), &WAITS).start().await;
    let pending = run.outcome.pending_hook().expect("suspended").clone();
    assert!(is_pending_hook(&run.outcome));
    assert_eq!(pending.hook_id, hook.hook_id);
    assert_eq!(pending.metadata, Some(json!({ "orderId": "ord_1" })));
    assert!(has_pending_hook(&run.state, &hook.hook_id));
    assert_eq!(WAITS.load(Ordering::SeqCst), 1);

    // 10: running again without a payload suspends again, executes nothing, changes nothing.
    let again = pay(hook.hook_id.clone(), &WAITS)
        .run(run.state.clone())
        .await;
    assert_eq!(again.outcome.pending_hook(), Some(&pending));
    assert_eq!(again.state.to_json(), run.state.to_json());
    assert_eq!(WAITS.load(Ordering::SeqCst), 1);

    // 9: inject and resume: completes with the payload; the earlier step is replayed.
    let injected = inject_hook(&run.state, &hook.hook_id, &Payment { amount: 42 }).unwrap();
    let done = pay(hook.hook_id.clone(), &WAITS).run(injected).await;
    assert!(matches!(done.outcome, Outcome::Completed(42)));
    assert_eq!(WAITS.load(Ordering::SeqCst), 1);
    assert_eq!(
        done.state.len(),
        2,
        "the complete state: the replayed step and the hook"
    );
}

#[test]
fn injection_is_validated_and_idempotent() {
    let state = pending_state(&["h1"]);
    assert!(matches!(
        inject_hook(&state, &"nope".into(), &1),
        Err(InjectError::UnknownHook { .. })
    ));
    let once = inject_hook(&state, &"h1".into(), &json!({ "amount": 1 })).unwrap();
    let twice = inject_hook(&once, &"h1".into(), &json!({ "amount": 1 })).unwrap();
    assert_eq!(
        once.to_json(),
        twice.to_json(),
        "same payload again: idempotent"
    );
    let error = inject_hook(&once, &"h1".into(), &json!({ "amount": 2 })).unwrap_err();
    assert!(matches!(error, InjectError::AlreadyResolved { .. }));
    assert!(error.to_string().contains("already resolved"), "{error}");
    let mut failed = ResumeState::new();
    failed.insert("hook:h2", StepEntry::err(&"TIMEOUT").unwrap());
    assert!(matches!(
        inject_hook(&failed, &"h2".into(), &1),
        Err(InjectError::NotPending { .. })
    ));
    let mut bad_key = ResumeState::new();
    bad_key.insert(
        "hook:h3",
        StepEntry::pending(&pending_hook("h3".into(), PendingHookOptions::default())),
    );
    let mut map = std::collections::HashMap::new();
    map.insert(vec![1u8], 1u8);
    assert!(matches!(
        inject_hook(&bad_key, &"h3".into(), &map),
        Err(InjectError::Encode { .. })
    ));
    assert!(
        has_pending_hook(&bad_key, &"h3".into()),
        "a failed injection changes nothing"
    );
}

#[workflow]
async fn approve(request: String) -> Result<String, String> {
    let verdict: String = await_hook!("manager", metadata = request);
    Ok(verdict)
}

#[tokio::test]
async fn a_hook_created_inside_the_workflow_keeps_its_id_across_replays() {
    let run = approve("refund #1".into()).start().await;
    let pending = run.outcome.pending_hook().expect("suspended").clone();
    assert_eq!(pending.metadata, Some(json!("refund #1")));
    assert_eq!(
        run.state.get("manager").unwrap().created_hook_id(),
        Some(&pending.hook_id)
    );

    // Replays reuse the recorded id (awaitly mints a new one and never resumes).
    let again = approve("refund #1".into()).run(run.state.clone()).await;
    assert_eq!(
        again.outcome.pending_hook().unwrap().hook_id,
        pending.hook_id
    );

    // Through JSON too.
    let state = ResumeState::from_json(&run.state.to_json()).unwrap();
    let state = inject_hook(&state, &pending.hook_id, &"approved").unwrap();
    let done = approve("refund #1".into()).run(state).await;
    assert!(matches!(done.outcome, Outcome::Completed(ref verdict) if verdict == "approved"));
}

#[workflow]
async fn approvals(items: Vec<u32>) -> Result<Vec<bool>, String> {
    let mut verdicts = Vec::new();
    for item in items {
        let verdict: bool = await_hook!("approve", key = item);
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

#[tokio::test]
async fn created_hooks_in_a_loop_get_one_id_per_item() {
    let mut state = ResumeState::new();
    let mut seen = Vec::new();
    loop {
        let run = approvals(vec![7, 8]).run(state).await;
        match run.outcome {
            Outcome::Suspended(_) => {
                let hook = run.outcome.pending_hook().unwrap().hook_id.clone();
                assert!(!seen.contains(&hook));
                seen.push(hook.clone());
                state = inject_hook(&run.state, &hook, &true).unwrap();
            }
            Outcome::Completed(verdicts) => {
                assert_eq!(verdicts, [true, true]);
                assert!(
                    run.state.contains_key("approve[7]") && run.state.contains_key("approve[8]")
                );
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seen.len(), 2);
}

#[tokio::test]
async fn a_payload_of_the_wrong_shape_is_a_typed_error_and_the_hook_waits_again() {
    static WAITS: AtomicU32 = AtomicU32::new(0);
    let hook = create_hook();
    let run = pay(hook.hook_id.clone(), &WAITS).start().await;
    let wrong = inject_hook(&run.state, &hook.hook_id, &json!({ "amount": "forty-two" })).unwrap();
    let stopped = pay(hook.hook_id.clone(), &WAITS).run(wrong).await;
    let Outcome::Stopped(RunError::DecodePayload {
        hook_id,
        expected,
        message,
        ..
    }) = &stopped.outcome
    else {
        panic!("{:?}", stopped.outcome)
    };
    assert_eq!(hook_id, &hook.hook_id);
    assert!(expected.ends_with("Payment"), "{expected}");
    assert!(message.contains("invalid type"), "{message}");
    assert_source_is_serde_json(&stopped.outcome);
    let error = stopped.outcome_error_text();
    assert!(
        error.contains(hook.hook_id.as_str()) && error.contains("Payment"),
        "{error}"
    );
    // The returned state waits for a corrected delivery, metadata included.
    assert!(has_pending_hook(&stopped.state, &hook.hook_id));
    assert_eq!(
        get_pending_hooks(&stopped.state)[0].metadata,
        Some(json!({ "orderId": "ord_1" }))
    );
    let fixed = inject_hook(&stopped.state, &hook.hook_id, &Payment { amount: 5 }).unwrap();
    assert!(matches!(
        pay(hook.hook_id.clone(), &WAITS).run(fixed).await.outcome,
        Outcome::Completed(5)
    ));
}

#[workflow]
async fn timed_payment() -> Result<u32, String> {
    let paid: Result<Payment, HookTimeout> =
        await_hook!("payment", timeout = Duration::from_mins(1));
    paid.map(|payment| payment.amount)
        .map_err(|timeout| timeout.to_string())
}

#[tokio::test]
async fn a_malformed_delivery_never_moves_the_hooks_deadline() {
    let clock = Arc::new(ManualClock::new(1_000));
    let run = timed_payment().clock(clock.clone()).start().await;
    let original = run.outcome.pending_hook().expect("suspended").clone();
    assert_eq!(original.requested_at_ms, Some(1_000));
    assert_eq!(original.deadline_ms, Some(61_000));
    let mut state = run.state;
    // Two malformed deliveries, the second through JSON (a state persisted between the delivery
    // and the run): each time the hook waits again under its original record.
    for (wait, through_json) in [(29, false), (20, true)] {
        clock.advance(Duration::from_secs(wait));
        state
            .inject_hook(&original.hook_id, &json!({ "amount": "forty-two" }))
            .unwrap();
        if through_json {
            state = ResumeState::from_json(&state.to_json()).unwrap();
        }
        let stopped = timed_payment().clock(clock.clone()).run(state).await;
        assert!(
            matches!(
                stopped.outcome,
                Outcome::Stopped(RunError::DecodePayload { .. })
            ),
            "{:?}",
            stopped.outcome
        );
        assert_eq!(
            get_pending_hooks(&stopped.state),
            std::slice::from_ref(&original),
            "same request time, same deadline"
        );
        state = stopped.state;
    }
    // A corrected delivery still lands; once read, the kept pending record is dropped.
    let fixed = inject_hook(&state, &original.hook_id, &Payment { amount: 5 }).unwrap();
    assert!(
        fixed
            .to_json()
            .contains(r#""pendingHook":{"type":"PENDING_HOOK""#)
    );
    let paid = timed_payment().clock(clock.clone()).run(fixed).await;
    assert!(
        matches!(paid.outcome, Outcome::Completed(5)),
        "{:?}",
        paid.outcome
    );
    let key = original.hook_id.step_key();
    assert_eq!(
        serde_json::to_string(paid.state.get(&key).unwrap()).unwrap(),
        r#"{"ok":true,"value":{"amount":5}}"#
    );
    // The deadline stays where it was: at 61 s the hook times out, and a delivery is refused.
    clock.advance(Duration::from_secs(11));
    assert_eq!(clock.now_ms(), 61_000);
    assert!(matches!(
        state
            .clone()
            .inject_hook(&original.hook_id, &Payment { amount: 5 }),
        Err(InjectError::Expired { .. })
    ));
    let timed_out = timed_payment().clock(clock).run(state).await;
    assert!(
        matches!(&timed_out.outcome, Outcome::Failed(text) if text.contains("timed out")),
        "{:?}",
        timed_out.outcome
    );
}

#[tokio::test]
async fn clearing_a_created_hooks_label_clears_its_hook_entry_too() {
    let run = approve("refund #2".into()).start().await;
    let old = run
        .outcome
        .pending_hook()
        .expect("suspended")
        .hook_id
        .clone();
    // Clearing the label: the next run creates a new hook; the old one's entry goes with it, so
    // the state still fits the workflow.
    let cleared = clear_step(&run.state, "manager");
    assert!(cleared.is_empty(), "{cleared:?}");
    let again = approve("refund #2".into()).run(cleared).await;
    let new = again
        .outcome
        .pending_hook()
        .expect("suspended again")
        .hook_id
        .clone();
    assert_ne!(new, old);
    assert_eq!(
        get_pending_hooks(&again.state)
            .into_iter()
            .map(|hook| hook.hook_id)
            .collect::<Vec<_>>(),
        [new]
    );
    // Clearing `hook:<id>` instead keeps the hook: the run waits for the same id again.
    let delivered = inject_hook(&run.state, &old, &"approved").unwrap();
    let retried = clear_step(&delivered, &old.step_key());
    let same = approve("refund #2".into()).run(retried).await;
    assert_eq!(same.outcome.pending_hook().unwrap().hook_id, old);
}

trait OutcomeText {
    fn outcome_error_text(&self) -> String;
}

impl<T: std::fmt::Debug, E: std::fmt::Debug> OutcomeText for awaitly::Run<T, E> {
    fn outcome_error_text(&self) -> String {
        match &self.outcome {
            Outcome::Stopped(error) => error.to_string(),
            other => format!("{other:?}"),
        }
    }
}
