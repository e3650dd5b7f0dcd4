//! Time, injectable: deadlines and wake-up times are read from a [`Clock`], and retry delays wait
//! on it, so tests run fast and deterministically with a [`ManualClock`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The future [`Clock::sleep`] returns.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where a run reads the time and waits.
///
/// ```
/// use awaitly::Clock;
/// let clock = awaitly::SystemClock;
/// assert!(clock.now_ms() > 1_700_000_000_000);
/// ```
pub trait Clock: Send + Sync + fmt::Debug {
    /// Milliseconds since the Unix epoch: how deadlines are recorded in the state.
    fn now_ms(&self) -> u64;

    /// Waits `duration` (a retry delay).
    fn sleep(&self, duration: Duration) -> SleepFuture;
}

/// The wall clock; [`sleep`](Clock::sleep) is a `futures-timer` delay (one shared timer thread),
/// so it works on any executor.
///
/// ```
/// use awaitly::Clock;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let start = std::time::Instant::now();
/// awaitly::SystemClock.sleep(std::time::Duration::from_millis(5)).await;
/// assert!(start.elapsed() >= std::time::Duration::from_millis(5));
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
            })
    }

    fn sleep(&self, duration: Duration) -> SleepFuture {
        Box::pin(futures_timer::Delay::new(duration))
    }
}

/// A clock that only moves when told to; [`sleep`](Clock::sleep) returns at once and moves it
/// forward by the duration. For tests.
///
/// ```
/// use awaitly::{Clock, ManualClock};
/// let clock = ManualClock::new(1_000);
/// clock.advance(std::time::Duration::from_secs(2));
/// assert_eq!(clock.now_ms(), 3_000);
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// clock.sleep(std::time::Duration::from_millis(500)).await;
/// assert_eq!(clock.now_ms(), 3_500);
/// assert_eq!(clock.slept(), vec![std::time::Duration::from_millis(500)]);
/// # });
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualTime>>,
}

#[derive(Debug, Default)]
struct ManualTime {
    now_ms: u64,
    slept: Vec<Duration>,
}

impl ManualClock {
    /// A clock reading `now_ms` (milliseconds since the Unix epoch).
    ///
    /// ```
    /// use awaitly::Clock;
    /// assert_eq!(awaitly::ManualClock::new(5).now_ms(), 5);
    /// ```
    #[must_use]
    pub fn new(now_ms: u64) -> Self {
        Self {
            inner: Arc::new(Mutex::new(ManualTime {
                now_ms,
                slept: Vec::new(),
            })),
        }
    }

    /// Moves the clock forward.
    ///
    /// ```
    /// use awaitly::Clock;
    /// let clock = awaitly::ManualClock::new(0);
    /// clock.advance(std::time::Duration::from_millis(7));
    /// assert_eq!(clock.now_ms(), 7);
    /// ```
    pub fn advance(&self, duration: Duration) {
        let mut time = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        time.now_ms = time.now_ms.saturating_add(millis(duration));
    }

    /// Every duration [`sleep`](Clock::sleep) was asked for, in order.
    ///
    /// ```
    /// assert!(awaitly::ManualClock::new(0).slept().is_empty());
    /// ```
    #[must_use]
    pub fn slept(&self) -> Vec<Duration> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .slept
            .clone()
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .now_ms
    }

    fn sleep(&self, duration: Duration) -> SleepFuture {
        {
            let mut time = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            time.now_ms = time.now_ms.saturating_add(millis(duration));
            time.slept.push(duration);
        }
        Box::pin(std::future::ready(()))
    }
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::task::{Context, Waker};
    use std::time::{Duration, Instant};

    use super::{Clock, SystemClock};

    /// No async runtime here: the timer needs none.
    #[test]
    fn system_sleeps_wake_in_deadline_order_on_any_executor() {
        let start = Instant::now();
        let mut context = Context::from_waker(Waker::noop());
        let mut long = SystemClock.sleep(Duration::from_millis(30));
        let mut short = SystemClock.sleep(Duration::from_millis(10));
        assert!(long.as_mut().poll(&mut context).is_pending());
        assert!(short.as_mut().poll(&mut context).is_pending());
        while short.as_mut().poll(&mut context).is_pending() {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(start.elapsed() >= Duration::from_millis(10));
        while long.as_mut().poll(&mut context).is_pending() {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(start.elapsed() >= Duration::from_millis(30));
    }
}
