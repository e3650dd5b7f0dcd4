//! Due runs on every backend (memory, SQLite, and Postgres when `AWAITLY_TEST_POSTGRES_URL` is
//! set): durable sleeps, hook deadlines, a late payload racing the timeout, and the worker loop.
//! Time comes from a `ManualClock`, so nothing here waits for real.
#![cfg(feature = "durable")]

use crate::common;

use common::on_every_backend;

use std::sync::Arc;
use std::time::Duration;

use awaitly::durable::{Delivery, Engine, EngineError};
use awaitly::store::{Claim, RunOutcome, Store};
use awaitly::{HookId, HookTimeout, ManualClock, await_hook, sleep, step, workflow};
use common::flows::{executed, executions};
use serde_json::json;

/// 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000_000;
const TEN_MINUTES: u64 = 600_000;

#[workflow]
async fn nap(run: String) -> Result<String, String> {
    step!("before", count(&run, "before").await)?;
    sleep!("nap", Duration::from_mins(1));
    step!("after", count(&run, "after").await)?;
    Ok("woke".to_owned())
}

#[workflow]
async fn pay_or_time_out(run: String) -> Result<String, String> {
    step!("before", count(&run, "before").await)?;
    let paid: Result<u32, HookTimeout> = await_hook!("payment", timeout = Duration::from_mins(10));
    match paid {
        Ok(cents) => Ok(format!("paid {cents}")),
        Err(_) => Ok("timed out".to_owned()),
    }
}

async fn count(run: &str, step: &str) -> Result<u32, String> {
    executed(run, step);
    tokio::task::yield_now().await;
    Ok(1)
}

fn engine(store: Arc<dyn Store>, clock: &Arc<ManualClock>) -> Engine {
    Engine::with_store(store)
        .clock(clock.clone())
        .register("nap", 1, nap)
        .register("pay", 1, pay_or_time_out)
}

fn completed(text: &str) -> RunOutcome {
    RunOutcome::Completed {
        result: json!(text),
    }
}

fn hook_of(outcome: &RunOutcome) -> HookId {
    outcome
        .pending_hook()
        .expect("waits at a hook")
        .hook_id
        .clone()
}

