//! Replay from a resume state (behaviour spec §5, 13–44 where they apply), and divergence.

use std::collections::HashMap;
use std::future::Future as _;
use std::sync::atomic::{AtomicU32, Ordering};

use awaitly::{
    Journal, JournalError, JournalFuture, Outcome, PendingHookOptions, ResumeState, RunError,
    SiteKind, StepEntry, await_hook, clear_failed_steps, clear_step, pending_hook, step, workflow,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum ChargeError {
    GatewayDown,
    Declined { reason: String },
}

fn counted<T>(calls: &AtomicU32, value: T) -> T {
    calls.fetch_add(1, Ordering::SeqCst);
    value
}

#[workflow]
async fn checkout(calls: &'static AtomicU32, fail_charge: bool) -> Result<u32, ChargeError> {
    let total = step!("total", counted(calls, Ok::<u32, ChargeError>(40)))?;
    let fee = step!("charge", {
        calls.fetch_add(1, Ordering::SeqCst);
        if fail_charge {
            Err(ChargeError::GatewayDown)
        } else {
            Ok(2)
        }
    })?;
    Ok(total + fee)
}

#[tokio::test]
async fn recorded_successes_replay_without_executing() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let first = checkout(&CALLS, false).start().await;
    assert!(matches!(first.outcome, Outcome::Completed(42)));
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);
    let replay = checkout(&CALLS, false).run(first.state.clone()).await;
    assert!(matches!(replay.outcome, Outcome::Completed(42)));
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        2,
        "nothing executed on replay"
    );
    assert_eq!(replay.state.to_json(), first.state.to_json());

    // A hand-made state (scenario 25: "op:1" = 999 style).
    let mut state = ResumeState::new();
    state.insert("total", StepEntry::ok(&999).unwrap());
    let run = checkout(&CALLS, false).run(state).await;
    assert!(matches!(run.outcome, Outcome::Completed(1001)));
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        3,
        "only the unrecorded step ran"
    );
}

#[tokio::test]
async fn failures_are_recorded_replayed_and_retried_only_when_cleared() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let first = checkout(&CALLS, true).start().await;
    assert!(matches!(
        first.outcome,
        Outcome::Failed(ChargeError::GatewayDown)
    ));
    // 22: the state comes back on failure, with the failed step in it.
    assert!(!first.state.get("charge").unwrap().is_ok());
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);

    // 17/23: replayed as the same error, without calling the step, even if it would now succeed.
    let replay = checkout(&CALLS, false).run(first.state.clone()).await;
    assert!(matches!(
        replay.outcome,
        Outcome::Failed(ChargeError::GatewayDown)
    ));
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);

    // 23: cleared, the step runs again and succeeds.
    let retried = checkout(&CALLS, false)
        .run(clear_step(&first.state, "charge"))
        .await;
    assert!(matches!(retried.outcome, Outcome::Completed(42)));
    assert_eq!(CALLS.load(Ordering::SeqCst), 3);

    // Or clear every failure at once (the retry-failed option).
    let retried = checkout(&CALLS, false)
        .run(clear_failed_steps(&first.state))
        .await;
    assert!(matches!(retried.outcome, Outcome::Completed(42)));
    assert_eq!(CALLS.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_recorded_error_with_data_replays_as_that_error() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let mut state = ResumeState::new();
    state.insert("total", StepEntry::ok(&1).unwrap());
    state.insert(
        "charge",
        StepEntry::err(&ChargeError::Declined {
            reason: "card".into(),
        })
        .unwrap(),
    );
    let run = checkout(&CALLS, false).run(state).await;
    assert!(
        matches!(run.outcome, Outcome::Failed(ChargeError::Declined { ref reason }) if reason == "card")
    );
    assert_eq!(CALLS.load(Ordering::SeqCst), 0);
}

#[workflow]
async fn add_all(values: Vec<u32>) -> Result<u32, String> {
    let mut sum = 0;
    for value in values {
        sum += step!("add", Ok::<u32, String>(value))?;
    }
    Ok(sum)
}

