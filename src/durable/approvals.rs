//! Durable approvals: deciding one (race-safe, in the store) and listing what waits for whom.

use awaitly_runtime::{ApprovalError, InjectError, PendingApproval};
use serde::Deserialize;

use super::claim::is_contention;
use super::drive::Plan;
use super::{Engine, EngineError};
use crate::store::{Cause, Changes, RunOutcome, StoredRun, entry_text};

/// A decision on an approval, with its value as JSON: grant, grant an edited value, or reject.
///
/// ```
/// let decision = awaitly::durable::Decision::Reject("over budget".into());
/// assert_eq!(decision.status(), "rejected");
/// ```
pub use awaitly_runtime::ApprovalDecision as Decision;

/// An approval a run waits for: what [`Engine::pending_approvals`] lists.
///
/// ```
/// let pending = awaitly::durable::PendingApprovalRecord {
///     run_id: "refund-7".into(),
///     workflow: "refund".into(),
///     approval: awaitly::PendingApproval {
///         requested_at_ms: Some(1_000),
///         ..awaitly::pending_approval("approve:refund:7", Default::default())
///     },
/// };
/// assert_eq!(pending.age(4_000), std::time::Duration::from_millis(3_000));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PendingApprovalRecord {
    /// The run that waits.
    pub run_id: String,
    /// Its workflow.
    pub workflow: String,
    /// The approval: key, reason, metadata, when it was requested, its deadline.
    pub approval: PendingApproval,
}

impl PendingApprovalRecord {
    /// How long the approval has waited at `now_ms` (zero if its request time is unknown).
    ///
    /// ```
    /// # let pending = awaitly::durable::PendingApprovalRecord { run_id: "r".into(), workflow: "w".into(),
    /// #     approval: awaitly::pending_approval("k", Default::default()) };
    /// assert_eq!(pending.age(10), std::time::Duration::ZERO);
    /// ```
    #[must_use]
    pub fn age(&self, now_ms: u64) -> std::time::Duration {
        let since = self.approval.requested_at_ms.unwrap_or(now_ms);
        std::time::Duration::from_millis(now_ms.saturating_sub(since))
    }
}

