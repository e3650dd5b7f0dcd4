//! [`Worker`] (feature `worker`): a tokio task that resumes due runs on an interval.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::{Engine, EngineError};
use crate::store::{QueueLimit, RunOutcome};

/// What to call with each resumed run's result (for logs and metrics).
type Report = Arc<dyn Fn(&str, &Result<RunOutcome, EngineError>) + Send + Sync>;

/// Claims and runs the runs that need an executor — sleeps that are over, hooks and approvals
/// past their deadline, enqueued runs ([`Engine::enqueue`]), runs whose executor died (its lease
/// expired), payloads claimed but not applied — on a tokio task, up to
/// [`concurrency`](Self::concurrency) at once.
///
/// Any number of workers, in any number of processes, may share a store: each claim leases the
/// runs it takes in one store write, so workers split the work and never advance one run twice.
/// A worker wakes when a run it may claim falls due, when the store notifies it (PostgreSQL's
/// `LISTEN`/`NOTIFY`), and at the latest every [`interval`](Self::interval) (default 1 s).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use awaitly::durable::{Engine, Worker};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let engine = Arc::new(Engine::new(awaitly::store::MemoryStore::new()));
/// let worker = Worker::new(engine).interval(Duration::from_millis(10)).spawn();
/// tokio::time::sleep(Duration::from_millis(30)).await;
/// let stats = worker.stop().await;
/// assert!(stats.ticks >= 1);
/// # });
/// ```
pub struct Worker {
    engine: Arc<Engine>,
    interval: Duration,
    report: Option<Report>,
    queues: Vec<QueueLimit>,
    concurrency: usize,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Worker")
            .field("interval", &self.interval)
            .field("queues", &self.queues)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker for `engine`, every second.
    ///
    /// ```
    /// let engine = std::sync::Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
    /// let _worker = awaitly::durable::Worker::new(engine);
    /// ```
    #[must_use]
    pub fn new(engine: Arc<Engine>) -> Self {
        Self {
            engine,
            interval: Duration::from_secs(1),
            report: None,
            queues: Vec::new(),
            concurrency: 16,
        }
    }

    /// Serves `queue` (call again for more queues), with its store-wide concurrency limit. A
    /// worker given no queue serves every queue, unlimited.
    ///
    /// ```
    /// use awaitly::store::QueueLimit;
    /// # let engine = std::sync::Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
    /// let _worker = awaitly::durable::Worker::new(engine)
    ///     .queue(QueueLimit::new("emails").concurrency(4))
    ///     .queue(QueueLimit::new("default"));
    /// ```
    #[must_use]
    pub fn queue(mut self, queue: QueueLimit) -> Self {
        self.queues.push(queue);
        self
    }

    /// How many runs this worker advances at once (default 16; at least 1).
    ///
    /// ```
    /// # let engine = std::sync::Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
    /// let _worker = awaitly::durable::Worker::new(engine).concurrency(4);
    /// ```
    #[must_use]
    pub fn concurrency(mut self, runs: usize) -> Self {
        self.concurrency = runs.max(1);
        self
    }

