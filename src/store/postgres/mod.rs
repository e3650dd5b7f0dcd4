//! [`PostgresStore`]: runs shared by several app instances through one PostgreSQL database.

use std::sync::Arc;

use awaitly_runtime::HookId;
use deadpool_postgres::{Config, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use serde_json::Value;
use tokio_postgres::{NoTls, Row};

mod batch;
mod claims;
mod migrate;
mod runs;
mod sql;

use batch::Batcher;
use sql::Sql;

use super::{
    Changes, Claim, ClaimedRuns, Created, HookRecord, Lease, NewRun, QueueLimit, RunLease,
    RunRecord, Saved, Store, StoreError, StoreFuture, StoredRun, hook_key, json_text, ms_bound,
    ms_column, ms_param, named_by_outcome, now_ms, parse_json, parse_outcome,
};

mod listen;

use listen::Listener;

/// A [`Store`] in PostgreSQL, for deployments where several app instances resume each other's
/// runs. Tables live in one schema (default `awaitly`), created or migrated on first use under an
/// advisory lock so instances starting together do not race. Saves are compare-and-swap on the
/// run's revision inside a transaction; hook claims are single-row conditional updates, so
/// concurrent deliveries to one hook are decided by the database's row lock.
///
/// Saves of entries — a step's checkpoint, a run's completion — are one statement each, and
/// concurrent runs' saves are group-committed: sent together in one transaction, pipelined, each
/// still fenced on its own and acknowledged only once that transaction committed.
///
/// Connections come from a pool (`deadpool-postgres`, 16 connections), without TLS: put the
/// database on a private network or a local socket.
///
/// ```no_run
/// use awaitly::store::{PostgresStore, Store};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = PostgresStore::connect("postgres://postgres@127.0.0.1:5432/test").await.unwrap();
/// println!("{} runs", store.list_runs().await.unwrap().len());
/// # });
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    sql: Arc<Sql>,
    listener: Arc<Listener>,
    batcher: Batcher,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PostgresStore")
            .field("schema", &self.sql.schema)
            .finish_non_exhaustive()
    }
}

/// The driver's (or the pool's) error as [`StoreError::Backend`], kept as its source.
pub(super) fn backend(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::from_backend(error)
}

fn valid_schema_name(schema: &str) -> bool {
    let mut chars = schema.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && schema.len() <= 63
}

impl PostgresStore {
    /// Connects to `url` and creates or checks the tables in schema `awaitly`.
    ///
    /// ```no_run
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = awaitly::store::PostgresStore::connect("postgres://postgres@127.0.0.1/test").await?;
    /// # drop(store);
    /// # Ok::<(), awaitly::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As [`connect_with_schema`](Self::connect_with_schema).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_schema(url, "awaitly").await
    }

    /// Connects to `url` and creates or checks the tables in `schema` (lowercase letters, digits
    /// and `_`; one schema per application, or per test so tests run concurrently).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let error = awaitly::store::PostgresStore::connect_with_schema("postgres://localhost/x", "Bad-Name")
    ///     .await
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("schema name"), "{error}");
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] for a bad schema name, a bad URL, or a database that cannot be
    /// reached; [`StoreError::Corrupt`] if the schema was written by a newer awaitly.
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        if !valid_schema_name(schema) {
            return Err(StoreError::backend(format_args!(
                "invalid schema name {schema:?}: use up to 63 lowercase letters, digits and `_`, not starting with a digit"
            )));
        }
        let mut config = Config::new();
        config.url = Some(url.to_owned());
        config.manager = Some(ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        });
        config.pool = Some(deadpool_postgres::PoolConfig::new(16));
        let pool = config
            .create_pool(Some(Runtime::Tokio1), NoTls)
            .map_err(backend)?;
        let sql = Arc::new(Sql::new(schema));
        let store = Self {
            batcher: Batcher::start(pool.clone(), Arc::clone(&sql)),
            pool,
            listener: Arc::new(Listener::new(url, &sql.channel)),
            sql,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Makes the next `count` group commits fail (rolled back instead of committed): for tests
    /// of what callers are told when the transaction carrying their saves does not commit.
    ///
    /// ```no_run
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = awaitly::store::PostgresStore::connect_with_schema("postgres://postgres@127.0.0.1/test", "doc_fail").await?;
    /// store.fail_commits(1);
    /// # store.drop_schema().await?;
    /// # Ok::<(), awaitly::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    #[cfg(feature = "test-util")]
    pub fn fail_commits(&self, count: usize) {
        self.batcher
            .failing
            .store(count, std::sync::atomic::Ordering::SeqCst);
    }

    pub(super) async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(backend)
    }

    /// Drops the store's schema with every run in it: for tests and teardown.
    ///
    /// ```no_run
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = awaitly::store::PostgresStore::connect_with_schema("postgres://postgres@127.0.0.1/test", "scratch").await?;
    /// store.drop_schema().await?;
    /// # Ok::<(), awaitly::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the database refuses.
    pub async fn drop_schema(&self) -> Result<(), StoreError> {
        self.client()
            .await?
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                self.sql.schema
            ))
            .await
            .map_err(backend)
    }
}

