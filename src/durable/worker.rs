//! [`Worker`] (feature `worker`): a tokio task that resumes due runs on an interval.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Engine, EngineError};
use crate::store::RunOutcome;

/// What to call with each resumed run's result (for logs and metrics).
type Report = Arc<dyn Fn(&str, &Result<RunOutcome, EngineError>) + Send + Sync>;

/// Resumes due runs — sleeps that are over, hooks and approvals past their deadline — by calling
/// [`Engine::resume_due`] every [`interval`](Self::interval) (default 1 s) on a tokio task.
/// Several workers (one per instance) may share a store: the store's compare-and-swap lets one
/// executor advance each run.
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
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Worker")
            .field("interval", &self.interval)
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
        }
    }

    /// How long to wait between two passes (real time, whatever the engine's clock).
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
            loop {
                counters.ticks.fetch_add(1, Ordering::SeqCst);
                match self.engine.resume_due().await {
                    Ok(resumed) => {
                        for (run_id, result) in &resumed {
                            counters.resumed.fetch_add(1, Ordering::SeqCst);
                            if let Some(report) = &self.report {
                                report(run_id, result);
                            }
                        }
                    }
                    Err(error) => {
                        if let Some(report) = &self.report {
                            report("", &Err(error));
                        }
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(self.interval) => {}
                    _ = stopped.changed() => break,
                }
            }
        });
        WorkerHandle { stop, task, stats }
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
    /// Passes over the due runs.
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

    /// Stops the loop (after the pass in progress, if any) and waits for it to end.
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
