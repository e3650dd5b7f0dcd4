//! What each run waits on: read-only views of a [`Store`]'s runs, their steps and their waits
//! (hooks, approvals, sleeps), shared by the `awaitly` command-line tool and the dashboard.
//!
//! Everything here reads; nothing writes. Waits come from the runs' resume states (deadlines and
//! sleeps live there), completed by the store's hook records (when a run suspended).
//!
//! ```
//! use awaitly::inspect::{WaitKind, survey};
//! use awaitly::store::{Changes, MemoryStore, NewRun, RunOutcome, Store};
//! use awaitly::{StepEntry, pending_hook};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! store.create_run(NewRun::new("order-1", "checkout", 1, serde_json::json!({}))).await.unwrap();
//! let hook = pending_hook("h1".into(), Default::default());
//! let changes = Changes {
//!     entries: vec![("hook:h1".into(), StepEntry::pending(&hook))],
//!     outcome: Some(RunOutcome::Suspended { hook: hook.clone() }),
//!     ..Default::default()
//! };
//! store.save("order-1", 0, changes).await.unwrap();
//!
//! let runs = survey(&store).await.unwrap();
//! assert_eq!(runs[0].waits[0].kind, WaitKind::Hook);
//! assert_eq!(runs[0].waits[0].key, "h1");
//! # });
//! ```

mod constructs;

use std::fmt;

use awaitly_runtime::{
    MaybePendingHook, ResumeState, StepEntry, get_pending_approvals, get_pending_hooks,
};
use serde_json::Value;

pub use constructs::{ChildRun, Compensation, Constructs, constructs_of};

use crate::store::{HookRecord, RunOutcome, RunRecord, Store, StoreError};

/// What a run waits for.
///
/// ```
/// assert_eq!(awaitly::inspect::WaitKind::Approval.to_string(), "approval");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitKind {
    /// A callback's payload for a hook id.
    Hook,
    /// A person's decision under an approval key.
    Approval,
    /// The end of a durable sleep.
    Sleep,
}

impl WaitKind {
    /// `hook`, `approval` or `sleep`.
    ///
    /// ```
    /// assert_eq!(awaitly::inspect::WaitKind::Sleep.as_str(), "sleep");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hook => "hook",
            Self::Approval => "approval",
            Self::Sleep => "sleep",
        }
    }
}

impl fmt::Display for WaitKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One thing a run waits for.
///
/// ```
/// let wait = awaitly::inspect::Wait {
///     kind: awaitly::inspect::WaitKind::Sleep,
///     key: "cool-off".into(),
///     since_ms: None,
///     deadline_ms: Some(1_000),
///     reason: None,
///     metadata: None,
/// };
/// assert!(wait.is_overdue(1_000));
/// assert!(!wait.is_overdue(999));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Wait {
    /// Hook, approval or sleep.
    pub kind: WaitKind,
    /// The hook id, the approval key, or the sleep's step key.
    pub key: String,
    /// When the run began waiting, milliseconds since the Unix epoch, when known.
    pub since_ms: Option<u64>,
    /// When a hook or approval expires, or when a sleep is due, milliseconds since the Unix epoch.
    pub deadline_ms: Option<u64>,
    /// Why an approval is needed.
    pub reason: Option<String>,
    /// What the workflow attached to the hook or approval.
    pub metadata: Option<Value>,
}

impl Wait {
    /// Has the deadline (or the sleep's wake-up time) passed at `now_ms`? Such a run is stuck
    /// until something resumes it.
    ///
    /// ```
    /// # let wait = awaitly::inspect::Wait { kind: awaitly::inspect::WaitKind::Hook, key: "h".into(),
    /// #     since_ms: None, deadline_ms: None, reason: None, metadata: None };
    /// assert!(!wait.is_overdue(u64::MAX), "no deadline, never overdue");
    /// ```
    #[must_use]
    pub fn is_overdue(&self, now_ms: u64) -> bool {
        self.deadline_ms.is_some_and(|deadline| deadline <= now_ms)
    }
}

