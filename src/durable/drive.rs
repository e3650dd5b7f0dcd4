//! Advancing one run: take it over (fencing every other executor), run the workflow with a
//! checkpointing journal, save what the run recorded without executing (created hooks, the
//! pending hook), and go on at once if a callback was delivered before the suspension.

use std::collections::HashMap;
use std::sync::Arc;

use awaitly_runtime::{
    Clock, HookId, InjectError, MaybePendingHook, PendingHook, ResumeState, StepEntry,
};
use serde_json::Value;

use super::EngineError;
use super::journal::{Budget, StoreJournal};
use super::lease::Heartbeat;
use super::registry::{Factory, Lookup, Registry};
use crate::store::{Cause, Changes, Lease, RunOutcome, Store, StoreError, StoredRun, entry_text};

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
    /// Where the run reads the time.
    pub(crate) clock: &'a Arc<dyn Clock>,
    /// Where the run reports its events, if anywhere.
    pub(crate) events: Option<&'a Arc<dyn awaitly_runtime::EventSink>>,
    /// The largest stored state allowed, in bytes.
    pub(crate) max_state_bytes: Option<usize>,
    /// An approval just decided by this executor, with its pending entry as stored: put back if
    /// the decided value does not decode as the type the workflow awaits.
    pub(crate) decided: Option<(String, StepEntry)>,
    /// The lease every write of this drive carries: taken (or already held), renewed by each
    /// checkpoint and a heartbeat, released by the save that suspends or finishes the run.
    pub(crate) lease: Lease,
    /// Entries to record with the take-over.
    pub(crate) record: Vec<(String, StepEntry)>,
}

/// What one drive of a run should do besides running the workflow on.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The lease the drive holds or takes.
    pub(crate) lease: Lease,
    /// A claimed payload to inject first.
    pub(crate) inject: Option<(HookId, Value, PayloadSource)>,
    /// Keys to clear before running (a retry of failed steps).
    pub(crate) removed: Vec<String>,
    /// Whether the drive must take the run (a write naming the loaded revision, with its lease)
    /// before executing anything; false when the caller's own write already did.
    pub(crate) take_over: bool,
    /// An approval this executor just decided, with its pending entry as stored.
    pub(crate) decided: Option<(String, StepEntry)>,
    /// Entries written with the take-over (unless the state holds their keys), before anything
    /// runs: a cancellation (so a crash during its compensations leaves the run cancelled), a
    /// child's link to its parent.
    pub(crate) record: Vec<(String, StepEntry)>,
}

impl Plan {
    /// Take the run with `lease` and run it on.
    pub(crate) fn take_over(lease: Lease) -> Self {
        Self {
            lease,
            inject: None,
            removed: Vec::new(),
            take_over: true,
            decided: None,
            record: Vec::new(),
        }
    }

    /// Run on a run whose lease this executor's own write already took.
    pub(crate) fn held(lease: Lease) -> Self {
        Self {
            take_over: false,
            ..Self::take_over(lease)
        }
    }

    /// Inject a claimed payload first.
    pub(crate) fn inject(mut self, hook_id: HookId, payload: Value, source: PayloadSource) -> Self {
        self.inject = Some((hook_id, payload, source));
        self
    }
}

