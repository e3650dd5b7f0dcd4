//! What workers claim runs from: queues, their store-wide concurrency limits, and a claim's result.

use super::RunRecord;

/// The queue a run belongs to unless it is enqueued elsewhere.
pub const DEFAULT_QUEUE: &str = "default";

/// A queue a worker claims runs from, and how many of its runs may be advanced at once across
/// every worker and process sharing the store.
///
/// ```
/// let queue = awaitly::store::QueueLimit::new("emails").concurrency(4);
/// assert_eq!(queue.concurrency, Some(4));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueLimit {
    /// The queue's name.
    pub queue: String,
    /// At most this many of the queue's runs hold a live lease at once; `None`: no limit.
    pub concurrency: Option<usize>,
}

impl QueueLimit {
    /// The queue, without a concurrency limit.
    ///
    /// ```
    /// assert_eq!(awaitly::store::QueueLimit::new("q").concurrency, None);
    /// ```
    pub fn new(queue: impl Into<String>) -> Self {
        Self {
            queue: queue.into(),
            concurrency: None,
        }
    }

    /// Limits how many of the queue's runs are advanced at once, store-wide.
    ///
    /// ```
    /// assert_eq!(awaitly::store::QueueLimit::new("q").concurrency(1).concurrency, Some(1));
    /// ```
    #[must_use]
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = Some(limit);
        self
    }
}

/// What [`Store::claim_runs`](super::Store::claim_runs) took.
///
/// ```
/// let claimed = awaitly::store::ClaimedRuns::default();
/// assert!(claimed.runs.is_empty() && claimed.next_due_at_ms.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClaimedRuns {
    /// The runs now leased to the claimer, in the order to advance them.
    pub runs: Vec<RunRecord>,
    /// The earliest due time of a claimable run not due yet, so a worker can sleep until then.
    pub next_due_at_ms: Option<u64>,
}
