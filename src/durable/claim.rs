//! The one claim path: every way a run gets advanced — a start, a resume, a due run, a crashed
//! run, a delivered payload, a decision — takes the run's lease first and works under it.

use std::time::{Duration, Instant};

use awaitly_runtime::{HookId, MaybePendingHook, StepEntry};
use serde_json::Value;

use super::drive::{PayloadSource, Plan};
use super::{Engine, EngineError};
use crate::store::{Changes, Lease, QueueLimit, RunOutcome, StoreError, StoredRun};

/// How long to wait before looking again at a run another executor holds: short at first (most
/// holders finish in milliseconds), then backing off.
pub(super) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((5u64 << attempt.min(5)).min(100))
}

/// Was `entry` recorded by a hook that timed out? (A pending hook with a deadline carries the
/// same fields, so only its `type` tells them apart.)
pub(super) fn is_hook_timeout(entry: &StepEntry) -> bool {
    entry.error_type() == Some("HOOK_TIMEOUT")
}

/// Is `entry` the record of a hook whose branch was let go (`HOOK_ABANDONED`)?
pub(super) fn is_hook_abandoned(entry: &StepEntry) -> bool {
    entry.error_type() == Some(awaitly_runtime::HOOK_ABANDONED)
}

impl Engine {
    /// Runs `run_id` on from its last checkpoint: a run left running by a crashed executor (its
    /// lease expired), a stopped run (after the code was fixed), a suspended run whose hook holds
    /// a delivered payload, and a run that is due (a sleep whose wake-up time passed, a hook or
    /// approval whose deadline passed: the workflow then sees its typed timeout). Completed,
    /// failed and plainly waiting runs are returned as they stand, and so is a run another
    /// executor is advancing right now (it holds the run's lease): two executors never advance
    /// one run at once.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new());
    /// assert!(engine.resume_run("nope").await.is_err());
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownRun`], [`EngineError::VersionMismatch`], [`EngineError::Store`].
    pub async fn resume_run(&self, run_id: &str) -> Result<RunOutcome, EngineError> {
        let stored = self.load(run_id).await?;
        let lease = self.lease();
        match self.advance(stored, lease, false).await {
            // Another executor holds the run, or moved it on since it was loaded: it stands
            // where that executor leaves it.
            Err(EngineError::Busy { .. } | EngineError::Fenced { .. }) => {
                Ok(self.record(run_id).await?.outcome)
            }
            other => other,
        }
    }

    /// Claims up to `limit` runs that need an executor (of `queues`, or any) and advances each
    /// in turn under the claim's lease.
    pub(super) async fn claim_and_advance(
        &self,
        limit: usize,
        queues: &[QueueLimit],
    ) -> Result<Vec<(String, Result<RunOutcome, EngineError>)>, EngineError> {
        let lease = self.lease();
        let claimed = self
            .store
            .claim_runs(self.clock.now_ms(), limit, &lease, queues)
            .await?;
        let mut advanced = Vec::with_capacity(claimed.runs.len());
        for record in claimed.runs {
            let result = self.advance_claimed(&record.run_id, lease.clone()).await;
            advanced.push((record.run_id, result));
        }
        Ok(advanced)
    }

    /// Advances a run this executor claimed (it holds `lease` on it).
    pub(super) async fn advance_claimed(
        &self,
        run_id: &str,
        lease: Lease,
    ) -> Result<RunOutcome, EngineError> {
        let stored = self.load(run_id).await?;
        self.advance(stored, lease, true).await
    }

    /// Decides what `stored` needs and does it under `lease` (`held`: the lease is already this
    /// executor's, from a claim). A run that needs nothing has a held lease released.
    pub(super) async fn advance(
        &self,
        stored: StoredRun,
        lease: Lease,
        held: bool,
    ) -> Result<RunOutcome, EngineError> {
        let record = &stored.record;
        if !held && is_held(record) {
            return Err(EngineError::Busy {
                run_id: record.run_id.clone(),
            });
        }
        let plan = Plan::take_over(lease.clone());
        match &record.outcome {
            RunOutcome::Completed { .. }
            | RunOutcome::Failed { .. }
            | RunOutcome::Cancelled { .. } => {}
            RunOutcome::Suspended { .. } | RunOutcome::Waiting { .. } => {
                // Read under the lease: a payload claimed before now is applied, not timed out.
                match self.delivered_to(record.outcome.pending_hooks()).await? {
                    Some((hook_id, payload)) => {
                        let plan = plan.inject(hook_id, payload, PayloadSource::Early);
                        return self.drive(stored, plan).await;
                    }
                    None if self.is_due(&record.outcome) => return self.drive(stored, plan).await,
                    None => {}
                }
            }
            RunOutcome::AwaitingApproval { .. } | RunOutcome::Sleeping { .. } => {
                if self.is_due(&record.outcome) {
                    return self.drive(stored, plan).await;
                }
            }
            RunOutcome::Running | RunOutcome::Stopped { .. } => {
                // An executor that died between claiming a payload and checkpointing it left the
                // hook pending with the payload claimed: apply it, or the replay would see the
                // hook's deadline pass and time it out under a sender told it was accepted.
                let plan = match self.claimed_payload(&stored).await? {
                    Some((hook_id, payload)) => plan.inject(hook_id, payload, PayloadSource::Early),
                    None => plan,
                };
                return self.drive(stored, plan).await;
            }
        }
        if held {
            self.release(&stored, &lease).await;
        }
        Ok(stored.record.outcome)
    }

    /// The first of `hooks` that holds a delivered payload, with it.
    pub(super) async fn delivered_to(
        &self,
        hooks: &[awaitly_runtime::PendingHook],
    ) -> Result<Option<(HookId, Value)>, EngineError> {
        for hook in hooks {
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

    /// A payload claimed for a hook the run's state still has pending, if any.
    async fn claimed_payload(
        &self,
        stored: &StoredRun,
    ) -> Result<Option<(awaitly_runtime::HookId, serde_json::Value)>, EngineError> {
        let pending = stored
            .state
            .iter()
            .filter_map(|(_, entry)| MaybePendingHook::pending_hook(entry));
        for hook in pending {
            if let Some(payload) = self
                .store
                .find_hook(&hook.hook_id)
                .await?
                .and_then(|record| record.payload)
            {
                return Ok(Some((hook.hook_id, payload)));
            }
        }
        Ok(None)
    }

    /// Lets go of a claimed run that needed nothing after all: saving its outcome again releases
    /// the lease and sets its due time from the outcome. A refused save means someone else moved
    /// the run on, which is as good.
    pub(super) async fn release(&self, stored: &StoredRun, lease: &Lease) {
        let changes = Changes {
            outcome: Some(stored.record.outcome.clone()),
            lease: Some(lease.clone()),
            ..Changes::default()
        };
        let _ = self
            .store
            .save(&stored.record.run_id, stored.record.revision, changes)
            .await;
    }

    /// Loads `run_id`, waiting (up to [`answer_within`](Self::answer_within) from `since`) while
    /// another executor holds a live lease on it, so what the caller decides from the run holds.
    pub(super) async fn load_settled(
        &self,
        run_id: &str,
        since: Instant,
    ) -> Result<StoredRun, EngineError> {
        let mut attempt = 0;
        loop {
            let stored = self.load(run_id).await?;
            if !is_held(&stored.record) {
                return Ok(stored);
            }
            if since.elapsed() >= self.answer_within {
                return Err(EngineError::Busy {
                    run_id: run_id.to_owned(),
                });
            }
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }
}

/// Does an executor hold a live lease on the run, so it may still move (a finished run never
/// does, whatever lease it kept)?
pub(super) fn is_held(record: &crate::store::RunRecord) -> bool {
    !record.status().is_terminal()
        && record
            .lease
            .as_ref()
            .is_some_and(|lease| lease.is_live(crate::store::now_ms()))
}

/// Is the run left running with nobody holding a live lease on it (its executor crashed, or it
/// was enqueued and no worker took it yet)?
pub(super) fn is_orphaned(record: &crate::store::RunRecord) -> bool {
    record.status() == crate::store::RunStatus::Running && !is_held(record)
}

/// A store refusal that means "another executor has the run" rather than a failure.
pub(super) fn is_contention(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Conflict { .. } | StoreError::Leased { .. }
    )
}
