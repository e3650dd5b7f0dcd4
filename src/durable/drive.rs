//! Advancing one run: take it over (fencing every other executor), run the workflow with a
//! checkpointing journal, save what the run recorded without executing (created hooks, the
//! pending hook), and go on at once if a callback was delivered before the suspension.

use std::collections::HashMap;
use std::sync::Arc;

use awaitly_runtime::{
    HookId, InjectError, MaybePendingHook, Outcome, ResumeState, RunError, StepEntry,
};
use serde_json::Value;

use super::EngineError;
use super::journal::StoreJournal;
use super::registry::{Factory, Lookup, Registry};
use crate::store::{Changes, RunOutcome, Store, StoredRun, entry_text};

/// Where a payload to inject came from: the caller gets decode errors; an early delivery that
/// does not decode is dropped (the hook waits again) since its sender was already answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PayloadSource {
    Caller,
    Early,
}

/// One drive of a run.
pub(crate) struct Drive<'a> {
    pub(crate) store: &'a Arc<dyn Store>,
    pub(crate) registry: &'a Registry,
    /// A claimed payload to inject first.
    pub(crate) inject: Option<(HookId, Value, PayloadSource)>,
    /// Keys to clear before running (a retry of failed steps).
    pub(crate) removed: Vec<String>,
    /// False for a run just created by this executor: revision 0 is already its own.
    pub(crate) take_over: bool,
}

impl Drive<'_> {
    pub(crate) async fn run(mut self, stored: StoredRun) -> Result<RunOutcome, EngineError> {
        let StoredRun { record, mut state } = stored;
        let run_id = record.run_id.clone();
        let factory = self.factory(&record)?;
        let mut revision = record.revision;
        for key in &self.removed {
            state.remove(key);
        }
        let mut baseline = texts(&state);
        let mut inject = self.inject.take();
        // Inject before taking the run over: a payload the run cannot take changes nothing.
        let (mut carry, mut original) =
            inject_claimed(self.store, &mut state, inject.as_ref(), &run_id).await?;
        if self.take_over {
            // Bumping the revision before any step executes means two executors that loaded the
            // same revision never both execute the next step: the second one is refused here.
            let removed = std::mem::take(&mut self.removed);
            revision = self.mark_running(&run_id, revision, removed).await?;
        }
        loop {
            let journal = Arc::new(StoreJournal::new(
                Arc::clone(self.store),
                run_id.clone(),
                revision,
                std::mem::take(&mut carry),
            ));
            let run = factory(record.input.clone(), state, journal.clone()).map_err(|error| {
                EngineError::InvalidInput {
                    workflow: record.workflow.clone(),
                    message: error.to_string(),
                }
            })?;
            let mut run = run.await;
            let progress = journal.finish();
            revision = progress.revision;
            let (outcome, payload_error) = self
                .settle(
                    run.outcome,
                    &mut run.state,
                    (&mut inject, original.take()),
                    progress.failure,
                    &run_id,
                )
                .await?;
            let entries = unsaved(&run.state, &baseline, &progress.saved);
            // A payload already delivered to the suspension hook goes back into the loop, but
            // not the one that just failed to decode.
            let suspend_at = if payload_error.is_none() {
                outcome.pending_hook().cloned()
            } else {
                None
            };
            let changes = Changes {
                entries,
                outcome: Some(outcome.clone()),
                suspend_at: suspend_at.clone(),
                ..Changes::default()
            };
            let saved = self
                .store
                .save(&run_id, revision, changes)
                .await
                .map_err(EngineError::from_save)?;
            revision = saved.revision;
            if let Some(error) = payload_error {
                return Err(error);
            }
            match (saved.delivered, suspend_at) {
                (Some(payload), Some(hook)) => {
                    // A callback arrived before the run reached its hook: take it now. The run
                    // is marked running again so listings do not show it as waiting.
                    state = run.state;
                    baseline = texts(&state);
                    let early = Some((hook.hook_id, payload, PayloadSource::Early));
                    match inject_claimed(self.store, &mut state, early.as_ref(), &run_id).await {
                        Ok(injected) => (carry, original) = injected,
                        // The early payload is refused and released: the hook waits again, as
                        // just saved; its sender was answered when it was stored.
                        Err(EngineError::HookExpired { .. } | EngineError::Inject { .. }) => {
                            return Ok(outcome);
                        }
                        Err(other) => return Err(other),
                    }
                    inject = early;
                    revision = self.mark_running(&run_id, revision, Vec::new()).await?;
                }
                _ => return Ok(outcome),
            }
        }
    }
}