impl fmt::Display for Wait {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {}", self.kind, self.key)
    }
}

/// A run and what it waits on.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = awaitly::store::MemoryStore::new();
/// # use awaitly::store::Store;
/// store.create_run(awaitly::store::NewRun::new("r", "w", 1, serde_json::Value::Null)).await.unwrap();
/// let summary = &awaitly::inspect::survey(&store).await.unwrap()[0];
/// assert_eq!(summary.record.run_id, "r");
/// assert!(summary.waits.is_empty());
/// # });
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    /// The run as stored.
    pub record: RunRecord,
    /// Its pending hooks, approvals and sleep, in recording order (empty for finished runs).
    pub waits: Vec<Wait>,
}

/// Every run of `store`, oldest first, with what it waits on. Finished runs (completed or
/// failed) are not loaded; every other run's state is (one `load_run` each).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let runs = awaitly::inspect::survey(&awaitly::store::MemoryStore::new()).await.unwrap();
/// assert!(runs.is_empty());
/// # });
/// ```
///
/// # Errors
///
/// What the store reports ([`StoreError`]).
pub async fn survey(store: &dyn Store) -> Result<Vec<RunSummary>, StoreError> {
    let records = store.list_runs().await?;
    let hooks = store.pending_hooks().await?;
    let mut summaries = Vec::with_capacity(records.len());
    for record in records {
        let waits = if record.status().is_terminal() {
            Vec::new()
        } else {
            match store.load_run(&record.run_id).await? {
                Some(run) => waits_of(&run.record, &run.state, &hooks),
                // Deleted between the listing and the load: nothing to wait on.
                None => Vec::new(),
            }
        };
        summaries.push(RunSummary { record, waits });
    }
    Ok(summaries)
}

/// What the run (`record` over `state`) waits on: its pending hooks and approvals, and its sleep
/// (the one its outcome names, or a sleep that is the last thing it recorded). `hooks` (from
/// [`Store::pending_hooks`]) supply the time a run suspended when the state does not record it.
///
/// ```
/// use awaitly::{ResumeState, StepEntry, pending_approval, PendingApprovalOptions};
/// # let record = awaitly::store::RunRecord { run_id: "r".into(), workflow: "w".into(), version: 1,
/// #     input: serde_json::Value::Null, outcome: awaitly::store::RunOutcome::Running, revision: 0,
/// #     created_at_ms: 0, updated_at_ms: 0, lease: None, queue: "default".into(), priority: 0 };
/// let mut state = ResumeState::new();
/// let options = PendingApprovalOptions { reason: Some("over the limit".into()), ..Default::default() };
/// state.insert("approve:1", StepEntry::pending_approval(&pending_approval("approve:1", options)));
/// let waits = awaitly::inspect::waits_of(&record, &state, &[]);
/// assert_eq!(waits[0].reason.as_deref(), Some("over the limit"));
/// ```
#[must_use]
pub fn waits_of(record: &RunRecord, state: &ResumeState, hooks: &[HookRecord]) -> Vec<Wait> {
    if record.status().is_terminal() {
        return Vec::new();
    }
    let suspended_at = |hook_id: &str| {
        hooks
            .iter()
            .find(|hook| hook.hook_id.as_str() == hook_id && hook.run_id == record.run_id)
            .and_then(|hook| hook.suspended_at_ms)
    };
    let mut waits: Vec<Wait> = get_pending_hooks(state)
        .into_iter()
        .map(|hook| Wait {
            kind: WaitKind::Hook,
            since_ms: hook
                .requested_at_ms
                .or_else(|| suspended_at(hook.hook_id.as_str())),
            deadline_ms: hook.deadline_ms,
            key: hook.hook_id.as_str().to_owned(),
            reason: None,
            metadata: hook.metadata,
        })
        .collect();
    // A run suspended at a hook whose entry is not in its state (written by hand) still waits.
    if let Some(hook) = record.outcome.pending_hook()
        && !waits.iter().any(|wait| wait.key == hook.hook_id.as_str())
    {
        waits.push(Wait {
            kind: WaitKind::Hook,
            key: hook.hook_id.as_str().to_owned(),
            since_ms: hook
                .requested_at_ms
                .or_else(|| suspended_at(hook.hook_id.as_str())),
            deadline_ms: hook.deadline_ms,
            reason: None,
            metadata: hook.metadata.clone(),
        });
    }
    let mut approvals = get_pending_approvals(state);
    // A run awaiting an approval whose entry is not in its state still waits for it.
    if let Some(approval) = record.outcome.pending_approval()
        && !approvals
            .iter()
            .any(|pending| pending.step_key == approval.step_key)
    {
        approvals.push(approval.clone());
    }
    waits.extend(approvals.into_iter().map(|approval| Wait {
        kind: WaitKind::Approval,
        since_ms: approval.requested_at_ms,
        deadline_ms: approval.deadline_ms,
        key: approval.step_key,
        reason: approval.reason,
        metadata: approval.metadata,
    }));
    // The sleep a run is suspended in (its outcome says so), or else a sleep that is the last
    // thing the run recorded (nothing ran after it).
    let sleeping = match &record.outcome {
        RunOutcome::Sleeping { key, wake_at_ms } => Some((key.as_str(), *wake_at_ms)),
        _ => state
            .iter()
            .last()
            .and_then(|(key, entry)| Some((key, entry.sleep_until()?))),
    };
    if let Some((key, wake_at)) = sleeping {
        waits.push(Wait {
            kind: WaitKind::Sleep,
            key: key.to_owned(),
            since_ms: None,
            deadline_ms: Some(wake_at),
            reason: None,
            metadata: None,
        });
    }
    waits
}

