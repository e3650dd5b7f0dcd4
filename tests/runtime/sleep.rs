//! Durable sleep and hook deadlines: wake-up times and deadlines are recorded in the state, read
//! from an injectable clock, and never restart after a crash.

use std::sync::Arc;
use std::time::Duration;

use awaitly::{
    ApprovalError, HookId, HookTimeout, InjectError, ManualClock, Outcome, ResumeState, Suspension,
    await_approval, await_hook, get_pending_hooks, inject_approval, inject_hook, sleep, step,
    workflow,
};

#[workflow]
async fn onboarding(days: Vec<u64>) -> Result<Vec<String>, String> {
    let mut sent = Vec::new();
    for day in days {
        sleep!("wait", key = day, Duration::from_secs(day * 86_400));
        sent.push(step!(
            "email",
            key = day,
            Ok::<String, String>(format!("day {day}"))
        )?);
    }
    Ok(sent)
}

#[tokio::test]
async fn a_sleep_suspends_until_due_and_a_restart_does_not_restart_it() {
    let clock = Arc::new(ManualClock::new(0));
    let first = onboarding(vec![1, 3]).clock(clock.clone()).start().await;
    let Outcome::Suspended(Suspension::Sleep { key, wake_at_ms }) = &first.outcome else {
        panic!("{:?}", first.outcome)
    };
    assert_eq!((key.as_str(), *wake_at_ms), ("wait[1]", 86_400_000));

    // Half a day later (a restart, say): still suspended, same wake-up time, not restarted.
    clock.advance(Duration::from_hours(12));
    let state = awaitly::ResumeState::from_json(&first.state.to_json()).unwrap();
    let early = onboarding(vec![1, 3]).clock(clock.clone()).run(state).await;
    assert!(matches!(
        early.outcome,
        Outcome::Suspended(Suspension::Sleep {
            wake_at_ms: 86_400_000,
            ..
        })
    ));

    // Due: the run goes on to the next sleep, measured from now.
    clock.advance(Duration::from_hours(12));
    let next = onboarding(vec![1, 3])
        .clock(clock.clone())
        .run(early.state)
        .await;
    assert!(
        matches!(next.outcome, Outcome::Suspended(Suspension::Sleep { wake_at_ms, .. }) if wake_at_ms == 86_400_000 + 3 * 86_400_000)
    );
    clock.advance(Duration::from_hours(72));
    let done = onboarding(vec![1, 3])
        .clock(clock.clone())
        .run(next.state)
        .await;
    assert!(matches!(done.outcome, Outcome::Completed(ref sent) if sent == &["day 1", "day 3"]));
    assert!(
        clock.slept().is_empty(),
        "a durable sleep never blocks the executor"
    );
}

#[workflow]
async fn pay(hook: HookId) -> Result<String, String> {
    let paid: Result<u32, HookTimeout> = await_hook!(hook, timeout = Duration::from_mins(15));
    match paid {
        Ok(amount) => Ok(format!("paid {amount}")),
        Err(timeout) => Ok(format!("cancelled: {timeout}")),
    }
}

#[tokio::test]
async fn a_hook_deadline_is_recorded_and_the_workflow_handles_the_timeout() {
    let clock = Arc::new(ManualClock::new(10_000));
    let run = pay("h1".into()).clock(clock.clone()).start().await;
    let pending = run.outcome.pending_hook().unwrap().clone();
    assert_eq!(pending.deadline_ms, Some(10_000 + 900_000));
    assert_eq!(get_pending_hooks(&run.state)[0].deadline_ms, Some(910_000));

    // In time: delivered.
    let mut paid = run.state.clone();
    paid.inject_hook_at(&"h1".into(), &42, 909_999).unwrap();
    let done = pay("h1".into()).clock(clock.clone()).run(paid).await;
    assert!(matches!(done.outcome, Outcome::Completed(ref text) if text == "paid 42"));

    // Too late: the delivery is refused, and the run sees a typed timeout it handles.
    let mut late = run.state.clone();
    assert!(matches!(
        late.inject_hook_at(&"h1".into(), &42, 910_000),
        Err(InjectError::Expired { .. })
    ));
    clock.advance(Duration::from_mins(15));
    let timed_out = pay("h1".into()).clock(clock.clone()).run(run.state).await;
    let Outcome::Completed(text) = &timed_out.outcome else {
        panic!("{:?}", timed_out.outcome)
    };
    assert!(text.starts_with("cancelled: hook `h1` timed out"), "{text}");
    // Decided once: the timeout is recorded, later deliveries are refused.
    assert!(matches!(
        inject_hook(&timed_out.state, &"h1".into(), &42),
        Err(InjectError::Expired { .. })
    ));
    let again = pay("h1".into()).clock(clock).run(timed_out.state).await;
    assert!(matches!(again.outcome, Outcome::Completed(ref replayed) if replayed == text));
}

