//! The store conformance suite on every backend: memory, SQLite, and PostgreSQL (when
//! `AWAITLY_TEST_POSTGRES_URL` is set). Needs the `test-util` feature (gated in main.rs).

use crate::common;

use std::sync::Arc;

use awaitly::store::{MemoryStore, conformance};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_conforms() {
    conformance::run(Arc::new(MemoryStore::new())).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_conforms() {
    let file = common::ScratchFile::new("conformance");
    let store = awaitly::store::SqliteStore::open(&file.0).await.unwrap();
    conformance::run(Arc::new(store)).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_conforms() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = common::unique("conformance");
    let store = awaitly::store::PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    conformance::run(Arc::new(store.clone())).await;
    store.drop_schema().await.unwrap();
}
