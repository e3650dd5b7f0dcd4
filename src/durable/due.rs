//! Runs that are due without anyone delivering anything: sleeps whose wake-up time passed, and
//! hooks and approvals whose deadline passed.

use super::{Engine, EngineError};
use crate::store::RunOutcome;

/// How many due runs one [`Engine::resume_due`] call takes from the store.
pub const DUE_BATCH: usize = 256;

impl Engine {
    /// The time by the engine's [`clock`](Self::clock), in milliseconds since the Unix epoch:
    /// what deadlines and wake-up times are compared with.
    ///
    /// ```
    /// let clock = std::sync::Arc::new(awaitly::ManualClock::new(42));
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()).clock(clock);
    /// assert_eq!(engine.now_ms(), 42);
    /// ```
    #[must_use]
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Claims and resumes the runs that need an executor (at most [`DUE_BATCH`] per call,
    /// earliest first): due by the engine's [`clock`](Self::clock), left by a crashed executor,
    /// or holding an unapplied payload. The claim leases them to this engine in one store write,
    /// so engines sharing a store split the due runs and never advance one run twice. A sleep
    /// continues; a hook or approval past its
    /// deadline lets the workflow see its typed timeout ([`HookTimeout`](awaitly_runtime::HookTimeout),
    /// [`ApprovalError::Expired`](awaitly_runtime::ApprovalError::Expired)); a hook whose payload
    /// the store accepted before the deadline takes that payload. Returns each resumed run with
    /// its result.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use awaitly::durable::Engine;
    /// use awaitly::store::{MemoryStore, RunOutcome};
    /// use awaitly::{ManualClock, sleep, workflow};
    ///
    /// #[workflow]
    /// async fn reminder() -> Result<&'static str, String> {
    ///     sleep!("cool-off", Duration::from_secs(60));
    ///     Ok("sent")
    /// }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let clock = Arc::new(ManualClock::new(0));
    /// let engine = Engine::new(MemoryStore::new()).clock(clock.clone()).register("reminder", 1, |(): ()| reminder());
    /// let started = engine.start("r1", "reminder", &()).await.unwrap();
    /// assert_eq!(started.outcome, RunOutcome::Sleeping { key: "cool-off".into(), wake_at_ms: 60_000 });
    /// assert!(engine.resume_due().await.unwrap().is_empty(), "not due yet");
    /// clock.advance(Duration::from_secs(60));
    /// let resumed = engine.resume_due().await.unwrap();
    /// assert_eq!(resumed[0].1, Ok(RunOutcome::Completed { result: serde_json::json!("sent") }));
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] if the due runs cannot be claimed; failures of single runs are in
    /// the returned list.
    pub async fn resume_due(
        &self,
    ) -> Result<Vec<(String, Result<RunOutcome, EngineError>)>, EngineError> {
        self.claim_and_advance(DUE_BATCH, &[]).await
    }
}