#[workflow]
async fn sign_off() -> Result<String, String> {
    let paid: Result<u32, HookTimeout> = await_hook!("payment", timeout = Duration::from_mins(15));
    let paid = paid.map_err(|timeout| timeout.to_string())?;
    let approved: Result<u32, ApprovalError> =
        await_approval!("approve:payment", timeout = Duration::from_hours(1));
    match approved {
        Ok(amount) => Ok(format!("paid {paid}, approved {amount}")),
        Err(error) => Ok(error.to_string()),
    }
}

/// Deliveries and decisions on a state read the clock of the run that returned it: with a
/// `ManualClock` the plain calls see the manual time, no `*_at` variant needed.
#[tokio::test]
async fn deliveries_and_decisions_on_a_returned_state_read_the_runs_clock() {
    let clock = Arc::new(ManualClock::new(0));
    let run = sign_off().clock(clock.clone()).start().await;
    let hook = run.outcome.pending_hook().unwrap().clone();
    assert_eq!(hook.deadline_ms, Some(900_000));
    assert_eq!(run.state.clock().now_ms(), 0);

    // Before the deadline on the manual clock (long past it on the wall clock): delivered.
    clock.advance(Duration::from_mins(14));
    let delivered = inject_hook(&run.state, &hook.hook_id, &42).unwrap();
    // At the deadline: refused, by the plain call.
    clock.advance(Duration::from_mins(1));
    assert!(matches!(
        run.state.clone().inject_hook(&hook.hook_id, &42),
        Err(InjectError::Expired { .. })
    ));

    let waiting = sign_off().clock(clock.clone()).run(delivered).await;
    let Outcome::Suspended(Suspension::Approval(approval)) = &waiting.outcome else {
        panic!("{:?}", waiting.outcome)
    };
    assert_eq!(approval.deadline_ms, Some(900_000 + 3_600_000));
    // Every decision reads the same clock: in time...
    let mut granted = waiting.state.clone();
    granted
        .grant_approval("approve:payment", &40, "grace")
        .unwrap();
    assert_eq!(
        granted.get("approve:payment").unwrap().approval().unwrap()["at"],
        900_000,
        "the decision is stamped with the run's clock"
    );
    let done = sign_off().clock(clock.clone()).run(granted).await;
    assert!(matches!(done.outcome, Outcome::Completed(ref text) if text == "paid 42, approved 40"));
    // ...and too late, for each kind of decision.
    clock.advance(Duration::from_hours(1));
    let key = "approve:payment";
    let expired = |result: Result<(), InjectError>| {
        assert!(
            matches!(result, Err(InjectError::ApprovalExpired { .. })),
            "{result:?}"
        );
    };
    expired(waiting.state.clone().grant_approval(key, &1, "grace"));
    expired(waiting.state.clone().edit_approval(key, &1, "grace"));
    expired(waiting.state.clone().reject_approval(key, "no", "grace"));
    expired(inject_approval(&waiting.state, key, &1).map(|_| ()));

    // A state read from JSON has no clock of its own: `with_clock` gives it one.
    let stored = ResumeState::from_json(&waiting.state.to_json()).unwrap();
    expired(
        stored
            .with_clock(clock.clone())
            .grant_approval(key, &1, "grace"),
    );
}
