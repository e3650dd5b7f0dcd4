//! Step policies: retries with backoff, per-attempt timeouts, and what happens to failures recorded
//! by earlier runs (awaitly scenarios 36–38 with our corrections).

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use awaitly::{
    Backoff, Event, HookId, ManualClock, Outcome, ResumeState, RetryPolicy, StepTimeout,
    await_hook, step, workflow,
};
use serde::{Deserialize, Serialize};

thread_local! {
    static ATTEMPTS: Cell<u32> = const { Cell::new(0) };
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum ChargeError {
    GatewayDown,
    Declined,
    TimedOut(String),
}

impl From<StepTimeout> for ChargeError {
    fn from(timeout: StepTimeout) -> Self {
        Self::TimedOut(timeout.to_string())
    }
}

/// Fails with `error` until attempt `succeed_on`.
fn flaky(succeed_on: u32, error: ChargeError) -> Result<u32, ChargeError> {
    let attempt = ATTEMPTS.get() + 1;
    ATTEMPTS.set(attempt);
    if attempt >= succeed_on {
        Ok(attempt)
    } else {
        Err(error)
    }
}

fn policy() -> RetryPolicy<ChargeError> {
    RetryPolicy::attempts(4)
        .backoff(Backoff::Exponential)
        .initial_delay(Duration::from_millis(100))
        .jitter(false)
        .retry_if(|error| *error == ChargeError::GatewayDown)
}

#[workflow]
async fn charge(succeed_on: u32, error: ChargeError) -> Result<u32, ChargeError> {
    // A retried expression runs once per attempt, so it borrows or clones what it uses.
    step!("charge", retry = policy(), flaky(succeed_on, error.clone()))
}

fn recorder() -> (
    Arc<std::sync::Mutex<Vec<Event>>>,
    Arc<dyn awaitly::EventSink>,
) {
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    (
        events,
        Arc::new(move |event: &Event| sink.lock().unwrap().push(event.clone())),
    )
}

#[tokio::test]
async fn a_step_is_retried_with_backoff_and_only_the_final_outcome_is_recorded() {
    ATTEMPTS.set(0);
    let clock = Arc::new(ManualClock::new(0));
    let (events, sink) = recorder();
    let run = charge(3, ChargeError::GatewayDown)
        .clock(clock.clone())
        .events(sink)
        .start()
        .await;
    assert!(
        matches!(run.outcome, Outcome::Completed(3)),
        "{:?}",
        run.outcome
    );
    assert_eq!(
        clock.slept(),
        [Duration::from_millis(100), Duration::from_millis(200)]
    );
    assert_eq!(run.state.len(), 1);
    assert_eq!(run.state.get("charge").unwrap().value_json(), Some("3"));
    let recorded = events.lock().unwrap().clone();
    let retries = recorded
        .iter()
        .filter(|event| matches!(event, Event::StepRetrying { .. }))
        .count();
    assert_eq!(retries, 2);
    assert!(recorded.iter().any(|event| matches!(
        event,
        Event::StepCompleted {
            attempts: 3,
            ok: true,
            ..
        }
    )));

    // Replayed: no attempt at all.
    let replay = charge(3, ChargeError::GatewayDown)
        .clock(clock.clone())
        .run(run.state)
        .await;
    assert!(matches!(replay.outcome, Outcome::Completed(3)));
    assert_eq!(ATTEMPTS.get(), 3);
}

#[tokio::test]
async fn retries_stop_at_the_limit_and_for_errors_the_predicate_rejects() {
    ATTEMPTS.set(0);
    let clock = Arc::new(ManualClock::new(0));
    let run = charge(99, ChargeError::GatewayDown)
        .clock(clock.clone())
        .start()
        .await;
    assert!(matches!(
        run.outcome,
        Outcome::Failed(ChargeError::GatewayDown)
    ));
    assert_eq!(ATTEMPTS.get(), 4, "attempts(4) means four attempts in all");
    assert_eq!(clock.slept(), [100, 200, 400].map(Duration::from_millis));

    ATTEMPTS.set(0);
    let run = charge(99, ChargeError::Declined)
        .clock(Arc::new(ManualClock::new(0)))
        .start()
        .await;
    assert!(matches!(
        run.outcome,
        Outcome::Failed(ChargeError::Declined)
    ));
    assert_eq!(ATTEMPTS.get(), 1, "a terminal error is not retried");
}

#[workflow]
async fn slow(attempt_limit: Duration) -> Result<u32, ChargeError> {
    step!(
        "slow",
        retry = RetryPolicy::attempts(2).initial_delay(Duration::ZERO),
        timeout = attempt_limit,
        async {
            ATTEMPTS.set(ATTEMPTS.get() + 1);
            std::future::pending::<()>().await;
            Ok(1)
        }
        .await
    )
}

#[tokio::test]
async fn each_attempt_is_limited_by_the_timeout_and_the_timeout_is_the_recorded_error() {
    ATTEMPTS.set(0);
    let run = slow(Duration::from_secs(5))
        .clock(Arc::new(ManualClock::new(0)))
        .start()
        .await;
    let Outcome::Failed(ChargeError::TimedOut(message)) = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(message, "attempt 2 of step `slow` timed out after 5000 ms");
    assert_eq!(ATTEMPTS.get(), 2);
    assert!(!run.state.get("slow").unwrap().is_ok());
}

#[workflow]
async fn pay_after_check(hook: HookId) -> Result<u32, ChargeError> {
    let paid: u32 = await_hook!(hook);
    step!(
        "check",
        retry = policy(),
        flaky(1, ChargeError::GatewayDown).map(|_| paid)
    )
}

#[tokio::test]
async fn a_pending_hook_is_never_retried() {
    ATTEMPTS.set(0);
    let clock = Arc::new(ManualClock::new(0));
    let run = pay_after_check("h1".into())
        .clock(clock.clone())
        .start()
        .await;
    assert!(run.outcome.pending_hook().is_some());
    assert!(
        clock.slept().is_empty(),
        "suspension is not a failure: no retry delay"
    );
    assert_eq!(ATTEMPTS.get(), 0);
}

#[workflow]
async fn transient(succeed_on: u32) -> Result<u32, ChargeError> {
    step!(
        "transient",
        rerun_failed = true,
        flaky(succeed_on, ChargeError::GatewayDown)
    )
}

#[workflow(rerun_failed)]
async fn all_transient(succeed_on: u32) -> Result<u32, ChargeError> {
    step!("transient", flaky(succeed_on, ChargeError::GatewayDown))
}

#[workflow]
async fn terminal(succeed_on: u32) -> Result<u32, ChargeError> {
    step!("transient", flaky(succeed_on, ChargeError::GatewayDown))
}

#[tokio::test]
async fn recorded_failures_replay_by_default_and_rerun_when_asked() {
    ATTEMPTS.set(0);
    let failed = terminal(2).start().await;
    assert!(matches!(
        failed.outcome,
        Outcome::Failed(ChargeError::GatewayDown)
    ));

    let replayed = terminal(2).run(failed.state.clone()).await;
    assert!(matches!(
        replayed.outcome,
        Outcome::Failed(ChargeError::GatewayDown)
    ));
    assert_eq!(ATTEMPTS.get(), 1, "replayed, not re-run");

    let rerun = transient(2).run(failed.state.clone()).await;
    assert!(
        matches!(rerun.outcome, Outcome::Completed(2)),
        "{:?}",
        rerun.outcome
    );
    assert_eq!(
        rerun.state.get("transient").unwrap().value_json(),
        Some("2")
    );

    ATTEMPTS.set(1);
    let rerun = all_transient(2).run(failed.state).await;
    assert!(matches!(rerun.outcome, Outcome::Completed(2)));
    assert_eq!(ResumeState::new().len(), 0);
}