pub(super) fn read_run(row: &Row) -> Result<RunRecord, StoreError> {
    let version: i32 = row.get(2);
    let revision: i64 = row.get(5);
    let lease_owner: Option<String> = row.get(8);
    let lease_expires_at: Option<i64> = row.get(9);
    Ok(RunRecord {
        lease: lease_owner
            .map(|owner| -> Result<_, StoreError> {
                Ok(RunLease {
                    owner,
                    expires_at_ms: ms_column(lease_expires_at.unwrap_or(0))?,
                })
            })
            .transpose()?,
        queue: row.get(10),
        priority: row.get(11),
        run_id: row.get(0),
        workflow: row.get(1),
        version: u32::try_from(version).map_err(StoreError::corrupt)?,
        input: parse_json(row.get(3))?,
        outcome: parse_outcome(row.get(4))?,
        revision: u64::try_from(revision).map_err(StoreError::corrupt)?,
        created_at_ms: ms_column(row.get(6))?,
        updated_at_ms: ms_column(row.get(7))?,
    })
}

pub(super) fn read_hook(row: &Row) -> Result<HookRecord, StoreError> {
    let hook_id: String = row.get(0);
    let metadata: Option<&str> = row.get(2);
    let payload: Option<&str> = row.get(5);
    Ok(HookRecord {
        hook_id: HookId::from(hook_id),
        run_id: row.get(1),
        metadata: metadata.map(parse_json).transpose()?,
        registered_at_ms: ms_column(row.get(3))?,
        suspended_at_ms: row.get::<_, Option<i64>>(4).map(ms_column).transpose()?,
        payload: payload.map(parse_json).transpose()?,
    })
}

fn to_i32(version: u32) -> Result<i32, StoreError> {
    i32::try_from(version)
        .map_err(|_| StoreError::backend("workflow versions above 2^31 are not supported"))
}

fn to_i64(revision: u64) -> Result<i64, StoreError> {
    i64::try_from(revision).map_err(StoreError::corrupt)
}

impl Store for PostgresStore {
    fn create_run(&self, run: NewRun) -> StoreFuture<'_, Created> {
        Box::pin(self.create(run))
    }

    fn load_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, Option<StoredRun>> {
        Box::pin(self.load(run_id))
    }

    fn save<'a>(
        &'a self,
        run_id: &'a str,
        expected_revision: u64,
        changes: Changes,
    ) -> StoreFuture<'a, Saved> {
        Box::pin(self.save_changes(run_id, expected_revision, changes))
    }

    fn claim_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a Value,
        now_ms: u64,
        dedupe_key: Option<&'a str>,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Claim> {
        Box::pin(self.claim(hook_id, payload, now_ms, dedupe_key, lease))
    }

    fn claim_runs<'a>(
        &'a self,
        now_ms: u64,
        limit: usize,
        lease: &'a Lease,
        queues: &'a [QueueLimit],
    ) -> StoreFuture<'a, ClaimedRuns> {
        Box::pin(self.claim_due(now_ms, limit, lease, queues))
    }

    fn renew_lease<'a>(&'a self, run_id: &'a str, lease: &'a Lease) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let client = self.client().await?;
            let renewed = client
                .execute(
                    &self.sql.renew_lease,
                    &[
                        &run_id,
                        &lease.owner,
                        &ms_param(lease.expires_at(now_ms()))?,
                    ],
                )
                .await
                .map_err(backend)?;
            Ok(renewed == 1)
        })
    }

    fn wait_for_work(&self, timeout: std::time::Duration) -> StoreFuture<'_, ()> {
        Box::pin(self.listener.wait(timeout))
    }

    fn release_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a Value,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let client = self.client().await?;
            let released = client
                .execute(
                    &self.sql.release_hook,
                    &[&hook_key(hook_id), &json_text(payload)],
                )
                .await
                .map_err(backend)?;
            Ok(released == 1)
        })
    }

    fn find_hook<'a>(&'a self, hook_id: &'a HookId) -> StoreFuture<'a, Option<HookRecord>> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .query_opt(&self.sql.select_hook, &[&hook_key(hook_id)])
                .await
                .map_err(backend)?
                .as_ref()
                .map(read_hook)
                .transpose()
                // The table holds the id's digest: the record names the id the caller gave.
                .map(|found| {
                    found.map(|record| HookRecord {
                        hook_id: hook_id.clone(),
                        ..record
                    })
                })
        })
    }

    fn pending_hooks(&self) -> StoreFuture<'_, Vec<HookRecord>> {
        Box::pin(async move {
            // The hooks table keys hooks by digest; the id comes from the outcome of the run
            // waiting there, and must hash to the row's key.
            let client = self.client().await?;
            let rows = client
                .query(&self.sql.pending_hooks, &[])
                .await
                .map_err(backend)?;
            let mut pending = Vec::new();
            for row in &rows {
                let outcome = parse_outcome(row.get(6))?;
                if let Some(record) = named_by_outcome(read_hook(row)?, &outcome) {
                    pending.push(record);
                }
            }
            Ok(pending)
        })
    }

    fn due_runs(&self, now_ms: u64, limit: usize) -> StoreFuture<'_, Vec<RunRecord>> {
        Box::pin(async move {
            let client = self.client().await?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = client
                .query(&self.sql.due_runs, &[&ms_bound(now_ms), &limit])
                .await
                .map_err(backend)?;
            rows.iter().map(read_run).collect()
        })
    }

    fn list_runs(&self) -> StoreFuture<'_, Vec<RunRecord>> {
        Box::pin(self.query_all(&self.sql.list_runs, read_run))
    }

    fn delete_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(self.delete(run_id))
    }
}