/// How one recorded step stands.
///
/// ```
/// assert_eq!(awaitly::inspect::StepStatus::Waiting.to_string(), "waiting");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StepStatus {
    /// A success is recorded.
    Completed,
    /// A failure is recorded.
    Failed,
    /// A hook or approval waits for its payload or decision.
    Waiting,
    /// An approval was granted (possibly with an edited value).
    Approved,
    /// A hook id was minted here; its payload is recorded under `hook:<id>`.
    HookCreated,
    /// A durable sleep that has not ended yet.
    Sleeping,
    /// A durable sleep that has ended.
    Slept,
}

impl StepStatus {
    /// The status as one lowercase word (`hook-created` for [`StepStatus::HookCreated`]).
    ///
    /// ```
    /// assert_eq!(awaitly::inspect::StepStatus::HookCreated.as_str(), "hook-created");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Waiting => "waiting",
            Self::Approved => "approved",
            Self::HookCreated => "hook-created",
            Self::Sleeping => "sleeping",
            Self::Slept => "slept",
        }
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One recorded step of a run.
///
/// ```
/// let mut state = awaitly::ResumeState::new();
/// state.insert("charge", awaitly::StepEntry::ok(&serde_json::json!({ "id": "ch_1" })).unwrap());
/// let step = &awaitly::inspect::steps_of(&state, 0)[0];
/// assert_eq!(step.status, awaitly::inspect::StepStatus::Completed);
/// assert_eq!(step.value_bytes, Some(13));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StepRecord {
    /// The step key.
    pub key: String,
    /// How it stands.
    pub status: StepStatus,
    /// When it was recorded, milliseconds since the Unix epoch, when the entry says (approvals
    /// record their decision time, pending hooks and approvals their request time, sleeps their
    /// wake-up time).
    pub recorded_at_ms: Option<u64>,
    /// The length of the recorded value's JSON text, for a success.
    pub value_bytes: Option<usize>,
    /// The recorded error, for a failure (or the pending hook or approval).
    pub error: Option<Value>,
}

