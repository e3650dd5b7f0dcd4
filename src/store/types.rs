//! The records a [`Store`](super::Store) keeps: runs, hooks, and the incremental changes a save
//! applies (a run's outcome is in `outcome`).

use std::time::Duration;

use awaitly_runtime::{HookId, PendingHook, StepEntry};
use serde_json::Value;

use super::{DEFAULT_QUEUE, Lease, RunLease, RunOutcome, RunStatus};

/// A run to create: what [`Store::create_run`](super::Store::create_run) inserts.
///
/// ```
/// let run = awaitly::store::NewRun::new("run-1", "checkout", 1, serde_json::json!({ "cents": 4200 }));
/// assert_eq!(run.workflow, "checkout");
/// assert!(run.hooks.is_empty());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NewRun {
    /// The run's id, chosen by the caller (an order id, a request id, …).
    pub run_id: String,
    /// The registered workflow name.
    pub workflow: String,
    /// The workflow version the run is started with.
    pub version: u32,
    /// The workflow's input, as JSON.
    pub input: Value,
    /// Hook ids made before the run (`create_hook`) that callbacks may reach before the run
    /// suspends at them: registered with the run so such early deliveries are kept, not refused.
    pub hooks: Vec<HookId>,
    /// The lease the creating executor takes with the run, so no other executor advances it
    /// while its creator runs it; `None` leaves the run for whichever worker claims it first.
    pub lease: Option<Lease>,
    /// The queue workers claim the run from.
    pub queue: String,
    /// Higher runs first within the queue.
    pub priority: i32,
    /// When the run became ready for a worker, by the engine's clock (milliseconds since the
    /// Unix epoch): claims take runs earliest due first, so an enqueued run waits its turn behind
    /// runs whose sleep ended before it was enqueued. 0 (the default): at once.
    pub ready_at_ms: u64,
}

impl NewRun {
    /// A run without pre-registered hooks.
    ///
    /// ```
    /// let run = awaitly::store::NewRun::new("r", "w", 2, serde_json::Value::Null);
    /// assert_eq!(run.version, 2);
    /// ```
    pub fn new(
        run_id: impl Into<String>,
        workflow: impl Into<String>,
        version: u32,
        input: Value,
    ) -> Self {
        Self {
            run_id: run_id.into(),
            workflow: workflow.into(),
            version,
            input,
            hooks: Vec::new(),
            lease: None,
            queue: DEFAULT_QUEUE.to_owned(),
            priority: 0,
            ready_at_ms: 0,
        }
    }
}

/// A stored run without its steps.
///
/// ```
/// let record = awaitly::store::RunRecord {
///     run_id: "r".into(),
///     workflow: "w".into(),
///     version: 1,
///     input: serde_json::Value::Null,
///     outcome: awaitly::store::RunOutcome::Running,
///     revision: 0,
///     created_at_ms: 0,
///     updated_at_ms: 0,
///     lease: None,
///     queue: "default".into(),
///     priority: 0,
/// };
/// assert_eq!(record.status(), awaitly::store::RunStatus::Running);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// The run's id.
    pub run_id: String,
    /// The workflow name.
    pub workflow: String,
    /// The workflow version recorded at start (or set by `Engine::set_version`).
    pub version: u32,
    /// The workflow's input.
    pub input: Value,
    /// The latest outcome.
    pub outcome: RunOutcome,
    /// Bumped by every save; saves name the revision they expect (compare-and-swap).
    pub revision: u64,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// Time of the latest save, milliseconds since the Unix epoch.
    pub updated_at_ms: u64,
    /// The executor advancing the run right now, if one holds an unexpired lease on it (an
    /// expired lease is kept until the next executor takes the run over).
    pub lease: Option<RunLease>,
    /// The queue the run belongs to (`"default"` unless it was enqueued elsewhere).
    pub queue: String,
    /// Higher runs first among runs of one queue that are due at once.
    pub priority: i32,
}

impl RunRecord {
    /// The run's status.
    ///
    /// ```
    /// # let record = awaitly::store::RunRecord { run_id: "r".into(), workflow: "w".into(), version: 1,
    /// #     input: serde_json::Value::Null, outcome: awaitly::store::RunOutcome::Running, revision: 0,
    /// #     created_at_ms: 0, updated_at_ms: 0, lease: None, queue: "default".into(), priority: 0 };
    /// assert!(!record.status().is_terminal());
    /// ```
    #[must_use]
    pub fn status(&self) -> RunStatus {
        self.outcome.status()
    }
}