impl Drive<'_> {
    pub(crate) async fn run(mut self, stored: StoredRun) -> Result<RunOutcome, EngineError> {
        let StoredRun { record, mut state } = stored;
        let run_id = record.run_id.clone();
        let factory = self.factory(&record)?;
        let mut revision = record.revision;
        let cancel = self.prepare(&mut state);
        let mut baseline = texts(&state);
        let mut inject = self.inject.take();
        // Inject before taking the run over: a payload the run cannot take changes nothing.
        let (mut carry, mut original) = inject_claimed(
            self.store,
            &mut state,
            inject.as_ref(),
            &run_id,
            self.clock.now_ms(),
        )
        .await?;
        let (taken, _heartbeat) = self.own(&run_id, revision, cancel).await?;
        revision = taken;
        loop {
            let journal = Arc::new(StoreJournal::new(
                Arc::clone(self.store),
                run_id.clone(),
                revision,
                std::mem::take(&mut carry),
                self.budget(&state),
                self.lease.clone(),
            ));
            let run = factory(
                record.input.clone(),
                state,
                journal.clone(),
                Arc::clone(self.clock),
                self.events.cloned(),
            )
            .map_err(|error| EngineError::InvalidInput {
                workflow: record.workflow.clone(),
                message: error.to_string(),
                source: Cause::new(error),
            })?;
            let mut run = run.await;
            let progress = journal.finish();
            revision = progress.revision;
            if let Some((bytes, limit)) = progress.too_large {
                return Err(self.refuse_too_large(&run_id, revision, bytes, limit).await);
            }
            let (outcome, payload_error) = self
                .settle(
                    run.outcome,
                    &mut run.state,
                    (&mut inject, original.take()),
                    progress.failure,
                    &run_id,
                )
                .await?;
            self.check_size(&run_id, revision, &run.state).await?;
            let entries = unsaved(&run.state, &baseline, &progress.saved);
            // A payload already delivered to the suspension hook goes back into the loop, but
            // not the one that just failed to decode.
            let waits: Vec<PendingHook> = match payload_error {
                None => outcome.pending_hooks().to_vec(),
                Some(_) => Vec::new(),
            };
            let changes = Changes {
                entries,
                outcome: Some(outcome.clone()),
                suspend_at: waits.first().cloned(),
                waiting_at: waits.iter().skip(1).cloned().collect(),
                lease: Some(self.lease.clone()),
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
            match self.early_payload(saved.delivered, &waits).await? {
                Some((hook_id, payload)) => {
                    // A callback arrived before the run reached its hook: take it now. The run
                    // is marked running again so listings do not show it as waiting.
                    state = run.state;
                    baseline = texts(&state);
                    let early = Some((hook_id, payload, PayloadSource::Early));
                    let now = self.clock.now_ms();
                    match inject_claimed(self.store, &mut state, early.as_ref(), &run_id, now).await
                    {
                        Ok(injected) => (carry, original) = injected,
                        // The early payload is refused and released: the hook waits again, as
                        // just saved; its sender was answered when it was stored.
                        Err(EngineError::HookExpired { .. } | EngineError::Inject { .. }) => {
                            return Ok(outcome);
                        }
                        Err(other) => return Err(other),
                    }
                    inject = early;
                    revision = self
                        .mark_running(&run_id, revision, Vec::new(), Vec::new())
                        .await?;
                }
                None => return Ok(outcome),
            }
        }
    }

    /// A payload delivered before the run got to the hooks it now waits at (`waits`): the one
    /// the save returned for the first, else one stored with any other.
    async fn early_payload(
        &self,
        delivered: Option<Value>,
        waits: &[PendingHook],
    ) -> Result<Option<(HookId, Value)>, EngineError> {
        if let (Some(payload), Some(first)) = (delivered, waits.first()) {
            return Ok(Some((first.hook_id.clone(), payload)));
        }
        for hook in waits.iter().skip(1) {
            if let Some(payload) = self
                .store
                .find_hook(&hook.hook_id)
                .await?
                .and_then(|record| record.payload)
            {
                return Ok(Some((hook.hook_id.clone(), payload)));
            }
        }
        Ok(None)
    }
}

impl Drive<'_> {
    /// Clears the plan's removed keys from the state and puts the entries to record in (those
    /// whose keys the state does not hold yet); returns those, which the take-over writes.
    fn prepare(&mut self, state: &mut ResumeState) -> Vec<(String, StepEntry)> {
        for key in &self.removed {
            state.remove(key);
        }
        let mut record = std::mem::take(&mut self.record);
        record.retain(|(key, _)| !state.contains_key(key));
        for (key, entry) in &record {
            state.insert(key.as_str(), entry.clone());
        }
        record
    }

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

    /// The journal's size budget for a run starting from `state`.
    fn budget(&self, state: &ResumeState) -> Option<Budget> {
        self.max_state_bytes.map(|limit| Budget {
            limit,
            sizes: sizes(state),
        })
    }

    /// Refuses to save `state` if it is over the limit.
    async fn check_size(
        &self,
        run_id: &str,
        revision: u64,
        state: &ResumeState,
    ) -> Result<(), EngineError> {
        if let Some(limit) = self.max_state_bytes {
            let bytes: usize = sizes(state).values().sum();
            if bytes > limit {
                return Err(self.refuse_too_large(run_id, revision, bytes, limit).await);
            }
        }
        Ok(())
    }

    /// Records that the run stopped because its state would outgrow the limit (its entries stay
    /// as stored) and returns the error to report.
    async fn refuse_too_large(
        &self,
        run_id: &str,
        revision: u64,
        bytes: usize,
        limit: usize,
    ) -> EngineError {
        let error = EngineError::StateTooLarge {
            run_id: run_id.to_owned(),
            bytes,
            limit,
        };
        let changes = Changes {
            outcome: Some(RunOutcome::Stopped {
                message: error.to_string(),
            }),
            lease: Some(self.lease.clone()),
            ..Changes::default()
        };
        match self.store.save(run_id, revision, changes).await {
            Ok(_) => error,
            Err(failure) => EngineError::from_save(failure),
        }
    }

    /// Makes the run this drive's: takes it over if the plan says so, and keeps the lease
    /// renewed until the returned heartbeat is dropped. Returns the revision to write at.
    async fn own(
        &mut self,
        run_id: &str,
        revision: u64,
        entries: Vec<(String, StepEntry)>,
    ) -> Result<(u64, Heartbeat), EngineError> {
        let revision = if self.take_over {
            let removed = std::mem::take(&mut self.removed);
            self.take(run_id, revision, removed, entries).await?
        } else {
            revision
        };
        let heartbeat = Heartbeat::start(Arc::clone(self.store), run_id, &self.lease);
        Ok((revision, heartbeat))
    }

    /// Takes the run over: saves it as running with this drive's lease (clearing `removed`);
    /// returns the new revision. Done before any step executes, so no other executor advances
    /// the run meanwhile: one whose lease is live refuses this write, and one that loaded the
    /// same revision is refused after it. [`EngineError::Busy`] if another executor's lease is live,
    /// [`EngineError::Fenced`] if the run moved on since it was loaded.
    async fn take(
        &self,
        run_id: &str,
        revision: u64,
        removed: Vec<String>,
        entries: Vec<(String, StepEntry)>,
    ) -> Result<u64, EngineError> {
        match self.mark_running(run_id, revision, removed, entries).await {
            Err(EngineError::Store(StoreError::Leased { run_id, .. })) => {
                Err(EngineError::Busy { run_id })
            }
            other => other,
        }
    }

    /// Saves the run as running (clearing `removed`); returns the new revision.
    async fn mark_running(
        &self,
        run_id: &str,
        revision: u64,
        removed: Vec<String>,
        entries: Vec<(String, StepEntry)>,
    ) -> Result<u64, EngineError> {
        let changes = Changes {
            removed,
            entries,
            outcome: Some(RunOutcome::Running),
            lease: Some(self.lease.clone()),
            ..Changes::default()
        };
        match self.store.save(run_id, revision, changes).await {
            Ok(saved) => Ok(saved.revision),
            Err(error @ StoreError::Leased { .. }) => Err(EngineError::Store(error)),
            Err(error) => Err(EngineError::from_save(error)),
        }
    }
}

