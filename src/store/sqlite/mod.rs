//! [`SqliteStore`]: the embedded default — one database file in WAL mode, SQLite compiled in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use awaitly_runtime::{HookId, ResumeState};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use super::{
    Changes, Claim, ClaimedRuns, Created, HookRecord, Lease, NewRun, QueueLimit, RunLease,
    RunRecord, Saved, Store, StoreError, StoreFuture, StoredRun, hook_key, json_text, ms_bound,
    ms_column, named_by_outcome, now_ms, parse_entry, parse_json, parse_outcome,
};

mod claims;
#[cfg(feature = "test-util")]
mod counters;
mod readers;
mod schema;
mod writer;
mod writes;

#[cfg(feature = "test-util")]
pub use counters::SqliteCounts;

use claims::{claim_hook, claim_runs};
use readers::Readers;
use schema::open_connection;
use writer::{Pending, Queue, Write};

const RUN_COLUMNS: &str =
    "run_id, workflow, version, input, outcome, revision, created_at, updated_at,
    lease_owner, lease_expires_at, queue, priority";
const HOOK_COLUMNS: &str = "hook_id, run_id, metadata, registered_at, suspended_at, payload";

/// A [`Store`] in one SQLite file: WAL journal, `synchronous = FULL` (a save that returned
/// survives a power cut), the SQLite library compiled in so a fresh machine needs nothing.
///
/// Writes go to one thread per store that owns the write connection and commits the writes
/// queued while the previous transaction committed together, each in its own savepoint: one
/// fsync acknowledges many runs' checkpoints, and a write that is refused (fenced) is rolled back
/// alone. No write is acknowledged before the transaction holding it is durable. Reads run on
/// tokio's blocking pool over separate read connections (WAL readers see committed data only).
/// SQLite's file locks (with a 5 s busy timeout) serialise several processes on one file.
///
/// ```
/// use awaitly::store::{NewRun, SqliteStore, Store};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let path = std::env::temp_dir().join(format!("awaitly-doc-{}.db", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let store = SqliteStore::open(&path).await.unwrap();
/// store.create_run(NewRun::new("r1", "w", 1, serde_json::Value::Null)).await.unwrap();
/// drop(store);
/// let reopened = SqliteStore::open(&path).await.unwrap();
/// assert!(reopened.load_run("r1").await.unwrap().is_some());
/// # drop(reopened);
/// # for suffix in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{suffix}", path.display())); }
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writes: Queue,
    readers: Arc<Readers>,
    path: PathBuf,
    /// Commits still to be failed on purpose (feature `test-util`).
    #[cfg(feature = "test-util")]
    failing: Arc<std::sync::atomic::AtomicUsize>,
}

