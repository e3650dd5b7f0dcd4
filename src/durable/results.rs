//! What starting a run and delivering a callback report back.

use crate::store::RunOutcome;

/// What [`Engine::start`](super::Engine::start) did.
///
/// ```
/// let started = awaitly::durable::Started {
///     run_id: "r".into(),
///     created: true,
///     outcome: awaitly::store::RunOutcome::Running,
/// };
/// assert!(started.created);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Started {
    /// The run.
    pub run_id: String,
    /// False when a run with this id already existed: it was returned, not started again.
    pub created: bool,
    /// Where the run stands now.
    pub outcome: RunOutcome,
}

/// What a delivery to a hook did.
///
/// ```
/// let delivery = awaitly::durable::Delivery::Queued { run_id: "r".into() };
/// assert_eq!(delivery.run_id(), "r");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Delivery {
    /// This delivery resolved the hook and ran the workflow on to its next outcome.
    Applied {
        /// The run.
        run_id: String,
        /// Completed, failed, or suspended at the next hook.
        outcome: RunOutcome,
    },
    /// This delivery resolved the hook; the payload is stored and the run takes it when it
    /// reaches the hook (it has not yet), or another executor is applying it now.
    Queued {
        /// The run.
        run_id: String,
    },
    /// The hook already holds this same payload: nothing was done again.
    Duplicate {
        /// The run.
        run_id: String,
        /// Where the run stands now.
        outcome: RunOutcome,
    },
}

impl Delivery {
    /// The run the hook belongs to.
    ///
    /// ```
    /// let delivery = awaitly::durable::Delivery::Duplicate {
    ///     run_id: "r".into(),
    ///     outcome: awaitly::store::RunOutcome::Running,
    /// };
    /// assert_eq!(delivery.run_id(), "r");
    /// ```
    #[must_use]
    pub fn run_id(&self) -> &str {
        match self {
            Self::Applied { run_id, .. }
            | Self::Queued { run_id }
            | Self::Duplicate { run_id, .. } => run_id,
        }
    }
}
