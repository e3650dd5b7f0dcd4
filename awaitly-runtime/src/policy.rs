//! Step policies: how many times a failing step is tried, how long to wait in between, how long
//! one attempt may take, and whether a failure recorded by an earlier run is executed again. Only a
//! step's final outcome is recorded.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the wait between attempts grows.
///
/// ```
/// use std::time::Duration;
/// let policy = awaitly::RetryPolicy::<String>::attempts(4).backoff(awaitly::Backoff::Linear).jitter(false);
/// assert_eq!(policy.delay_before_attempt(3), Duration::from_millis(200));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backoff {
    /// The same delay every time.
    Fixed,
    /// `initial_delay × n` before attempt `n + 1`.
    Linear,
    /// `initial_delay × 2ⁿ⁻¹` before attempt `n + 1`.
    Exponential,
}

/// Retry policy of one step: `step!("charge", retry = RetryPolicy::attempts(3), …)`.
///
/// Defaults (as awaitly's): exponential backoff from 100 ms, at most 30 s between attempts, with up
/// to 25 % random jitter, retrying every error. Pending hooks and approvals are never retried: they
/// are not step errors.
///
/// ```
/// use std::time::Duration;
/// use awaitly::{Backoff, RetryPolicy};
///
/// #[derive(Debug)]
/// enum ChargeError { GatewayDown, Declined }
///
/// let policy = RetryPolicy::attempts(5)
///     .backoff(Backoff::Exponential)
///     .initial_delay(Duration::from_millis(50))
///     .max_delay(Duration::from_millis(300))
///     .jitter(false)
///     .retry_if(|error: &ChargeError| matches!(error, ChargeError::GatewayDown));
/// assert_eq!(policy.delay_before_attempt(2), Duration::from_millis(50));
/// assert_eq!(policy.delay_before_attempt(4), Duration::from_millis(200));
/// assert_eq!(policy.delay_before_attempt(5), Duration::from_millis(300));
/// assert!(policy.should_retry(1, &ChargeError::GatewayDown));
/// assert!(!policy.should_retry(1, &ChargeError::Declined));
/// assert!(!policy.should_retry(5, &ChargeError::GatewayDown));
/// ```
pub struct RetryPolicy<E> {
    attempts: u32,
    backoff: Backoff,
    initial_delay: Duration,
    max_delay: Duration,
    jitter: bool,
    retry_if: Option<RetryPredicate<E>>,
}

/// Which errors a [`RetryPolicy`] retries.
type RetryPredicate<E> = Arc<dyn Fn(&E) -> bool + Send + Sync>;

impl<E> RetryPolicy<E> {
    /// Up to `attempts` attempts in all (at least one).
    ///
    /// ```
    /// let policy = awaitly::RetryPolicy::<()>::attempts(0);
    /// assert!(!policy.should_retry(1, &()));
    /// ```
    #[must_use]
    pub fn attempts(attempts: u32) -> Self {
        Self {
            attempts: attempts.max(1),
            backoff: Backoff::Exponential,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
            jitter: true,
            retry_if: None,
        }
    }

    /// How the delay grows.
    ///
    /// ```
    /// let _ = awaitly::RetryPolicy::<()>::attempts(2).backoff(awaitly::Backoff::Fixed);
    /// ```
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The first delay.
    ///
    /// ```
    /// let _ = awaitly::RetryPolicy::<()>::attempts(2).initial_delay(std::time::Duration::ZERO);
    /// ```
    #[must_use]
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest delay.
    ///
    /// ```
    /// let _ = awaitly::RetryPolicy::<()>::attempts(2).max_delay(std::time::Duration::from_secs(1));
    /// ```
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Adds up to 25 % random extra delay, so many runs retrying together spread out.
    ///
    /// ```
    /// let _ = awaitly::RetryPolicy::<()>::attempts(2).jitter(false);
    /// ```
    #[must_use]
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Retries only errors for which `predicate` is true; others are final at once.
    ///
    /// ```
    /// let policy = awaitly::RetryPolicy::attempts(3).retry_if(|code: &u16| *code >= 500);
    /// assert!(policy.should_retry(1, &503));
    /// assert!(!policy.should_retry(1, &404));
    /// ```
    #[must_use]
    pub fn retry_if(mut self, predicate: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.retry_if = Some(Arc::new(predicate));
        self
    }

