//! Helpers shared by the durable-run and store tests: scratch SQLite files and Postgres schemas.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A name no other test (in this process or a concurrent one) uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// A SQLite file path in the temp dir, removed (with its WAL files) when dropped.
#[derive(Debug)]
pub struct ScratchFile(pub PathBuf);

impl ScratchFile {
    pub fn new(prefix: &str) -> Self {
        Self(std::env::temp_dir().join(format!("{}.db", unique(prefix))))
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

/// The Postgres URL for tests, or `None` after printing that the test is skipped.
pub fn postgres_url() -> Option<String> {
    match std::env::var("AWAITLY_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            println!("skipped: AWAITLY_TEST_POSTGRES_URL not set");
            None
        }
    }
}

pub mod flows;
pub mod jobs;
#[cfg(all(feature = "sqlite", feature = "postgres"))]
pub mod shared;

/// Every backend a durable test runs on: memory, SQLite, and Postgres when configured. Each
/// comes with a guard that removes its file or schema.
// Async and mutable only with the `sqlite` or `postgres` feature.
#[allow(clippy::unused_async, unused_mut)]
pub async fn backends() -> Vec<Backend> {
    let mut backends: Vec<Backend> = vec![(
        "memory",
        std::sync::Arc::new(awaitly::store::MemoryStore::new()),
        Cleanup::None,
    )];
    #[cfg(feature = "sqlite")]
    {
        let file = ScratchFile::new("backend");
        let store = awaitly::store::SqliteStore::open(&file.0).await.unwrap();
        backends.push(("sqlite", std::sync::Arc::new(store), Cleanup::File(file)));
    }
    #[cfg(feature = "postgres")]
    if let Some(url) = postgres_url() {
        let store = awaitly::store::PostgresStore::connect_with_schema(&url, &unique("backend"))
            .await
            .unwrap();
        backends.push((
            "postgres",
            std::sync::Arc::new(store.clone()),
            Cleanup::Schema(store),
        ));
    }
    backends
}

/// A store to test on: its name, the store, and what to remove afterwards.
pub type Backend = (
    &'static str,
    std::sync::Arc<dyn awaitly::store::Store>,
    Cleanup,
);

/// What to remove after a test.
#[derive(Debug)]
pub enum Cleanup {
    None,
    File(ScratchFile),
    #[cfg(feature = "postgres")]
    Schema(awaitly::store::PostgresStore),
}

impl Cleanup {
    // Async only with the `postgres` feature (dropping a schema).
    #[allow(clippy::unused_async)]
    pub async fn run(self) {
        match self {
            Self::None | Self::File(_) => {}
            #[cfg(feature = "postgres")]
            Self::Schema(store) => store.drop_schema().await.unwrap(),
        }
    }
}

/// Runs `check` once per backend (memory, SQLite, and Postgres when configured), cleaning up
/// after each.
pub async fn on_every_backend<F, Fut>(check: F)
where
    F: Fn(&'static str, std::sync::Arc<dyn awaitly::store::Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    for (name, store, cleanup) in backends().await {
        println!("backend: {name}");
        check(name, store).await;
        cleanup.run().await;
    }
}