/// Injects a claimed payload into `state`; returns the entry to save with the next checkpoint
/// and the pending entry it replaced. A payload the state refuses (the hook expired, …) has its
/// claim released.
///
/// The store accepted the claim before the hook's deadline (it refuses later ones), so the
/// payload is injected as of a moment before the deadline even when it is applied after it (its
/// first executor died, a sweeper applies it). A hook whose timeout is already recorded refuses it.
async fn inject_claimed(
    store: &Arc<dyn Store>,
    state: &mut ResumeState,
    inject: Option<&(HookId, Value, PayloadSource)>,
    run_id: &str,
    now: u64,
) -> Result<(Vec<(String, StepEntry)>, Option<StepEntry>), EngineError> {
    let Some((hook_id, payload, _)) = inject else {
        return Ok((Vec::new(), None));
    };
    let key = hook_id.step_key();
    let original = state.get(&key).cloned();
    let deadline = original
        .as_ref()
        .and_then(MaybePendingHook::pending_hook)
        .and_then(|hook| hook.deadline_ms);
    let at = deadline.map_or(now, |deadline| now.min(deadline.saturating_sub(1)));
    if let Err(error) = state.inject_hook_at(hook_id, payload, at) {
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
                source: Cause::new(other),
            },
        });
    }
    let carry = state
        .get(&key)
        .map(|entry| vec![(key, entry.clone())])
        .unwrap_or_default();
    Ok((carry, original))
}

/// Every entry's stored size (key and text), by key.
fn sizes(state: &ResumeState) -> HashMap<String, usize> {
    state
        .iter()
        .map(|(key, entry)| (key.to_owned(), key.len() + entry_text(entry).len()))
        .collect()
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

impl super::Engine {
    /// Runs `stored` on as `plan` says, holding `plan.lease` throughout.
    pub(super) async fn drive(
        &self,
        stored: StoredRun,
        plan: Plan,
    ) -> Result<RunOutcome, EngineError> {
        let Plan {
            lease,
            inject,
            removed,
            take_over,
            decided,
            record,
        } = plan;
        let run_id = stored.record.run_id.clone();
        let released = Lease {
            duration: std::time::Duration::ZERO,
            ..lease.clone()
        };
        let result = Drive {
            store: &self.store,
            registry: &self.registry,
            inject,
            removed,
            take_over,
            clock: &self.clock,
            events: self.events.as_ref(),
            max_state_bytes: self.max_state_bytes,
            decided,
            lease,
            record,
        }
        .run(stored)
        .await;
        if let Err(error) = &result
            && !matches!(error, EngineError::Busy { .. } | EngineError::Fenced { .. })
        {
            // The drive stopped early (a store failure, code that does not fit the run): let
            // go of the lease at once instead of making every other executor wait it out. A
            // lease already released, or taken over, is left alone.
            let _ = self.store.renew_lease(&run_id, &released).await;
        }
        // Children to start, a parent to tell: they may move this run on.
        self.follow_up(&run_id, result?).await
    }
}