async fn resumed_ids(engine: &Engine) -> Vec<(String, Result<RunOutcome, EngineError>)> {
    engine.resume_due().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleep_survives_a_restart_and_continues_once_due() {
    on_every_backend(|backend, store| async move {
        let run = format!("nap-{backend}");
        let clock = Arc::new(ManualClock::new(T0));
        let started = engine(Arc::clone(&store), &clock)
            .start(&run, "nap", &run)
            .await
            .unwrap();
        let sleeping = RunOutcome::Sleeping {
            key: "nap".into(),
            wake_at_ms: T0 + 60_000,
        };
        assert_eq!(started.outcome, sleeping);
        assert!(store.due_runs(T0 + 59_999, 10).await.unwrap().is_empty());

        // "Restart" half-way: a new engine over the same store; nothing is due yet.
        clock.advance(Duration::from_secs(30));
        let restarted = engine(Arc::clone(&store), &clock);
        assert!(resumed_ids(&restarted).await.is_empty());
        assert_eq!(
            restarted.resume_run(&run).await.unwrap(),
            sleeping,
            "not due: stays asleep"
        );

        // The remaining 30 s, not the full minute again.
        clock.advance(Duration::from_secs(30));
        let resumed = resumed_ids(&restarted).await;
        assert_eq!(resumed, vec![(run.clone(), Ok(completed("woke")))]);
        assert_eq!(executions(&run, "before"), 1);
        assert_eq!(executions(&run, "after"), 1);
        assert!(
            resumed_ids(&restarted).await.is_empty(),
            "done runs are not due"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_past_its_deadline_refuses_payloads_and_the_workflow_sees_its_timeout() {
    on_every_backend(|backend, store| async move {
        let run = format!("deadline-{backend}");
        let clock = Arc::new(ManualClock::new(T0));
        let engine = engine(store, &clock);
        let started = engine.start(&run, "pay", &run).await.unwrap();
        let hook = hook_of(&started.outcome);
        assert_eq!(
            started.outcome.pending_hook().unwrap().deadline_ms,
            Some(T0 + TEN_MINUTES)
        );
        clock.advance(Duration::from_mins(10));
        let late = engine.resume_hook(&hook, json!(4200)).await.unwrap_err();
        assert!(matches!(late, EngineError::HookExpired { .. }), "{late:?}");
        assert_eq!(
            resumed_ids(&engine).await,
            vec![(run.clone(), Ok(completed("timed out")))]
        );
        let later = engine.resume_hook(&hook, json!(4200)).await.unwrap_err();
        assert!(
            matches!(later, EngineError::HookExpired { .. }),
            "{later:?}"
        );
        assert_eq!(
            engine.record(&run).await.unwrap().outcome,
            completed("timed out")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_payload_racing_the_timeout_is_decided_once() {
    on_every_backend(|backend, store| async move {
        let clock = Arc::new(ManualClock::new(T0));
        let engine = Arc::new(engine(Arc::clone(&store), &clock));
        let runs: Vec<String> = (0..8)
            .map(|index| format!("late-{backend}-{index}"))
            .collect();
        let mut hooks = Vec::new();
        for run in &runs {
            hooks.push(hook_of(
                &engine.start(run, "pay", run).await.unwrap().outcome,
            ));
        }
        // Exactly at the deadline: deliveries and the sweeper race.
        clock.advance(Duration::from_mins(10));
        let mut tasks = tokio::task::JoinSet::new();
        for hook in &hooks {
            let (engine, hook) = (Arc::clone(&engine), hook.clone());
            tasks.spawn(async move { engine.resume_hook(&hook, json!(7)).await.err() });
        }
        let sweeper = {
            let engine = Arc::clone(&engine);
            tokio::spawn(async move { engine.resume_due().await.unwrap() })
        };
        let deliveries = tasks.join_all().await;
        sweeper.await.unwrap();
        for error in &deliveries {
            assert!(
                matches!(error, Some(EngineError::HookExpired { .. })),
                "{deliveries:?}"
            );
        }
        for (run, hook) in runs.iter().zip(&hooks) {
            assert_eq!(
                engine.record(run).await.unwrap().outcome,
                completed("timed out")
            );
            assert_eq!(store.find_hook(hook).await.unwrap().unwrap().payload, None);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_claimed_in_time_wins_even_when_applied_after_the_deadline() {
    on_every_backend(|backend, store| async move {
        let run = format!("in-time-{backend}");
        let clock = Arc::new(ManualClock::new(T0));
        let engine = engine(Arc::clone(&store), &clock);
        let hook = hook_of(&engine.start(&run, "pay", &run).await.unwrap().outcome);
        // A delivery claims the hook a millisecond before the deadline, then its process dies.
        let claim = store
            .claim_hook(&hook, &json!(99), T0 + TEN_MINUTES - 1, None, None)
            .await
            .unwrap();
        assert!(
            matches!(
                claim,
                Claim::Claimed {
                    suspended: true,
                    ..
                }
            ),
            "{claim:?}"
        );
        clock.advance(Duration::from_mins(11));
        assert_eq!(
            resumed_ids(&engine).await,
            vec![(run.clone(), Ok(completed("paid 99")))]
        );
        let other = engine.resume_hook(&hook, json!(1)).await.unwrap_err();
        assert!(
            matches!(other, EngineError::AlreadyResolved { .. }),
            "{other:?}"
        );
        let same = engine.resume_hook(&hook, json!(99)).await.unwrap();
        assert!(matches!(same, Delivery::Duplicate { .. }), "{same:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_from_a_lagging_clock_loses_to_a_recorded_timeout() {
    on_every_backend(|backend, store| async move {
        let run = format!("skew-{backend}");
        let clock = Arc::new(ManualClock::new(T0));
        let sweeper = engine(Arc::clone(&store), &clock);
        let hook = hook_of(&sweeper.start(&run, "pay", &run).await.unwrap().outcome);
        clock.advance(Duration::from_mins(10));
        assert_eq!(
            resumed_ids(&sweeper).await,
            vec![(run.clone(), Ok(completed("timed out")))]
        );
        // An instance whose clock lags still believes the hook is open; the store accepts its
        // claim, but the run has recorded its timeout: the payload is refused and released.
        let lagging = engine(Arc::clone(&store), &Arc::new(ManualClock::new(T0)));
        let refused = lagging.resume_hook(&hook, json!(5)).await.unwrap_err();
        assert!(
            matches!(refused, EngineError::HookExpired { .. }),
            "{refused:?}"
        );
        assert_eq!(store.find_hook(&hook).await.unwrap().unwrap().payload, None);
        assert_eq!(
            sweeper.record(&run).await.unwrap().outcome,
            completed("timed out")
        );
    })
    .await;
}

#[cfg(feature = "worker")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_resumes_due_runs_until_stopped() {
    on_every_backend(|backend, store| async move {
        let run = format!("worker-{backend}");
        let clock = Arc::new(ManualClock::new(T0));
        let engine = Arc::new(engine(store, &clock));
        engine.start(&run, "nap", &run).await.unwrap();
        let reported = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&reported);
        let worker = awaitly::durable::Worker::new(Arc::clone(&engine))
            .interval(Duration::from_millis(5))
            .on_resumed(move |run_id, result| {
                sink.lock()
                    .unwrap()
                    .push((run_id.to_owned(), result.clone()));
            })
            .spawn();
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(worker.stats().ticks >= 2, "{:?}", worker.stats());
        assert_eq!(worker.stats().resumed, 0, "nothing is due yet");
        clock.advance(Duration::from_mins(1));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while engine.record(&run).await.unwrap().outcome != completed("woke") {
            assert!(
                std::time::Instant::now() < deadline,
                "the worker did not resume the run"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let stats = worker.stop().await;
        assert_eq!(stats.resumed, 1, "{stats:?}");
        assert_eq!(
            *reported.lock().unwrap(),
            vec![(run.clone(), Ok(completed("woke")))]
        );
        // Stopped: a run due now stays due.
        let second = format!("{run}-2");
        engine.start(&second, "nap", &second).await.unwrap();
        clock.advance(Duration::from_mins(1));
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(matches!(
            engine.record(&second).await.unwrap().outcome,
            RunOutcome::Sleeping { .. }
        ));
    })
    .await;
}
