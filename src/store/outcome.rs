//! Where a stored run stands: its [`RunStatus`] and the [`RunOutcome`] it is stored with (what it
//! waits for, or how it ended), as the stores keep them.

use awaitly_runtime::{PendingApproval, PendingHook};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a durable run stands.
///
/// ```
/// use awaitly::store::RunStatus;
/// assert_eq!(RunStatus::Suspended.as_str(), "suspended");
/// assert_eq!(RunStatus::parse("completed"), Some(RunStatus::Completed));
/// assert!(RunStatus::Failed.is_terminal());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// An executor is advancing it (or crashed while doing so: see `Engine::recover`).
    Running,
    /// Waiting for a hook's payload, a person's decision on an approval, or a wake-up time.
    Suspended,
    /// The workflow returned `Ok`; the run and its result are kept.
    Completed,
    /// The workflow returned `Err`; `Engine::retry_run` runs its failed steps again.
    Failed,
    /// The stored state does not fit the code; fix the code or the state, then resume.
    Stopped,
    /// Cancelled (`Engine::cancel`): its compensations ran; nothing advances it again.
    Cancelled,
}

impl RunStatus {
    /// The status as stored: `running`, `suspended`, `completed`, `failed` or `stopped`.
    ///
    /// ```
    /// assert_eq!(awaitly::store::RunStatus::Running.as_str(), "running");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Suspended => "suspended",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
            Self::Cancelled => "cancelled",
        }
    }

    /// Reads a stored status; `None` for anything else.
    ///
    /// ```
    /// assert_eq!(awaitly::store::RunStatus::parse("nope"), None);
    /// ```
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "running" => Self::Running,
            "suspended" => Self::Suspended,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "stopped" => Self::Stopped,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    /// Completed, failed or cancelled: nothing will advance the run unless asked to retry.
    ///
    /// ```
    /// assert!(!awaitly::store::RunStatus::Suspended.is_terminal());
    /// ```
    #[must_use]
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// The latest outcome of a durable run, with the workflow's output and error erased to JSON.
///
/// ```
/// use awaitly::store::{RunOutcome, RunStatus};
/// let outcome = RunOutcome::Completed { result: serde_json::json!(42) };
/// assert_eq!(outcome.status(), RunStatus::Completed);
/// assert_eq!(
///     serde_json::to_value(&outcome).unwrap(),
///     serde_json::json!({ "status": "completed", "result": 42 })
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunOutcome {
    /// Being advanced by an executor.
    Running,
    /// Waiting at this hook.
    Suspended {
        /// The hook whose payload the run waits for.
        hook: PendingHook,
    },
    /// Waiting for a person's decision on this approval.
    AwaitingApproval {
        /// The approval: key, reason, metadata, when it was requested and its deadline.
        approval: PendingApproval,
    },
    /// Sleeping until `wake_at_ms`: [`Engine::resume_due`](crate::durable::Engine::resume_due)
    /// runs it on once that time has passed.
    Sleeping {
        /// The `sleep!` site's key.
        key: String,
        /// When the run is due, in milliseconds since the Unix epoch.
        wake_at_ms: u64,
    },
    /// The workflow's `Ok` value.
    Completed {
        /// The output, as JSON.
        result: Value,
    },
    /// The workflow's `Err` value.
    Failed {
        /// The error, as JSON.
        error: Value,
    },
    /// The run stopped because its state does not fit the code.
    Stopped {
        /// What the runtime reported.
        message: String,
    },
    /// Waiting for several things at once — branches of the workflow (`all!`, `race!`,
    /// `fan_out!`) that each wait: it goes on when any of them arrives.
    Waiting {
        /// The hooks whose payloads it waits for.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hooks: Vec<PendingHook>,
        /// The approvals it waits for a decision on.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        approvals: Vec<PendingApproval>,
        /// The sleeps it waits out.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sleeps: Vec<SleepUntil>,
    },
    /// The run was cancelled; its compensations ran (their outcomes are in the state, under
    /// `run:undo:<step key>`).
    Cancelled {
        /// What the canceller said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl RunOutcome {
    /// The status this outcome stands for.
    ///
    /// ```
    /// assert_eq!(awaitly::store::RunOutcome::Running.status(), awaitly::store::RunStatus::Running);
    /// ```
    #[must_use]
    pub fn status(&self) -> RunStatus {
        match self {
            Self::Running => RunStatus::Running,
            Self::Suspended { .. }
            | Self::AwaitingApproval { .. }
            | Self::Sleeping { .. }
            | Self::Waiting { .. } => RunStatus::Suspended,
            Self::Completed { .. } => RunStatus::Completed,
            Self::Failed { .. } => RunStatus::Failed,
            Self::Stopped { .. } => RunStatus::Stopped,
            Self::Cancelled { .. } => RunStatus::Cancelled,
        }
    }

    /// The hook a suspended run waits for.
    ///
    /// ```
    /// let hook = awaitly::pending_hook("h1".into(), Default::default());
    /// let outcome = awaitly::store::RunOutcome::Suspended { hook };
    /// assert_eq!(outcome.pending_hook().unwrap().hook_id.as_str(), "h1");
    /// ```
    #[must_use]
    pub fn pending_hook(&self) -> Option<&PendingHook> {
        self.pending_hooks().first()
    }

    /// Every hook the run waits at: the one of [`Suspended`](Self::Suspended), or all of
    /// [`Waiting`](Self::Waiting).
    ///
    /// ```
    /// let hook = awaitly::pending_hook("h1".into(), Default::default());
    /// let outcome = awaitly::store::RunOutcome::Waiting { hooks: vec![hook], approvals: vec![], sleeps: vec![] };
    /// assert_eq!(outcome.pending_hooks().len(), 1);
    /// ```
    #[must_use]
    pub fn pending_hooks(&self) -> &[PendingHook] {
        match self {
            Self::Suspended { hook } => std::slice::from_ref(hook),
            Self::Waiting { hooks, .. } => hooks,
            _ => &[],
        }
    }

    /// Every approval the run waits for.
    ///
    /// ```
    /// assert!(awaitly::store::RunOutcome::Running.pending_approvals().is_empty());
    /// ```
    #[must_use]
    pub fn pending_approvals(&self) -> &[PendingApproval] {
        match self {
            Self::AwaitingApproval { approval } => std::slice::from_ref(approval),
            Self::Waiting { approvals, .. } => approvals,
            _ => &[],
        }
    }

    /// The approval a run waits for.
    ///
    /// ```
    /// let approval = awaitly::pending_approval("approve:1", Default::default());
    /// let outcome = awaitly::store::RunOutcome::AwaitingApproval { approval };
    /// assert_eq!(outcome.pending_approval().unwrap().step_key, "approve:1");
    /// ```
    #[must_use]
    pub fn pending_approval(&self) -> Option<&PendingApproval> {
        match self {
            Self::AwaitingApproval { approval } => Some(approval),
            _ => None,
        }
    }

    /// When a run with this outcome is due to be resumed without anyone delivering anything: a
    /// sleep's wake-up time, or the deadline of the hook or approval it waits for. Stores index
    /// it ([`Store::due_runs`](super::Store::due_runs)).
    ///
    /// ```
    /// use awaitly::store::RunOutcome;
    /// assert_eq!(RunOutcome::Sleeping { key: "nap".into(), wake_at_ms: 5 }.due_at_ms(), Some(5));
    /// assert_eq!(RunOutcome::Running.due_at_ms(), None);
    /// ```
    #[must_use]
    pub fn due_at_ms(&self) -> Option<u64> {
        match self {
            Self::Sleeping { wake_at_ms, .. } => Some(*wake_at_ms),
            Self::Suspended { hook } => hook.deadline_ms,
            Self::AwaitingApproval { approval } => approval.deadline_ms,
            Self::Waiting {
                hooks,
                approvals,
                sleeps,
            } => hooks
                .iter()
                .filter_map(|hook| hook.deadline_ms)
                .chain(approvals.iter().filter_map(|approval| approval.deadline_ms))
                .chain(sleeps.iter().map(|sleep| sleep.wake_at_ms))
                .min(),
            _ => None,
        }
    }
}

/// A sleep a [`RunOutcome::Waiting`] run waits out.
///
/// ```
/// let sleep = awaitly::store::SleepUntil { key: "cool-off".into(), wake_at_ms: 5 };
/// assert_eq!(sleep.wake_at_ms, 5);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SleepUntil {
    /// The `sleep!` site's key.
    pub key: String,
    /// When it ends, in milliseconds since the Unix epoch.
    pub wake_at_ms: u64,
}