#[tokio::test]
async fn a_site_in_a_loop_gets_occurrence_suffixes() {
    let run = add_all(vec![1, 2, 3]).start().await;
    assert_eq!(
        run.state.keys().collect::<Vec<_>>(),
        ["add", "add#2", "add#3"]
    );
    let replay = add_all(vec![9, 9, 9]).run(run.state).await;
    assert!(
        matches!(replay.outcome, Outcome::Completed(6)),
        "replayed, not recomputed"
    );
}

#[workflow]
async fn per_item(items: Vec<&'static str>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in items {
        out.push(step!(
            "ship",
            key = item,
            Ok::<String, String>(format!("shipped {item}"))
        )?);
    }
    Ok(out)
}

#[tokio::test]
async fn per_item_keys_are_stable_when_items_repeat_or_contain_reserved_characters() {
    let run = per_item(vec!["a", "b#2", "a", "x]y"]).start().await;
    assert_eq!(
        run.state.keys().collect::<Vec<_>>(),
        ["ship[a]", "ship[b%232]", "ship[a]#2", "ship[x%5Dy]"]
    );
}

#[workflow]
async fn branchy(calls: &'static AtomicU32, express: bool) -> Result<u32, String> {
    let total = step!("total", counted(calls, Ok::<u32, String>(40)))?;
    if express {
        step!("express-fee", counted(calls, Ok::<u32, String>(5)))?;
    }
    step!("charge", counted(calls, Ok::<u32, String>(total)))
}

#[tokio::test]
async fn a_resumed_run_returns_the_complete_state() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let mut state = ResumeState::new();
    state.insert("total", StepEntry::ok(&40).unwrap());
    // An entry this run does not reach (a branch not taken this time) is kept, not dropped.
    state.insert("express-fee", StepEntry::ok(&5).unwrap());
    let run = branchy(&CALLS, false).run(state).await;
    assert!(run.outcome.is_completed());
    assert_eq!(
        run.state.keys().collect::<Vec<_>>(),
        ["total", "express-fee", "charge"]
    );
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
}

async fn load_profile(calls: &AtomicU32) -> Result<String, String> {
    tokio::task::yield_now().await; // stands in for a database read
    calls.fetch_add(1, Ordering::SeqCst);
    Ok("ada".into())
}

#[workflow]
async fn derived(calls: &'static AtomicU32) -> Result<String, String> {
    step!(load_profile(calls).await)
}

#[tokio::test]
async fn without_a_label_the_key_is_the_called_function() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let run = derived(&CALLS).start().await;
    assert_eq!(run.state.keys().collect::<Vec<_>>(), ["load_profile"]);
}

#[workflow]
async fn typed(calls: &'static AtomicU32) -> Result<u32, String> {
    step!("count", counted(calls, Ok::<u32, String>(1)))
}

#[tokio::test]
async fn a_recorded_value_that_no_longer_decodes_stops_the_run_naming_the_key() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let mut state = ResumeState::new();
    state.insert("count", StepEntry::ok(&"not a number").unwrap());
    let run = typed(&CALLS).run(state).await;
    let Outcome::Stopped(RunError::DecodeValue { key, expected, .. }) = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!((key.as_str(), *expected), ("count", "u32"));
    assert_source_is_serde_json(&run.outcome);
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        0,
        "never a silently wrong value, never a re-run"
    );
    assert_eq!(
        run.state.get("count").unwrap().value_json(),
        Some(r#""not a number""#),
        "state kept as it was"
    );

    let mut state = ResumeState::new();
    state.insert("count", StepEntry::err(&42).unwrap());
    let run = typed(&CALLS).run(state).await;
    assert!(
        matches!(run.outcome, Outcome::Stopped(RunError::DecodeError { ref key, .. }) if key == "count")
    );
    assert_source_is_serde_json(&run.outcome);
}

