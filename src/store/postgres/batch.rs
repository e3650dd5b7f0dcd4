//! Group commit for [`PostgresStore`](super::PostgresStore): concurrent runs' saves share a
//! transaction and a round trip.
//!
//! A save of entries (the checkpoint of a step, the completion of a run) is one statement
//! (`Sql::save_entries`: the fenced revision bump and the entry upserts together). A task per
//! store takes the saves queued while earlier batches were busy and sends each batch on one
//! pooled connection as `BEGIN`, the saves, `COMMIT`, pipelined: one round trip and one WAL flush
//! for many runs. What each save means is unchanged:
//!
//! - Each statement is fenced on its own (revision and lease in its `WHERE`); a refused save
//!   writes nothing and returns the run as it saw it, so its caller gets the same typed error
//!   ([`StoreError::Conflict`], [`StoreError::Leased`], [`StoreError::UnknownRun`]) while the
//!   others of the batch commit.
//! - No caller hears anything before the batch's `COMMIT` succeeded (`synchronous_commit` is the
//!   server's; it is not changed). If any statement or the `COMMIT` fails, every save of the
//!   batch gets [`StoreError::Backend`] and none of it is visible.
//! - A batch locks its runs' rows in `run_id` order, so concurrent batches (of this process or
//!   another) cannot deadlock on each other.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use deadpool_postgres::Pool;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use super::sql::Sql;
use super::{backend, to_i32, to_i64};
use crate::store::{
    Changes, RunLease, Saved, StoreError, due_param, entry_text, ms_column, ms_param, now_ms,
    outcome_text,
};

/// Batches sent at once, each on its own pooled connection (the pool has 16).
const IN_FLIGHT: usize = 4;
/// The most saves one transaction carries.
const MAX_BATCH: usize = 256;

/// Where a queued save's result arrives.
pub(super) type Answer = oneshot::Receiver<Result<Saved, StoreError>>;

/// A save waiting for a batch, with its parameters as the statement takes them.
pub(super) struct Pending {
    run_id: String,
    expected: u64,
    expected_param: i64,
    now: u64,
    now_param: i64,
    status: Option<&'static str>,
    outcome: Option<String>,
    version: Option<i32>,
    due_at: Option<i64>,
    lease_owner: Option<String>,
    lease_expires: Option<i64>,
    keys: Vec<String>,
    texts: Vec<String>,
    reply: oneshot::Sender<Result<Saved, StoreError>>,
}

impl Pending {
    /// The save, if it fits one statement (no removed keys, no suspension, each key once), and
    /// where its result will arrive.
    pub(super) fn new(
        run_id: &str,
        expected: u64,
        changes: &Changes,
    ) -> Result<Option<(Self, Answer)>, StoreError> {
        if !changes.removed.is_empty()
            || changes.suspend_at.is_some()
            || !changes.waiting_at.is_empty()
        {
            return Ok(None);
        }
        let keys: Vec<String> = changes.entries.iter().map(|(key, _)| key.clone()).collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() != keys.len() {
            // An upsert cannot touch one row twice in a statement.
            return Ok(None);
        }
        let now = now_ms();
        let outcome = changes.outcome.as_ref();
        let lease = changes.lease.as_ref();
        let (reply, answer) = oneshot::channel();
        let pending = Self {
            run_id: run_id.to_owned(),
            expected,
            expected_param: to_i64(expected)?,
            now,
            now_param: ms_param(now)?,
            status: outcome.map(|outcome| outcome.status().as_str()),
            outcome: outcome.map(outcome_text),
            version: changes.version.map(to_i32).transpose()?,
            due_at: outcome.and_then(due_param).map(ms_param).transpose()?,
            lease_owner: lease.map(|lease| lease.owner.clone()),
            lease_expires: lease
                .map(|lease| ms_param(lease.expires_at(now)))
                .transpose()?,
            keys,
            texts: changes
                .entries
                .iter()
                .map(|(_, entry)| entry_text(entry))
                .collect(),
            reply,
        };
        Ok(Some((pending, answer)))
    }

    /// What the statement returned, as the caller's result.
    fn result(&self, row: Option<&Row>) -> Result<Saved, StoreError> {
        let Some(row) = row else {
            return Err(StoreError::UnknownRun {
                run_id: self.run_id.clone(),
            });
        };
        if row.try_get::<_, bool>(0).map_err(backend)? {
            return Ok(Saved {
                revision: self.expected + 1,
                delivered: None,
            });
        }
        let owner: Option<String> = row.try_get(2).map_err(backend)?;
        let revision: Option<i64> = row.try_get(3).map_err(backend)?;
        let expires: Option<i64> = row.try_get(4).map_err(backend)?;
        match owner {
            Some(owner)
                if revision == Some(self.expected_param)
                    && (RunLease {
                        owner: owner.clone(),
                        expires_at_ms: ms_column(expires.unwrap_or(0))?,
                    })
                    .is_live(self.now) =>
            {
                Err(StoreError::Leased {
                    run_id: self.run_id.clone(),
                    owner,
                })
            }
            _ => Err(StoreError::Conflict {
                run_id: self.run_id.clone(),
                expected: self.expected,
            }),
        }
    }
}

/// The queue of one store's saves; the task batching them stops when the store is dropped.
#[derive(Debug, Clone)]
pub(super) struct Batcher {
    queue: mpsc::UnboundedSender<Pending>,
    /// Commits still to be failed on purpose (feature `test-util`).
    #[cfg(feature = "test-util")]
    pub(super) failing: Arc<std::sync::atomic::AtomicUsize>,
}

