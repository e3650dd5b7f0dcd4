//! Where durable runs live: the [`Store`] trait and its backends.
//!
//! A store keeps three things: runs (workflow name and version, input, latest outcome and a
//! revision), their step entries (one row per key, so a checkpoint appends one entry instead of
//! rewriting the state), and hooks (which run owns a hook id, whether the run waits there, and the
//! payload a delivery claimed). Backends: [`MemoryStore`], `SqliteStore` (feature `sqlite`) and
//! `PostgresStore` (feature `postgres`); all pass the same conformance suite.

mod error;
mod lease;
mod memory;
mod outcome;
#[cfg(feature = "postgres")]
mod postgres;
mod queue;
#[cfg(feature = "sqlite")]
mod sqlite;
mod types;

#[cfg(feature = "test-util")]
pub mod conformance;
#[cfg(feature = "test-util")]
mod intercept;
#[cfg(feature = "test-util")]
pub use intercept::{Intercepted, SaveHook};

use std::future::Future;
use std::pin::Pin;

use awaitly_runtime::HookId;
use serde_json::Value;

pub use error::{Cause, StoreError};
pub use lease::{Lease, RunLease};
pub use memory::MemoryStore;
pub use outcome::{RunOutcome, RunStatus, SleepUntil};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use queue::{ClaimedRuns, DEFAULT_QUEUE, QueueLimit};
#[cfg(all(feature = "sqlite", feature = "test-util"))]
pub use sqlite::SqliteCounts;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub(crate) use types::now_ms;
pub use types::{Changes, Claim, Created, HookRecord, NewRun, RunRecord, Saved, StoredRun};