#[tokio::test]
async fn a_hook_recorded_where_a_step_is_reached_is_a_divergence() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let mut state = ResumeState::new();
    state.insert(
        "count",
        StepEntry::pending(&pending_hook("h".into(), PendingHookOptions::default())),
    );
    let run = typed(&CALLS).run(state).await;
    assert!(matches!(
        run.outcome,
        Outcome::Stopped(RunError::KindMismatch { ref key, recorded: SiteKind::HookById, reached: SiteKind::Step }) if key == "count"
    ));

    // A created hook's id where a step is reached, and a step's value where a hook is created: the
    // compatibility check sees the kinds differ and stops the run before anything executes.
    let created = approve().start().await;
    let run = typed(&CALLS)
        .run(rename(&created.state, "manager", "count"))
        .await;
    assert!(
        matches!(run.outcome, Outcome::Stopped(RunError::Incompatible(ref problem)) if problem.unknown_keys == ["count"]),
        "{:?}",
        run.outcome
    );
    let mut state = ResumeState::new();
    state.insert("manager", StepEntry::ok(&1).unwrap());
    let run = approve().run(state).await;
    let Outcome::Stopped(error) = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert!(
        matches!(error, RunError::Incompatible(problem) if problem.unknown_keys == ["manager"])
    );
    assert!(error.to_string().contains("`manager`"), "{error}");
    assert_eq!(CALLS.load(Ordering::SeqCst), 0);
}

#[workflow]
async fn approve() -> Result<bool, String> {
    let approved: bool = await_hook!("manager");
    Ok(approved)
}

fn rename(state: &ResumeState, from: &str, to: &str) -> ResumeState {
    let mut renamed = ResumeState::new();
    for (key, entry) in state.iter() {
        renamed.insert(if key == from { to } else { key }, entry.clone());
    }
    renamed
}

#[workflow]
async fn unencodable() -> Result<HashMap<Vec<u8>, u8>, String> {
    step!(
        "map",
        Ok::<HashMap<Vec<u8>, u8>, String>(HashMap::from([(vec![1], 1)]))
    )
}

#[tokio::test]
async fn an_output_that_cannot_be_written_as_json_stops_the_run() {
    let run = unencodable().start().await;
    let Outcome::Stopped(RunError::Encode { key, .. }) = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(key, "map");
    assert_source_is_serde_json(&run.outcome);
    assert!(run.state.is_empty());
}

/// A stopped run's error keeps `serde_json`'s error as its `source()`, not only its message.
pub(crate) fn assert_source_is_serde_json<T: std::fmt::Debug, E: std::fmt::Debug>(
    outcome: &Outcome<T, E>,
) {
    use std::error::Error as _;

    let Outcome::Stopped(error) = outcome else {
        panic!("{outcome:?}")
    };
    let source = error.source().expect("the underlying error is kept");
    assert!(source.is::<serde_json::Error>(), "{source:?}");
    assert!(error.to_string().contains(&source.to_string()), "{error}");
}

struct FailingJournal;

impl Journal for FailingJournal {
    fn record<'a>(&'a self, _key: &'a str, _entry: &'a StepEntry) -> JournalFuture<'a> {
        Box::pin(async { Err(JournalError::from_error(std::io::Error::other("disk full"))) })
    }
}

#[tokio::test]
async fn a_failed_checkpoint_keeps_the_journals_error_as_the_source() {
    use std::error::Error as _;

    static CALLS: AtomicU32 = AtomicU32::new(0);
    let run = typed(&CALLS)
        .journal(std::sync::Arc::new(FailingJournal))
        .start()
        .await;
    let Outcome::Stopped(error @ RunError::Journal { key, .. }) = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(key, "count");
    assert_eq!(
        error.to_string(),
        "the checkpoint of step `count` failed (disk full); the run stopped before its next step"
    );
    let journal = error.source().expect("the journal's error is kept");
    assert!(journal.is::<JournalError>(), "{journal:?}");
    let io = journal.source().expect("the journal's own cause is kept");
    assert!(io.is::<std::io::Error>(), "{io:?}");
}

#[derive(Debug, Serialize, Deserialize)]
enum RatioError {
    Skewed { by: f64 },
}

