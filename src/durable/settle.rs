//! Settling a drive: the outcome of one run of the workflow becomes the run's stored outcome — a
//! suspension (one wait, or several at once), a completion, a failure, a cancellation — and the
//! runtime's stops that the engine answers itself (an approval value or a payload of the wrong
//! type puts the wait back; a refused checkpoint stops this executor).

use awaitly_runtime::{
    HookId, MaybePendingHook, Outcome, ResumeState, RunError, StepEntry, Suspension,
};
use serde_json::Value;

use super::EngineError;
use super::drive::{Drive, PayloadSource};
use crate::store::RunOutcome;

impl Drive<'_> {
    /// The outcome to store for a finished run of the workflow, and the error to report when the
    /// caller's payload did not decode (its claim is released: the hook waits again).
    pub(super) async fn settle(
        &self,
        outcome: Outcome<Value, Value>,
        state: &mut ResumeState,
        (inject, original): (
            &mut Option<(HookId, Value, PayloadSource)>,
            Option<StepEntry>,
        ),
        journal_failure: Option<crate::store::StoreError>,
        run_id: &str,
    ) -> Result<(RunOutcome, Option<EngineError>), EngineError> {
        let settled = match outcome {
            Outcome::Completed(result) => RunOutcome::Completed { result },
            Outcome::Failed(error) => RunOutcome::Failed { error },
            Outcome::Suspended(Suspension::Hook(hook)) => RunOutcome::Suspended { hook },
            Outcome::Suspended(Suspension::Approval(approval)) => {
                RunOutcome::AwaitingApproval { approval }
            }
            Outcome::Suspended(Suspension::Sleep { key, wake_at_ms }) => {
                RunOutcome::Sleeping { key, wake_at_ms }
            }
            Outcome::Suspended(Suspension::Several(waits)) => waiting(waits),
            Outcome::Cancelled(cancellation) => RunOutcome::Cancelled {
                reason: cancellation.reason,
            },
            Outcome::Suspended(other) => RunOutcome::Stopped {
                message: format!("suspended for something this engine does not know: {other:?}"),
            },
            Outcome::Stopped(RunError::DecodeValue {
                key,
                expected,
                message,
                source,
            }) if self
                .decided
                .as_ref()
                .is_some_and(|(decided, _)| *decided == key) =>
            {
                // The decided value is not what the workflow awaits: the approval waits again.
                let Some((_, pending)) = self.decided.clone() else {
                    unreachable!("checked by the guard")
                };
                let approval = pending.error().and_then(|error| {
                    <awaitly_runtime::PendingApproval as serde::Deserialize>::deserialize(error)
                        .ok()
                });
                state.insert(key.clone(), pending);
                let error = EngineError::ApprovalValueType {
                    run_id: run_id.to_owned(),
                    key: key.clone(),
                    message: format!("expected `{expected}`: {message}"),
                    source: Some(source),
                };
                let settled = match approval {
                    Some(approval) => RunOutcome::AwaitingApproval { approval },
                    None => RunOutcome::Stopped { message },
                };
                return Ok((settled, Some(error)));
            }
            Outcome::Stopped(RunError::Journal { .. }) => {
                // A checkpoint was refused or failed: this executor stops writing altogether.
                return Err(journal_failure.map_or_else(
                    || EngineError::Fenced {
                        run_id: run_id.to_owned(),
                    },
                    EngineError::from_save,
                ));
            }
            Outcome::Stopped(RunError::DecodePayload {
                hook_id,
                expected,
                message,
                source: cause,
            }) if inject.as_ref().is_some_and(|(id, ..)| *id == hook_id) => {
                // Put back the pending entry as stored (the runtime's fresh one would differ in
                // its timestamps), so the stored state is unchanged; free the claim.
                let Some((_, payload, source)) = inject.take() else {
                    unreachable!("checked by the guard")
                };
                self.store.release_hook(&hook_id, &payload).await?;
                if let Some(original) = original {
                    state.insert(hook_id.step_key(), original);
                }
                let pending = state
                    .get(&hook_id.step_key())
                    .and_then(MaybePendingHook::pending_hook);
                let error = (source == PayloadSource::Caller).then(|| EngineError::PayloadType {
                    hook_id,
                    run_id: run_id.to_owned(),
                    message: format!("expected `{expected}`: {message}"),
                    source: cause,
                });
                let settled = match pending {
                    Some(hook) => RunOutcome::Suspended { hook },
                    None => RunOutcome::Stopped { message },
                };
                return Ok((settled, error));
            }
            Outcome::Stopped(error) => RunOutcome::Stopped {
                message: error.to_string(),
            },
        };
        Ok((settled, None))
    }
}

/// What a run waits for when several branches wait at once.
fn waiting(waits: Vec<Suspension>) -> RunOutcome {
    let (mut hooks, mut approvals, mut sleeps) = (Vec::new(), Vec::new(), Vec::new());
    for wait in waits {
        match wait {
            Suspension::Hook(hook) => hooks.push(hook),
            Suspension::Approval(approval) => approvals.push(approval),
            Suspension::Sleep { key, wake_at_ms } => {
                sleeps.push(crate::store::SleepUntil { key, wake_at_ms });
            }
            // The runtime flattens its suspensions: nothing else is nested.
            _ => {}
        }
    }
    RunOutcome::Waiting {
        hooks,
        approvals,
        sleeps,
    }
}
