//! Compensation and cancellation (issue 14): undos registered by executed *and* replayed steps,
//! run in reverse on failure or cancellation, each a recorded step; cancellation by state and by
//! handle, observed at the next site that would execute or wait, also inside a fan-out.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use awaitly::{
    CANCEL_KEY, CancelHandle, InjectError, Outcome, Suspension, await_hook, fan_out, inject_hook,
    step, workflow,
};

/// An undo that logs what it undid into `log`.
fn undo_into(
    log: &'static Mutex<Vec<String>>,
    what: &'static str,
) -> impl FnOnce(u32) -> std::future::Ready<Result<(), String>> + Send + 'static {
    move |value: u32| {
        log.lock().unwrap().push(format!("{what} {value}"));
        std::future::ready(Ok(()))
    }
}

#[workflow]
async fn trip(log: &'static Mutex<Vec<String>>, fail: bool) -> Result<u32, String> {
    let seat = step!(
        "reserve-seat",
        compensate = undo_into(log, "release seat"),
        Ok::<u32, String>(12)
    )?;
    let room = step!(
        "book-room",
        compensate = undo_into(log, "cancel room"),
        Ok::<u32, String>(34)
    )?;
    // No undo: a failed step has nothing to undo.
    step!(
        "charge",
        compensate = undo_into(log, "refund"),
        if fail {
            Err::<u32, String>("declined".into())
        } else {
            Ok(1)
        }
    )?;
    Ok(seat + room)
}

#[tokio::test]
async fn a_failure_runs_the_compensations_of_succeeded_steps_in_reverse() {
    static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let run = trip(&LOG, true).start().await;
    assert!(matches!(run.outcome, Outcome::Failed(ref error) if error == "declined"));
    assert_eq!(*LOG.lock().unwrap(), ["cancel room 34", "release seat 12"]);
    let compensations = run.compensations();
    assert_eq!(
        compensations
            .iter()
            .map(|(key, outcome)| (key.as_str(), outcome.is_ok()))
            .collect::<Vec<_>>(),
        [("book-room", true), ("reserve-seat", true)]
    );

    // A completed run undoes nothing.
    LOG.lock().unwrap().clear();
    let ok = trip(&LOG, false).start().await;
    assert!(ok.outcome.is_completed());
    assert!(LOG.lock().unwrap().is_empty());
    assert!(ok.compensations().is_empty());
}

#[workflow]
async fn reserve_then_wait(log: &'static Mutex<Vec<String>>) -> Result<u32, String> {
    let seat = step!(
        "reserve-seat",
        compensate = undo_into(log, "release seat"),
        Ok::<u32, String>(7)
    )?;
    let paid: bool = await_hook!("payment");
    if !paid {
        return Err("payment refused".into());
    }
    Ok(seat)
}

#[tokio::test]
async fn a_step_replayed_after_a_resume_still_registers_its_compensation() {
    static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let run = reserve_then_wait(&LOG).start().await;
    let hook = run.outcome.pending_hook().unwrap().hook_id.clone();
    // A new process, from the state: the reservation replays, then the payment is refused.
    let state = inject_hook(&run.state, &hook, &false).unwrap();
    let resumed = reserve_then_wait(&LOG).run(state).await;
    assert!(matches!(resumed.outcome, Outcome::Failed(ref error) if error == "payment refused"));
    assert_eq!(*LOG.lock().unwrap(), ["release seat 7"]);
}

#[workflow]
async fn flaky_undo(attempts: &'static AtomicU32) -> Result<u32, String> {
    step!(
        "reserve",
        compensate = move |_: u32| async move {
            if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                Err::<(), String>("inventory down".into())
            } else {
                Ok(())
            }
        },
        Ok::<u32, String>(1)
    )?;
    step!("charge", Err::<u32, String>("declined".into()))
}

#[tokio::test]
async fn a_failed_compensation_is_recorded_and_runs_again_on_the_next_run_and_a_done_one_does_not()
{
    static ATTEMPTS: AtomicU32 = AtomicU32::new(0);
    let first = flaky_undo(&ATTEMPTS).start().await;
    assert!(matches!(first.outcome, Outcome::Failed(_)));
    assert_eq!(first.compensations()[0].0, "reserve");
    assert_eq!(
        first.compensations()[0].1,
        Err(serde_json::json!("inventory down"))
    );

    let second = flaky_undo(&ATTEMPTS).run(first.state).await;
    assert!(matches!(second.outcome, Outcome::Failed(_)));
    assert!(second.compensations()[0].1.is_ok());
    assert_eq!(ATTEMPTS.load(Ordering::SeqCst), 2);

    let third = flaky_undo(&ATTEMPTS).run(second.state).await;
    assert!(matches!(third.outcome, Outcome::Failed(_)));
    assert_eq!(
        ATTEMPTS.load(Ordering::SeqCst),
        2,
        "a done compensation is not run again"
    );
}

