//! The durable queue (`Engine::enqueue`, `Worker::queue`): enqueued runs complete exactly once,
//! a queue's concurrency limit holds across instances, priorities order the claims, enqueueing
//! is idempotent, queued deliveries are applied by workers, and PostgreSQL workers wake through
//! `LISTEN`/`NOTIFY`. On memory, SQLite and PostgreSQL (when `AWAITLY_TEST_POSTGRES_URL` is set;
//! a notice is printed otherwise).
#![cfg(all(feature = "worker", feature = "sqlite", feature = "postgres"))]

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use awaitly::HookId;
use awaitly::durable::{Deliveries, Delivery, Engine, EngineError, Enqueue, Worker};
use awaitly::store::{
    Changes, Claim, ClaimedRuns, Created, HookRecord, Lease, NewRun, PostgresStore, QueueLimit,
    RunOutcome, RunRecord, Saved, Store, StoreFuture, StoredRun,
};
use common::flows::{self, OrderInput, Payment, executions};
use common::jobs::{self, Job, max_in_flight, started};
use common::on_every_backend;
use common::shared::on_shared_backends;
use serde_json::json;

/// Waits (up to `within`) until every run in `runs` exists and is completed or failed; returns
/// whether they all are.
async fn all_finished(engine: &Engine, runs: &[String], within: Duration) -> bool {
    let deadline = Instant::now() + within;
    for run in runs {
        while !engine
            .store()
            .load_run(run)
            .await
            .unwrap()
            .is_some_and(|stored| stored.record.status().is_terminal())
        {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    true
}

/// Asserts that every run completed with its job's result and ran its step once.
async fn completed_once(engine: &Engine, runs: &[String]) {
    for run in runs {
        let record = engine.record(run).await.unwrap();
        assert_eq!(
            record.outcome,
            RunOutcome::Completed {
                result: jobs::result(run)
            },
            "{run}"
        );
        assert_eq!(record.lease, None, "{run}: a finished run holds no lease");
        assert_eq!(executions(run, "work"), 1, "{run}: the step ran once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueued_runs_complete_exactly_once() {
    on_every_backend(|backend, store| async move {
        let engine = Arc::new(jobs::engine(store));
        let gauge = format!("once-{backend}");
        let runs: Vec<String> = (0..20).map(|index| format!("{gauge}-{index}")).collect();
        for run in &runs {
            let job = Job::new(run, &gauge, 5);
            let queued = engine
                .enqueue(run, "job", &job, &Enqueue::on("q"))
                .await
                .unwrap();
            assert!(queued.created);
            assert_eq!(queued.outcome, RunOutcome::Running, "stored, not run");
            assert_eq!(executions(run, "work"), 0);
        }
        // A run of another queue: a worker serving `q` leaves it alone.
        let elsewhere = format!("{gauge}-elsewhere");
        let job = Job::new(&elsewhere, &gauge, 5);
        engine
            .enqueue(&elsewhere, "job", &job, &Enqueue::on("other"))
            .await
            .unwrap();
        let worker = Worker::new(Arc::clone(&engine))
            .queue(QueueLimit::new("q").concurrency(4))
            .interval(Duration::from_millis(20))
            .spawn();
        assert!(all_finished(&engine, &runs, Duration::from_secs(8)).await);
        let stats = worker.stop().await;
        completed_once(&engine, &runs).await;
        assert!(stats.resumed >= 20, "{stats:?}");
        assert!(max_in_flight(&gauge) <= 4, "{}", max_in_flight(&gauge));
        let other = engine.record(&elsewhere).await.unwrap();
        assert_eq!(
            (other.outcome, other.queue.as_str()),
            (RunOutcome::Running, "other")
        );
        assert_eq!(executions(&elsewhere, "work"), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_queue_limit_holds_across_instances() {
    on_shared_backends(|backend, stores| async move {
        let engines = stores.map(|store| Arc::new(jobs::engine(store)));
        let gauge = format!("limit-{backend}");
        let runs: Vec<String> = (0..12).map(|index| format!("{gauge}-{index}")).collect();
        // Enqueued through both instances, before any worker runs.
        for (index, run) in runs.iter().enumerate() {
            engines[index % 2]
                .enqueue(
                    run,
                    "job",
                    &Job::new(run, &gauge, 20),
                    &Enqueue::on("limited"),
                )
                .await
                .unwrap();
        }
        // Each worker would take 4 at once; the queue allows 2 across both.
        let workers: Vec<_> = engines
            .iter()
            .map(|engine| {
                Worker::new(Arc::clone(engine))
                    .queue(QueueLimit::new("limited").concurrency(2))
                    .concurrency(4)
                    .interval(Duration::from_millis(5))
                    .spawn()
            })
            .collect();
        let finished = all_finished(&engines[0], &runs, Duration::from_secs(8)).await;
        for worker in workers {
            worker.stop().await;
        }
        assert!(finished, "every run finished");
        completed_once(&engines[0], &runs).await;
        let max = max_in_flight(&gauge);
        println!("{backend}: at most {max} runs of the queue at once");
        assert_eq!(max, 2, "the limit, and reached (12 runs were waiting)");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_higher_priority_run_enqueued_later_runs_first() {
    on_every_backend(|backend, store| async move {
        let engine = Arc::new(jobs::engine(store));
        let gauge = format!("prio-{backend}");
        let run = |name: &str| format!("{gauge}-{name}");
        let enqueue = |name: String, priority: i32| {
            let engine = Arc::clone(&engine);
            let gauge = gauge.clone();
            async move {
                let placement = Enqueue::on("prio").priority(priority);
                let job = Job::new(&name, &gauge, 1);
                engine
                    .enqueue(&name, "job", &job, &placement)
                    .await
                    .unwrap();
            }
        };
        // The worker's one slot is busy with the blocker while the others are enqueued.
        jobs::hold(&run("blocker"));
        enqueue(run("blocker"), 0).await;
        let worker = Worker::new(Arc::clone(&engine))
            .queue(QueueLimit::new("prio"))
            .concurrency(1)
            .interval(Duration::from_millis(5))
            .spawn();
        while executions(&run("blocker"), "work") == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        enqueue(run("low-1"), 0).await;
        enqueue(run("low-2"), 0).await;
        enqueue(run("high"), 10).await;
        enqueue(run("lowest"), -5).await;
        jobs::open(&run("blocker"));
        let runs: Vec<String> = ["blocker", "low-1", "low-2", "high", "lowest"]
            .iter()
            .map(|name| run(name))
            .collect();
        assert!(all_finished(&engine, &runs, Duration::from_secs(8)).await);
        worker.stop().await;
        completed_once(&engine, &runs).await;
        assert_eq!(
            started(&gauge),
            ["blocker", "high", "low-1", "low-2", "lowest"].map(run),
            "higher priority first, then oldest"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_is_idempotent_and_run_ids_are_per_workflow() {
    on_every_backend(|backend, store| async move {
        let engine =
            Arc::new(jobs::engine(Arc::clone(&store)).register("order", 1, flows::order_flow));
        let run = format!("idem-{backend}");
        let placement = Enqueue::on("idem").priority(3);
        let first = engine
            .enqueue(&run, "job", &Job::new(&run, &run, 1), &placement)
            .await
            .unwrap();
        assert!(first.created);
        let record = engine.record(&run).await.unwrap();
        assert_eq!((record.queue.as_str(), record.priority), ("idem", 3));
        assert_eq!(record.lease, None, "nobody holds an enqueued run");
        // Again, even with other input or placement: the run as it stands, nothing written.
        let again = engine
            .enqueue(&run, "job", &Job::new(&run, "other", 99), &Enqueue::on("x"))
            .await
            .unwrap();
        assert!(!again.created);
        assert_eq!(again.outcome, RunOutcome::Running);
        assert_eq!(engine.record(&run).await.unwrap(), record);
        let taken = engine
            .enqueue(
                &run,
                "order",
                &OrderInput {
                    run: run.clone(),
                    cents: 1,
                },
                &placement,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&taken, EngineError::RunIdTaken { workflow, .. } if workflow == "job"),
            "{taken:?}"
        );
        let unknown = engine
            .enqueue("nope", "nope", &1, &placement)
            .await
            .unwrap_err();
        assert!(
            matches!(unknown, EngineError::UnknownWorkflow { .. }),
            "{unknown:?}"
        );

        let worker = Worker::new(Arc::clone(&engine))
            .queue(QueueLimit::new("idem"))
            .interval(Duration::from_millis(5))
            .spawn();
        assert!(all_finished(&engine, std::slice::from_ref(&run), Duration::from_secs(5)).await);
        worker.stop().await;
        let done = engine
            .enqueue(&run, "job", &Job::new(&run, &run, 1), &placement)
            .await
            .unwrap();
        assert!(!done.created);
        assert_eq!(
            done.outcome,
            RunOutcome::Completed {
                result: jobs::result(&run)
            }
        );
        assert!(
            engine.resume_due().await.unwrap().is_empty(),
            "nothing to run again"
        );
        completed_once(&engine, &[run]).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_deliveries_are_applied_by_a_worker() {
    on_every_backend(|backend, store| async move {
        let engine = Arc::new(flows::engine(Arc::clone(&store)).deliveries(Deliveries::Queue));
        let run = format!("queued-delivery-{backend}");
        let started = engine
            .start(
                &run,
                "order",
                &OrderInput {
                    run: run.clone(),
                    cents: 4200,
                },
            )
            .await
            .unwrap();
        let hook = started.outcome.pending_hook().unwrap().hook_id.clone();
        let payment = json!(Payment { paid_cents: 4200 });
        let delivery = engine.resume_hook(&hook, payment.clone()).await.unwrap();
        assert_eq!(
            delivery,
            Delivery::Queued {
                run_id: run.clone()
            }
        );
        // Stored, not applied: the run still waits, its next step has not run.
        assert_eq!(executions(&run, "fulfil"), 0);
        let waiting = engine.record(&run).await.unwrap();
        assert!(waiting.outcome.pending_hook().is_some(), "{waiting:?}");
        let hook_record = store.find_hook(&hook).await.unwrap().unwrap();
        assert_eq!(hook_record.payload, Some(payment.clone()));

        let worker = Worker::new(Arc::clone(&engine))
            .interval(Duration::from_millis(5))
            .spawn();
        assert!(all_finished(&engine, std::slice::from_ref(&run), Duration::from_secs(5)).await);
        worker.stop().await;
        let outcome = RunOutcome::Completed {
            result: json!(format!("ord-{run} fulfilled")),
        };
        assert_eq!(engine.record(&run).await.unwrap().outcome, outcome);
        assert_eq!(executions(&run, "fulfil"), 1);
        assert_eq!(executions(&run, "create-order"), 1);
        let again = engine.resume_hook(&hook, payment).await.unwrap();
        assert_eq!(
            again,
            Delivery::Duplicate {
                run_id: run,
                outcome
            }
        );
    })
    .await;
}

/// A worker waiting with a 30 s interval picks up a run enqueued through another connection
/// (another `PostgresStore` on the schema) at once: only the notification can have woken it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_workers_wake_on_notify_not_on_the_interval() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = common::unique("notify");
    let mine = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    let theirs = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    // Listening before the worker starts, so no notification can precede the LISTEN.
    mine.wait_for_work(Duration::from_millis(1)).await.unwrap();
    let engine = Arc::new(jobs::engine(Arc::new(mine.clone())));
    let enqueuer = jobs::engine(Arc::new(theirs));
    let worker = Worker::new(Arc::clone(&engine))
        .queue(QueueLimit::new("notified"))
        .interval(Duration::from_secs(30))
        .spawn();
    // The first claim found nothing: from here the worker waits for up to 30 s.
    while worker.stats().ticks == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for round in 0..2 {
        // Enqueue once the worker waits again, so the notification is what wakes it (not a
        // claim in progress; see `a_notification_during_a_claim_is_not_lost` for that case).
        tokio::time::sleep(Duration::from_millis(200)).await;
        let run = format!("notified-{round}");
        let since = Instant::now();
        enqueuer
            .enqueue(
                &run,
                "job",
                &Job::new(&run, &run, 1),
                &Enqueue::on("notified"),
            )
            .await
            .unwrap();
        let finished = all_finished(
            &enqueuer,
            std::slice::from_ref(&run),
            Duration::from_secs(5),
        )
        .await;
        println!(
            "round {round}: finished {finished} after {:.0?}",
            since.elapsed()
        );
        assert!(
            finished,
            "the worker was not woken by the other connection's enqueue"
        );
        completed_once(&enqueuer, &[run]).await;
    }
    let stats = worker.stop().await;
    assert_eq!(stats.resumed, 2, "{stats:?}");
    mine.drop_schema().await.unwrap();
}

/// Delegates to a `PostgresStore`; right after the first claim has looked (and found nothing),
/// another instance enqueues a run and its notification reaches this store's listener before
/// the worker goes on to wait for work — what happens whenever a run is enqueued while a worker
/// is claiming.
struct EnqueuedDuringTheClaim {
    inner: PostgresStore,
    other: Engine,
    armed: std::sync::atomic::AtomicBool,
}

impl Store for EnqueuedDuringTheClaim {
    fn create_run(&self, run: NewRun) -> StoreFuture<'_, Created> {
        self.inner.create_run(run)
    }
    fn load_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, Option<StoredRun>> {
        self.inner.load_run(run_id)
    }
    fn save<'a>(
        &'a self,
        run_id: &'a str,
        revision: u64,
        changes: Changes,
    ) -> StoreFuture<'a, Saved> {
        self.inner.save(run_id, revision, changes)
    }
    fn claim_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a serde_json::Value,
        now_ms: u64,
        dedupe_key: Option<&'a str>,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Claim> {
        self.inner
            .claim_hook(hook_id, payload, now_ms, dedupe_key, lease)
    }
    fn release_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a serde_json::Value,
    ) -> StoreFuture<'a, bool> {
        self.inner.release_hook(hook_id, payload)
    }
    fn find_hook<'a>(&'a self, hook_id: &'a HookId) -> StoreFuture<'a, Option<HookRecord>> {
        self.inner.find_hook(hook_id)
    }
    fn pending_hooks(&self) -> StoreFuture<'_, Vec<HookRecord>> {
        self.inner.pending_hooks()
    }
    fn due_runs(&self, now_ms: u64, limit: usize) -> StoreFuture<'_, Vec<RunRecord>> {
        self.inner.due_runs(now_ms, limit)
    }
    fn claim_runs<'a>(
        &'a self,
        now_ms: u64,
        limit: usize,
        lease: &'a Lease,
        queues: &'a [QueueLimit],
    ) -> StoreFuture<'a, ClaimedRuns> {
        Box::pin(async move {
            let claimed = self.inner.claim_runs(now_ms, limit, lease, queues).await?;
            if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
                let job = Job::new("mid-claim", "mid-claim", 1);
                self.other
                    .enqueue("mid-claim", "job", &job, &Enqueue::on("notified"))
                    .await
                    .unwrap();
                // Long enough for the notification to reach the listener.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(claimed)
        })
    }
    fn renew_lease<'a>(&'a self, run_id: &'a str, lease: &'a Lease) -> StoreFuture<'a, bool> {
        self.inner.renew_lease(run_id, lease)
    }
    fn wait_for_work(&self, timeout: Duration) -> StoreFuture<'_, ()> {
        self.inner.wait_for_work(timeout)
    }
    fn list_runs(&self) -> StoreFuture<'_, Vec<RunRecord>> {
        self.inner.list_runs()
    }
    fn delete_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, bool> {
        self.inner.delete_run(run_id)
    }
}

/// A run enqueued while a worker is claiming does not wait for the worker's interval: its
/// notification arrived after the claim looked and before the worker waits for work, and the
/// wait that follows ends at once. (It used to be lost: the listener only counted notifications
/// arriving during a wait.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_during_a_claim_is_not_lost() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = common::unique("notify_gap");
    let mine = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    let theirs = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    mine.wait_for_work(Duration::from_millis(1)).await.unwrap();
    let store = EnqueuedDuringTheClaim {
        inner: mine.clone(),
        other: jobs::engine(Arc::new(theirs)),
        armed: std::sync::atomic::AtomicBool::new(true),
    };
    let engine = Arc::new(jobs::engine(Arc::new(store)));
    let worker = Worker::new(Arc::clone(&engine))
        .queue(QueueLimit::new("notified"))
        .interval(Duration::from_secs(30))
        .spawn();
    let runs = ["mid-claim".to_owned()];
    let finished = all_finished(&engine, &runs, Duration::from_secs(5)).await;
    worker.stop().await;
    mine.drop_schema().await.unwrap();
    assert!(
        finished,
        "a run enqueued while the worker claimed waited for the 30 s interval"
    );
}

#[awaitly::workflow]
async fn nap(run: String) -> Result<String, String> {
    awaitly::sleep!("nap", Duration::from_millis(10));
    awaitly::step!("woke", Ok::<String, String>(run))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_enqueued_later_waits_behind_a_sleep_that_ended_earlier() {
    on_every_backend(|backend, store| async move {
        let clock = Arc::new(awaitly::ManualClock::new(1_000));
        let engine = Engine::with_store(store)
            .clock(clock.clone())
            .register("nap", 1, nap);
        let sleeper = format!("sleeper-{backend}");
        let started = engine.start(&sleeper, "nap", &sleeper).await.unwrap();
        assert!(matches!(started.outcome, RunOutcome::Sleeping { .. }));
        clock.advance(Duration::from_millis(20));
        let newcomer = format!("newcomer-{backend}");
        engine
            .enqueue(&newcomer, "nap", &newcomer, &Enqueue::default())
            .await
            .unwrap();
        // One slot: the run whose sleep ended at 1,010 goes before the one enqueued at 1,020.
        let lease = Lease::new("one-slot", Duration::from_secs(30));
        let claimed = engine
            .store()
            .claim_runs(engine.now_ms(), 1, &lease, &[])
            .await
            .unwrap();
        let ids: Vec<&str> = claimed.runs.iter().map(|run| run.run_id.as_str()).collect();
        assert_eq!(ids, [sleeper.as_str()], "{backend}");
    })
    .await;
}
