//! One backend opened twice, as two instances of an application open it: one `MemoryStore`
//! shared by both, one SQLite file opened twice, one PostgreSQL schema connected twice (when
//! `AWAITLY_TEST_POSTGRES_URL` is set).
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::sync::Arc;

use awaitly::store::{MemoryStore, PostgresStore, SqliteStore, Store};

use super::{Cleanup, ScratchFile, postgres_url, unique};

/// A backend's name, its two store instances, and what to remove afterwards.
pub type Shared = (&'static str, [Arc<dyn Store>; 2], Cleanup);

/// Every backend, each opened twice.
pub async fn shared_backends() -> Vec<Shared> {
    let memory: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut backends: Vec<Shared> = vec![("memory", [Arc::clone(&memory), memory], Cleanup::None)];
    let file = ScratchFile::new("shared");
    let first = SqliteStore::open(&file.0).await.unwrap();
    let second = SqliteStore::open(&file.0).await.unwrap();
    backends.push((
        "sqlite",
        [Arc::new(first), Arc::new(second)],
        Cleanup::File(file),
    ));
    if let Some(url) = postgres_url() {
        let schema = unique("shared");
        let first = PostgresStore::connect_with_schema(&url, &schema)
            .await
            .unwrap();
        let second = PostgresStore::connect_with_schema(&url, &schema)
            .await
            .unwrap();
        backends.push((
            "postgres",
            [Arc::new(first.clone()), Arc::new(second)],
            Cleanup::Schema(first),
        ));
    }
    backends
}

/// Runs `check` once per backend with its two instances, cleaning up after each.
pub async fn on_shared_backends<F, Fut>(check: F)
where
    F: Fn(&'static str, [Arc<dyn Store>; 2]) -> Fut,
    Fut: Future<Output = ()>,
{
    for (name, stores, cleanup) in shared_backends().await {
        println!("backend: {name} (two instances)");
        check(name, stores).await;
        cleanup.run().await;
    }
}
