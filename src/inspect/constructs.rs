//! What a run's constructs left in its state, read without the workflow's code: each fan-out's
//! progress, the child runs it started, the compensations it ran, and its cancellation.

use awaitly_runtime::{
    CANCEL_KEY, Cancellation, ChildRequest, FanOutProgress, HOOK_KEY_PREFIX, MaybePendingHook,
    RUN_KEY_PREFIX, ResumeState, recorded_fan_out_progress,
};
use serde_json::Value;

use crate::store::{RunOutcome, Store, StoreError};

/// Where a compensation is recorded, after [`RUN_KEY_PREFIX`]: `run:undo:<step key>`.
const UNDO: &str = "undo:";

/// A child run of a run: started by a `child!` site under `key`.
///
/// ```
/// let child = awaitly::inspect::ChildRun { key: "pay".into(), run_id: "o-1/pay".into(), workflow: None, waiting: true };
/// assert_eq!(child.run_id, "o-1/pay");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildRun {
    /// The parent's key for the child (the `child!` site's key, with its scope).
    pub key: String,
    /// The child's run id: `<parent run id>/<key>`.
    pub run_id: String,
    /// The child's workflow, known while the parent waits for it.
    pub workflow: Option<String>,
    /// Does the parent still wait for the child's outcome?
    pub waiting: bool,
}

/// A compensation a run recorded: the step it undid, and how the undo went.
///
/// ```
/// let undo = awaitly::inspect::Compensation { step_key: "reserve".into(), error: None };
/// assert!(undo.error.is_none());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Compensation {
    /// The key of the step undone.
    pub step_key: String,
    /// The undo's error, when it failed (it runs again on the run's next execution).
    pub error: Option<Value>,
}

/// What a run's constructs recorded: see [`constructs_of`].
///
/// ```
/// let constructs = awaitly::inspect::Constructs::default();
/// assert!(constructs.fan_outs.is_empty() && constructs.cancellation.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Constructs {
    /// Each fan-out's progress, in recording order.
    pub fan_outs: Vec<FanOutProgress>,
    /// The child runs.
    pub children: Vec<ChildRun>,
    /// The compensations recorded, in recording order.
    pub compensations: Vec<Compensation>,
    /// The run's cancellation: recorded in its state (a worker then finishes it) or its outcome.
    pub cancellation: Option<Cancellation>,
}

/// What the constructs of run `run_id` recorded in `state` (with its `outcome`), read without the
/// workflow's code: fan-out progress by [`recorded_fan_out_progress`]'s rule, children from
/// their hooks' metadata while the run waits for them, else from the store (a run
/// `<run id>/<key>` for a created hook's key).
///
/// ```
/// use awaitly::inspect::constructs_of;
/// use awaitly::store::{MemoryStore, RunOutcome};
/// use awaitly::{ResumeState, StepEntry};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut state = ResumeState::new();
/// state.insert("run:undo:reserve", StepEntry::ok(&()).unwrap());
/// state.cancel("customer left");
/// let constructs = constructs_of(&MemoryStore::new(), "o-1", &state, &RunOutcome::Running, 0).await.unwrap();
/// assert_eq!(constructs.compensations[0].step_key, "reserve");
/// assert_eq!(constructs.cancellation.unwrap().reason.as_deref(), Some("customer left"));
/// # });
/// ```
///
/// # Errors
///
/// [`StoreError`] when looking a child run up fails.
pub async fn constructs_of(
    store: &dyn Store,
    run_id: &str,
    state: &ResumeState,
    outcome: &RunOutcome,
    now_ms: u64,
) -> Result<Constructs, StoreError> {
    let mut constructs = Constructs {
        fan_outs: recorded_fan_out_progress(state, now_ms),
        ..Constructs::default()
    };
    for (key, entry) in state.iter() {
        if let Some(step_key) = key
            .strip_prefix(RUN_KEY_PREFIX)
            .and_then(|rest| rest.strip_prefix(UNDO))
        {
            constructs.compensations.push(Compensation {
                step_key: step_key.to_owned(),
                error: entry.error().cloned(),
            });
            continue;
        }
        if key.starts_with(HOOK_KEY_PREFIX) || key.starts_with(RUN_KEY_PREFIX) {
            continue;
        }
        let Some(hook_id) = entry.created_hook_id() else {
            continue;
        };
        let pending = state
            .get(&format!("{HOOK_KEY_PREFIX}{hook_id}"))
            .and_then(MaybePendingHook::pending_hook);
        let request = pending.as_ref().and_then(ChildRequest::of);
        let child_run_id = format!("{run_id}/{key}");
        // A delivered child's hook keeps no metadata: the store knows whether it was a child.
        if request.is_none() && store.load_run(&child_run_id).await?.is_none() {
            continue;
        }
        constructs.children.push(ChildRun {
            key: key.to_owned(),
            run_id: child_run_id,
            workflow: request.map(|request| request.workflow),
            waiting: pending.is_some(),
        });
    }
    constructs.cancellation = match outcome {
        RunOutcome::Cancelled { reason } => Some(Cancellation {
            reason: reason.clone(),
        }),
        _ => state
            .get(CANCEL_KEY)
            .and_then(|entry| entry.decode_value::<Cancellation>()?.ok()),
    };
    Ok(constructs)
}
