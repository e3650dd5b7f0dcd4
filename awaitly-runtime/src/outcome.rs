//! What a run produces: its [`Outcome`] and the [`Run`] that carries it with the state.

use crate::approval::PendingApproval;
use crate::cancel::Cancellation;
use crate::error::RunError;
use crate::hook::{MaybePendingHook, PendingHook};
use crate::state::ResumeState;

/// What a run produced: its outcome and the complete resume state to persist.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// #[awaitly::workflow]
/// async fn nothing() -> Result<(), String> {
///     Ok(())
/// }
/// let awaitly::Run { outcome, state } = nothing().start().await;
/// assert!(matches!(outcome, awaitly::Outcome::Completed(())));
/// assert!(state.is_empty());
/// # });
/// ```
#[derive(Debug)]
#[must_use = "a run's state must be kept to resume it"]
pub struct Run<T, E> {
    /// How the run ended.
    pub outcome: Outcome<T, E>,
    /// Every recorded outcome: the input state's entries plus the new ones.
    pub state: ResumeState,
}

impl<T, E> Run<T, E> {
    /// The compensations this state records, in the order they ran (the reverse of their steps):
    /// each step's key and whether its undo succeeded (`Err` holds the undo's error as JSON).
    ///
    /// ```
    /// use awaitly::{Outcome, step, workflow};
    ///
    /// #[workflow]
    /// async fn book() -> Result<(), String> {
    ///     let undo = |seat: u32| async move { Ok::<(), String>(println!("release seat {seat}")) };
    ///     step!("reserve", compensate = undo, Ok::<u32, String>(7))?;
    ///     step!("charge", Err::<(), String>("declined".into()))
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let run = book().start().await;
    /// assert!(matches!(run.outcome, Outcome::Failed(_)));
    /// let compensations = run.compensations();
    /// assert_eq!(compensations.len(), 1);
    /// assert_eq!(compensations[0].0, "reserve");
    /// assert!(compensations[0].1.is_ok());
    /// # });
    /// ```
    #[must_use]
    pub fn compensations(&self) -> Vec<(String, Result<(), serde_json::Value>)> {
        let prefix = crate::glue::undo_key("");
        self.state
            .iter()
            .filter_map(|(key, entry)| {
                let step = key.strip_prefix(prefix.as_str())?;
                let outcome = if entry.is_ok() {
                    Ok(())
                } else {
                    Err(entry.error().cloned().unwrap_or_default())
                };
                Some((step.to_owned(), outcome))
            })
            .collect()
    }
}

/// How a run ended.
///
/// ```
/// let outcome: awaitly::Outcome<u32, String> = awaitly::Outcome::Completed(1);
/// assert!(outcome.is_completed());
/// ```
#[derive(Debug)]
pub enum Outcome<T, E> {
    /// The workflow returned `Ok`.
    Completed(T),
    /// The workflow returned `Err` (a step failed, or the code returned an error).
    Failed(E),
    /// The run waits for something outside it (a hook's payload); persist the state and run again
    /// once it has arrived.
    Suspended(Suspension),
    /// The resume state does not fit the code (or a value could not be written as JSON); nothing
    /// after the stop executed.
    Stopped(RunError),
    /// The run was cancelled ([`ResumeState::cancel`](crate::ResumeState::cancel) or a
    /// [`CancelHandle`](crate::CancelHandle)); it stopped at the next site that would have
    /// executed or waited, and its compensations ran ([`Run::compensations`]).
    Cancelled(Cancellation),
}

impl<T, E> Outcome<T, E> {
    /// Did the workflow return `Ok`?
    ///
    /// ```
    /// assert!(!awaitly::Outcome::<u8, u8>::Failed(1).is_completed());
    /// ```
    #[must_use]
    pub fn is_completed(&self) -> bool {
        matches!(self, Self::Completed(_))
    }

    /// The hook the run is suspended at, if it is.
    ///
    /// ```
    /// let pending = awaitly::pending_hook("h".into(), Default::default());
    /// let outcome = awaitly::Outcome::<u8, u8>::Suspended(awaitly::Suspension::Hook(pending));
    /// assert_eq!(outcome.pending_hook().unwrap().hook_id.as_str(), "h");
    /// ```
    #[must_use]
    pub fn pending_hook(&self) -> Option<&PendingHook> {
        match self {
            Self::Suspended(suspension) => suspension.each().find_map(|waiting| match waiting {
                Suspension::Hook(pending) => Some(pending),
                _ => None,
            }),
            _ => None,
        }
    }
}

/// What a suspended run waits for.
///
/// ```
/// let pending = awaitly::pending_hook("h".into(), Default::default());
/// assert!(awaitly::is_pending_hook(&awaitly::Suspension::Hook(pending)));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Suspension {
    /// The payload of this hook.
    Hook(PendingHook),
    /// A person's decision on this approval.
    Approval(PendingApproval),
    /// The end of a durable sleep: run again at (or after) `wake_at_ms`.
    Sleep {
        /// The sleep site's key.
        key: String,
        /// When the run is due, in milliseconds since the Unix epoch.
        wake_at_ms: u64,
    },
    /// Several branches of the body wait, each for one of these (in the order they began to
    /// wait); the run goes on when any of them arrives.
    Several(Vec<Suspension>),
}

impl Suspension {
    /// Each single thing the run waits for: this one, or each of [`Several`](Self::Several).
    ///
    /// ```
    /// let sleep = awaitly::Suspension::Sleep { key: "s".into(), wake_at_ms: 5 };
    /// assert_eq!(sleep.each().count(), 1);
    /// ```
    pub fn each(&self) -> impl Iterator<Item = &Suspension> {
        let several = match self {
            Self::Several(all) => all.as_slice(),
            single => std::slice::from_ref(single),
        };
        several.iter()
    }
}

impl MaybePendingHook for Suspension {
    fn pending_hook(&self) -> Option<PendingHook> {
        self.each().find_map(|waiting| match waiting {
            Suspension::Hook(pending) => Some(pending.clone()),
            _ => None,
        })
    }
}

impl<T, E> MaybePendingHook for Outcome<T, E> {
    fn pending_hook(&self) -> Option<PendingHook> {
        match self {
            Outcome::Suspended(suspension) => suspension.pending_hook(),
            _ => None,
        }
    }
}
