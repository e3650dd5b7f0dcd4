//! `tracing` integration (cargo feature `tracing`): a span per run and per executed step, and events
//! for replays, retries, hooks and approvals — so workflows show up in the logs and traces a team
//! already collects.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use awaitly_runtime::{Event, EventSink, ResumeState, Run, Workflow};
use tracing::field::Empty;
use tracing::{Instrument, Span};

/// An [`EventSink`] that turns a run's events into `tracing` spans and events under `run`:
/// an `awaitly.step` span per executed step (fields `key`, `ok`, `attempts`), events for replays,
/// retries, hooks, approvals and the run's end.
///
/// ```
/// use std::sync::Arc;
/// use awaitly::trace::TracingEvents;
///
/// #[awaitly::workflow]
/// async fn one() -> Result<u8, String> {
///     awaitly::step!("one", Ok::<u8, String>(1))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let span = tracing::info_span!("checkout");
/// let run = one().events(Arc::new(TracingEvents::new(span))).start().await;
/// assert!(run.outcome.is_completed());
/// # });
/// ```
#[derive(Debug)]
pub struct TracingEvents {
    run: Span,
    steps: Mutex<HashMap<String, Span>>,
}

impl TracingEvents {
    /// Reports under `run` (usually the span the run is instrumented with).
    ///
    /// ```
    /// let _ = awaitly::trace::TracingEvents::new(tracing::Span::none());
    /// ```
    #[must_use]
    pub fn new(run: Span) -> Self {
        Self {
            run,
            steps: Mutex::new(HashMap::new()),
        }
    }
}

impl EventSink for TracingEvents {
    fn emit(&self, event: &Event) {
        let run = &self.run;
        let mut steps = self.steps.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            Event::RunStarted { workflow } => tracing::info!(parent: run, workflow, "run started"),
            Event::StepStarted { key } => {
                let span = tracing::info_span!(parent: run, "awaitly.step", key = %key, ok = Empty, attempts = Empty);
                steps.insert(key.clone(), span);
            }
            Event::StepCompleted { key, ok, attempts } => {
                // Dropping the span closes it: its duration is the step's.
                if let Some(span) = steps.remove(key) {
                    span.record("ok", ok).record("attempts", attempts);
                }
            }
            Event::StepReplayed { key, ok } => {
                tracing::debug!(parent: run, key = %key, ok, "step replayed");
            }
            Event::StepRetrying {
                key,
                attempt,
                delay,
            } => {
                let parent = steps.get(key).unwrap_or(run);
                tracing::warn!(parent: parent, key = %key, attempt, delay_ms = delay.as_millis(), "step retrying");
            }
            Event::HookPending { hook } => {
                tracing::info!(parent: run, hook_id = %hook.hook_id, "hook pending");
            }
            Event::HookDelivered { hook_id } => {
                tracing::info!(parent: run, hook_id = %hook_id, "hook delivered");
            }
            Event::ApprovalRequested { approval } => {
                tracing::info!(parent: run, key = %approval.step_key, reason = approval.reason.as_deref(), "approval requested");
            }
            Event::ApprovalResolved { key, approved } => {
                tracing::info!(parent: run, key = %key, approved, "approval resolved");
            }
            Event::RunSuspended => tracing::info!(parent: run, "run suspended"),
            Event::RunCompleted => tracing::info!(parent: run, "run completed"),
            Event::RunFailed => tracing::warn!(parent: run, "run failed"),
            Event::RunStopped { error } => {
                tracing::error!(parent: run, error = %error, "run stopped");
            }
            _ => tracing::debug!(parent: run, event = ?event, "run event"),
        }
    }
}

/// Runs `workflow` from `state` inside an `awaitly.run` span (field `workflow`), with a step span
/// per executed step: one call to trace a run.
///
/// ```
/// #[awaitly::workflow]
/// async fn one() -> Result<u8, String> {
///     awaitly::step!("one", Ok::<u8, String>(1))
/// }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = awaitly::trace::run_traced(one(), awaitly::ResumeState::new()).await;
/// assert!(run.outcome.is_completed());
/// # });
/// ```
pub async fn run_traced<F, T, E>(workflow: Workflow<F>, state: ResumeState) -> Run<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let span = tracing::info_span!("awaitly.run", workflow = workflow.description().name);
    let events = Arc::new(TracingEvents::new(span.clone()));
    workflow.events(events).run(state).instrument(span).await
}