#[workflow]
async fn ratios(ratio: Option<f64>, plain: f64, skew: Option<f64>) -> Result<f64, RatioError> {
    let optional = step!("ratio", Ok::<Option<f64>, RatioError>(ratio))?;
    let plain = step!("plain", Ok::<f64, RatioError>(plain))?;
    step!("skew", {
        match skew {
            None => Ok(optional.unwrap_or(0.0) + plain),
            Some(by) => Err(RatioError::Skewed { by }),
        }
    })
}

/// JSON has no NaN or infinity (`serde_json` writes `null`): such a value fails when it is recorded,
/// naming the key, instead of replaying as `None` or failing to decode on the next run.
#[tokio::test]
async fn a_value_json_cannot_hold_fails_when_recorded_not_on_replay() {
    let cases = [
        (Some(f64::NAN), 1.0, None, "ratio", "NaN"),
        (Some(0.5), f64::INFINITY, None, "plain", "inf"),
        (None, 1.0, Some(f64::NEG_INFINITY), "skew", "-inf"),
    ];
    for (ratio, plain, skew, key, float) in cases {
        let run = ratios(ratio, plain, skew).start().await;
        let Outcome::Stopped(error) = &run.outcome else {
            panic!("{key}: {:?}", run.outcome)
        };
        let RunError::Unrecordable {
            key: stopped_at,
            reason,
        } = error
        else {
            panic!("{key}: {error:?}")
        };
        assert_eq!(stopped_at, key);
        assert!(reason.contains(&format!("`{float}`")), "{reason}");
        let text = error.to_string();
        assert!(
            text.starts_with(&format!(
                "the outcome of `{key}` cannot be recorded faithfully"
            )) && text.contains("JSON cannot represent"),
            "{text}"
        );
        // Nothing was recorded for it: the steps before it are, and replay as before.
        assert!(!run.state.contains_key(key), "{key}");
        let again = ratios(ratio, plain, skew).run(run.state).await;
        assert_eq!(format!("{:?}", again.outcome), format!("{:?}", run.outcome));
    }
    // Finite values record and replay as they were.
    let run = ratios(Some(0.25), -1.5, None).start().await;
    assert!(matches!(run.outcome, Outcome::Completed(sum) if (sum + 1.25).abs() < 1e-12));
    let replayed = ratios(None, 0.0, None).run(run.state).await;
    assert!(matches!(replayed.outcome, Outcome::Completed(sum) if (sum + 1.25).abs() < 1e-12));
}

#[workflow]
async fn many(count: u32) -> Result<u32, String> {
    let mut total = 0;
    for index in 0..count {
        total += step!("step", key = index, Ok::<u32, String>(index))?;
    }
    Ok(total)
}

#[tokio::test]
async fn any_executor_drives_a_workflow() {
    // No tokio here: a hand-rolled poll loop with a no-op waker.
    let future = std::pin::pin!(many(100).start());
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    let std::task::Poll::Ready(run) = future.poll(&mut context) else {
        panic!("a workflow without I/O completes in one poll")
    };
    assert!(matches!(run.outcome, Outcome::Completed(4950)));
    assert_eq!(run.state.len(), 100);
}

#[tokio::test]
async fn repeated_items_replay_under_the_same_keys() {
    let first = per_item(vec!["a", "b", "a", "a"]).start().await;
    assert_eq!(
        first.state.keys().collect::<Vec<_>>(),
        ["ship[a]", "ship[b]", "ship[a]#2", "ship[a]#3"]
    );
    let replay = per_item(vec!["a", "b", "a", "a", "a"])
        .run(first.state.clone())
        .await;
    assert_eq!(
        replay.state.keys().collect::<Vec<_>>(),
        ["ship[a]", "ship[b]", "ship[a]#2", "ship[a]#3", "ship[a]#4"]
    );
    // A cleared occurrence runs again under its own key; the others still replay.
    let mut partial = first.state.clone();
    partial.remove("ship[a]#2");
    let rerun = per_item(vec!["a", "b", "a", "a"]).run(partial).await;
    assert_eq!(
        rerun.state.keys().collect::<Vec<_>>(),
        ["ship[a]", "ship[b]", "ship[a]#3", "ship[a]#2"]
    );
}
