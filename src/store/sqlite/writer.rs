//! Group commit for [`SqliteStore`](super::SqliteStore): one thread per store owns the write
//! connection and drains a queue of pending writes into one `BEGIN IMMEDIATE … COMMIT`.
//!
//! SQLite commits one transaction at a time, each with its fsync (`synchronous = FULL`); with a
//! transaction per write, concurrent runs queue behind each other's fsyncs. Here the writes that
//! arrive while one transaction commits wait in the queue and the next transaction carries them
//! all, so one fsync acknowledges many runs' checkpoints. What each write means is unchanged:
//!
//! - Each write runs inside its own `SAVEPOINT`: a write that fails (a fenced save, a hook owned
//!   by another run) is rolled back alone and its caller gets the same typed error as a write of
//!   its own would have given; the others in the transaction go on.
//! - The writes of one transaction apply in queue order, each seeing the ones before it — the
//!   same results as running them one after the other.
//! - No caller hears anything before the transaction holding its write is decided: after a
//!   durable `COMMIT`, each gets its own result; if the `COMMIT` (or the transaction) fails,
//!   every caller of that transaction gets [`StoreError::Backend`] and none of its writes is
//!   visible.

use std::sync::mpsc::{Receiver, Sender, TryRecvError};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::store::StoreError;

/// The most writes one transaction carries: bounds the time a transaction holds SQLite's write
/// lock against other processes, and the latency the first write of a large batch waits.
const MAX_BATCH: usize = 256;

/// A write waiting for the writer thread.
pub(super) trait Pending: Send {
    /// Runs the write in the open transaction, keeping its result; whether it succeeded.
    fn apply(&mut self, connection: &Connection) -> bool;
    /// Answers the caller once the transaction is decided: its own result if it committed,
    /// `failed` if it did not.
    fn answer(self: Box<Self>, failed: Option<&StoreError>);
}

/// A write and the caller waiting for its result.
pub(super) struct Write<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Write<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
{
    /// `work` to queue, and where its result will arrive.
    pub(super) fn new(work: F) -> (Self, oneshot::Receiver<Result<T, StoreError>>) {
        let (reply, receiver) = oneshot::channel();
        let write = Self {
            work: Some(work),
            result: None,
            reply,
        };
        (write, receiver)
    }
}

impl<T, F> Pending for Write<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
{
    fn apply(&mut self, connection: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = work(connection);
        let applied = result.is_ok();
        self.result = Some(result);
        applied
    }

    fn answer(self: Box<Self>, failed: Option<&StoreError>) {
        let result = match (failed, self.result) {
            (Some(error), _) => Err(error.clone()),
            (None, Some(result)) => result,
            (None, None) => Err(StoreError::backend("the write was not run")),
        };
        // The caller may have stopped waiting (its future was dropped): nothing to tell.
        let _ = self.reply.send(result);
    }
}

/// The queue's sending end, shared by every clone of the store; the thread stops when the last
/// one is dropped.
pub(super) type Queue = Sender<Box<dyn Pending>>;

/// The writer thread's loop: a transaction for whatever is queued, until the store is dropped.
pub(super) fn run(connection: &Connection, queue: &Receiver<Box<dyn Pending>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        commit(connection, batch);
    }
}

/// Runs one statement without parameters, prepared once per connection.
fn execute(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(sql)?.execute([]).map(drop)
}

fn failed(what: &str, error: &rusqlite::Error) -> StoreError {
    StoreError::backend(format_args!(
        "the transaction carrying this write was not committed ({what}: {error}); nothing of it was written"
    ))
}

/// One transaction carrying `batch`; every caller answered once it is decided.
fn commit(connection: &Connection, mut batch: Vec<Box<dyn Pending>>) {
    let outcome = apply_all(connection, &mut batch).and_then(|()| {
        if connection.is_autocommit() {
            // A lone failed write, already rolled back.
            return Ok(());
        }
        execute(connection, "COMMIT").map_err(|error| failed("COMMIT", &error))
    });
    if outcome.is_err() && !connection.is_autocommit() {
        // Leaves nothing half-written for the next transaction (SQLite may have rolled back
        // already, on I/O errors).
        let _ = connection.execute_batch("ROLLBACK");
    }
    let error = outcome.err();
    for pending in batch {
        pending.answer(error.as_ref());
    }
}

