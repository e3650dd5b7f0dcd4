//! Operating on stored runs: retrying failed ones, recovering crashed ones, migrating versions,
//! and reading what the store holds.

use awaitly_runtime::MaybePendingHook;

use super::{Engine, EngineError};
use crate::store::{HookRecord, RunOutcome, RunRecord, RunStatus};

impl Engine {
    /// Runs a failed run again: its recorded failures are cleared (successful steps and hook
    /// payloads stay) and the workflow runs on from there. Decisions of the world outside are
    /// not failures and stay too: an approval's rejection or expiry, a hook's recorded timeout —
    /// a retry never asks a person again. Other runs: as [`resume_run`](Self::resume_run).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new());
    /// assert!(engine.retry_run("nope").await.is_err());
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// As [`resume_run`](Self::resume_run).
    pub async fn retry_run(&self, run_id: &str) -> Result<RunOutcome, EngineError> {
        let stored = self.load(run_id).await?;
        if stored.record.status() != RunStatus::Failed {
            return self.resume_run(run_id).await;
        }
        let failed: Vec<String> = stored
            .state
            .iter()
            .filter(|(_, entry)| {
                !entry.is_ok() && entry.pending_hook().is_none() && !is_decision(entry)
            })
            .map(|(key, _)| key.to_owned())
            .collect();
        let mut plan = super::drive::Plan::take_over(self.lease());
        plan.removed = failed;
        self.drive(stored, plan).await
    }

    /// Takes over and resumes every run that needs an executor and that nobody holds: runs left
    /// running by a crashed executor (its lease expired, see [`stale_after`](Self::stale_after)),
    /// suspended runs whose hook holds a delivered payload not applied yet, and runs that are due
    /// (as [`resume_due`](Self::resume_due)). Runs are claimed in batches, each in one store
    /// write, so instances recovering at once split the runs instead of racing on them. Call it
    /// when an instance starts; a `Worker` does it continuously. Returns each resumed run with
    /// its result.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new());
    /// assert!(engine.recover().await.unwrap().is_empty());
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] if runs cannot be claimed; failures of single runs are in the
    /// returned list.
    pub async fn recover(
        &self,
    ) -> Result<Vec<(String, Result<RunOutcome, EngineError>)>, EngineError> {
        let mut resumed = Vec::new();
        loop {
            let batch = self.claim_and_advance(super::DUE_BATCH, &[]).await?;
            let full = batch.len() == super::DUE_BATCH;
            resumed.extend(batch);
            if !full {
                return Ok(resumed);
            }
        }
    }

    /// Records `version` as the run's workflow version, after the caller has made sure its
    /// state fits that version (the migration itself is the caller's).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new());
    /// assert!(engine.set_version("nope", 2).await.is_err());
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownRun`], [`EngineError::Fenced`] if the run moved meanwhile,
    /// [`EngineError::Store`].
    pub async fn set_version(&self, run_id: &str, version: u32) -> Result<(), EngineError> {
        let record = self.record(run_id).await?;
        let changes = crate::store::Changes {
            version: Some(version),
            ..crate::store::Changes::default()
        };
        self.store
            .save(run_id, record.revision, changes)
            .await
            .map_err(EngineError::from_save)?;
        Ok(())
    }

    /// The hooks runs wait at with no payload yet, oldest first (with metadata and time).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new());
    /// assert!(engine.pending_hooks().await.unwrap().is_empty());
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub async fn pending_hooks(&self) -> Result<Vec<HookRecord>, EngineError> {
        Ok(self.store.pending_hooks().await?)
    }

    /// The run's record (status, outcome, revision), without its steps.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new());
    /// assert!(matches!(
    ///     engine.record("nope").await,
    ///     Err(awaitly::durable::EngineError::UnknownRun { .. })
    /// ));
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownRun`], [`EngineError::Store`].
    pub async fn record(&self, run_id: &str) -> Result<RunRecord, EngineError> {
        Ok(self.load(run_id).await?.record)
    }
}

/// Is `entry` a recorded decision of the outside world (a waiting or decided approval, a hook's
/// timeout) rather than a step's failure?
fn is_decision(entry: &awaitly_runtime::StepEntry) -> bool {
    let kind = entry.error_type();
    matches!(
        kind,
        Some("PENDING_APPROVAL" | "APPROVAL_REJECTED" | "APPROVAL_EXPIRED" | "HOOK_TIMEOUT")
    )
}
