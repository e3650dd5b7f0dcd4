//! The durable queue: runs enqueued for whichever worker, in any process sharing the store,
//! claims them — with a store-wide concurrency limit per queue and a priority per run.

use serde::Serialize;

use super::results::Started;
use super::{Engine, EngineError};
use crate::store::{Created, DEFAULT_QUEUE};

/// Where and how urgently [`Engine::enqueue`] places a run.
///
/// ```
/// let placement = awaitly::durable::Enqueue::on("emails").priority(10);
/// assert_eq!(placement.queue(), "emails");
/// assert_eq!(awaitly::durable::Enqueue::default().queue(), "default");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enqueue {
    queue: String,
    priority: i32,
}

impl Default for Enqueue {
    fn default() -> Self {
        Self::on(DEFAULT_QUEUE)
    }
}

impl Enqueue {
    /// On queue `queue`, at priority 0.
    ///
    /// ```
    /// let placement = awaitly::durable::Enqueue::on("reports");
    /// # drop(placement);
    /// ```
    pub fn on(queue: impl Into<String>) -> Self {
        Self {
            queue: queue.into(),
            priority: 0,
        }
    }

    /// Higher runs are claimed first among runs of the queue due at once (default 0; negative
    /// is allowed).
    ///
    /// ```
    /// let urgent = awaitly::durable::Enqueue::on("emails").priority(5);
    /// # drop(urgent);
    /// ```
    #[must_use]
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// The queue's name.
    ///
    /// ```
    /// assert_eq!(awaitly::durable::Enqueue::on("q").queue(), "q");
    /// ```
    #[must_use]
    pub fn queue(&self) -> &str {
        &self.queue
    }
}

impl Engine {
    /// Stores run `run_id` of `workflow` with `input` on a queue without running it: a worker
    /// (`awaitly::durable::Worker`, in this process or any other sharing the store) claims it
    /// and runs it, within the queue's concurrency limit. Idempotent like
    /// [`start`](Self::start): an existing run is returned as it stands (`created: false`).
    ///
    /// ```
    /// use awaitly::durable::{Engine, Enqueue};
    /// use awaitly::store::RunOutcome;
    ///
    /// #[awaitly::workflow]
    /// async fn report(month: u8) -> Result<String, String> {
    ///     awaitly::step!("render", Ok::<String, String>(format!("report {month}")))
    /// }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = Engine::new(awaitly::store::MemoryStore::new()).register("report", 1, report);
    /// let queued = engine.enqueue("r-11", "report", &11, &Enqueue::on("reports")).await.unwrap();
    /// assert_eq!(queued.outcome, RunOutcome::Running);
    /// let done = engine.resume_due().await.unwrap();
    /// assert_eq!(done[0].1, Ok(RunOutcome::Completed { result: serde_json::json!("report 11") }));
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownWorkflow`], [`EngineError::InvalidInput`],
    /// [`EngineError::RunIdTaken`], [`EngineError::Store`].
    pub async fn enqueue<I: Serialize + ?Sized>(
        &self,
        run_id: &str,
        workflow: &str,
        input: &I,
        placement: &Enqueue,
    ) -> Result<Started, EngineError> {
        let mut run = self.new_run(run_id, workflow, input)?;
        run.queue.clone_from(&placement.queue);
        run.priority = placement.priority;
        // Due now, not at the epoch: workers take it after runs that fell due before it.
        run.ready_at_ms = self.clock.now_ms();
        let created = self.store.create_run(run).await?;
        let record = created.record();
        if record.workflow != workflow {
            return Err(EngineError::RunIdTaken {
                run_id: run_id.to_owned(),
                workflow: record.workflow.clone(),
            });
        }
        Ok(Started {
            run_id: run_id.to_owned(),
            created: matches!(created, Created::New(_)),
            outcome: record.outcome.clone(),
        })
    }
}