    /// Should a step whose attempt number `attempt` failed with `error` be tried again?
    ///
    /// ```
    /// assert!(awaitly::RetryPolicy::<()>::attempts(2).should_retry(1, &()));
    /// ```
    #[must_use]
    pub fn should_retry(&self, attempt: u32, error: &E) -> bool {
        attempt < self.attempts
            && self
                .retry_if
                .as_ref()
                .is_none_or(|predicate| predicate(error))
    }

    /// The delay before attempt `attempt` (2 for the first retry), without jitter.
    ///
    /// ```
    /// let policy = awaitly::RetryPolicy::<()>::attempts(3).jitter(false);
    /// assert_eq!(policy.delay_before_attempt(3), std::time::Duration::from_millis(200));
    /// ```
    #[must_use]
    pub fn delay_before_attempt(&self, attempt: u32) -> Duration {
        let retry = attempt.saturating_sub(1).max(1);
        let delay = match self.backoff {
            Backoff::Fixed => self.initial_delay,
            Backoff::Linear => self.initial_delay.saturating_mul(retry),
            Backoff::Exponential => self
                .initial_delay
                .saturating_mul(2u32.saturating_pow(retry - 1)),
        };
        delay.min(self.max_delay)
    }

    /// The delay to wait before attempt `attempt`, jitter included.
    pub(crate) fn wait_before_attempt(&self, attempt: u32) -> Duration {
        let delay = self.delay_before_attempt(attempt);
        if !self.jitter || delay.is_zero() {
            return delay;
        }
        // Up to 25 % more, to spread retries apart: no unguessable randomness needed.
        (delay + delay.mul_f64(fastrand::f64() / 4.0)).min(self.max_delay)
    }
}

impl<E> Clone for RetryPolicy<E> {
    fn clone(&self) -> Self {
        Self {
            retry_if: self.retry_if.clone(),
            ..*self
        }
    }
}

impl<E> fmt::Debug for RetryPolicy<E> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RetryPolicy")
            .field("attempts", &self.attempts)
            .field("backoff", &self.backoff)
            .field("initial_delay", &self.initial_delay)
            .field("max_delay", &self.max_delay)
            .field("jitter", &self.jitter)
            .field("retry_if", &self.retry_if.is_some())
            .finish()
    }
}

/// One attempt of a step took longer than its `timeout`: the error a timed-out attempt yields,
/// converted into the step's error type with `From`.
///
/// ```
/// let timeout = awaitly::StepTimeout { key: "charge".into(), timeout_ms: 500, attempt: 2 };
/// assert_eq!(timeout.to_string(), "attempt 2 of step `charge` timed out after 500 ms");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "type", rename = "STEP_TIMEOUT", rename_all = "camelCase")]
#[error("attempt {attempt} of step `{key}` timed out after {timeout_ms} ms")]
pub struct StepTimeout {
    /// The step.
    #[serde(rename = "stepKey")]
    pub key: String,
    /// The per-attempt limit.
    #[serde(rename = "timeoutMs")]
    pub timeout_ms: u64,
    /// Which attempt timed out (1 for the first).
    pub attempt: u32,
}

/// What a step does with a failure recorded by an earlier run.
///
/// ```
/// assert_eq!(awaitly::RecordedFailures::default(), awaitly::RecordedFailures::Replay);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecordedFailures {
    /// Return the same error again without executing (awaitly's behaviour; the default). Clear the
    /// step ([`clear_step`](crate::clear_step)) to run it again.
    #[default]
    Replay,
    /// Execute the step again: for transient failures (`step!(…, rerun_failed = true, …)` or
    /// `#[workflow(rerun_failed)]`).
    Rerun,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::RetryPolicy;

    #[test]
    fn jitter_adds_up_to_a_quarter_and_stays_under_the_maximum() {
        let policy = RetryPolicy::<()>::attempts(5)
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(300));
        let waits: Vec<Duration> = (0..1000).map(|_| policy.wait_before_attempt(3)).collect();
        let delay = Duration::from_millis(200);
        assert!(
            waits
                .iter()
                .all(|wait| delay <= *wait && *wait <= delay.mul_f64(1.25))
        );
        assert!(waits.iter().any(|wait| *wait != waits[0]), "jitter varies");
        let capped = (0..1000).map(|_| policy.wait_before_attempt(5));
        assert!(
            capped
                .into_iter()
                .all(|wait| wait == Duration::from_millis(300))
        );
    }
}
