//! Running a workflow: the handle `#[workflow]` returns, which drives the body and its
//! [`glue`](crate::glue) context, and turns a halt into the run's [`Outcome`](crate::Outcome).

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use crate::cancel::{CancelHandle, Cancellation};
use crate::clock::Clock;
use crate::compat::check;
use crate::error::RunError;
use crate::event::{Event, EventSink};
use crate::glue::{Context, Halt, RunOptions};
use crate::journal::Journal;
use crate::outcome::{Outcome, Run};
use crate::site::{WorkflowDescription, WorkflowStamp};
use crate::state::ResumeState;

/// A workflow call ready to run: what calling a `#[workflow]` fn returns.
///
/// Nothing runs until [`run`](Self::run) (or [`start`](Self::start)) is awaited, on any executor.
///
/// ```
/// use awaitly::{Outcome, step, workflow};
///
/// #[workflow]
/// async fn double(x: u32) -> Result<u32, String> {
///     step!("double", Ok::<u32, String>(x * 2))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = double(21).start().await;
/// assert!(matches!(run.outcome, Outcome::Completed(42)));
/// assert_eq!(run.state.keys().collect::<Vec<_>>(), ["double"]);
/// # });
/// ```
pub struct Workflow<F> {
    context: Context,
    body: F,
    options: RunOptions,
    cancel: Option<CancelHandle>,
}

impl<F> Workflow<F> {
    #[doc(hidden)]
    pub fn new(context: Context, body: F) -> Self {
        Self {
            context,
            body,
            options: RunOptions::default(),
            cancel: None,
        }
    }

    /// Checkpoints through `journal`: every executed step's entry is handed to it before the next
    /// step starts (how a durable run writes incrementally).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// #[awaitly::workflow]
    /// async fn one() -> Result<u8, String> {
    ///     awaitly::step!("one", Ok::<u8, String>(1))
    /// }
    /// struct Ignore;
    /// impl awaitly::Journal for Ignore {
    ///     fn record<'a>(&'a self, _: &'a str, _: &'a awaitly::StepEntry) -> awaitly::JournalFuture<'a> {
    ///         Box::pin(async { Ok(()) })
    ///     }
    /// }
    /// let run = one().journal(std::sync::Arc::new(Ignore)).start().await;
    /// assert!(run.outcome.is_completed());
    /// # });
    /// ```
    #[must_use]
    pub fn journal(mut self, journal: Arc<dyn Journal>) -> Self {
        self.options.journal = Some(journal);
        self
    }

    /// Reports the run's [`Event`](crate::Event)s to `events`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// #[awaitly::workflow]
    /// async fn one() -> Result<u8, String> {
    ///     Ok(1)
    /// }
    /// let count = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    /// let counter = count.clone();
    /// let sink = move |_: &awaitly::Event| {
    ///     counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    /// };
    /// let _ = one().events(std::sync::Arc::new(sink)).start().await;
    /// assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2); // started, completed
    /// # });
    /// ```
    #[must_use]
    pub fn events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.options.events = Some(events);
        self
    }

    /// Reads the time from `clock` (deadlines, wake-up times) and waits on it (retry delays);
    /// [`SystemClock`](crate::SystemClock) by default. The state the run returns keeps the clock:
    /// deliveries and decisions on it ([`ResumeState::inject_hook`],
    /// [`ResumeState::grant_approval`], …) check deadlines against the same time (see
    /// [Time](ResumeState#time)).
    ///
    /// ```
    /// #[awaitly::workflow]
    /// async fn one() -> Result<u8, String> {
    ///     Ok(1)
    /// }
    /// let _ = one().clock(std::sync::Arc::new(awaitly::ManualClock::new(0)));
    /// ```
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.options.clock = Some(clock);
        self
    }

    /// Lets `handle` cancel this run while it runs: what is in flight is dropped, the cancellation
    /// is recorded in the state, compensations run, and the run ends
    /// [`Outcome::Cancelled`](crate::Outcome::Cancelled) (see [`CancelHandle`]).
    ///
    /// ```
    /// #[awaitly::workflow]
    /// async fn one() -> Result<u8, String> {
    ///     Ok(1)
    /// }
    /// let handle = awaitly::CancelHandle::new();
    /// let _ = one().cancel_with(handle.clone());
    /// ```
    #[must_use]
    pub fn cancel_with(mut self, handle: CancelHandle) -> Self {
        self.cancel = Some(handle);
        self
    }

    /// The workflow's static description: name and sites.
    ///
    /// ```
    /// #[awaitly::workflow]
    /// async fn greet() -> Result<(), String> {
    ///     Ok(())
    /// }
    /// assert_eq!(greet().description().name, "greet");
    /// ```
    #[must_use]
    pub fn description(&self) -> &'static WorkflowDescription {
        self.context.description()
    }
}