impl Batcher {
    /// Starts the batching task for `pool` (on the current tokio runtime).
    pub(super) fn start(pool: Pool, sql: Arc<Sql>) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        #[cfg(feature = "test-util")]
        let failing = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let batches = Batches {
            pool,
            sql,
            #[cfg(feature = "test-util")]
            failing: Arc::clone(&failing),
        };
        tokio::spawn(batches.run(receiver));
        Self {
            queue,
            #[cfg(feature = "test-util")]
            failing,
        }
    }

    /// Queues `pending`; `false` if the batching task has stopped.
    pub(super) fn send(&self, pending: Pending) -> bool {
        self.queue.send(pending).is_ok()
    }
}

/// The batching task's state.
#[derive(Clone)]
struct Batches {
    pool: Pool,
    sql: Arc<Sql>,
    #[cfg(feature = "test-util")]
    failing: Arc<std::sync::atomic::AtomicUsize>,
}

impl Batches {
    async fn run(self, mut receiver: mpsc::UnboundedReceiver<Pending>) {
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        loop {
            // Wait for a free connection first: the saves arriving meanwhile make the batch.
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            let Some(first) = receiver.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(pending) => batch.push(pending),
                    Err(_) => break,
                }
            }
            let batches = self.clone();
            tokio::spawn(async move {
                batches.send(batch).await;
                drop(slot);
            });
        }
    }

    /// Whether this batch's commit is to fail on purpose (feature `test-util`).
    fn fail_commit(&self) -> bool {
        #[cfg(feature = "test-util")]
        {
            use std::sync::atomic::Ordering;
            self.failing
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok()
        }
        #[cfg(not(feature = "test-util"))]
        false
    }

    async fn send(&self, mut batch: Vec<Pending>) {
        batch.sort_by(|a, b| a.run_id.cmp(&b.run_id));
        let fail = self.fail_commit();
        match self.execute(&batch, fail).await {
            Ok(rows) => {
                for (pending, row) in batch.into_iter().zip(rows) {
                    let result = pending.result(row.as_ref());
                    let _ = pending.reply.send(result);
                }
            }
            Err(error) => {
                for pending in batch {
                    let _ = pending.reply.send(Err(error.clone()));
                }
            }
        }
    }

    /// Runs the batch: one statement alone (its own transaction), or all of them between
    /// `BEGIN` and `COMMIT`, pipelined. Each save's row, in batch order.
    async fn execute(&self, batch: &[Pending], fail: bool) -> Result<Vec<Option<Row>>, StoreError> {
        let client = self.pool.get().await.map_err(backend)?;
        let save = client
            .prepare_cached(&self.sql.save_entries)
            .await
            .map_err(backend)?;
        let params: Vec<[&(dyn ToSql + Sync); 12]> = batch
            .iter()
            .map(|pending| {
                [
                    &pending.run_id as &(dyn ToSql + Sync),
                    &pending.expected_param,
                    &pending.now_param,
                    &pending.status,
                    &pending.outcome,
                    &pending.version,
                    &pending.due_at,
                    &pending.lease_owner,
                    &pending.lease_expires,
                    &pending.keys,
                    &pending.texts,
                    &self.sql.channel,
                ]
            })
            .collect();
        if let ([params], false) = (params.as_slice(), fail) {
            let row = client.query_opt(&save, params).await.map_err(backend)?;
            return Ok(vec![row]);
        }
        let failed = |error: tokio_postgres::Error| {
            StoreError::backend(format_args!(
                "the transaction carrying this save was not committed ({error}); nothing of it was written"
            ))
        };
        let begin = client.prepare_cached("BEGIN").await.map_err(failed)?;
        let end = client
            .prepare_cached(if fail { "ROLLBACK" } else { "COMMIT" })
            .await
            .map_err(failed)?;
        let client: &Client = &client;
        let mut saves: Vec<Query<'_>> = Vec::with_capacity(batch.len() + 2);
        saves.push(Box::pin(async move {
            client.execute(&begin, &[]).await.map(|_| None)
        }));
        for params in &params {
            let save = &save;
            saves.push(Box::pin(
                async move { client.query_opt(save, params).await },
            ));
        }
        saves.push(Box::pin(async move {
            client.execute(&end, &[]).await.map(|_| None)
        }));
        let mut rows = Vec::with_capacity(batch.len());
        let mut error = None;
        for (index, result) in pipelined(saves).await.into_iter().enumerate() {
            match result {
                Ok(row) if index > 0 && index <= batch.len() => rows.push(row),
                Ok(_) => {}
                Err(failure) => {
                    error.get_or_insert(failure);
                }
            }
        }
        if let Some(error) = error {
            // A statement failed, so the transaction was aborted and its `COMMIT` rolled back.
            if !client.is_closed() {
                let _ = client.batch_execute("ROLLBACK").await;
            }
            return Err(failed(error));
        }
        if fail {
            return Err(StoreError::backend(
                "the transaction carrying this save was not committed (a commit failed on purpose); nothing of it was written",
            ));
        }
        Ok(rows)
    }
}

/// One statement of a pipelined batch.
type Query<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Row>, tokio_postgres::Error>> + Send + 'a>>;

/// Polls every future in order until all are done, so tokio-postgres sends their requests on
/// the connection in that order without waiting for answers in between; the results in order.
async fn pipelined<T>(futures: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    let mut futures: Vec<_> = futures.into_iter().map(Some).collect();
    let mut results: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for (slot, result) in futures.iter_mut().zip(results.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(context) {
                    Poll::Ready(value) => {
                        *result = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    results.into_iter().flatten().collect()
}
