//! Commit and statement counters of every `SqliteStore` connection in the process (feature
//! `test-util`): how the throughput harness (`benches/throughput`) counts what a run costs,
//! from SQLite itself (its trace and commit hooks) rather than from the store's own idea of what
//! it sends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rusqlite::Connection;

static STATEMENTS: AtomicU64 = AtomicU64::new(0);
static COMMITS: AtomicU64 = AtomicU64::new(0);

/// What the store connections of this process ran since it started.
///
/// ```
/// let before = awaitly::store::SqliteCounts::now();
/// let after = awaitly::store::SqliteCounts::now();
/// assert!(after.statements >= before.statements && after.commits >= before.commits);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SqliteCounts {
    /// Statements SQLite started (its trace callback), `BEGIN`, `COMMIT` and savepoints included.
    pub statements: u64,
    /// Write transactions SQLite committed (its commit hook); read-only ones are not counted.
    pub commits: u64,
}

impl SqliteCounts {
    /// The counts so far, over every `SqliteStore` connection of the process.
    ///
    /// ```
    /// let counts = awaitly::store::SqliteCounts::now();
    /// println!("{} commits, {} statements", counts.commits, counts.statements);
    /// ```
    #[must_use]
    pub fn now() -> Self {
        Self {
            statements: STATEMENTS.load(Ordering::Relaxed),
            commits: COMMITS.load(Ordering::Relaxed),
        }
    }
}

/// Counts what `connection` runs from now on.
pub(super) fn install(connection: &Connection) {
    count_statements(connection);
    fail_commits(connection, Arc::new(AtomicUsize::new(0)));
}

fn count_statements(connection: &Connection) {
    connection.trace_v2(
        rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT,
        Some(|_| {
            STATEMENTS.fetch_add(1, Ordering::Relaxed);
        }),
    );
}

/// Counts commits, and turns the next `failing` of them into rollbacks (SQLite's commit hook
/// returning `true`): the `COMMIT` fails as a real one would.
pub(super) fn fail_commits(connection: &Connection, failing: Arc<AtomicUsize>) {
    connection.commit_hook(Some(move || {
        let fail = failing
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if !fail {
            COMMITS.fetch_add(1, Ordering::Relaxed);
        }
        fail
    }));
}