/// A run with its resume state: what [`Store::load_run`](super::Store::load_run) returns.
///
/// ```
/// # let record = awaitly::store::RunRecord { run_id: "r".into(), workflow: "w".into(), version: 1,
/// #     input: serde_json::Value::Null, outcome: awaitly::store::RunOutcome::Running, revision: 0,
/// #     created_at_ms: 0, updated_at_ms: 0, lease: None, queue: "default".into(), priority: 0 };
/// let run = awaitly::store::StoredRun { record, state: awaitly::ResumeState::new() };
/// assert!(run.state.is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct StoredRun {
    /// The run.
    pub record: RunRecord,
    /// Every recorded step, in recording order.
    pub state: awaitly_runtime::ResumeState,
}

/// What [`Store::create_run`](super::Store::create_run) did.
///
/// ```
/// # let record = awaitly::store::RunRecord { run_id: "r".into(), workflow: "w".into(), version: 1,
/// #     input: serde_json::Value::Null, outcome: awaitly::store::RunOutcome::Running, revision: 0,
/// #     created_at_ms: 0, updated_at_ms: 0, lease: None, queue: "default".into(), priority: 0 };
/// let created = awaitly::store::Created::Existing(record);
/// assert_eq!(created.record().run_id, "r");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Created {
    /// The run is new, status running, revision 0.
    New(RunRecord),
    /// A run with this id already existed; nothing was written.
    Existing(RunRecord),
}

impl Created {
    /// The run, new or existing.
    ///
    /// ```
    /// # let record = awaitly::store::RunRecord { run_id: "r".into(), workflow: "w".into(), version: 1,
    /// #     input: serde_json::Value::Null, outcome: awaitly::store::RunOutcome::Running, revision: 0,
    /// #     created_at_ms: 0, updated_at_ms: 0, lease: None, queue: "default".into(), priority: 0 };
    /// assert_eq!(awaitly::store::Created::New(record).record().revision, 0);
    /// ```
    #[must_use]
    pub fn record(&self) -> &RunRecord {
        match self {
            Self::New(record) | Self::Existing(record) => record,
        }
    }
}

/// One incremental save: the entries recorded since the last save, and what else changed.
/// Its cost is proportional to its own size, never to the entries saved before.
///
/// ```
/// let mut changes = awaitly::store::Changes::default();
/// changes.entries.push(("charge".into(), awaitly::StepEntry::ok(&1).unwrap()));
/// changes.outcome = Some(awaitly::store::RunOutcome::Running);
/// assert!(!changes.is_empty());
/// assert!(awaitly::store::Changes::default().is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Changes {
    /// Entries to insert or replace (a replaced entry keeps its place in the recording order).
    pub entries: Vec<(String, StepEntry)>,
    /// Keys to remove (a step cleared to run again).
    pub removed: Vec<String>,
    /// The new outcome, if it changed.
    pub outcome: Option<RunOutcome>,
    /// The new workflow version, if the run is migrated.
    pub version: Option<u32>,
    /// The hook the run now waits at: its hook record is created or marked suspended (with the
    /// hook's metadata) in the same write, and a payload already delivered to it is returned in
    /// [`Saved::delivered`].
    pub suspend_at: Option<PendingHook>,
    /// Further hooks the run now waits at, besides `suspend_at` (branches of the workflow that
    /// wait at once): each hook record is created or marked suspended as `suspend_at`'s is, in
    /// the same write. A payload a delivery stored with one of them before is not returned; the
    /// engine reads it with [`Store::find_hook`](super::Store::find_hook).
    pub waiting_at: Vec<PendingHook>,
    /// The executor's lease: the save is refused ([`StoreError::Leased`](super::StoreError::Leased))
    /// if another owner holds an unexpired lease on the run; otherwise the lease is taken or
    /// renewed for its `duration` from the store's clock, and released when the new outcome is not
    /// [`RunOutcome::Running`]. A save without a lease is refused while anyone holds one.
    pub lease: Option<Lease>,
}

impl Changes {
    /// Nothing but the revision bump.
    ///
    /// ```
    /// assert!(awaitly::store::Changes::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
            && self.removed.is_empty()
            && self.outcome.is_none()
            && self.version.is_none()
            && self.suspend_at.is_none()
            && self.waiting_at.is_empty()
            && self.lease.is_none()
    }
}

