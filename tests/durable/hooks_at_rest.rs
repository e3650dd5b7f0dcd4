//! Hook ids at rest: the SQL stores key their hooks table by a digest of the id, so reading the
//! table (a leaked backup, a read-only replica) yields no URL a callback could be posted to. The
//! id still resolves deliveries, and the pending-hooks listing still names it.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

use crate::common;

use std::sync::Arc;

use awaitly::HookId;
use awaitly::durable::Delivery;
use awaitly::store::{PostgresStore, SqliteStore, Store};
use common::flows::{self, OrderInput};
use serde_json::json;

/// Starts an `order` run on `store` and returns the hook it waits at.
async fn suspended_run(store: &Arc<dyn Store>, run: &str) -> HookId {
    let engine = flows::engine(Arc::clone(store));
    let input = OrderInput {
        run: run.to_owned(),
        cents: 100,
    };
    let started = engine.start(run, "order", &input).await.unwrap();
    started.outcome.pending_hook().unwrap().hook_id.clone()
}

/// What a reader of the hooks table sees must not contain the id; a delivery and the listing
/// still work by id.
async fn check_after(store: &Arc<dyn Store>, hook: &HookId, stored_keys: &[String]) {
    assert!(!stored_keys.is_empty());
    for key in stored_keys {
        assert!(
            !key.contains(hook.as_str()),
            "the hooks table holds the live id: {key}"
        );
        assert_eq!(key.len(), 64, "a SHA-256 in hex: {key}");
    }
    let listed = store.pending_hooks().await.unwrap();
    assert!(
        listed.iter().any(|record| record.hook_id == *hook),
        "the listing names the id: {listed:?}"
    );
    let found = store.find_hook(hook).await.unwrap().unwrap();
    assert_eq!(found.hook_id, *hook);
    let engine = flows::engine(Arc::clone(store));
    let delivery = engine
        .resume_hook(hook, json!({ "paid_cents": 100 }))
        .await
        .unwrap();
    assert!(matches!(delivery, Delivery::Applied { .. }), "{delivery:?}");
    let again = engine
        .resume_hook(hook, json!({ "paid_cents": 100 }))
        .await
        .unwrap();
    assert!(matches!(again, Delivery::Duplicate { .. }), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keys_hooks_by_digest() {
    let file = common::ScratchFile::new("at-rest");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&file.0).await.unwrap());
    let hook = suspended_run(&store, "at-rest-sqlite").await;
    let keys: Vec<String> = {
        let connection = rusqlite::Connection::open(&file.0).unwrap();
        let mut statement = connection
            .prepare("SELECT hook_id FROM awaitly_hooks")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    check_after(&store, &hook, &keys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keys_hooks_by_digest() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = common::unique("at_rest");
    let postgres = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(postgres.clone());
    let hook = suspended_run(&store, "at-rest-postgres").await;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let keys: Vec<String> = client
        .query(&format!("SELECT hook_id FROM \"{schema}\".hooks"), &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    check_after(&store, &hook, &keys).await;
    postgres.drop_schema().await.unwrap();
}
