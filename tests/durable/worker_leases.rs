//! Run leases on the `Worker` path, two instances per backend (one `MemoryStore` shared, one
//! SQLite file opened twice, one PostgreSQL schema connected twice): a worker never takes over a
//! run whose executor is alive in a step longer than its lease (the heartbeat keeps the lease),
//! and takes over a run whose executor died once its lease has lapsed.
//! `tests/durable/engine.rs` checks the same for `resume_run`, `recover` and `start`.
#![cfg(all(feature = "worker", feature = "sqlite", feature = "postgres"))]

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use awaitly::durable::{Engine, Enqueue, Worker, WorkerHandle};
use awaitly::store::{QueueLimit, RunOutcome};
use common::flows::executions;
use common::jobs::{self, Job};
use common::shared::on_shared_backends;

/// The lease of the executor under test: every step below runs several times longer. Long
/// enough that a loaded machine (tests of other binaries, builds) still renews it in time: the
/// heartbeat renews every third of it.
const LEASE: Duration = Duration::from_millis(600);

/// A worker serving every queue, polling often, that notes every run it advanced.
fn watching_worker(engine: &Arc<Engine>) -> (WorkerHandle, Arc<Mutex<Vec<String>>>) {
    let advanced = Arc::new(Mutex::new(Vec::new()));
    let noted = Arc::clone(&advanced);
    let handle = Worker::new(Arc::clone(engine))
        .interval(Duration::from_millis(5))
        .on_resumed(move |run_id, _| noted.lock().unwrap().push(run_id.to_owned()))
        .spawn();
    (handle, advanced)
}

async fn until_started(run: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while executions(run, "work") == 0 {
        assert!(Instant::now() < deadline, "{run} never started");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn until_finished(engine: &Engine, run: &str) -> RunOutcome {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let record = engine.record(run).await.unwrap();
        if record.status().is_terminal() || Instant::now() >= deadline {
            return record.outcome;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_never_takes_over_a_run_whose_executor_is_alive() {
    on_shared_backends(|backend, [mine, theirs]| async move {
        let run = format!("alive-{backend}");
        let executor = Arc::new(jobs::engine(mine).stale_after(LEASE));
        let other = Arc::new(jobs::engine(theirs));
        // The first instance's worker claims the run and sits in its step, far past the lease.
        jobs::hold(&run);
        executor
            .enqueue(&run, "job", &Job::new(&run, &run, 0), &Enqueue::on("slow"))
            .await
            .unwrap();
        let first = Worker::new(Arc::clone(&executor))
            .queue(QueueLimit::new("slow"))
            .interval(Duration::from_millis(5))
            .spawn();
        until_started(&run).await;
        let (second, advanced) = watching_worker(&other);
        tokio::time::sleep(LEASE * 3).await;
        // Every claim path of the other instance leaves it alone meanwhile.
        let due = other.resume_due().await.unwrap();
        assert!(due.iter().all(|(id, _)| *id != run), "{due:?}");
        let recovered = other.recover().await.unwrap();
        assert!(recovered.iter().all(|(id, _)| *id != run), "{recovered:?}");
        let record = other.record(&run).await.unwrap();
        assert_eq!(record.outcome, RunOutcome::Running);
        assert!(
            record.lease.is_some_and(|lease| lease.is_live(now_ms())),
            "the heartbeat keeps the lease live"
        );
        assert_eq!(executions(&run, "work"), 1, "nobody else ran the step");

        jobs::open(&run);
        let outcome = until_finished(&other, &run).await;
        first.stop().await;
        second.stop().await;
        assert_eq!(
            outcome,
            RunOutcome::Completed {
                result: jobs::result(&run)
            }
        );
        assert_eq!(executions(&run, "work"), 1);
        assert!(
            !advanced.lock().unwrap().contains(&run),
            "the other worker never advanced it"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_takes_over_a_run_whose_executor_died() {
    on_shared_backends(|backend, [mine, theirs]| async move {
        let run = format!("dead-{backend}");
        let executor = Arc::new(jobs::engine(mine).stale_after(LEASE));
        let other = Arc::new(jobs::engine(theirs));
        // The first attempt of the step never returns; its executor dies in it.
        jobs::hold(&run);
        let crashed = {
            let (executor, run) = (Arc::clone(&executor), run.clone());
            tokio::spawn(async move {
                let job = Job::new(&run, &run, 0);
                executor.start(&run, "job", &job).await
            })
        };
        until_started(&run).await;
        tokio::time::sleep(LEASE).await; // renewed by the heartbeat meanwhile
        crashed.abort();
        assert!(crashed.await.unwrap_err().is_cancelled());
        let lease = other.record(&run).await.unwrap().lease.unwrap();

        let (worker, advanced) = watching_worker(&other);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut live_checks = 0;
        while executions(&run, "work") < 2 && Instant::now() < deadline {
            let count = executions(&run, "work");
            // Read before the clock: if the lease was live now, it was live at the count too.
            if now_ms() < lease.expires_at_ms {
                live_checks += 1;
                assert_eq!(
                    count, 1,
                    "taken over while the dead executor's lease was live"
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let outcome = until_finished(&other, &run).await;
        worker.stop().await;
        jobs::open(&run);
        println!("{backend}: {live_checks} checks while the lease was live");
        assert_eq!(
            outcome,
            RunOutcome::Completed {
                result: jobs::result(&run)
            },
            "the worker finished the run"
        );
        assert_eq!(
            executions(&run, "work"),
            2,
            "the step in flight at the crash ran again, once"
        );
        assert!(advanced.lock().unwrap().contains(&run));
        assert_eq!(other.record(&run).await.unwrap().lease, None);
    })
    .await;
}

/// The stores' clock: milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    awaitly::Clock::now_ms(&awaitly::SystemClock)
}