#[tokio::test]
async fn cancelling_a_suspended_run_stops_it_where_it_waits_and_undoes_what_it_did() {
    static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let run = reserve_then_wait(&LOG).start().await;
    let hook = run.outcome.pending_hook().unwrap().hook_id.clone();
    let mut state = run.state;
    state.cancel("customer left");
    let cancelled = reserve_then_wait(&LOG).run(state).await;
    assert!(
        matches!(cancelled.outcome, Outcome::Cancelled(ref why) if why.reason.as_deref() == Some("customer left")),
        "{:?}",
        cancelled.outcome
    );
    assert_eq!(*LOG.lock().unwrap(), ["release seat 7"]);

    // A late callback is refused; a run of the state again stays cancelled and undoes nothing
    // twice.
    assert!(matches!(
        inject_hook(&cancelled.state, &hook, &true),
        Err(InjectError::Cancelled { .. })
    ));
    let again = reserve_then_wait(&LOG).run(cancelled.state.clone()).await;
    assert!(
        matches!(again.outcome, Outcome::Cancelled(_)),
        "{:?}",
        again.outcome
    );
    assert_eq!(LOG.lock().unwrap().len(), 1);
}

#[workflow]
async fn reserve_each(
    items: Vec<u32>,
    log: &'static Mutex<Vec<String>>,
) -> Result<Vec<u32>, String> {
    let confirmed = fan_out!("orders", item in items, key = item, concurrency = 4, {
        let reserved = step!("reserve", compensate = undo_into(log, "release"), Ok::<u32, String>(item))?;
        let ok: bool = await_hook!("confirm");
        if ok { Ok::<u32, String>(reserved) } else { Err(format!("{item} refused")) }
    });
    confirmed.into_iter().collect()
}

#[tokio::test]
async fn cancelling_during_a_fan_out_undoes_every_item_that_did_its_step() {
    static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let items: Vec<u32> = (1..=6).collect();
    let run = reserve_each(items.clone(), &LOG).start().await;
    let Outcome::Suspended(Suspension::Several(waiting)) = &run.outcome else {
        panic!("{:?}", run.outcome);
    };
    // Four in flight, each waiting for its confirmation; items 5 and 6 never started.
    assert_eq!(waiting.len(), 4);
    let mut state = run.state;
    state.cancel("order withdrawn");
    let cancelled = reserve_each(items, &LOG).run(state).await;
    assert!(
        matches!(cancelled.outcome, Outcome::Cancelled(_)),
        "{:?}",
        cancelled.outcome
    );
    let mut undone = LOG.lock().unwrap().clone();
    undone.sort();
    assert_eq!(undone, ["release 1", "release 2", "release 3", "release 4"]);
    assert!(cancelled.state.get("orders[5]/reserve").is_none());
}

#[workflow]
async fn long_steps(log: &'static Mutex<Vec<String>>) -> Result<Vec<u32>, String> {
    let done = fan_out!("jobs", item in 0..8_u32, concurrency = 2, {
        step!("work", compensate = undo_into(log, "undo"), async {
            tokio::time::sleep(Duration::from_millis(if item < 2 { 1 } else { 60_000 })).await;
            Ok::<u32, String>(item)
        }.await)
    });
    done.into_iter().collect()
}

#[tokio::test]
async fn a_cancel_handle_drops_what_is_in_flight_records_the_cancellation_and_compensates() {
    static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let handle = CancelHandle::new();
    let canceller = handle.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        canceller.cancel("shutting down");
    });
    let run = long_steps(&LOG).cancel_with(handle).start().await;
    assert!(
        matches!(run.outcome, Outcome::Cancelled(ref why) if why.reason.as_deref() == Some("shutting down")),
        "{:?}",
        run.outcome
    );
    assert!(run.state.contains_key(CANCEL_KEY));
    let mut undone = LOG.lock().unwrap().clone();
    undone.sort();
    assert_eq!(undone, ["undo 0", "undo 1"]);
    assert!(run.state.get("jobs[2]/work").is_none());
}
