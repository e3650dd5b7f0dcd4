//! Checkpoints: every executed step's entry reaches the run's [`Journal`] before the step's lane
//! goes on. Steps of concurrent branches finish while a write is in flight; their entries queue
//! and go together in the next write, so a fan-out of 16 in flight costs far fewer writes than
//! steps, and a lane still goes on only once the write holding its entry is done.

use std::borrow::Cow;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

use super::context::{Context, Halt, RunProgress};
use crate::entry::StepEntry;
use crate::error::RunError;
use crate::journal::{Journal, JournalError};

/// What [`Context::finish_step`] leaves for the journal: the entry to persist (if a journal is
/// attached) and whether the step was recorded at all.
pub struct Checkpoint(
    pub(crate) Option<(Arc<dyn Journal>, Cow<'static, str>, StepEntry)>,
    pub(crate) bool,
);

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_tuple("Checkpoint")
            .field(&self.0.as_ref().map(|(_, key, _)| key))
            .finish()
    }
}

type Write = Pin<Box<dyn Future<Output = Result<(), JournalError>> + Send>>;

/// The run's queue of entries on their way to the journal.
#[derive(Default)]
pub(crate) struct Writes {
    /// Entries recorded but not yet handed to the journal.
    queued: Vec<(Cow<'static, str>, StepEntry)>,
    /// Sequence number of the last queued entry.
    last_queued: u64,
    /// Every entry up to this sequence number is written.
    written: u64,
    /// The write in flight, with the last sequence number it holds (`None` while a lane polls it).
    in_flight: Option<(u64, Cow<'static, str>, Write)>,
    /// A lane has taken the write out to poll it.
    polling: bool,
    /// Lanes waiting for a write, woken when it ends.
    waiters: Vec<Waker>,
    /// A write failed: the run stops, nothing else is written.
    failed: bool,
}

impl Writes {
    fn wake_all(&mut self) {
        for waker in self.waiters.drain(..) {
            waker.wake();
        }
    }
}

impl Context {
    /// Hands a recorded step to the journal (if any) and waits until the write that holds it is
    /// done. `false` means the run must halt.
    pub async fn checkpoint(&self, checkpoint: Checkpoint) -> bool {
        let Checkpoint(pending, recorded) = checkpoint;
        let Some((journal, key, entry)) = pending else {
            return recorded;
        };
        let sequence = {
            let mut run = self.lock();
            let writes = &mut run.writes;
            writes.queued.push((key, entry));
            writes.last_queued += 1;
            writes.last_queued
        };
        poll_fn(|task| self.poll_written(sequence, &journal, task)).await
    }

    /// Drives the journal until the entry numbered `sequence` is written; any waiting lane may
    /// drive the write in flight, so none depends on another being polled.
    fn poll_written(
        &self,
        sequence: u64,
        journal: &Arc<dyn Journal>,
        task: &mut TaskContext<'_>,
    ) -> Poll<bool> {
        loop {
            let mut run = self.lock();
            if run.writes.failed {
                return Poll::Ready(false);
            }
            if run.writes.written >= sequence {
                return Poll::Ready(true);
            }
            if run.writes.polling {
                run.writes.waiters.push(task.waker().clone());
                return Poll::Pending;
            }
            let (upto, first_key, mut write) = match run.writes.in_flight.take() {
                Some(in_flight) => in_flight,
                None => start_write(&mut run, journal),
            };
            run.writes.polling = true;
            drop(run);
            let polled = write.as_mut().poll(task);
            let mut run = self.lock();
            run.writes.polling = false;
            match polled {
                Poll::Pending => {
                    run.writes.in_flight = Some((upto, first_key, write));
                    run.writes.waiters.push(task.waker().clone());
                    return Poll::Pending;
                }
                Poll::Ready(Ok(())) => {
                    run.writes.written = upto;
                    run.writes.wake_all();
                }
                Poll::Ready(Err(error)) => {
                    run.writes.failed = true;
                    run.writes.wake_all();
                    run.halt = Some(Halt::Stopped(RunError::Journal {
                        key: first_key.into_owned(),
                        message: error.to_string(),
                        source: error,
                    }));
                    return Poll::Ready(false);
                }
            }
        }
    }
}

impl RunProgress {
    /// Records `entry` under `key` in the state; returns what the journal (if any) still has to
    /// write, for [`Context::checkpoint`].
    pub(crate) fn record(&mut self, key: Cow<'static, str>, entry: StepEntry) -> Checkpoint {
        let Some(journal) = self.options.journal.clone() else {
            self.state.insert(key, entry);
            return Checkpoint(None, true);
        };
        self.state.insert(key.clone(), entry.clone());
        Checkpoint(Some((journal, key, entry)), true)
    }
}

/// Starts writing every queued entry in one journal call.
fn start_write(
    run: &mut RunProgress,
    journal: &Arc<dyn Journal>,
) -> (u64, Cow<'static, str>, Write) {
    let batch = std::mem::take(&mut run.writes.queued);
    let upto = run.writes.last_queued;
    let first_key = batch
        .first()
        .map_or(Cow::Borrowed(""), |(key, _)| key.clone());
    let journal = Arc::clone(journal);
    let write: Write = Box::pin(async move { journal.record_all(&batch).await });
    (upto, first_key, write)
}
