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

/// Where the PostgreSQL tests look when `AWAITLY_TEST_POSTGRES_URL` is unset: the local server,
/// if one is listening.
pub const LOCAL_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The Postgres URL for tests: `AWAITLY_TEST_POSTGRES_URL`, else [`LOCAL_POSTGRES_URL`] when a
/// server listens on 127.0.0.1:5432. `None` (the test is skipped) when it is set empty or no
/// server listens; the skip is then announced once per test binary, uncaptured, so that a test
/// reported `ok` without PostgreSQL does not go unnoticed.
pub fn postgres_url() -> Option<String> {
    static LOCAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    match std::env::var("AWAITLY_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => return Some(url),
        Ok(_) => notice("PostgreSQL tests skipped: AWAITLY_TEST_POSTGRES_URL is set empty"),
        Err(_) => {
            let listening = *LOCAL.get_or_init(|| {
                let address = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
                std::net::TcpStream::connect_timeout(
                    &address,
                    std::time::Duration::from_millis(500),
                )
                .is_ok()
            });
            if listening {
                return Some(LOCAL_POSTGRES_URL.to_owned());
            }
            notice(&format!(
                "PostgreSQL tests skipped: set AWAITLY_TEST_POSTGRES_URL, or start a server on 127.0.0.1:5432 \
                 (then {LOCAL_POSTGRES_URL} is used)"
            ));
        }
    }
    None
}

/// Prints `message` once per test binary where the person running the tests sees it: straight to
/// the process's stderr. libtest captures what `print!`/`eprint!` write (and shows it only for
/// failing tests); a direct write to `std::io::stderr()` bypasses that capture.
pub fn notice(message: &str) {
    use std::io::Write as _;
    static SHOWN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut shown = SHOWN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if shown.iter().any(|earlier| earlier == message) {
        return;
    }
    shown.push(message.to_owned());
    let binary = std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .and_then(|stem| stem.rsplit_once('-').map(|(name, _hash)| name.to_owned()))
        .unwrap_or_default();
    let _ = writeln!(std::io::stderr().lock(), "note ({binary}): {message}");
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
