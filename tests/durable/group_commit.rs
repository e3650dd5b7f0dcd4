//! Group commit on the SQL stores (issue 15): a save is acknowledged only once the transaction
//! carrying it committed — when that commit fails, every save it carried gets an error and none
//! is visible — and saves of other transactions go on. The per-save fencing of a group is in the
//! conformance suite (`store::conformance`, group checks).

use crate::common;

use std::sync::Arc;

use awaitly::StepEntry;
use awaitly::store::{Changes, NewRun, Store, StoreError};
use serde_json::json;

const RUNS: usize = 32;

async fn create(store: &dyn Store, prefix: &str) {
    for run in 0..RUNS {
        store
            .create_run(NewRun::new(format!("{prefix}-{run}"), "w", 1, json!(null)))
            .await
            .unwrap();
    }
}

/// Saves every run at once; returns each result by run.
async fn save_all(store: &Arc<dyn Store>, prefix: &str) -> Vec<Result<u64, StoreError>> {
    let mut saves = tokio::task::JoinSet::new();
    for run in 0..RUNS {
        let (store, run_id) = (Arc::clone(store), format!("{prefix}-{run}"));
        saves.spawn(async move {
            let changes = Changes {
                entries: vec![("k".to_owned(), StepEntry::ok(&run).unwrap())],
                ..Changes::default()
            };
            (
                run,
                store
                    .save(&run_id, 0, changes)
                    .await
                    .map(|saved| saved.revision),
            )
        });
    }
    let mut results: Vec<Option<Result<u64, StoreError>>> = (0..RUNS).map(|_| None).collect();
    while let Some(joined) = saves.join_next().await {
        let (run, result) = joined.unwrap();
        results[run] = Some(result);
    }
    results.into_iter().map(Option::unwrap).collect()
}

/// Every failed save is a backend error with nothing visible; every acknowledged one is stored.
async fn check(store: &Arc<dyn Store>, prefix: &str, results: &[Result<u64, StoreError>]) {
    assert!(
        results.iter().any(Result::is_err),
        "the failing commit carried at least one save"
    );
    for (run, result) in results.iter().enumerate() {
        let stored = store
            .load_run(&format!("{prefix}-{run}"))
            .await
            .unwrap()
            .unwrap();
        match result {
            Ok(revision) => {
                assert_eq!(*revision, 1);
                assert_eq!(
                    stored.record.revision, 1,
                    "{prefix}-{run} acknowledged and stored"
                );
                assert!(stored.state.get("k").is_some());
            }
            Err(error) => {
                assert!(matches!(error, StoreError::Backend { .. }), "{error:?}");
                assert_eq!(
                    stored.record.revision, 0,
                    "{prefix}-{run} refused and not written"
                );
                assert!(stored.state.get("k").is_none());
            }
        }
    }
    // The store goes on: the failed saves succeed when retried.
    for (run, result) in results.iter().enumerate() {
        if result.is_err() {
            store
                .save(&format!("{prefix}-{run}"), 0, Changes::default())
                .await
                .unwrap();
        }
    }
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acknowledges_no_save_before_its_commit() {
    let file = common::ScratchFile::new("group-commit");
    let sqlite = awaitly::store::SqliteStore::open(&file.0).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(sqlite.clone());
    create(&*store, "gc").await;
    sqlite.fail_commits(1);
    let results = save_all(&store, "gc").await;
    check(&store, "gc", &results).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_acknowledges_no_save_before_its_commit() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = common::unique("group_commit");
    let postgres = awaitly::store::PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(postgres.clone());
    create(&*store, "gc").await;
    postgres.fail_commits(1);
    let results = save_all(&store, "gc").await;
    check(&store, "gc", &results).await;
    postgres.drop_schema().await.unwrap();
}
