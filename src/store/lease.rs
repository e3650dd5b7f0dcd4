//! Run ownership as stored: the lease an executor takes on a run while it advances it.

use std::time::Duration;

/// An executor's claim on a run: while its lease is unexpired, no other executor advances the
/// run. Every write of the executor carries it (taking or renewing it), so an executor whose
/// lease lapsed and was taken over has its next write refused.
///
/// ```
/// let lease = awaitly::store::Lease::new("executor-1", std::time::Duration::from_secs(30));
/// assert_eq!(lease.duration, std::time::Duration::from_secs(30));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it: unique per executor and run it advances.
    pub owner: String,
    /// How long the lease lasts after each write that takes or renews it, by the store's clock.
    pub duration: Duration,
}

impl Lease {
    /// A lease for `owner` lasting `duration` from each renewal.
    ///
    /// ```
    /// let lease = awaitly::store::Lease::new("me", std::time::Duration::from_millis(1500));
    /// assert_eq!(lease.owner, "me");
    /// ```
    pub fn new(owner: impl Into<String>, duration: Duration) -> Self {
        Self {
            owner: owner.into(),
            duration,
        }
    }

    /// When a lease taken or renewed at `now_ms` (store clock) expires (saturating: a lease too
    /// long to end before `u64::MAX` ms never does).
    ///
    /// ```
    /// let lease = awaitly::store::Lease::new("me", std::time::Duration::from_millis(10));
    /// assert_eq!(lease.expires_at(5), 15);
    /// ```
    #[must_use]
    pub fn expires_at(&self, now_ms: u64) -> u64 {
        now_ms.saturating_add(u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A lease as stored with its run.
///
/// ```
/// let lease = awaitly::store::RunLease { owner: "me".into(), expires_at_ms: 10 };
/// assert!(lease.is_live(9) && !lease.is_live(10));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLease {
    /// The executor holding it.
    pub owner: String,
    /// When it expires unless renewed, milliseconds since the Unix epoch (store clock).
    pub expires_at_ms: u64,
}

impl RunLease {
    /// Does the lease still hold at `now_ms`?
    ///
    /// ```
    /// let lease = awaitly::store::RunLease { owner: "me".into(), expires_at_ms: 10 };
    /// assert!(lease.is_live(0));
    /// ```
    #[must_use]
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.expires_at_ms > now_ms
    }
}
