//! [`Engine`]: registered workflows over a [`Store`]: start, deliver, resume, recover.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use awaitly_runtime::{Clock, EventSink, HookId, SystemClock, Workflow};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::EngineError;
use super::drive::Plan;
use super::registry::Registry;
use super::results::{Delivery, Started};
use crate::store::{Cause, Created, NewRun, RunOutcome, Store, StoredRun};

/// Where a delivery's workflow runs on: see [`Engine::deliveries`].
///
/// ```
/// assert_ne!(awaitly::durable::Deliveries::InPlace, awaitly::durable::Deliveries::Queue);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deliveries {
    /// The delivering call runs the workflow on to its next outcome and reports it.
    InPlace,
    /// The delivering call stores the payload and marks the run due; a worker (in any process)
    /// runs it on. A payload that then turns out not to decode is dropped and the hook waits
    /// again, as for a payload delivered before the run reached its hook.
    Queue,
}

/// Runs registered workflows durably against a [`Store`]: every executed step is checkpointed
/// before the next starts, suspended runs are resumed by hook id, and crashed runs are picked up
/// again from their last checkpoint.
///
/// ```
/// use awaitly::durable::{Delivery, Engine};
/// use awaitly::store::{MemoryStore, RunOutcome};
/// use awaitly::{await_hook, step, workflow};
///
/// #[workflow]
/// async fn approval(amount: u32) -> Result<String, String> {
///     let approved: bool = await_hook!("manager");
///     step!("decide", Ok::<String, String>(if approved { format!("paid {amount}") } else { "refused".into() }))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let engine = Engine::new(MemoryStore::new()).register("approval", 1, approval);
/// let started = engine.start("refund-12", "approval", &30).await.unwrap();
/// let hook = started.outcome.pending_hook().unwrap().hook_id.clone();
/// let delivery = engine.resume_hook(&hook, serde_json::json!(true)).await.unwrap();
/// assert_eq!(
///     delivery,
///     Delivery::Applied {
///         run_id: "refund-12".into(),
///         outcome: RunOutcome::Completed { result: serde_json::json!("paid 30") },
///     }
/// );
/// # });
/// ```
pub struct Engine {
    pub(super) store: Arc<dyn Store>,
    pub(super) registry: Registry,
    pub(super) stale_after: Duration,
    /// This engine's id, the prefix of every lease it takes.
    pub(super) executor: String,
    /// Drives started so far: the suffix that makes each lease's owner unique.
    pub(super) drives: AtomicU64,
    /// How long a delivery or decision waits for another executor to let go of a run before
    /// answering [`EngineError::Busy`].
    pub(super) answer_within: Duration,
    /// Whether deliveries run the workflow on in place or leave it to the workers.
    pub(super) deliveries: Deliveries,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) events: Option<Arc<dyn EventSink>>,
    pub(super) max_state_bytes: Option<usize>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Engine")
            .field("workflows", &self.registry)
            .field("stale_after", &self.stale_after)
            .field("executor", &self.executor)
            .field("answer_within", &self.answer_within)
            .field("deliveries", &self.deliveries)
            .field("clock", &self.clock)
            .field("events", &self.events.is_some())
            .field("max_state_bytes", &self.max_state_bytes)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `store`, with no workflow registered yet.
    ///
    /// ```
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new());
    /// # drop(engine);
    /// ```
    pub fn new(store: impl Store) -> Self {
        Self::with_store(Arc::new(store))
    }

    /// An engine over a shared store (several engines may share one).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let store: Arc<dyn awaitly::store::Store> = Arc::new(awaitly::store::MemoryStore::new());
    /// let engine = awaitly::durable::Engine::with_store(Arc::clone(&store));
    /// # drop(engine);
    /// ```
    #[must_use]
    pub fn with_store(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            registry: Registry::default(),
            stale_after: Duration::from_secs(30),
            executor: uuid::Uuid::new_v4().simple().to_string(),
            drives: AtomicU64::new(0),
            answer_within: Duration::from_secs(10),
            deliveries: Deliveries::InPlace,
            clock: Arc::new(SystemClock),
            events: None,
            max_state_bytes: None,
        }
    }

    /// Where runs read the time (deadlines, wake-up times) and wait (retry delays), and what
    /// [`resume_due`](Self::resume_due) compares due times with: [`SystemClock`] by default, a
    /// [`ManualClock`](awaitly_runtime::ManualClock) in tests.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let clock = Arc::new(awaitly::ManualClock::new(0));
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()).clock(clock);
    /// # drop(engine);
    /// ```
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reports every run's [`Event`](awaitly_runtime::Event)s to `events` (with
    /// `awaitly::trace::TracingEvents`, as `tracing` spans): step started / completed / replayed,
    /// hook pending / delivered, approval requested / resolved, run suspended / completed / failed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sink = Arc::new(|event: &awaitly::Event| println!("{event:?}"));
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()).events(sink);
    /// # drop(engine);
    /// ```
    #[must_use]
    pub fn events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = Some(events);
        self
    }

    /// The largest a run's stored state may grow, in bytes (keys plus entries as stored). A run
    /// whose next write would pass it stops with [`EngineError::StateTooLarge`]: that write is not
    /// stored, the entries already stored stay as they were. No limit by default.
    ///
    /// ```
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new())
    ///     .max_state_bytes(1024 * 1024);
    /// # drop(engine);
    /// ```
    #[must_use]
    pub fn max_state_bytes(mut self, bytes: usize) -> Self {
        self.max_state_bytes = Some(bytes);
        self
    }

    /// Registers `factory` — typically the `#[workflow]` fn itself, or a closure calling it — as
    /// `name` at `version`. New runs start with the highest registered version; a run resumes only
    /// with the version it was started with.
    ///
    /// ```
    /// #[awaitly::workflow]
    /// async fn greet(name: String) -> Result<String, String> {
    ///     Ok(format!("hello {name}"))
    /// }
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new())
    ///     .register("greet", 1, |name: String| greet(name));
    /// # drop(engine);
    /// ```
    #[must_use]
    pub fn register<I, F, Fut, T, E>(mut self, name: &str, version: u32, factory: F) -> Self
    where
        I: DeserializeOwned,
        F: Fn(I) -> Workflow<Fut> + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize + Send,
        E: Serialize + Send,
    {
        self.registry.insert(name, version, factory);
        self
    }

    /// How long a run's lease lasts unless renewed: the executor advancing a run renews it with
    /// every checkpoint and, while a step runs, every third of this time. An executor that dies
    /// stops renewing; once its lease has expired, [`start`](Self::start), [`recover`](Self::recover),
    /// [`resume_due`](Self::resume_due) and workers take the run over from its last checkpoint.
    /// Default 30 s: shorter means faster take-over after a crash, and more renewals.
    ///
    /// ```
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new())
    ///     .stale_after(std::time::Duration::from_secs(120));
    /// # drop(engine);
    /// ```
    #[must_use]
    pub fn stale_after(mut self, stale_after: Duration) -> Self {
        self.stale_after = stale_after;
        self
    }

    /// How long a delivery or an approval decision waits for another executor that holds the run
    /// (it is applying a competing payload, or timing the hook out) before answering
    /// [`EngineError::Busy`] instead of an answer that might not hold. Default 10 s.
    ///
    /// ```
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new())
    ///     .answer_within(std::time::Duration::from_secs(2));
    /// # drop(engine);
    /// ```
    #[must_use]
    pub fn answer_within(mut self, wait: Duration) -> Self {
        self.answer_within = wait;
        self
    }

    /// Whether a delivery runs the workflow on in the caller's task ([`Deliveries::InPlace`], the
    /// default: the answer carries the run's next outcome) or only stores the payload and leaves
    /// the run to the workers ([`Deliveries::Queue`]: the answer is [`Delivery::Queued`] and the
    /// callback's request returns at once).
    ///
    /// ```
    /// use awaitly::durable::{Deliveries, Engine};
    /// let engine = Engine::new(awaitly::store::MemoryStore::new()).deliveries(Deliveries::Queue);
    /// # drop(engine);
    /// ```
    #[must_use]
    pub fn deliveries(mut self, deliveries: Deliveries) -> Self {
        self.deliveries = deliveries;
        self
    }

    /// The store.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new());
    /// assert!(engine.store().list_runs().await.unwrap().is_empty());
    /// # });
    /// ```
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Starts run `run_id` of workflow `workflow` with `input` and runs it until it completes,
    /// fails or suspends. Idempotent: if the run exists it is returned as it stands (`created:
    /// false`), except that a run left running by a crashed executor (its lease expired, see
    /// [`stale_after`](Self::stale_after)) is taken over and resumed from its last checkpoint.
    /// A run another executor is advancing is returned as it stands (running).
    ///
    /// ```
    /// #[awaitly::workflow]
    /// async fn one(x: u8) -> Result<u8, String> {
    ///     awaitly::step!("add", Ok::<u8, String>(x + 1))
    /// }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()).register("one", 1, one);
    /// let first = engine.start("r1", "one", &1).await.unwrap();
    /// let again = engine.start("r1", "one", &1).await.unwrap();
    /// assert!(first.created && !again.created);
    /// assert_eq!(again.outcome, first.outcome);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownWorkflow`], [`EngineError::InvalidInput`],
    /// [`EngineError::RunIdTaken`] (the id belongs to another workflow's run),
    /// [`EngineError::Store`].
    pub async fn start<I: Serialize + ?Sized>(
        &self,
        run_id: &str,
        workflow: &str,
        input: &I,
    ) -> Result<Started, EngineError> {
        self.start_with_hooks(run_id, workflow, input, &[]).await
    }

    /// [`start`](Self::start), registering hook ids made before the run (with `create_hook`)
    /// together with it, in the same write. A callback to such a hook that arrives before the
    /// run reaches it is stored and taken by the run when it gets there, instead of being
    /// refused as unknown — so the id may be handed out (to a payment provider, by a step) as
    /// soon as this returns or from inside the run.
    ///
    /// ```
    /// use awaitly::{HookId, await_hook, create_hook, workflow};
    /// use awaitly::durable::{Delivery, Engine};
    ///
    /// #[workflow]
    /// async fn pay(hook: HookId) -> Result<u32, String> {
    ///     let cents: u32 = await_hook!(hook);
    ///     Ok(cents)
    /// }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = Engine::new(awaitly::store::MemoryStore::new()).register("pay", 1, pay);
    /// let hook = create_hook().hook_id;
    /// engine.start_with_hooks("r1", "pay", &hook, &[hook.clone()]).await.unwrap();
    /// let delivery = engine.resume_hook(&hook, serde_json::json!(4200)).await.unwrap();
    /// assert!(matches!(delivery, Delivery::Applied { .. }));
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start), and [`EngineError::Store`] with
    /// [`StoreError::HookOwnedElsewhere`](crate::store::StoreError::HookOwnedElsewhere) if a hook
    /// id belongs to another run.
    pub async fn start_with_hooks<I: Serialize + ?Sized>(
        &self,
        run_id: &str,
        workflow: &str,
        input: &I,
        hooks: &[HookId],
    ) -> Result<Started, EngineError> {
        let lease = self.lease();
        let mut run = self.new_run(run_id, workflow, input)?;
        run.hooks = hooks.to_vec();
        run.lease = Some(lease.clone());
        match self.store.create_run(run).await? {
            Created::New(record) => {
                let stored = StoredRun {
                    record,
                    state: awaitly_runtime::ResumeState::new(),
                };
                let outcome = self.drive(stored, Plan::held(lease)).await?;
                Ok(Started {
                    run_id: run_id.to_owned(),
                    created: true,
                    outcome,
                })
            }
            Created::Existing(record) => {
                if record.workflow != workflow {
                    return Err(EngineError::RunIdTaken {
                        run_id: run_id.to_owned(),
                        workflow: record.workflow,
                    });
                }
                let outcome = if super::claim::is_orphaned(&record) {
                    self.resume_run(run_id).await?
                } else {
                    record.outcome
                };
                Ok(Started {
                    run_id: run_id.to_owned(),
                    created: false,
                    outcome,
                })
            }
        }
    }

    /// Delivers a callback's `payload` to hook `hook_id`: finds the run, claims the hook, injects
    /// the payload and runs the workflow on to its next outcome.
    ///
    /// Race-safe: of concurrent deliveries to one hook exactly one claims it (one write decides,
    /// in the store); a later delivery of the same payload is a [`Delivery::Duplicate`], of another
    /// payload [`EngineError::AlreadyResolved`]. A duplicate that finds the payload claimed but
    /// not applied (its first delivery died on the way) applies it: redelivering is how a
    /// provider's retry finishes the job. A delivery to a hook registered with
    /// [`start_with_hooks`](Self::start_with_hooks) that the run has not reached yet is stored
    /// ([`Delivery::Queued`]) and taken when the run gets there.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = awaitly::durable::Engine::new(awaitly::store::MemoryStore::new());
    /// let error = engine.resume_hook(&"nope".into(), serde_json::json!(1)).await.unwrap_err();
    /// assert!(matches!(error, awaitly::durable::EngineError::UnknownHook { .. }));
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownHook`], [`EngineError::AlreadyResolved`],
    /// [`EngineError::PayloadType`] (the payload does not decode as the awaited type: the hook
    /// waits again, the stored state is unchanged), [`EngineError::VersionMismatch`],
    /// [`EngineError::Store`].
    pub async fn resume_hook(
        &self,
        hook_id: &HookId,
        payload: Value,
    ) -> Result<Delivery, EngineError> {
        self.deliver(hook_id, payload, None).await
    }

    /// [`resume_hook`](Self::resume_hook) for a delivery whose provider event id was verified
    /// (its [`dedupe_key`](crate::signature::Verified::dedupe_key), or any id unique per event):
    /// the key is stored with the hook's claim, so a second delivery of the same event — to this
    /// hook or any other — runs nothing. To this hook it is a [`Delivery::Duplicate`]; to another
    /// hook it is refused ([`EngineError::EventReused`]).
    ///
    /// ```
    /// use awaitly::durable::{Delivery, Engine};
    /// #[awaitly::workflow]
    /// async fn pay() -> Result<u32, String> {
    ///     let cents: u32 = awaitly::await_hook!("paid");
    ///     Ok(cents)
    /// }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = Engine::new(awaitly::store::MemoryStore::new()).register("pay", 1, |(): ()| pay());
    /// let hook = engine.start("r1", "pay", &()).await.unwrap().outcome.pending_hook().unwrap().hook_id.clone();
    /// let first = engine.resume_hook_once(&hook, serde_json::json!(5), "Stripe:evt_1").await.unwrap();
    /// assert!(matches!(first, Delivery::Applied { .. }));
    /// let again = engine.resume_hook_once(&hook, serde_json::json!(5), "Stripe:evt_1").await.unwrap();
    /// assert!(matches!(again, Delivery::Duplicate { .. }));
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// As [`resume_hook`](Self::resume_hook), and [`EngineError::EventReused`].
    pub async fn resume_hook_once(
        &self,
        hook_id: &HookId,
        payload: Value,
        dedupe_key: &str,
    ) -> Result<Delivery, EngineError> {
        self.deliver(hook_id, payload, Some(dedupe_key)).await
    }

    /// A run of the latest registered version of `workflow`, its input checked.
    pub(super) fn new_run<I: Serialize + ?Sized>(
        &self,
        run_id: &str,
        workflow: &str,
        input: &I,
    ) -> Result<NewRun, EngineError> {
        let Some((version, _)) = self.registry.latest(workflow) else {
            return Err(EngineError::UnknownWorkflow {
                workflow: workflow.to_owned(),
            });
        };
        let invalid_input = |error: serde_json::Error| EngineError::InvalidInput {
            workflow: workflow.to_owned(),
            message: error.to_string(),
            source: Cause::new(error),
        };
        let input = serde_json::to_value(input).map_err(invalid_input)?;
        self.registry
            .check_input(workflow, version, &input)
            .map_err(invalid_input)?;
        Ok(NewRun::new(run_id, workflow, version, input))
    }

    pub(super) async fn load(&self, run_id: &str) -> Result<StoredRun, EngineError> {
        self.store
            .load_run(run_id)
            .await?
            .ok_or_else(|| EngineError::UnknownRun {
                run_id: run_id.to_owned(),
            })
    }

    /// Is a waiting run due by the engine's clock?
    pub(super) fn is_due(&self, outcome: &RunOutcome) -> bool {
        outcome
            .due_at_ms()
            .is_some_and(|due| due <= self.clock.now_ms())
    }
}
