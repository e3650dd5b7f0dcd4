//! Cancelling a stored run: the cancellation is recorded with the executor's take-over, the run
//! replays to where it stood, stops there, runs its compensations (each a checkpointed step) and
//! is stored as cancelled. A callback that arrives afterwards is answered `410 Gone`.

use awaitly_runtime::{CANCEL_KEY, Cancellation, StepEntry};

use super::drive::Plan;
use super::{Engine, EngineError};
use crate::store::{RunOutcome, RunStatus};

impl Engine {
    /// Cancels the run `run_id`: it stops at the next site that would execute or wait (a
    /// suspended run where it waits), its compensations run in reverse order, it is stored as
    /// [`RunOutcome::Cancelled`], and the child runs it waits for are cancelled too. Cancelling a
    /// cancelled run again changes nothing.
    ///
    /// ```
    /// use awaitly::{await_hook, step, workflow};
    /// use awaitly::store::RunOutcome;
    ///
    /// #[workflow]
    /// async fn order() -> Result<String, String> {
    ///     step!("reserve", Ok::<u8, String>(1))?;
    ///     let paid: String = await_hook!("payment");
    ///     Ok(paid)
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new())
    ///     .register("order", 1, |(): ()| order());
    /// engine.start("o-1", "order", &()).await.unwrap();
    /// let outcome = engine.cancel("o-1", "customer left").await.unwrap();
    /// assert_eq!(outcome, RunOutcome::Cancelled { reason: Some("customer left".into()) });
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownRun`]; [`EngineError::Finished`] for a run that completed or failed;
    /// [`EngineError::Busy`] when another executor still advances the run after
    /// [`answer_within`](Self::answer_within) (retry shortly);
    /// [`EngineError::Store`].
    pub async fn cancel(&self, run_id: &str, reason: &str) -> Result<RunOutcome, EngineError> {
        // A run another executor is advancing right now is waited for (up to `answer_within`):
        // it stops holding the run at its next suspension or checkpointed end.
        let stored = self.load_settled(run_id, std::time::Instant::now()).await?;
        let record = &stored.record;
        match record.status() {
            RunStatus::Cancelled => return Ok(record.outcome.clone()),
            RunStatus::Completed | RunStatus::Failed => {
                return Err(EngineError::Finished {
                    run_id: run_id.to_owned(),
                    status: record.status(),
                });
            }
            RunStatus::Running | RunStatus::Suspended | RunStatus::Stopped => {}
        }
        let mut plan = Plan::take_over(self.lease());
        let entry = StepEntry::ok(&Cancellation::new(reason)).map_err(|error| {
            EngineError::Store(crate::store::StoreError::backend(format!(
                "the cancellation cannot be written as JSON: {error}"
            )))
        })?;
        plan.record.push((CANCEL_KEY.to_owned(), entry));
        let children = Self::waited_children(run_id, &stored.state);
        let outcome = match self.drive(stored, plan).await {
            // Taken by another executor between the load and the take-over.
            Err(EngineError::Fenced { .. }) => {
                return Err(EngineError::Busy {
                    run_id: run_id.to_owned(),
                });
            }
            other => other?,
        };
        // Its children are cancelled too (their own compensations run); what they report back
        // finds the parent cancelled and changes nothing.
        for child in children {
            let _ = Box::pin(self.cancel(&child, reason)).await;
        }
        Ok(outcome)
    }
}
