//! Size limits and damaged storage: a run whose state would outgrow `Engine::max_state_bytes`
//! stops with a typed error and what is stored stays as it was; a corrupted SQLite entry is a
//! typed error naming the run and key, with the row left alone; a version-1 SQLite file is
//! migrated forward.
#![cfg(feature = "durable")]

use crate::common;

use common::on_every_backend;

use std::sync::Arc;

use awaitly::durable::{Engine, EngineError};
use awaitly::store::{RunOutcome, Store};
use awaitly::{ApprovalError, await_approval, step, workflow};
use serde_json::json;

#[workflow]
async fn grows(size: usize) -> Result<usize, String> {
    step!("small", Ok::<String, String>("x".repeat(10)))?;
    let big = step!("big", Ok::<String, String>("y".repeat(size)))?;
    Ok(big.len())
}

#[workflow]
async fn asks(size: usize) -> Result<u32, String> {
    step!("small", Ok::<u32, String>(1))?;
    let approved: Result<u32, ApprovalError> =
        await_approval!("approve", metadata = "z".repeat(size));
    approved.map_err(|error| error.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_over_the_limit_is_refused_and_what_is_stored_stays() {
    on_every_backend(|backend, store| async move {
        let engine = Engine::with_store(Arc::clone(&store))
            .max_state_bytes(2_000)
            .register("grows", 1, grows)
            .register("asks", 1, asks);
        let fits = format!("fits-{backend}");
        let started = engine.start(&fits, "grows", &1_000).await.unwrap();
        assert_eq!(started.outcome, RunOutcome::Completed { result: json!(1_000) });

        // A step's checkpoint that would pass the limit.
        let over = format!("over-{backend}");
        let error = engine.start(&over, "grows", &5_000).await.unwrap_err();
        let EngineError::StateTooLarge { run_id, bytes, limit } = &error else {
            panic!("{error:?}");
        };
        assert_eq!((run_id.as_str(), *limit), (over.as_str(), 2_000));
        assert!(*bytes > 5_000, "{bytes}");
        assert!(error.to_string().contains("max_state_bytes"), "{error}");
        let stored = store.load_run(&over).await.unwrap().unwrap();
        assert_eq!(stored.state.keys().collect::<Vec<_>>(), ["small"], "the big entry was not stored");
        assert!(
            matches!(&stored.record.outcome, RunOutcome::Stopped { message } if message.contains("2000")),
            "{:?}",
            stored.record.outcome
        );
        // Resuming hits the same limit; the stored entries still stay.
        assert!(matches!(engine.resume_run(&over).await, Err(EngineError::StateTooLarge { .. })));
        assert_eq!(store.load_run(&over).await.unwrap().unwrap().state.len(), 1);

        // A suspension's write (a pending approval with large metadata) is limited as well.
        let waiting = format!("asks-{backend}");
        let error = engine.start(&waiting, "asks", &5_000).await.unwrap_err();
        assert!(matches!(error, EngineError::StateTooLarge { .. }), "{error:?}");
        let stored = store.load_run(&waiting).await.unwrap().unwrap();
        assert_eq!(stored.state.keys().collect::<Vec<_>>(), ["small"]);
        assert!(engine.pending_approvals().await.unwrap().is_empty());
    })
    .await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_sqlite_entry_is_a_typed_error_and_the_row_is_left_alone() {
    use awaitly::store::{SqliteStore, StoreError};

    let file = common::ScratchFile::new("corrupt");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&file.0).await.unwrap());
    let engine = Engine::with_store(Arc::clone(&store)).register("grows", 1, grows);
    engine.start("damaged", "grows", &10).await.unwrap();

    let garbage = "{\"ok\": tru\u{0}e, garbage";
    {
        let connection = rusqlite::Connection::open(&file.0).unwrap();
        let changed = connection
            .execute(
                "UPDATE awaitly_entries SET entry = ?1 WHERE run_id = 'damaged' AND key = 'big'",
                [garbage],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
    let error = store.load_run("damaged").await.unwrap_err();
    let StoreError::Corrupt(message) = &error else {
        panic!("{error:?}");
    };
    assert!(
        message.contains("run `damaged`") && message.contains("entry `big`"),
        "{message}"
    );
    // The engine reports it too, and nothing it does rewrites the row.
    assert!(matches!(
        engine.resume_run("damaged").await,
        Err(EngineError::Store(StoreError::Corrupt(_)))
    ));
    assert!(matches!(
        engine.retry_run("damaged").await,
        Err(EngineError::Store(StoreError::Corrupt(_)))
    ));
    let connection = rusqlite::Connection::open(&file.0).unwrap();
    let (entry, small): (String, String) = connection
        .query_row(
            "SELECT (SELECT entry FROM awaitly_entries WHERE run_id = 'damaged' AND key = 'big'),
                    (SELECT entry FROM awaitly_entries WHERE run_id = 'damaged' AND key = 'small')",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(entry, garbage, "the row is left as it was");
    assert_eq!(
        small,
        json!({ "ok": true, "value": "x".repeat(10) }).to_string()
    );
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_sqlite_file_is_migrated_forward() {
    use awaitly::store::{Claim, SqliteStore};

    let file = common::ScratchFile::new("migrate");
    {
        // The schema version 1 wrote, with a run suspended at a hook whose deadline is 5 000.
        let connection = rusqlite::Connection::open(&file.0).unwrap();
        connection
            .execute_batch(
                r#"
CREATE TABLE awaitly_runs (seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL UNIQUE,
    workflow TEXT NOT NULL, version INTEGER NOT NULL, input TEXT NOT NULL, status TEXT NOT NULL,
    outcome TEXT NOT NULL, revision INTEGER NOT NULL, created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL);
CREATE TABLE awaitly_entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL,
    key TEXT NOT NULL, entry TEXT NOT NULL, UNIQUE (run_id, key));
CREATE TABLE awaitly_hooks (hook_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, metadata TEXT,
    registered_at INTEGER NOT NULL, suspended_at INTEGER, payload TEXT);
INSERT INTO awaitly_runs (run_id, workflow, version, input, status, outcome, revision, created_at, updated_at)
    VALUES ('old', 'w', 1, 'null', 'suspended',
        '{"status":"suspended","hook":{"type":"PENDING_HOOK","hookId":"h-old","stepKey":"hook:h-old","deadline":5000}}',
        1, 1, 1);
INSERT INTO awaitly_entries (run_id, key, entry) VALUES ('old', 'hook:h-old',
    '{"ok":false,"error":{"type":"PENDING_HOOK","hookId":"h-old","stepKey":"hook:h-old","deadline":5000}}');
INSERT INTO awaitly_hooks (hook_id, run_id, registered_at, suspended_at) VALUES ('h-old', 'old', 1, 1);
PRAGMA user_version = 1;
"#,
            )
            .unwrap();
    }
    let store = SqliteStore::open(&file.0).await.unwrap();
    let due: Vec<String> = store
        .due_runs(5_000, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|run| run.run_id)
        .collect();
    assert_eq!(due, ["old"], "the deadline stored by version 1 is indexed");
    assert!(store.due_runs(4_999, 10).await.unwrap().is_empty());
    let hook = awaitly::HookId::from("h-old");
    assert_eq!(
        store
            .claim_hook(&hook, &json!(1), 5_000, None, None)
            .await
            .unwrap(),
        Claim::Expired {
            run_id: "old".into()
        },
        "the hook's deadline was carried over"
    );
    drop(store);
    let version: i64 = rusqlite::Connection::open(&file.0)
        .unwrap()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, 4);
    // Opening again is a no-op.
    assert!(SqliteStore::open(&file.0).await.is_ok());
}
