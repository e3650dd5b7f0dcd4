//! A typed stream of what happens in a run, for logs, metrics and traces.

use std::time::Duration;

use crate::error::RunError;
use crate::hook::{HookId, PendingHook};

/// One thing that happened in a run. Emitted in order, as it happens.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use awaitly::{Event, step, workflow};
///
/// #[workflow]
/// async fn one() -> Result<u8, String> {
///     step!("load", Ok::<u8, String>(1))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// let run = one()
///     .events(Arc::new(move |event: &Event| sink.lock().unwrap().push(event.clone())))
///     .start()
///     .await;
/// let events = seen.lock().unwrap();
/// assert!(matches!(events[0], Event::RunStarted { workflow: "one" }));
/// assert!(matches!(&events[1], Event::StepStarted { key } if key == "load"));
/// assert!(matches!(events.last(), Some(Event::RunCompleted)));
/// # let _ = run;
/// # });
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A run of the named workflow began.
    RunStarted {
        /// The workflow's name.
        workflow: &'static str,
    },
    /// A step is about to execute (nothing was recorded for it).
    StepStarted {
        /// The step's key.
        key: String,
    },
    /// An executed step's outcome was recorded.
    StepCompleted {
        /// The step's key.
        key: String,
        /// Did it succeed?
        ok: bool,
        /// How many attempts it took (1 without retries).
        attempts: u32,
    },
    /// A step's recorded outcome was replayed; it did not execute.
    StepReplayed {
        /// The step's key.
        key: String,
        /// Was the recorded outcome a success?
        ok: bool,
    },
    /// An attempt failed and the step's retry policy will try again after `delay`.
    StepRetrying {
        /// The step's key.
        key: String,
        /// The attempt that failed (1 for the first).
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
    },
    /// A hook began waiting for its payload.
    HookPending {
        /// The hook, with its metadata.
        hook: PendingHook,
    },
    /// A hook's injected payload was handed to the workflow.
    HookDelivered {
        /// The hook.
        hook_id: HookId,
    },
    /// An approval was requested.
    ApprovalRequested {
        /// The request, with its reason, metadata and deadline.
        approval: crate::approval::PendingApproval,
    },
    /// An approval's decision was handed to the workflow.
    ApprovalResolved {
        /// The approval's key.
        key: String,
        /// Approved (with a value) or not (rejected or expired).
        approved: bool,
    },
    /// The run suspended (waiting for a hook, an approval or a wake-up time).
    RunSuspended,
    /// The workflow returned `Ok`.
    RunCompleted,
    /// The workflow returned `Err`.
    RunFailed,
    /// The run was cancelled (after its compensations ran).
    RunCancelled {
        /// What the canceller said.
        reason: Option<String>,
    },
    /// The run stopped because the state does not fit the code.
    RunStopped {
        /// Why.
        error: RunError,
    },
}

/// Receives a run's [`Event`]s. Any `Fn(&Event) + Send + Sync` closure is one.
///
/// ```
/// let sink: std::sync::Arc<dyn awaitly::EventSink> = std::sync::Arc::new(|event: &awaitly::Event| {
///     println!("{event:?}");
/// });
/// sink.emit(&awaitly::Event::RunCompleted);
/// ```
pub trait EventSink: Send + Sync {
    /// Handles one event. Called synchronously, in order; keep it quick.
    fn emit(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> EventSink for F {
    fn emit(&self, event: &Event) {
        self(event);
    }
}
