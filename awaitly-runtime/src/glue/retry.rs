//! What a `step!` with `retry = …` or `timeout = …` does between attempts: wait the policy's
//! delay, or race an attempt against the run's clock.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use super::context::{Context, StepTicket};
use crate::clock::{SleepFuture, millis};
use crate::event::Event;
use crate::policy::{RetryPolicy, StepTimeout};

/// Races one attempt against the clock: `Err(())` when the clock wins.
struct Deadline<F> {
    attempt: Pin<Box<F>>,
    sleep: SleepFuture,
}

impl<F: Future> Future for Deadline<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(output) = self.attempt.as_mut().poll(task) {
            return Poll::Ready(Ok(output));
        }
        self.sleep.as_mut().poll(task).map(|()| Err(()))
    }
}

impl Context {
    /// After an attempt: the delay before the next one, or `None` when `outcome` is final.
    pub fn retry_delay<T, E>(
        &self,
        ticket: &mut StepTicket,
        policy: &RetryPolicy<E>,
        outcome: &Result<T, E>,
    ) -> Option<Duration> {
        let Err(error) = outcome else {
            return None;
        };
        if !policy.should_retry(ticket.attempts, error) {
            return None;
        }
        let delay = policy.wait_before_attempt(ticket.attempts + 1);
        let run = self.lock();
        run.emit(|| Event::StepRetrying {
            key: ticket.key.to_string(),
            attempt: ticket.attempts,
            delay,
        });
        ticket.attempts += 1;
        Some(delay)
    }

    /// Waits on the run's clock (a retry delay).
    #[must_use]
    pub fn wait(&self, delay: Duration) -> SleepFuture {
        self.lock().options.clock().sleep(delay)
    }

    /// Runs one attempt, failing it with [`StepTimeout`] (converted into the step's error) when it
    /// takes longer than `timeout` on the run's clock.
    ///
    /// # Errors
    ///
    /// The attempt's own error, or the converted [`StepTimeout`].
    pub async fn attempt_with_timeout<T, E, F>(
        &self,
        ticket: &StepTicket,
        timeout: Duration,
        attempt: F,
    ) -> Result<T, E>
    where
        E: From<StepTimeout>,
        F: Future<Output = Result<T, E>>,
    {
        let deadline = Deadline {
            attempt: Box::pin(attempt),
            sleep: self.wait(timeout),
        };
        match deadline.await {
            Ok(outcome) => outcome,
            Err(()) => Err(E::from(StepTimeout {
                key: ticket.key.to_string(),
                timeout_ms: millis(timeout),
                attempt: ticket.attempts,
            })),
        }
    }
}