impl<F, T, E> Workflow<F>
where
    F: Future<Output = Result<T, E>>,
{
    /// Runs the workflow from `state`: recorded steps replay without executing, the rest execute and
    /// are recorded, and the run ends completed, failed, suspended at a hook, or stopped.
    ///
    /// The returned state is complete: every entry of `state` plus those recorded by this run.
    ///
    /// ```
    /// use awaitly::{Outcome, ResumeState, StepEntry, step, workflow};
    ///
    /// #[workflow]
    /// async fn load() -> Result<u32, String> {
    ///     step!("load", Err::<u32, String>("not replayed".into()))
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut state = ResumeState::new();
    /// state.insert("load", StepEntry::ok(&7).unwrap());
    /// let run = load().run(state).await;
    /// assert!(matches!(run.outcome, Outcome::Completed(7)));
    /// # });
    /// ```
    pub async fn run(self, state: ResumeState) -> Run<T, E> {
        let Self {
            context,
            body,
            options,
            cancel,
        } = self;
        let events = options.events.clone();
        let emit = |event: Event| {
            if let Some(events) = &events {
                events.emit(&event);
            }
        };
        emit(Event::RunStarted {
            workflow: context.description().name,
        });
        let clock = options.clock.clone();
        let mut state = state;
        // The returned state decides and delivers on the run's clock (see `ResumeState#time`).
        state.set_clock(clock.clone());
        match check(context.description(), &state) {
            // Entries whose markers awaitly's serialiser dropped get them back, so every site
            // reads them as it recorded them.
            Ok(restored) => {
                for (key, entry) in restored {
                    state.insert(key, entry);
                }
            }
            Err(incompatibility) => {
                let error = RunError::Incompatible(incompatibility);
                emit(Event::RunStopped {
                    error: error.clone(),
                });
                return Run {
                    outcome: Outcome::Stopped(error),
                    state,
                };
            }
        }
        if !state
            .workflow()
            .is_some_and(|stamp| stamp.is_of(context.description()))
        {
            state.set_workflow(WorkflowStamp::of(context.description()));
        }
        context.install(state, options);
        let outcome = {
            let mut body = pin!(body);
            let outcome = poll_fn(|task| {
                // A cancellation from outside drops whatever is in flight.
                if let Some(cancellation) = cancel
                    .as_ref()
                    .and_then(|handle| handle.check(task.waker()))
                {
                    let mut run = context.lock();
                    run.cancelled.get_or_insert(cancellation);
                    return Poll::Ready(Outcome::Cancelled(Cancellation::default()));
                }
                let polled = body.as_mut().poll(task);
                // A stop wins over anything the body did afterwards: the state says where it
                // stopped. A suspension waits until no lane of the body can go on.
                let blocked = if polled.is_pending() {
                    context.lock().blocked()
                } else {
                    context.take_stop()
                };
                if let Some(halt) = blocked {
                    return Poll::Ready(match halt {
                        Halt::Suspended(suspension) => Outcome::Suspended(suspension),
                        Halt::Stopped(error) => Outcome::Stopped(error),
                        Halt::Cancelled => Outcome::Cancelled(Cancellation::default()),
                    });
                }
                polled.map(|result| match result {
                    Ok(value) => Outcome::Completed(value),
                    Err(error) => Outcome::Failed(error),
                })
            })
            .await;
            // The body is dropped now: its parked sites keep their waits.
            context.lock().ending = true;
            outcome
        };
        let outcome = context.conclude(outcome).await;
        emit(match &outcome {
            Outcome::Completed(_) => Event::RunCompleted,
            Outcome::Failed(_) => Event::RunFailed,
            Outcome::Suspended(_) => Event::RunSuspended,
            Outcome::Stopped(error) => Event::RunStopped {
                error: error.clone(),
            },
            Outcome::Cancelled(cancellation) => Event::RunCancelled {
                reason: cancellation.reason.clone(),
            },
        });
        let mut state = context.take_state();
        state.set_clock(clock);
        Run { outcome, state }
    }

    /// Runs the workflow from an empty state: [`run`](Self::run) with [`ResumeState::new`].
    ///
    /// ```
    /// #[awaitly::workflow]
    /// async fn one() -> Result<u8, String> {
    ///     Ok(1)
    /// }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// assert!(matches!(one().start().await.outcome, awaitly::Outcome::Completed(1)));
    /// # });
    /// ```
    pub async fn start(self) -> Run<T, E> {
        self.run(ResumeState::new()).await
    }
}

impl<F> fmt::Debug for Workflow<F> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Workflow")
            .field("name", &self.description().name)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// What ends a run after its body: a cancelled run ends cancelled (even when every site
    /// left replayed to the end) with its cancellation recorded, and a failed or cancelled run
    /// runs its compensations.
    async fn conclude<T, E>(&self, outcome: Outcome<T, E>) -> Outcome<T, E> {
        let cancelled = self.lock().cancelled.is_some();
        let outcome = match outcome {
            Outcome::Cancelled(_) => Outcome::Cancelled(self.record_cancellation().await),
            Outcome::Completed(_) | Outcome::Failed(_) if cancelled => {
                Outcome::Cancelled(self.record_cancellation().await)
            }
            other => other,
        };
        if matches!(outcome, Outcome::Failed(_) | Outcome::Cancelled(_)) {
            self.compensate().await;
        }
        outcome
    }
}
