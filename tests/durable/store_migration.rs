//! A PostgreSQL schema written by version 1 (no due times, no hook deadlines) is migrated forward
//! on connect: the deadlines it stored are indexed and enforced. Runs when
//! `AWAITLY_TEST_POSTGRES_URL` is set.
#![cfg(feature = "postgres")]

use crate::common;

use awaitly::store::{Claim, PostgresStore, Store};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_postgres_schema_is_migrated_forward() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = common::unique("migrate");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let s = format!("\"{schema}\"");
    client
        .batch_execute(&format!(
            r#"
CREATE SCHEMA {s};
CREATE TABLE {s}.schema_version (version INTEGER NOT NULL);
INSERT INTO {s}.schema_version (version) VALUES (1);
CREATE TABLE {s}.runs (seq BIGSERIAL NOT NULL, run_id TEXT PRIMARY KEY, workflow TEXT NOT NULL,
    version INTEGER NOT NULL, input TEXT NOT NULL, status TEXT NOT NULL, outcome TEXT NOT NULL,
    revision BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE {s}.entries (seq BIGSERIAL NOT NULL, run_id TEXT NOT NULL, key TEXT NOT NULL,
    entry TEXT NOT NULL, PRIMARY KEY (run_id, key));
CREATE TABLE {s}.hooks (hook_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, metadata TEXT,
    registered_at BIGINT NOT NULL, suspended_at BIGINT, payload TEXT);
INSERT INTO {s}.runs (run_id, workflow, version, input, status, outcome, revision, created_at, updated_at)
    VALUES ('old', 'w', 1, 'null', 'suspended',
        '{{"status":"suspended","hook":{{"type":"PENDING_HOOK","hookId":"h-old","stepKey":"hook:h-old","deadline":5000}}}}',
        1, 1, 1);
INSERT INTO {s}.entries (run_id, key, entry) VALUES ('old', 'hook:h-old',
    '{{"ok":false,"error":{{"type":"PENDING_HOOK","hookId":"h-old","stepKey":"hook:h-old","deadline":5000}}}}');
INSERT INTO {s}.hooks (hook_id, run_id, registered_at, suspended_at) VALUES ('h-old', 'old', 1, 1);
"#
        ))
        .await
        .unwrap();
    let store = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    let due: Vec<String> = store
        .due_runs(5_000, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|run| run.run_id)
        .collect();
    assert_eq!(due, ["old"]);
    assert!(store.due_runs(4_999, 10).await.unwrap().is_empty());
    assert_eq!(
        store
            .claim_hook(&"h-old".into(), &json!(1), 5_000, None, None)
            .await
            .unwrap(),
        Claim::Expired {
            run_id: "old".into()
        }
    );
    let version: i32 = client
        .query_one(&format!("SELECT version FROM {s}.schema_version"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 4);
    // Connecting again is a no-op.
    PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    store.drop_schema().await.unwrap();
}