impl SqliteStore {
    /// Opens (or creates) the database file at `path` and creates or checks the schema.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let error = awaitly::store::SqliteStore::open("/nonexistent-dir/x/runs.db").await.unwrap_err();
    /// assert!(error.to_string().contains("runs.db"), "{error}");
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the file cannot be opened, [`StoreError::Corrupt`] if it holds a
    /// newer schema than this build understands.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let opened_path = path.clone();
        let connection = tokio::task::spawn_blocking(move || open_connection(&opened_path))
            .await
            .map_err(StoreError::from_backend)??;
        #[cfg(feature = "test-util")]
        let failing = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        #[cfg(feature = "test-util")]
        counters::fail_commits(&connection, Arc::clone(&failing));
        let (writes, queue) = std::sync::mpsc::channel::<Box<dyn Pending>>();
        std::thread::Builder::new()
            .name("awaitly-sqlite-writer".to_owned())
            .spawn(move || writer::run(&connection, &queue))
            .map_err(|error| {
                StoreError::backend(format_args!("starting the SQLite writer thread: {error}"))
            })?;
        Ok(Self {
            writes,
            readers: Arc::new(Readers::new(path.clone())),
            path,
            #[cfg(feature = "test-util")]
            failing,
        })
    }

    /// The database file.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let path = std::env::temp_dir().join(format!("awaitly-doc-path-{}.db", std::process::id()));
    /// let store = awaitly::store::SqliteStore::open(&path).await.unwrap();
    /// assert_eq!(store.path(), path);
    /// # drop(store);
    /// # for suffix in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{suffix}", path.display())); }
    /// # });
    /// ```
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues `work` for the writer thread; resolves once the transaction carrying it is
    /// decided (committed durably, or not at all).
    fn write<T, F>(&self, work: F) -> StoreFuture<'_, T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (write, answer) = Write::new(work);
        let queued = self.writes.send(Box::new(write));
        Box::pin(async move {
            queued.map_err(|_| StoreError::backend("the SQLite writer thread has stopped"))?;
            answer
                .await
                .map_err(|_| StoreError::backend("the SQLite writer thread has stopped"))?
        })
    }

    /// Runs `work` with a read connection on the blocking pool.
    fn read<T, F>(&self, work: F) -> StoreFuture<'_, T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || readers.with(work))
                .await
                .map_err(StoreError::from_backend)?
        })
    }

    /// Makes the next `count` commits of the writer fail (SQLite rolls them back): for tests
    /// of what callers are told when the transaction carrying their writes does not commit.
    ///
    /// ```
    /// use awaitly::store::{NewRun, SqliteStore, Store};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let path = std::env::temp_dir().join(format!("awaitly-doc-fail-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).await.unwrap();
    /// store.fail_commits(1);
    /// assert!(store.create_run(NewRun::new("r1", "w", 1, serde_json::Value::Null)).await.is_err());
    /// assert!(store.load_run("r1").await.unwrap().is_none());
    /// # drop(store);
    /// # for suffix in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{suffix}", path.display())); }
    /// # });
    /// ```
    #[cfg(feature = "test-util")]
    pub fn fail_commits(&self, count: usize) {
        self.failing
            .store(count, std::sync::atomic::Ordering::SeqCst);
    }
}

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::from_backend(error)
}

fn read_run(row: &Row<'_>) -> rusqlite::Result<Result<RunRecord, StoreError>> {
    let version: i64 = row.get(2)?;
    let input: String = row.get(3)?;
    let outcome: String = row.get(4)?;
    let revision: i64 = row.get(5)?;
    let run_id: String = row.get(0)?;
    let workflow: String = row.get(1)?;
    let created_at_ms: i64 = row.get(6)?;
    let updated_at_ms: i64 = row.get(7)?;
    let lease_owner: Option<String> = row.get(8)?;
    let lease_expires_at: Option<i64> = row.get(9)?;
    let queue: String = row.get(10)?;
    let priority: i32 = row.get(11)?;
    Ok((|| {
        Ok(RunRecord {
            run_id,
            workflow,
            version: u32::try_from(version).map_err(StoreError::corrupt)?,
            input: parse_json(&input)?,
            outcome: parse_outcome(&outcome)?,
            revision: u64::try_from(revision).map_err(StoreError::corrupt)?,
            created_at_ms: ms_column(created_at_ms)?,
            updated_at_ms: ms_column(updated_at_ms)?,
            lease: lease_owner
                .map(|owner| -> Result<_, StoreError> {
                    Ok(RunLease {
                        owner,
                        expires_at_ms: ms_column(lease_expires_at.unwrap_or(0))?,
                    })
                })
                .transpose()?,
            queue,
            priority,
        })
    })())
}

fn read_hook(row: &Row<'_>) -> rusqlite::Result<Result<HookRecord, StoreError>> {
    let hook_id: String = row.get(0)?;
    let run_id: String = row.get(1)?;
    let metadata: Option<String> = row.get(2)?;
    let registered_at_ms: i64 = row.get(3)?;
    let suspended_at_ms: Option<i64> = row.get(4)?;
    let payload: Option<String> = row.get(5)?;
    Ok((|| {
        Ok(HookRecord {
            hook_id: HookId::from(hook_id),
            run_id,
            metadata: metadata.as_deref().map(parse_json).transpose()?,
            registered_at_ms: ms_column(registered_at_ms)?,
            suspended_at_ms: suspended_at_ms.map(ms_column).transpose()?,
            payload: payload.as_deref().map(parse_json).transpose()?,
        })
    })())
}