/// Opens the transaction and applies each write in its own savepoint.
fn apply_all(connection: &Connection, batch: &mut [Box<dyn Pending>]) -> Result<(), StoreError> {
    execute(connection, "BEGIN IMMEDIATE").map_err(|error| failed("BEGIN IMMEDIATE", &error))?;
    if let [only] = batch {
        // A transaction of one write needs no savepoint: if the write fails, the transaction is
        // rolled back and the caller gets the write's own error (the caller's result stands).
        if only.apply(connection) {
            if connection.is_autocommit() {
                return Err(StoreError::backend(
                    "SQLite rolled back the transaction carrying this write; nothing of it was written",
                ));
            }
        } else if !connection.is_autocommit() {
            execute(connection, "ROLLBACK").map_err(|error| failed("ROLLBACK", &error))?;
        }
        return Ok(());
    }
    for pending in batch {
        execute(connection, "SAVEPOINT awaitly_write")
            .map_err(|error| failed("SAVEPOINT", &error))?;
        let applied = pending.apply(connection);
        if connection.is_autocommit() {
            // SQLite rolled the whole transaction back (an I/O error, a full disk): the writes
            // before this one are gone too, so none of them may be acknowledged.
            return Err(StoreError::backend(
                "SQLite rolled back the transaction carrying this write; nothing of it was written",
            ));
        }
        if !applied {
            execute(connection, "ROLLBACK TO awaitly_write")
                .map_err(|error| failed("ROLLBACK TO", &error))?;
        }
        execute(connection, "RELEASE awaitly_write").map_err(|error| failed("RELEASE", &error))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Pending, Write, commit};
    use crate::store::StoreError;
    use rusqlite::Connection;

    fn table() -> Connection {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE t (x INTEGER)")
            .unwrap();
        connection
    }

    fn rows(connection: &Connection) -> Vec<i64> {
        let mut statement = connection.prepare("SELECT x FROM t ORDER BY x").unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// A write inserting `x`, failing after it if `refuse`.
    fn insert(
        x: i64,
        refuse: bool,
    ) -> (
        Box<dyn Pending>,
        tokio::sync::oneshot::Receiver<Result<i64, StoreError>>,
    ) {
        let (write, answer) = Write::new(move |connection: &Connection| {
            connection
                .execute("INSERT INTO t (x) VALUES (?1)", [x])
                .unwrap();
            if refuse {
                Err(StoreError::Conflict {
                    run_id: x.to_string(),
                    expected: 0,
                })
            } else {
                Ok(x)
            }
        });
        (Box::new(write), answer)
    }

    #[test]
    fn a_refused_write_is_rolled_back_alone() {
        let connection = table();
        let (batch, answers): (Vec<_>, Vec<_>) = (1..=5).map(|x| insert(x, x == 3)).unzip();
        commit(&connection, batch);
        let answers: Vec<_> = answers
            .into_iter()
            .map(|mut answer| answer.try_recv().unwrap())
            .collect();
        assert!(matches!(answers[2], Err(StoreError::Conflict { .. })));
        assert_eq!(
            answers
                .iter()
                .filter_map(|answer| answer.as_ref().ok().copied())
                .collect::<Vec<_>>(),
            [1, 2, 4, 5]
        );
        assert_eq!(rows(&connection), [1, 2, 4, 5]);
    }

    #[test]
    fn a_lone_refused_write_gets_its_own_error_and_writes_nothing() {
        let connection = table();
        let (write, mut answer) = insert(7, true);
        commit(&connection, vec![write]);
        assert!(matches!(
            answer.try_recv().unwrap(),
            Err(StoreError::Conflict { .. })
        ));
        assert!(rows(&connection).is_empty());
        let (write, mut answer) = insert(8, false);
        commit(&connection, vec![write]);
        assert_eq!(answer.try_recv().unwrap(), Ok(8));
        assert_eq!(rows(&connection), [8]);
    }

    #[test]
    fn a_failed_commit_fails_every_write_of_the_transaction() {
        let connection = table();
        // The commit hook turns the COMMIT into a rollback, as a failing COMMIT would.
        connection.commit_hook(Some(|| true));
        let (batch, answers): (Vec<_>, Vec<_>) = (1..=5).map(|x| insert(x, false)).unzip();
        commit(&connection, batch);
        for mut answer in answers {
            assert!(matches!(
                answer.try_recv().unwrap(),
                Err(StoreError::Backend { .. })
            ));
        }
        connection.commit_hook(None::<fn() -> bool>);
        assert!(
            rows(&connection).is_empty(),
            "nothing of the transaction is visible"
        );
        assert!(connection.is_autocommit(), "no transaction left open");
    }
}
