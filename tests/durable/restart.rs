//! Restart: a run suspended (or left running) by one process is finished by a fresh engine over
//! the same SQLite file, reopened.
#![cfg(feature = "sqlite")]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use awaitly::durable::Delivery;
use awaitly::store::{RunOutcome, RunStatus, SqliteStore, Store};
use common::flows::{self, OrderInput, executions};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_run_survives_a_restart() {
    let file = common::ScratchFile::new("restart");
    let run = "restart-1";
    let hook = {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&file.0).await.unwrap());
        let engine = flows::engine(store);
        let input = OrderInput {
            run: run.to_owned(),
            cents: 10,
        };
        let started = engine.start(run, "order", &input).await.unwrap();
        started.outcome.pending_hook().unwrap().hook_id.clone()
        // The engine and the store (its connection) are dropped here: the "process" ends.
    };

    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&file.0).await.unwrap());
    let engine = flows::engine(store);
    let pending = engine.pending_hooks().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].hook_id, hook);
    assert_eq!(pending[0].run_id, run);
    let delivery = engine
        .resume_hook(&hook, json!({ "paid_cents": 10 }))
        .await
        .unwrap();
    assert_eq!(
        delivery,
        Delivery::Applied {
            run_id: run.to_owned(),
            outcome: RunOutcome::Completed {
                result: json!("ord-restart-1 fulfilled")
            }
        }
    );
    assert_eq!(
        executions(run, "create-order"),
        1,
        "replayed from the file, not run again"
    );
    assert_eq!(executions(run, "fulfil"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_left_running_is_recovered_after_a_restart() {
    let file = common::ScratchFile::new("recover");
    let run = "recover-1";
    {
        // A "process" that dies in the middle: the run is created, leased to it for 300 ms, and
        // the process ends before any step executes (the workflow is never driven).
        let store = SqliteStore::open(&file.0).await.unwrap();
        let mut new_run = awaitly::store::NewRun::new(run, "twenty", 1, json!(run));
        new_run.lease = Some(awaitly::store::Lease::new(
            "dead-executor",
            Duration::from_millis(300),
        ));
        let created = store.create_run(new_run).await.unwrap();
        assert_eq!(created.record().status(), RunStatus::Running);
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&file.0).await.unwrap());
    let fresh = flows::engine(Arc::clone(&store));
    // Its lease has not expired yet: `start` returns the run as it stands.
    let again = fresh.start(run, "twenty", &run).await.unwrap();
    assert_eq!((again.created, again.outcome), (false, RunOutcome::Running));
    // Once the lease has lapsed, starting it again picks it up from its last checkpoint.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let engine = flows::engine(Arc::clone(&store));
    let resumed = engine.start(run, "twenty", &run).await.unwrap();
    assert!(!resumed.created);
    assert!(
        matches!(resumed.outcome, RunOutcome::Suspended { .. }),
        "it ran on to its hook: {:?}",
        resumed.outcome
    );
    assert_eq!(executions(run, "add-9"), 1);
    // Nothing is left for recovery.
    assert!(engine.recover().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_resumes_runs_left_running() {
    let file = common::ScratchFile::new("recover-all");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&file.0).await.unwrap());
    for run in ["recover-a", "recover-b"] {
        store
            .create_run(awaitly::store::NewRun::new(run, "twenty", 1, json!(run)))
            .await
            .unwrap();
    }
    let engine = flows::engine(store).stale_after(Duration::ZERO);
    let recovered = engine.recover().await.unwrap();
    let runs: Vec<&str> = recovered.iter().map(|(run, _)| run.as_str()).collect();
    assert_eq!(runs, ["recover-a", "recover-b"]);
    assert!(
        recovered
            .iter()
            .all(|(_, outcome)| matches!(outcome, Ok(RunOutcome::Suspended { .. }))),
        "{recovered:?}"
    );
}