fn find_run(connection: &Connection, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
    connection
        .prepare_cached(&format!(
            "SELECT {RUN_COLUMNS} FROM awaitly_runs WHERE run_id = ?1"
        ))
        .and_then(|mut statement| statement.query_row([run_id], read_run).optional())
        .map_err(backend)?
        .transpose()
}

fn find_hook(connection: &Connection, hook_id: &str) -> Result<Option<HookRecord>, StoreError> {
    connection
        .prepare_cached(&format!(
            "SELECT {HOOK_COLUMNS} FROM awaitly_hooks WHERE hook_id = ?1"
        ))
        .and_then(|mut statement| statement.query_row([hook_id], read_hook).optional())
        .map_err(backend)?
        .transpose()
}

fn revision_param(revision: u64) -> Result<i64, StoreError> {
    i64::try_from(revision).map_err(StoreError::corrupt)
}

fn load_run(connection: &Connection, run_id: &str) -> Result<Option<StoredRun>, StoreError> {
    let Some(record) = find_run(connection, run_id)? else {
        return Ok(None);
    };
    let mut statement = connection
        .prepare_cached("SELECT key, entry FROM awaitly_entries WHERE run_id = ?1 ORDER BY seq")
        .map_err(backend)?;
    let rows = statement
        .query_map([run_id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .map_err(backend)?;
    let mut state = ResumeState::new();
    for row in rows {
        let (key, entry) = row.map_err(backend)?;
        let entry = parse_entry(run_id, &key, &entry)?;
        state.insert(key, entry);
    }
    Ok(Some(StoredRun { record, state }))
}

fn collect<T>(
    connection: &Connection,
    sql: &str,
    read: fn(&Row<'_>) -> rusqlite::Result<Result<T, StoreError>>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(backend)?;
    let rows = statement.query_map([], read).map_err(backend)?;
    rows.map(|row| row.map_err(backend)?).collect()
}

impl Store for SqliteStore {
    fn create_run(&self, run: NewRun) -> StoreFuture<'_, Created> {
        self.write(move |connection| writes::create_run(connection, &run))
    }

    fn load_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, Option<StoredRun>> {
        let run_id = run_id.to_owned();
        self.read(move |connection| {
            // One read transaction, one snapshot: a save by another connection landing between
            // the run row and its entries must not pair an old outcome with new entries.
            let transaction = connection.transaction().map_err(backend)?;
            let loaded = load_run(&transaction, &run_id)?;
            transaction.commit().map_err(backend)?;
            Ok(loaded)
        })
    }

    fn save<'a>(
        &'a self,
        run_id: &'a str,
        expected_revision: u64,
        changes: Changes,
    ) -> StoreFuture<'a, Saved> {
        let run_id = run_id.to_owned();
        self.write(move |connection| writes::save(connection, &run_id, expected_revision, &changes))
    }

    fn claim_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a Value,
        now_ms: u64,
        dedupe_key: Option<&'a str>,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Claim> {
        let hook_id = hook_key(hook_id);
        let payload = json_text(payload);
        let dedupe_key = dedupe_key.map(str::to_owned);
        let lease = lease.cloned();
        self.write(move |connection| {
            claim_hook(
                connection,
                &hook_id,
                &payload,
                now_ms,
                dedupe_key.as_deref(),
                lease.as_ref(),
            )
        })
    }

    fn claim_runs<'a>(
        &'a self,
        now_ms: u64,
        limit: usize,
        lease: &'a Lease,
        queues: &'a [QueueLimit],
    ) -> StoreFuture<'a, ClaimedRuns> {
        let lease = lease.clone();
        let queues = queues.to_vec();
        self.write(move |connection| claim_runs(connection, now_ms, limit, &lease, &queues))
    }

    fn renew_lease<'a>(&'a self, run_id: &'a str, lease: &'a Lease) -> StoreFuture<'a, bool> {
        let run_id = run_id.to_owned();
        let lease = lease.clone();
        self.write(move |connection| {
            let renewed = connection
                .prepare_cached(
                    "UPDATE awaitly_runs SET lease_expires_at = ?3
                     WHERE run_id = ?1 AND lease_owner = ?2",
                )
                .and_then(|mut statement| {
                    statement.execute(params![run_id, lease.owner, lease.expires_at(now_ms())])
                })
                .map_err(backend)?;
            Ok(renewed == 1)
        })
    }

    fn release_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a Value,
    ) -> StoreFuture<'a, bool> {
        let hook_id = hook_key(hook_id);
        let payload = json_text(payload);
        self.write(move |connection| {
            let released = connection
                .prepare_cached(
                    "UPDATE awaitly_hooks SET payload = NULL, dedupe_key = NULL
                     WHERE hook_id = ?1 AND payload = ?2",
                )
                .and_then(|mut statement| statement.execute(params![hook_id, payload]))
                .map_err(backend)?;
            Ok(released == 1)
        })
    }

    fn find_hook<'a>(&'a self, hook_id: &'a HookId) -> StoreFuture<'a, Option<HookRecord>> {
        let id = hook_id.clone();
        self.read(move |connection| {
            // The table holds the id's digest: the record names the id the caller gave.
            Ok(
                find_hook(connection, &hook_key(&id))?.map(|record| HookRecord {
                    hook_id: id,
                    ..record
                }),
            )
        })
    }

    fn pending_hooks(&self) -> StoreFuture<'_, Vec<HookRecord>> {
        self.read(|connection| {
            // The hooks table keys hooks by digest; the id comes from the outcome of the run
            // waiting there, and must hash to the row's key.
            let mut statement = connection
                .prepare_cached(
                    "SELECT h.hook_id, h.run_id, h.metadata, h.registered_at, h.suspended_at,
                         h.payload, r.outcome
                     FROM awaitly_hooks h JOIN awaitly_runs r ON r.run_id = h.run_id
                     WHERE h.payload IS NULL AND h.suspended_at IS NOT NULL
                       AND r.status = 'suspended'
                     ORDER BY h.suspended_at, h.hook_id",
                )
                .map_err(backend)?;
            let rows = statement
                .query_map([], |row| Ok((read_hook(row)?, row.get::<_, String>(6)?)))
                .map_err(backend)?;
            let mut pending = Vec::new();
            for row in rows {
                let (record, outcome) = row.map_err(backend)?;
                if let Some(record) = named_by_outcome(record?, &parse_outcome(&outcome)?) {
                    pending.push(record);
                }
            }
            Ok(pending)
        })
    }

    fn due_runs(&self, now_ms: u64, limit: usize) -> StoreFuture<'_, Vec<RunRecord>> {
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {RUN_COLUMNS} FROM awaitly_runs
                     WHERE due_at IS NOT NULL AND due_at <= ?1 AND status = 'suspended'
                     ORDER BY due_at, seq LIMIT ?2"
                ))
                .map_err(backend)?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = statement
                .query_map(params![ms_bound(now_ms), limit], read_run)
                .map_err(backend)?;
            rows.map(|row| row.map_err(backend)?).collect()
        })
    }

    fn list_runs(&self) -> StoreFuture<'_, Vec<RunRecord>> {
        self.read(|connection| {
            collect(
                connection,
                &format!("SELECT {RUN_COLUMNS} FROM awaitly_runs ORDER BY seq"),
                read_run,
            )
        })
    }

    fn delete_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, bool> {
        let run_id = run_id.to_owned();
        self.write(move |connection| {
            let deleted = connection
                .execute("DELETE FROM awaitly_runs WHERE run_id = ?1", [&run_id])
                .map_err(backend)?;
            connection
                .execute("DELETE FROM awaitly_entries WHERE run_id = ?1", [&run_id])
                .map_err(backend)?;
            connection
                .execute("DELETE FROM awaitly_hooks WHERE run_id = ?1", [&run_id])
                .map_err(backend)?;
            Ok(deleted == 1)
        })
    }
}