/// The future every [`Store`] method returns: boxed so the trait can be used as
/// `Arc<dyn Store>`, and `Send` so the engine can run on a multi-threaded runtime.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What a durable run needs from its storage.
///
/// Every write is atomic. [`save`](Self::save) is a compare-and-swap on the run's revision: it
/// succeeds only if the run is still at `expected_revision` and no other executor holds a live
/// lease on it ([`Changes::lease`]), so a stale executor's writes are rejected, never merged. [`claim_hook`](Self::claim_hook) is the single point where concurrent
/// deliveries to one hook are decided: exactly one claims it.
///
/// ```
/// use awaitly::store::{MemoryStore, NewRun, Store};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// store.create_run(NewRun::new("r1", "checkout", 1, serde_json::json!({}))).await.unwrap();
/// let run = store.load_run("r1").await.unwrap().unwrap();
/// assert_eq!(run.record.revision, 0);
/// # });
/// ```
pub trait Store: Send + Sync + 'static {
    /// Creates the run (status running, revision 0) and registers its [`NewRun::hooks`], unless a
    /// run with this id exists: then nothing is written and the existing run is returned.
    fn create_run(&self, run: NewRun) -> StoreFuture<'_, Created>;

    /// The run and its resume state; `None` if there is no such run.
    fn load_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, Option<StoredRun>>;

    /// Applies `changes` if the run is still at `expected_revision`, bumping the revision by one.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] if the revision moved on, [`StoreError::UnknownRun`] if the run
    /// does not exist, [`StoreError::HookOwnedElsewhere`] if `suspend_at` names another run's hook.
    fn save<'a>(
        &'a self,
        run_id: &'a str,
        expected_revision: u64,
        changes: Changes,
    ) -> StoreFuture<'a, Saved>;

    /// Atomically stores `payload` with the hook if no delivery claimed it before and its
    /// deadline (recorded by the suspension, [`Changes::suspend_at`]) is later than `now_ms`:
    /// the single point where a late payload racing the hook's timeout is decided.
    ///
    /// `dedupe_key` (a verified provider event id) is stored with a successful claim and unique
    /// across all hooks: a later claim with the same key, to any hook, stores nothing and gets
    /// [`Claim::Seen`].
    ///
    /// With `lease`, a successful claim on a hook its run waits at also takes the run's lease in
    /// the same write when no other executor holds a live one ([`Claim::Claimed::leased`]), so
    /// the claimer applies its payload without a worker racing it. Either way the run becomes due
    /// at once: if the claimer dies before applying the payload, the next executor to claim due
    /// runs applies it once the lease has expired.
    fn claim_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a Value,
        now_ms: u64,
        dedupe_key: Option<&'a str>,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Claim>;

    /// Undoes a claim whose payload turned out not to decode (only if the hook still holds
    /// exactly `payload`), with its dedupe key; returns whether it did.
    fn release_hook<'a>(&'a self, hook_id: &'a HookId, payload: &'a Value)
    -> StoreFuture<'a, bool>;

    /// The hook's record, if the store knows the hook.
    fn find_hook<'a>(&'a self, hook_id: &'a HookId) -> StoreFuture<'a, Option<HookRecord>>;

    /// Hooks a run waits at with no payload delivered yet, oldest first.
    fn pending_hooks(&self) -> StoreFuture<'_, Vec<HookRecord>>;

    /// Runs due at `now_ms` without anyone delivering anything, earliest first, at most `limit`:
    /// sleeping runs whose wake-up time has passed, and runs waiting at a hook or an approval
    /// whose deadline has passed ([`RunOutcome::due_at_ms`] at or before `now_ms`), and waiting
    /// runs whose hook holds a delivered payload not applied yet (due at once). Indexed.
    /// A listing only: executors take runs with [`claim_runs`](Self::claim_runs).
    fn due_runs(&self, now_ms: u64, limit: usize) -> StoreFuture<'_, Vec<RunRecord>>;

    /// Takes up to `limit` runs that need an executor and that nobody holds a live lease on —
    /// due at `now_ms` ([`RunOutcome::due_at_ms`]), left running by an executor whose lease
    /// expired, holding a delivered payload not yet applied, or enqueued — and leases them to
    /// `lease.owner` in the same write, so executors sharing the store split the work instead of
    /// racing on it. Higher priority first, then earliest due, then oldest.
    ///
    /// `queues` restricts the claim to those queues, each with an optional store-wide
    /// concurrency limit (runs of the queue holding a live lease, this claim's included); empty
    /// means every queue, unlimited.
    fn claim_runs<'a>(
        &'a self,
        now_ms: u64,
        limit: usize,
        lease: &'a Lease,
        queues: &'a [QueueLimit],
    ) -> StoreFuture<'a, ClaimedRuns>;

    /// Extends `lease` on `run_id` if `lease.owner` still holds it; returns whether it did (a
    /// `false` means another executor took the run over: stop advancing it).
    fn renew_lease<'a>(&'a self, run_id: &'a str, lease: &'a Lease) -> StoreFuture<'a, bool>;

    /// Waits until work may have become due (another executor or process saved a run that needs
    /// an executor) or `timeout` passed. Stores that cannot notify simply wait out `timeout`;
    /// `PostgresStore` wakes through `LISTEN`/`NOTIFY`.
    fn wait_for_work(&self, timeout: std::time::Duration) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            tokio::time::sleep(timeout).await;
            Ok(())
        })
    }

    /// Every run (without steps), oldest first.
    fn list_runs(&self) -> StoreFuture<'_, Vec<RunRecord>>;

    /// Deletes the run, its entries and its hooks; returns whether it existed.
    fn delete_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, bool>;
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// Serialises a JSON value the way stores keep it: compact, keys sorted, so equal payloads have
/// equal text.
pub(crate) fn json_text(value: &Value) -> String {
    value.to_string()
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// Reads a JSON value a store wrote.
pub(crate) fn parse_json(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(StoreError::corrupt)
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// Reads an entry a store wrote; an unreadable one is [`StoreError::Corrupt`] naming the run and
/// the key (the row is only read, never repaired).
pub(crate) fn parse_entry(
    run_id: &str,
    key: &str,
    text: &str,
) -> Result<awaitly_runtime::StepEntry, StoreError> {
    serde_json::from_str(text).map_err(|error| {
        StoreError::corrupt(format_args!(
            "run `{run_id}`, entry `{key}`: {error}; the row was left as it is: restore it from a backup, or delete the run"
        ))
    })
}

/// Writes an entry as a store keeps it.
pub(crate) fn entry_text(entry: &awaitly_runtime::StepEntry) -> String {
    // A StepEntry holds valid JSON already, so writing it cannot fail.
    serde_json::to_string(entry).unwrap_or_default()
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// Reads a stored outcome.
pub(crate) fn parse_outcome(text: &str) -> Result<RunOutcome, StoreError> {
    serde_json::from_str(text).map_err(StoreError::corrupt)
}

/// When a run with `outcome` needs an executor, as a store indexes it (`due_at`): a running run at once (it is only claimable once its lease has lapsed), a waiting
/// run at its due time, a finished one never.
pub(crate) fn due_param(outcome: &RunOutcome) -> Option<u64> {
    if matches!(outcome, RunOutcome::Running) {
        return Some(0);
    }
    outcome.due_at_ms()
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// Why a save matched no row: no such run, another executor's live lease, or a moved revision.
pub(crate) fn refusal(run: Option<RunRecord>, run_id: &str, expected: u64, now: u64) -> StoreError {
    match run {
        None => StoreError::UnknownRun {
            run_id: run_id.to_owned(),
        },
        Some(RunRecord {
            lease: Some(lease),
            revision,
            ..
        }) if lease.is_live(now) && revision == expected => StoreError::Leased {
            run_id: run_id.to_owned(),
            owner: lease.owner,
        },
        Some(_) => StoreError::Conflict {
            run_id: run_id.to_owned(),
            expected,
        },
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// How the SQL stores key a hook at rest: the SHA-256 of its id, in hex. A read of the hooks
/// table (a leaked backup, a read-only replica) yields no id a callback could be posted to; the
/// id itself travels only in the callback URL and in the run's resume state.
pub(crate) fn hook_key(hook_id: &HookId) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(hook_id.as_str().as_bytes()))
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// `record` (read by digest) named by the id of the hook its run waits at, if that id hashes to
/// the record's key.
pub(crate) fn named_by_outcome(record: HookRecord, outcome: &RunOutcome) -> Option<HookRecord> {
    let waiting = outcome
        .pending_hooks()
        .iter()
        .find(|waiting| hook_key(&waiting.hook_id) == record.hook_id.as_str())?;
    Some(HookRecord {
        hook_id: waiting.hook_id.clone(),
        ..record
    })
}

/// An instant (milliseconds since the Unix epoch) as the SQL stores keep it, in a `BIGINT`:
/// checked, so an instant past `i64::MAX` ms is an error, never a wrapped or clamped value.
#[cfg(feature = "postgres")]
pub(crate) fn ms_param(ms: u64) -> Result<i64, StoreError> {
    i64::try_from(ms).map_err(|_| {
        StoreError::backend(format!(
            "the instant {ms} ms since the epoch is past what the store's BIGINT columns hold"
        ))
    })
}

/// An instant a SQL store compares its columns with ("due by", "deadline passed at"): an instant
/// past `i64::MAX` ms is clamped to it, which is exact, since no stored instant exceeds it
/// (`ms_param` refuses to write one).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn ms_bound(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// An instant read back from a SQL store's `BIGINT` column; a negative one was not written by
/// awaitly, so the record is corrupt.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn ms_column(ms: i64) -> Result<u64, StoreError> {
    u64::try_from(ms)
        .map_err(|_| StoreError::corrupt(format!("a stored instant is negative ({ms} ms)")))
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// Writes an outcome as a store keeps it.
pub(crate) fn outcome_text(outcome: &RunOutcome) -> String {
    serde_json::to_string(outcome).unwrap_or_default()
}
