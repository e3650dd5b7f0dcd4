//! Cancellation: a run is cancelled by recording a cancellation in its state
//! ([`ResumeState::cancel`](crate::ResumeState::cancel), what a durable engine does for a stored
//! run) or, while it runs in this process, through a [`CancelHandle`]. The run stops at the next
//! site that would execute or wait (recorded sites still replay, so every compensation of a
//! completed step is registered), runs its compensations, and ends [`Outcome::Cancelled`](crate::Outcome).

use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;

use serde::{Deserialize, Serialize};

use crate::key::RUN_KEY_PREFIX;

/// The key a cancellation is recorded under: `run:cancel`.
///
/// ```
/// assert_eq!(awaitly::CANCEL_KEY, "run:cancel");
/// ```
pub const CANCEL_KEY: &str = "run:cancel";

const _: () = assert!(CANCEL_KEY.len() > RUN_KEY_PREFIX.len());

/// Why a run was cancelled.
///
/// ```
/// let cancellation = awaitly::Cancellation::new("customer asked");
/// assert_eq!(cancellation.reason.as_deref(), Some("customer asked"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    /// What the canceller said, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Cancellation {
    /// A cancellation with a reason.
    ///
    /// ```
    /// assert!(awaitly::Cancellation::new("x").reason.is_some());
    /// ```
    #[must_use]
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: Some(reason.into()),
        }
    }
}

/// Cancels a run while it runs in this process: in-flight steps, retry delays and fan-out items
/// are dropped where they stand, the cancellation is recorded, compensations run.
///
/// ```
/// use awaitly::{CancelHandle, Outcome, step, workflow};
///
/// #[workflow]
/// async fn slow() -> Result<u8, String> {
///     step!("wait", async {
///         tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
///         Ok::<u8, String>(1)
///     }.await)
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let handle = CancelHandle::new();
/// let canceller = handle.clone();
/// tokio::spawn(async move { canceller.cancel("no longer needed") });
/// let run = slow().cancel_with(handle).start().await;
/// assert!(matches!(run.outcome, Outcome::Cancelled(ref why) if why.reason.as_deref() == Some("no longer needed")));
/// assert!(run.state.contains_key(awaitly::CANCEL_KEY));
/// # });
/// ```
#[derive(Clone, Debug, Default)]
pub struct CancelHandle {
    inner: Arc<Mutex<HandleState>>,
}

#[derive(Debug, Default)]
struct HandleState {
    cancelled: Option<Cancellation>,
    waker: Option<Waker>,
}

impl CancelHandle {
    /// A handle that has not cancelled anything yet.
    ///
    /// ```
    /// assert!(!awaitly::CancelHandle::new().is_cancelled());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels the run (the first reason given wins).
    ///
    /// ```
    /// let handle = awaitly::CancelHandle::new();
    /// handle.cancel("stop");
    /// assert!(handle.is_cancelled());
    /// ```
    pub fn cancel(&self, reason: impl Into<String>) {
        let waker = {
            let mut state = self.lock();
            if state.cancelled.is_none() {
                state.cancelled = Some(Cancellation::new(reason));
            }
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Has [`cancel`](Self::cancel) been called?
    ///
    /// ```
    /// assert!(!awaitly::CancelHandle::default().is_cancelled());
    /// ```
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.lock().cancelled.is_some()
    }

    /// The cancellation, or `None` after remembering `waker` to wake on one.
    pub(crate) fn check(&self, waker: &Waker) -> Option<Cancellation> {
        let mut state = self.lock();
        if state.cancelled.is_none() {
            state.waker = Some(waker.clone());
        }
        state.cancelled.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HandleState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