impl Engine {
    /// Records `decision` on approval `key` of run `run_id`, made by `actor`, and runs the
    /// workflow on to its next outcome.
    ///
    /// Race-safe: the decision is written with the run's compare-and-swap, so of concurrent
    /// decisions exactly one wins; the same decision again is idempotent (the run's current
    /// outcome is returned), a different one is [`EngineError::ApprovalAlreadyDecided`]. At or
    /// after the deadline (by the engine's [`clock`](Self::clock)) the approval takes no decision:
    /// [`EngineError::ApprovalExpired`].
    ///
    /// ```
    /// use awaitly::durable::{Decision, Engine};
    /// use awaitly::store::{MemoryStore, RunOutcome};
    /// use awaitly::{ApprovalError, await_approval, workflow};
    ///
    /// #[workflow]
    /// async fn refund(amount: u32) -> Result<u32, String> {
    ///     let approved: Result<u32, ApprovalError> =
    ///         await_approval!("approve:refund", reason = "large refund", metadata = amount);
    ///     approved.map_err(|error| error.to_string())
    /// }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = Engine::new(MemoryStore::new()).register("refund", 1, refund);
    /// engine.start("r1", "refund", &150).await.unwrap();
    /// let waiting = engine.pending_approvals().await.unwrap();
    /// assert_eq!(waiting[0].approval.reason.as_deref(), Some("large refund"));
    /// let outcome = engine
    ///     .decide_approval("r1", "approve:refund", Decision::Edit(serde_json::json!(100)), "grace")
    ///     .await
    ///     .unwrap();
    /// assert_eq!(outcome, RunOutcome::Completed { result: serde_json::json!(100) });
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownRun`], [`EngineError::UnknownApproval`],
    /// [`EngineError::ApprovalAlreadyDecided`], [`EngineError::ApprovalExpired`],
    /// [`EngineError::ApprovalValueType`] (the approval waits again), [`EngineError::Busy`]
    /// (another executor held the run for longer than [`Engine::answer_within`]: nothing was
    /// decided, retry), and what running the workflow can fail with
    /// ([`EngineError::VersionMismatch`], [`EngineError::Store`], …).
    pub async fn decide_approval(
        &self,
        run_id: &str,
        key: &str,
        decision: Decision,
        actor: &str,
    ) -> Result<RunOutcome, EngineError> {
        let since = std::time::Instant::now();
        loop {
            // Decided from a run nobody else holds, so the answer cannot be overtaken: a worker
            // timing the approval out, or another decision, finishes first.
            let stored = self.load_settled(run_id, since).await?;
            let Some(original) = stored.state.get(key).cloned() else {
                return Err(unknown(run_id, key));
            };
            let expired = original
                .error()
                .and_then(|error| ApprovalError::deserialize(error).ok())
                .is_some_and(|error| matches!(error, ApprovalError::Expired { .. }));
            if expired {
                return Err(EngineError::ApprovalExpired {
                    run_id: run_id.to_owned(),
                    key: key.to_owned(),
                });
            }
            let mut state = stored.state.clone();
            let now = self.clock.now_ms();
            state
                .decide_approval(key, &decision, Some(actor), now)
                .map_err(|error| refused(error, run_id, key))?;
            let Some(decided) = state.get(key).cloned() else {
                return Err(unknown(run_id, key));
            };
            if entry_text(&decided) == entry_text(&original) {
                // The same decision again: it is recorded, and the run stands where it is.
                return Ok(stored.record.outcome);
            }
            let lease = self.lease();
            let changes = Changes {
                entries: vec![(key.to_owned(), decided)],
                outcome: Some(RunOutcome::Running),
                lease: Some(lease.clone()),
                ..Changes::default()
            };
            match self
                .store
                .save(run_id, stored.record.revision, changes)
                .await
            {
                Ok(saved) => {
                    let mut record = stored.record;
                    record.revision = saved.revision;
                    record.outcome = RunOutcome::Running;
                    let decided_run = StoredRun { record, state };
                    let mut plan = Plan::held(lease);
                    plan.decided = Some((key.to_owned(), original));
                    return self.drive(decided_run, plan).await;
                }
                // Another decision (or executor) moved the run: look again.
                Err(error) if is_contention(&error) => {}
                Err(error) => return Err(EngineError::Store(error)),
            }
            if since.elapsed() >= self.answer_within {
                return Err(EngineError::Busy {
                    run_id: run_id.to_owned(),
                });
            }
        }
    }

    /// Every approval a run waits for — what is waiting for whom — oldest request first, with
    /// reason, metadata, request time and deadline.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new());
    /// assert!(engine.pending_approvals().await.unwrap().is_empty());
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn pending_approvals(&self) -> Result<Vec<PendingApprovalRecord>, EngineError> {
        let mut pending: Vec<PendingApprovalRecord> = self
            .store
            .list_runs()
            .await?
            .into_iter()
            .flat_map(|record| {
                record
                    .outcome
                    .pending_approvals()
                    .iter()
                    .map(|approval| PendingApprovalRecord {
                        run_id: record.run_id.clone(),
                        workflow: record.workflow.clone(),
                        approval: approval.clone(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        pending.sort_by_key(|record| record.approval.requested_at_ms);
        Ok(pending)
    }
}

fn unknown(run_id: &str, key: &str) -> EngineError {
    EngineError::UnknownApproval {
        run_id: run_id.to_owned(),
        key: key.to_owned(),
    }
}

fn refused(error: InjectError, run_id: &str, key: &str) -> EngineError {
    let (run_id, key) = (run_id.to_owned(), key.to_owned());
    match error {
        InjectError::ApprovalAlreadyDecided { .. } => {
            EngineError::ApprovalAlreadyDecided { run_id, key }
        }
        InjectError::ApprovalExpired { .. } => EngineError::ApprovalExpired { run_id, key },
        InjectError::EncodeApproval { source, .. } => EngineError::ApprovalValueType {
            run_id,
            key,
            message: source.to_string(),
            source: Some(Cause::new(source)),
        },
        _ => EngineError::UnknownApproval { run_id, key },
    }
}