impl Drive<'_> {
    /// The registered factory for the run's workflow at the run's version.
    fn factory(&self, record: &crate::store::RunRecord) -> Result<Arc<Factory>, EngineError> {
        match self.registry.lookup(&record.workflow, record.version) {
            Lookup::Found(factory) => Ok(factory),
            Lookup::UnknownWorkflow => Err(EngineError::UnknownWorkflow {
                workflow: record.workflow.clone(),
            }),
            Lookup::OtherVersions(registered) => Err(EngineError::VersionMismatch {
                run_id: record.run_id.clone(),
                workflow: record.workflow.clone(),
                run_version: record.version,
                registered,
            }),
        }
    }

    /// Saves the run as running (clearing `removed`); returns the new revision.
    async fn mark_running(
        &self,
        run_id: &str,
        revision: u64,
        removed: Vec<String>,
    ) -> Result<u64, EngineError> {
        let changes = Changes {
            removed,
            outcome: Some(RunOutcome::Running),
            ..Changes::default()
        };
        Ok(self
            .store
            .save(run_id, revision, changes)
            .await
            .map_err(EngineError::from_save)?
            .revision)
    }

    /// The outcome to store for a finished run of the workflow, and the error to report when the
    /// caller's payload did not decode (its claim is released: the hook waits again).
    async fn settle(
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
            Outcome::Suspended(suspension) => match suspension.pending_hook() {
                Some(hook) => RunOutcome::Suspended { hook },
                None => RunOutcome::Stopped {
                    message: format!("suspended for something other than a hook: {suspension:?}"),
                },
            },
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

/// Injects a claimed payload into `state`; returns the entry to save with the next checkpoint
/// and the pending entry it replaced. A payload the state refuses (the hook expired, …) has its
/// claim released.
async fn inject_claimed(
    store: &Arc<dyn Store>,
    state: &mut ResumeState,
    inject: Option<&(HookId, Value, PayloadSource)>,
    run_id: &str,
) -> Result<(Vec<(String, StepEntry)>, Option<StepEntry>), EngineError> {
    let Some((hook_id, payload, _)) = inject else {
        return Ok((Vec::new(), None));
    };
    let key = hook_id.step_key();
    let original = state.get(&key).cloned();
    if let Err(error) = state.inject_hook(hook_id, payload) {
        store.release_hook(hook_id, payload).await?;
        return Err(match error {
            InjectError::Expired { hook_id } => EngineError::HookExpired {
                hook_id,
                run_id: run_id.to_owned(),
            },
            other => EngineError::Inject {
                run_id: run_id.to_owned(),
                hook_id: hook_id.clone(),
                message: other.to_string(),
            },
        });
    }
    let carry = state
        .get(&key)
        .map(|entry| vec![(key, entry.clone())])
        .unwrap_or_default();
    Ok((carry, original))
}

/// Every entry's stored text, by key.
fn texts(state: &ResumeState) -> HashMap<String, String> {
    state
        .iter()
        .map(|(key, entry)| (key.to_owned(), entry_text(entry)))
        .collect()
}

/// The entries of `state` the store does not hold yet: recorded without executing (a created
/// hook, a pending hook), or changed back (a payload that did not decode).
fn unsaved(
    state: &ResumeState,
    baseline: &HashMap<String, String>,
    journaled: &HashMap<String, String>,
) -> Vec<(String, StepEntry)> {
    state
        .iter()
        .filter(|(key, entry)| {
            let stored = journaled.get(*key).or_else(|| baseline.get(*key));
            stored.is_none_or(|text| *text != entry_text(entry))
        })
        .map(|(key, entry)| (key.to_owned(), entry.clone()))
        .collect()
}
