//! The schema of [`SqliteStore`](super::SqliteStore): creating it, and migrating older files
//! forward (the version lives in SQLite's `user_version`).

use std::path::Path;

use rusqlite::Connection;

use awaitly_runtime::HookId;

use crate::store::{StoreError, hook_key};

/// The schema this build writes; a file with a newer one is refused instead of misread.
///
/// 1. runs, entries, hooks.
/// 2. `awaitly_runs.due_at` (when a sleeping or waiting run is due; indexed),
///    `awaitly_hooks.deadline` (checked by claims) and `awaitly_hooks.dedupe_key` (a verified
///    provider event id, unique).
/// 3. `awaitly_runs.lease_owner` and `lease_expires_at` (the executor advancing the run),
///    `queue` and `priority` (where workers claim it from); `due_at` also marks running runs and
///    runs holding an unapplied payload, so a crashed executor's work is claimable.
/// 4. `awaitly_hooks.hook_id` holds the SHA-256 of the hook id (hex), not the id: the hooks table
///    hands out no live capability.
const SCHEMA_VERSION: i64 = 4;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS awaitly_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    workflow TEXT NOT NULL,
    version INTEGER NOT NULL,
    input TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    due_at INTEGER,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    queue TEXT NOT NULL DEFAULT 'default',
    priority INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS awaitly_entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    entry TEXT NOT NULL,
    UNIQUE (run_id, key)
);
CREATE TABLE IF NOT EXISTS awaitly_hooks (
    hook_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    metadata TEXT,
    registered_at INTEGER NOT NULL,
    suspended_at INTEGER,
    payload TEXT,
    deadline INTEGER,
    dedupe_key TEXT
);
CREATE INDEX IF NOT EXISTS awaitly_hooks_by_run ON awaitly_hooks (run_id);
CREATE INDEX IF NOT EXISTS awaitly_hooks_pending ON awaitly_hooks (suspended_at)
    WHERE payload IS NULL AND suspended_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS awaitly_runs_due ON awaitly_runs (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS awaitly_runs_leased ON awaitly_runs (queue, lease_expires_at)
    WHERE lease_owner IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS awaitly_hooks_dedupe ON awaitly_hooks (dedupe_key)
    WHERE dedupe_key IS NOT NULL;
";

/// From version 1: the two new columns, filled from what version 1 stored (a suspended run's
/// hook deadline is in its outcome; a pending hook's in its entry).
const MIGRATE_FROM_1: &str = "
ALTER TABLE awaitly_runs ADD COLUMN due_at INTEGER;
ALTER TABLE awaitly_hooks ADD COLUMN deadline INTEGER;
ALTER TABLE awaitly_hooks ADD COLUMN dedupe_key TEXT;
UPDATE awaitly_runs SET due_at = json_extract(outcome, '$.hook.deadline')
    WHERE status = 'suspended' AND json_valid(outcome);
UPDATE awaitly_hooks SET deadline = (
    SELECT json_extract(entry, '$.error.deadline') FROM awaitly_entries
    WHERE awaitly_entries.run_id = awaitly_hooks.run_id
      AND awaitly_entries.key = 'hook:' || awaitly_hooks.hook_id AND json_valid(entry)
) WHERE suspended_at IS NOT NULL;
";

/// From version 2: leases and queues. Runs left running, and suspended runs holding a delivered
/// payload, become claimable at once (their executors' leases cannot be older than the upgrade).
const MIGRATE_FROM_2: &str = "
ALTER TABLE awaitly_runs ADD COLUMN lease_owner TEXT;
ALTER TABLE awaitly_runs ADD COLUMN lease_expires_at INTEGER;
ALTER TABLE awaitly_runs ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
ALTER TABLE awaitly_runs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
UPDATE awaitly_runs SET due_at = 0 WHERE status = 'running';
UPDATE awaitly_runs SET due_at = 0 WHERE status = 'suspended' AND EXISTS (
    SELECT 1 FROM awaitly_hooks WHERE awaitly_hooks.run_id = awaitly_runs.run_id
      AND awaitly_hooks.payload IS NOT NULL AND awaitly_hooks.suspended_at IS NOT NULL
);
";

/// From version 3: every stored hook id is replaced by its digest (SQLite has no SHA-256, so it
/// is computed here, row by row, in the migration's transaction).
fn digest_hook_ids(connection: &Connection) -> rusqlite::Result<()> {
    let ids: Vec<String> = connection
        .prepare("SELECT hook_id FROM awaitly_hooks")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update =
        connection.prepare("UPDATE awaitly_hooks SET hook_id = ?2 WHERE hook_id = ?1")?;
    for id in ids {
        update.execute([&id, &hook_key(&HookId::from(id.clone()))])?;
    }
    Ok(())
}

pub(super) fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let mut connection = Connection::open(path)
        .map_err(|error| StoreError::backend(format_args!("{}: {error}", path.display())))?;
    #[cfg(feature = "test-util")]
    super::counters::install(&connection);
    connection
        .busy_timeout(std::time::Duration::from_secs(5))
        .map_err(StoreError::backend)?;
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .map_err(StoreError::backend)?;
    connection
        .pragma_update(None, "synchronous", "FULL")
        .map_err(StoreError::backend)?;
    let transaction = connection
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(StoreError::backend)?;
    let version: i64 = transaction
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(StoreError::backend)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::corrupt(format_args!(
            "{} has awaitly schema version {version}; this build understands up to {SCHEMA_VERSION}: upgrade awaitly",
            path.display()
        )));
    }
    let migrations = [(1, MIGRATE_FROM_1), (2, MIGRATE_FROM_2)];
    for (from, migration) in migrations {
        if (1..=from).contains(&version) {
            transaction.execute_batch(migration).map_err(|error| {
                StoreError::backend(format_args!(
                    "{}: migrating the awaitly schema from version {from} to {}: {error}",
                    path.display(),
                    from + 1
                ))
            })?;
        }
    }
    if (1..=3).contains(&version) {
        digest_hook_ids(&transaction).map_err(|error| {
            StoreError::backend(format_args!(
                "{}: migrating the awaitly schema from version 3 to 4: {error}",
                path.display()
            ))
        })?;
    }
    transaction
        .execute_batch(SCHEMA)
        .map_err(StoreError::backend)?;
    transaction
        .pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(StoreError::backend)?;
    transaction.commit().map_err(StoreError::backend)?;
    Ok(connection)
}
