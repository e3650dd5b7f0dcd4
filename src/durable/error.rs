//! Why the durable engine refused or could not finish an operation.

use awaitly_runtime::HookId;

use crate::store::{Cause, StoreError};

/// What can go wrong starting, resuming or delivering to a durable run. Each variant says what
/// to do about it.
///
/// A variant that wraps another error (a decode error, the runtime's refusal, the store's error)
/// displays its message and keeps it as the [`source`](std::error::Error::source) (a
/// [`Cause`]); errors compare by kind and message.
///
/// ```
/// let error = awaitly::durable::EngineError::UnknownHook { hook_id: "h1".into() };
/// assert_eq!(error.to_string(), "no run waits for hook `h1`: check the id in the callback URL");
/// ```
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// No workflow of this name is registered.
    #[error(
        "no workflow `{workflow}` is registered with this engine; register it before starting or resuming its runs"
    )]
    UnknownWorkflow {
        /// The name asked for.
        workflow: String,
    },
    /// The run was started with a version the engine does not have.
    #[error(
        "run `{run_id}` was started with `{workflow}` version {run_version}, but this engine registers versions {registered:?}; \
         register that version too, or migrate the run (`Engine::set_version`) or delete it"
    )]
    VersionMismatch {
        /// The run.
        run_id: String,
        /// Its workflow.
        workflow: String,
        /// The version recorded with the run.
        run_version: u32,
        /// The versions this engine has.
        registered: Vec<u32>,
    },
    /// The input does not decode as the workflow's input type.
    #[error("the input of workflow `{workflow}` does not decode: {message}")]
    InvalidInput {
        /// The workflow.
        workflow: String,
        /// What `serde_json` reported.
        message: String,
        /// `serde_json`'s error.
        #[source]
        source: Cause,
    },
    /// The run id is taken by a run of another workflow.
    #[error("run id `{run_id}` is already used by a run of workflow `{workflow}`; pick another id")]
    RunIdTaken {
        /// The run.
        run_id: String,
        /// The workflow of the existing run.
        workflow: String,
    },
    /// No run has this id.
    #[error("no run `{run_id}` in the store")]
    UnknownRun {
        /// The run asked for.
        run_id: String,
    },
    /// No run has (or had) this hook.
    #[error("no run waits for hook `{hook_id}`: check the id in the callback URL")]
    UnknownHook {
        /// The hook asked for.
        hook_id: HookId,
    },
    /// The hook already took a different payload.
    #[error(
        "hook `{hook_id}` was already resolved with a different payload; a hook takes one payload"
    )]
    AlreadyResolved {
        /// The hook.
        hook_id: HookId,
        /// The run that owns it.
        run_id: String,
    },
    /// The payload does not decode as the type the workflow awaits; the hook waits again and the
    /// stored state is unchanged.
    #[error("the payload for hook `{hook_id}` is not what the workflow expects: {message}")]
    PayloadType {
        /// The hook.
        hook_id: HookId,
        /// The run that owns it.
        run_id: String,
        /// What the runtime reported (expected type and decode error).
        message: String,
        /// The decode error (`serde_json`'s).
        #[source]
        source: Cause,
    },
    /// The hook's deadline passed; it takes no payload any more.
    #[error(
        "hook `{hook_id}` of run `{run_id}` has expired: its deadline passed, it takes no payload any more"
    )]
    HookExpired {
        /// The hook.
        hook_id: HookId,
        /// The run that owns it.
        run_id: String,
    },
    /// Another executor advanced the run since this one loaded it; this one's writes were refused.
    #[error(
        "run `{run_id}` was advanced by another executor; this executor's writes were refused (reload to see where it stands)"
    )]
    Fenced {
        /// The run.
        run_id: String,
    },
    /// The stored state does not accept the payload (it holds something else under the hook's key).
    #[error("run `{run_id}` cannot take the payload of hook `{hook_id}`: {message}")]
    Inject {
        /// The run.
        run_id: String,
        /// The hook.
        hook_id: HookId,
        /// What the runtime reported.
        message: String,
        /// The runtime's error (an `awaitly::InjectError`).
        #[source]
        source: Cause,
    },
    /// No approval waits under this key in the run.
    #[error(
        "run `{run_id}` waits for no approval `{key}`: check the run id and key (see `Engine::pending_approvals`)"
    )]
    UnknownApproval {
        /// The run.
        run_id: String,
        /// The approval's key.
        key: String,
    },
    /// The approval was already decided differently; a decision is final.
    #[error(
        "approval `{key}` of run `{run_id}` was already decided differently; a decision is final"
    )]
    ApprovalAlreadyDecided {
        /// The run.
        run_id: String,
        /// The approval's key.
        key: String,
    },
    /// The approval's deadline passed; it takes no decision any more.
    #[error(
        "approval `{key}` of run `{run_id}` has expired: its deadline passed, it takes no decision any more"
    )]
    ApprovalExpired {
        /// The run.
        run_id: String,
        /// The approval's key.
        key: String,
    },
    /// The approved value does not decode as the type the workflow awaits; the approval waits
    /// again and nothing else changed.
    #[error(
        "the value for approval `{key}` of run `{run_id}` is not what the workflow expects: {message}"
    )]
    ApprovalValueType {
        /// The run.
        run_id: String,
        /// The approval's key.
        key: String,
        /// What the runtime reported (expected type and decode error).
        message: String,
        /// `serde_json`'s error: the value could not be written as JSON, or the workflow could not
        /// decode it.
        #[source]
        source: Option<Cause>,
    },
    /// Writing the run's state would take it past [`Engine::max_state_bytes`](super::Engine::max_state_bytes):
    /// nothing of that write was stored, and the run is stopped with this message.
    #[error(
        "run `{run_id}`'s state would grow to {bytes} bytes, over the limit of {limit}: keep large data out of step results (store a reference), or raise `Engine::max_state_bytes`"
    )]
    StateTooLarge {
        /// The run.
        run_id: String,
        /// The size the state would have had.
        bytes: usize,
        /// The configured limit.
        limit: usize,
    },
    /// This provider event was already delivered to another hook; an event resolves one hook.
    #[error(
        "event `{dedupe_key}` was already delivered to another hook, not `{hook_id}`; an event resolves one hook"
    )]
    EventReused {
        /// The hook this delivery was for.
        hook_id: HookId,
        /// The event's dedupe key.
        dedupe_key: String,
    },
    /// Another executor is advancing the run (it holds the run's lease) and what this call asked
    /// for could not be decided before it let go: nothing was changed by this call. Retry later
    /// (the HTTP integration answers `503` with `Retry-After`).
    #[error(
        "run `{run_id}` is being advanced by another executor and the answer is not decided yet; nothing was changed: retry shortly"
    )]
    Busy {
        /// The run.
        run_id: String,
    },
    /// The hook's branch was let go before a payload came (another branch won its race, or a
    /// sibling failed first): nothing will read it. The claim is freed.
    #[error(
        "run `{run_id}` no longer waits at hook `{hook_id}`: its branch was let go (another branch won the race, or one failed first)"
    )]
    HookAbandoned {
        /// The hook.
        hook_id: HookId,
        /// Its run.
        run_id: String,
    },
    /// The run was cancelled: it takes no more payloads or decisions.
    #[error("run `{run_id}` was cancelled; it takes no more payloads")]
    Cancelled {
        /// The run.
        run_id: String,
        /// What the canceller said.
        reason: Option<String>,
    },
    /// The run already ended (completed or failed): it cannot be cancelled, and a payload for a
    /// hook it no longer waits at is not read.
    #[error("run `{run_id}` already ended ({}); only a run that has not ended can be cancelled", status.as_str())]
    Finished {
        /// The run.
        run_id: String,
        /// How it ended.
        status: crate::store::RunStatus,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EngineError {
    /// A store error, with a lost compare-and-swap reported as [`EngineError::Fenced`].
    pub(crate) fn from_save(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { run_id, .. } | StoreError::Leased { run_id, .. } => {
                Self::Fenced { run_id }
            }
            other => Self::Store(other),
        }
    }
}