/// The result of a successful save.
///
/// ```
/// let saved = awaitly::store::Saved { revision: 3, delivered: None };
/// assert_eq!(saved.revision, 3);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Saved {
    /// The run's new revision: the one the next save must name.
    pub revision: u64,
    /// The payload already delivered to [`Changes::suspend_at`]'s hook (a callback that arrived
    /// before the run reached the hook), so the run can go on at once.
    pub delivered: Option<Value>,
}

/// A hook known to the store: registered with its run at start, or reached by the run.
///
/// ```
/// let hook = awaitly::store::HookRecord {
///     hook_id: "h1".into(),
///     run_id: "r".into(),
///     metadata: None,
///     registered_at_ms: 1_000,
///     suspended_at_ms: Some(2_000),
///     payload: None,
/// };
/// assert!(hook.is_pending());
/// assert_eq!(hook.age(3_500), std::time::Duration::from_millis(1_500));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct HookRecord {
    /// The hook.
    pub hook_id: HookId,
    /// The run that owns it.
    pub run_id: String,
    /// What the workflow attached when it suspended.
    pub metadata: Option<Value>,
    /// When the store first heard of the hook, milliseconds since the Unix epoch.
    pub registered_at_ms: u64,
    /// When the run suspended at it, if it has.
    pub suspended_at_ms: Option<u64>,
    /// The payload delivered to it, once a delivery has claimed it.
    pub payload: Option<Value>,
}

impl HookRecord {
    /// Is the run waiting at this hook with no payload delivered yet?
    ///
    /// ```
    /// # let hook = awaitly::store::HookRecord { hook_id: "h1".into(), run_id: "r".into(), metadata: None,
    /// #     registered_at_ms: 0, suspended_at_ms: None, payload: None };
    /// assert!(!hook.is_pending(), "registered, but the run has not reached it");
    /// ```
    #[must_use]
    pub fn is_pending(&self) -> bool {
        self.suspended_at_ms.is_some() && self.payload.is_none()
    }

    /// How long the run has waited at the hook (since registration if it has not reached it).
    ///
    /// ```
    /// # let hook = awaitly::store::HookRecord { hook_id: "h1".into(), run_id: "r".into(), metadata: None,
    /// #     registered_at_ms: 0, suspended_at_ms: None, payload: None };
    /// assert_eq!(hook.age(10), std::time::Duration::from_millis(10));
    /// ```
    #[must_use]
    pub fn age(&self, now_ms: u64) -> Duration {
        let since = self.suspended_at_ms.unwrap_or(self.registered_at_ms);
        Duration::from_millis(now_ms.saturating_sub(since))
    }
}

/// What [`Store::claim_hook`](super::Store::claim_hook) found.
///
/// ```
/// let claim = awaitly::store::Claim::Claimed { run_id: "r".into(), suspended: true, leased: false };
/// assert!(matches!(claim, awaitly::store::Claim::Claimed { suspended: true, .. }));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Claim {
    /// No such hook.
    Unknown,
    /// This delivery won: its payload is stored with the hook.
    Claimed {
        /// The run that owns the hook.
        run_id: String,
        /// Whether the run is already waiting at the hook (else the payload waits for it).
        suspended: bool,
        /// Whether the claim also took the run's lease for the claimer (asked for, the run waits
        /// at the hook and no other executor held a live lease): the claimer applies the payload.
        leased: bool,
    },
    /// The hook's deadline passed before any delivery claimed it: it takes no payload any more
    /// (the run sees its typed timeout).
    Expired {
        /// The run that owns the hook.
        run_id: String,
    },
    /// A delivery with the same dedupe key (a provider's event id) already claimed a hook —
    /// this one or another: nothing was stored.
    Seen {
        /// The run that owns the hook the first delivery claimed.
        run_id: String,
        /// Whether that hook is the one this delivery names (a duplicate), not another (a
        /// replayed event).
        same_hook: bool,
    },
    /// An earlier delivery won; here is its payload.
    Taken {
        /// The run that owns the hook.
        run_id: String,
        /// The payload that won.
        payload: Value,
    },
}

/// Milliseconds since the Unix epoch, the stores' clock (the system clock, as
/// [`SystemClock`](awaitly_runtime::SystemClock) reads it).
#[must_use]
pub(crate) fn now_ms() -> u64 {
    awaitly_runtime::Clock::now_ms(&awaitly_runtime::SystemClock)
}