/// The steps recorded in `state`, in recording order; `now_ms` tells sleeping from slept.
///
/// ```
/// let mut state = awaitly::ResumeState::new();
/// state.insert("load", awaitly::StepEntry::err(&"GATEWAY_DOWN").unwrap());
/// let steps = awaitly::inspect::steps_of(&state, 0);
/// assert_eq!(steps[0].status, awaitly::inspect::StepStatus::Failed);
/// assert_eq!(steps[0].error, Some(serde_json::json!("GATEWAY_DOWN")));
/// ```
#[must_use]
pub fn steps_of(state: &ResumeState, now_ms: u64) -> Vec<StepRecord> {
    state
        .iter()
        .map(|(key, entry)| step_record(key, entry, now_ms))
        .collect()
}

fn step_record(key: &str, entry: &StepEntry, now_ms: u64) -> StepRecord {
    let mut record = StepRecord {
        key: key.to_owned(),
        status: StepStatus::Completed,
        recorded_at_ms: None,
        value_bytes: entry.value_json().map(str::len),
        error: entry.error().cloned(),
    };
    if let Some(wake_at) = entry.sleep_until() {
        record.recorded_at_ms = Some(wake_at);
        record.status = if record.recorded_at_ms.is_some_and(|wake| wake <= now_ms) {
            StepStatus::Slept
        } else {
            StepStatus::Sleeping
        };
    } else if entry.created_hook_id().is_some() {
        record.status = StepStatus::HookCreated;
    } else if let Some(approval) = entry.approval() {
        record.status = StepStatus::Approved;
        record.recorded_at_ms = approval.get("at").and_then(Value::as_u64);
    } else if let Some(error) = entry.error() {
        let pending = matches!(
            error.get("type").and_then(Value::as_str),
            Some("PENDING_HOOK" | "PENDING_APPROVAL")
        );
        record.status = if pending || entry.pending_hook().is_some() {
            StepStatus::Waiting
        } else {
            StepStatus::Failed
        };
        record.recorded_at_ms = error.get("requestedAt").and_then(Value::as_u64);
    }
    record
}

/// The time from `since_ms` to `now_ms` as `42s`, `7m`, `3h` or `2d` (a `since_ms` later than
/// `now_ms` counts as zero): how the command-line tool and the dashboard show ages.
#[cfg(any(feature = "cli", feature = "dashboard"))]
#[must_use]
pub(crate) fn human_age(now_ms: u64, since_ms: u64) -> String {
    let seconds = now_ms.saturating_sub(since_ms) / 1000;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3_600 => format!("{}m", seconds / 60),
        3_600..86_400 => format!("{}h", seconds / 3_600),
        _ => format!("{}d", seconds / 86_400),
    }
}

/// Milliseconds since the Unix epoch as a UTC time, `YYYY-MM-DD HH:MM:SSZ`: how the
/// command-line tool and the dashboard show times; an instant after the year 9999 (only a corrupt
/// record holds one) as its raw milliseconds.
#[cfg(any(feature = "cli", feature = "dashboard"))]
#[must_use]
pub(crate) fn utc_time(millis: u64) -> String {
    let time = i64::try_from(millis)
        .ok()
        .and_then(|millis| jiff::Timestamp::from_millisecond(millis).ok());
    time.map_or_else(
        || format!("{millis} ms"),
        |time| time.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
    )
}

#[cfg(all(test, any(feature = "cli", feature = "dashboard")))]
mod tests {
    use super::{human_age, utc_time};

    #[test]
    fn ages_are_rounded_down_to_one_unit() {
        assert_eq!(human_age(90_000, 0), "1m");
        assert_eq!(human_age(0, 5), "0s");
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00Z");
        assert_eq!(utc_time(1_795_000_000_000), "2026-11-18 11:06:40Z");
        assert_eq!(utc_time(253_402_300_800_000), "253402300800000 ms");
        assert_eq!(utc_time(u64::MAX), "18446744073709551615 ms");
    }
}