    /// The longest a worker waits before looking for work again when nothing woke it (real
    /// time, whatever the engine's clock).
    ///
    /// ```
    /// # let engine = std::sync::Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
    /// let _worker = awaitly::durable::Worker::new(engine).interval(std::time::Duration::from_millis(250));
    /// ```
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Calls `report` with each resumed run and its result (a failed pass — the store could not
    /// list due runs — is reported with run id `""`).
    ///
    /// ```
    /// # let engine = std::sync::Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
    /// let _worker = awaitly::durable::Worker::new(engine)
    ///     .on_resumed(|run_id, result| println!("{run_id}: {result:?}"));
    /// ```
    #[must_use]
    pub fn on_resumed(
        mut self,
        report: impl Fn(&str, &Result<RunOutcome, EngineError>) + Send + Sync + 'static,
    ) -> Self {
        self.report = Some(Arc::new(report));
        self
    }

    /// Starts the loop on the current tokio runtime; stop it with [`WorkerHandle::stop`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (as `tokio::spawn` does).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let engine = std::sync::Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
    /// let handle = awaitly::durable::Worker::new(engine).spawn();
    /// handle.stop().await;
    /// # });
    /// ```
    #[must_use = "dropping the handle leaves the worker running until the runtime shuts down"]
    pub fn spawn(self) -> WorkerHandle {
        let (stop, mut stopped) = watch::channel(false);
        let stats = Arc::new(Counters::default());
        let counters = Arc::clone(&stats);
        let task = tokio::spawn(async move {
            let mut running: JoinSet<(String, Result<RunOutcome, EngineError>)> = JoinSet::new();
            loop {
                let mut wait = self.interval;
                let free = self.concurrency.saturating_sub(running.len());
                if free > 0 {
                    counters.ticks.fetch_add(1, Ordering::SeqCst);
                    match self.claim(free, &mut running).await {
                        Ok(next_due) => {
                            if let Some(next_due) = next_due {
                                wait = wait.min(next_due);
                            }
                        }
                        Err(error) => {
                            if let Some(report) = &self.report {
                                report("", &Err(error));
                            }
                        }
                    }
                }
                tokio::select! {
                    () = self.wait_for_work(wait) => {}
                    Some(finished) = running.join_next(), if !running.is_empty() => {
                        self.finished(finished, &counters);
                    }
                    _ = stopped.changed() => break,
                }
            }
            // Let the runs in flight reach their next checkpoint-and-stop point.
            while let Some(finished) = running.join_next().await {
                self.finished(finished, &counters);
            }
        });
        WorkerHandle { stop, task, stats }
    }
}

impl Worker {
    /// Claims up to `free` runs and starts advancing each; returns how long until the next run
    /// falls due, if the store knows.
    async fn claim(
        &self,
        free: usize,
        running: &mut JoinSet<(String, Result<RunOutcome, EngineError>)>,
    ) -> Result<Option<Duration>, EngineError> {
        let lease = self.engine.lease();
        let claimed = self
            .engine
            .store
            .claim_runs(self.engine.now_ms(), free, &lease, &self.queues)
            .await?;
        for record in claimed.runs {
            let engine = Arc::clone(&self.engine);
            let lease = lease.clone();
            running.spawn(async move {
                let result = engine.advance_claimed(&record.run_id, lease).await;
                (record.run_id, result)
            });
        }
        Ok(claimed
            .next_due_at_ms
            .map(|due| Duration::from_millis(due.saturating_sub(self.engine.now_ms()))))
    }

    async fn wait_for_work(&self, wait: Duration) {
        // A store failure here only means falling back to the plain wait.
        if self.engine.store.wait_for_work(wait).await.is_err() {
            tokio::time::sleep(wait).await;
        }
    }

    fn finished(
        &self,
        finished: Result<(String, Result<RunOutcome, EngineError>), tokio::task::JoinError>,
        counters: &Counters,
    ) {
        counters.resumed.fetch_add(1, Ordering::SeqCst);
        if let Ok((run_id, result)) = finished
            && let Some(report) = &self.report
        {
            report(&run_id, &result);
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    ticks: AtomicU64,
    resumed: AtomicU64,
}

/// A running [`Worker`]: [`stop`](Self::stop) ends it after the pass in progress.
#[derive(Debug)]
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    stats: Arc<Counters>,
}

/// What a worker did before it stopped.
///
/// ```
/// let stats = awaitly::durable::WorkerStats { ticks: 3, resumed: 1 };
/// assert_eq!(stats.resumed, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerStats {
    /// Claims made (each a pass looking for work).
    pub ticks: u64,
    /// Runs resumed (whatever their result).
    pub resumed: u64,
}

impl WorkerHandle {
    /// What the worker has done so far.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let engine = std::sync::Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
    /// let handle = awaitly::durable::Worker::new(engine).spawn();
    /// assert_eq!(handle.stats().resumed, 0);
    /// # handle.stop().await;
    /// # });
    /// ```
    #[must_use]
    pub fn stats(&self) -> WorkerStats {
        WorkerStats {
            ticks: self.stats.ticks.load(Ordering::SeqCst),
            resumed: self.stats.resumed.load(Ordering::SeqCst),
        }
    }

    /// Stops claiming, lets the runs in flight finish their drive, and waits for the loop to end.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let engine = std::sync::Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
    /// let stats = awaitly::durable::Worker::new(engine).spawn().stop().await;
    /// assert_eq!(stats.resumed, 0, "nothing was due");
    /// # });
    /// ```
    pub async fn stop(self) -> WorkerStats {
        let Self { stop, task, stats } = self;
        let _ = stop.send(true);
        // The task only ends by this signal; a panic in a report callback is the caller's.
        let _ = task.await;
        WorkerStats {
            ticks: stats.ticks.load(Ordering::SeqCst),
            resumed: stats.resumed.load(Ordering::SeqCst),
        }
    }
}
