//! Fan-out progress read from a state: how many items of each `fan_out!` execution are done,
//! in flight or not started. A fan-out records its item count under its key (`{"items": n}`)
//! and each item's sites record under the item's scope (`ship-all[A17]/ship`), so the state alone
//! answers — with the workflow's description, a little more exactly.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::compat::classify;
use crate::entry::StepEntry;
use crate::hook::MaybePendingHook;
use crate::key::{HOOK_KEY_PREFIX, RUN_KEY_PREFIX};
use crate::site::{SiteKind, WorkflowDescription};
use crate::state::ResumeState;

/// The progress of one execution of a `fan_out!`: `done + in_flight + pending == items`.
///
/// ```
/// let progress = awaitly::FanOutProgress { key: "ship-all".into(), items: 1000, done: 12, in_flight: 4, pending: 984 };
/// assert_eq!(progress.to_string(), "12 done / 4 in flight / 984 pending");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FanOutProgress {
    /// The fan-out's execution key (with its scope and occurrence: `orders[7]/ship-all#2`).
    pub key: String,
    /// How many items the fan-out has (recorded when it started).
    pub items: u64,
    /// Items that finished.
    pub done: u64,
    /// Items that started and have not finished: waiting, or running right now.
    pub in_flight: u64,
    /// Items not started yet: nothing is recorded under their scope.
    pub pending: u64,
}

impl std::fmt::Display for FanOutProgress {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} done / {} in flight / {} pending",
            self.done, self.in_flight, self.pending
        )
    }
}

/// The progress of every `fan_out!` execution recorded in `state`, in recording order.
///
/// The rule, per item (its scope is `<fan-out key>[<item key>]/`):
///
/// - **pending**: nothing is recorded under its scope (it has not started);
/// - **in flight**: something under its scope waits — a hook or a child whose payload has not
///   arrived, an approval, a sleep whose wake-up time is after `now_ms`;
/// - **done**: it recorded something and waits on nothing.
///
/// An item only stops between its sites to wait, so in a suspended or finished run's state the
/// rule is exact. In the state of a run that is executing right now, an item whose last step has
/// just been checkpointed counts as done while it goes on to its next site. An approval's key is
/// chosen by the code, not scoped: an item waiting on one (and nothing else) counts as done.
///
/// ```
/// use awaitly::{fan_out, fan_out_progress, step, workflow};
///
/// #[workflow]
/// async fn ship_all(orders: Vec<u32>) -> Result<(), String> {
///     let shipped = fan_out!("ship-all", order in orders, key = order, concurrency = 2,
///         step!("ship", Ok::<u32, String>(order)));
///     shipped.into_iter().collect::<Result<Vec<_>, _>>().map(drop)
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = ship_all(vec![1, 2, 3]).start().await;
/// let progress = fan_out_progress(ship_all(vec![]).description(), &run.state, 0);
/// assert_eq!(progress[0].to_string(), "3 done / 0 in flight / 0 pending");
/// # });
/// ```
#[must_use]
pub fn fan_out_progress(
    description: &WorkflowDescription,
    state: &ResumeState,
    now_ms: u64,
) -> Vec<FanOutProgress> {
    progress(state, now_ms, |key, entry| {
        classify(description, key, entry) == Some(SiteKind::FanOut)
    })
}

/// [`fan_out_progress`] without the workflow's code (an inspection tool reading a store): a
/// fan-out is any entry whose value is `{"items": n}` (a step that returns exactly that reads as
/// one too), and the items count by the same rule.
///
/// ```
/// use awaitly::{ResumeState, StepEntry, recorded_fan_out_progress};
///
/// let mut state = ResumeState::new();
/// state.insert("ship-all", StepEntry::ok(&serde_json::json!({ "items": 3 })).unwrap());
/// state.insert("ship-all[1]/ship", StepEntry::ok(&1).unwrap());
/// let progress = recorded_fan_out_progress(&state, 0);
/// assert_eq!((progress[0].done, progress[0].pending), (1, 2));
/// ```
#[must_use]
pub fn recorded_fan_out_progress(state: &ResumeState, now_ms: u64) -> Vec<FanOutProgress> {
    progress(state, now_ms, |key, _| {
        !key.starts_with(HOOK_KEY_PREFIX) && !key.starts_with(RUN_KEY_PREFIX)
    })
}

/// The progress of every entry `is_fan_out` accepts (and whose value is `{"items": n}`).
fn progress(
    state: &ResumeState,
    now_ms: u64,
    is_fan_out: impl Fn(&str, &StepEntry) -> bool,
) -> Vec<FanOutProgress> {
    let mut found = Vec::new();
    for (key, entry) in state.iter() {
        let Some(items) = item_count(entry) else {
            continue;
        };
        if !is_fan_out(key, entry) {
            continue;
        }
        let scopes = item_scopes(state, key);
        let in_flight = scopes
            .values()
            .filter(|entries| entries.iter().any(|(_, entry)| waits(state, entry, now_ms)))
            .count() as u64;
        // A state edited by hand may hold more scopes than items: never count past `items`.
        let in_flight = in_flight.min(items);
        let done = (scopes.len() as u64).min(items) - in_flight.min(scopes.len() as u64);
        found.push(FanOutProgress {
            key: key.to_owned(),
            items,
            done,
            in_flight,
            pending: items - done - in_flight,
        });
    }
    found
}

/// `n` of a fan-out's `{"items": n}` record.
fn item_count(entry: &StepEntry) -> Option<u64> {
    let value: Value = serde_json::from_str(entry.value_json()?).ok()?;
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    object.get("items")?.as_u64()
}

/// The entries under each item scope of the fan-out recorded under `key`, by item key (escaped),
/// each with its key after the item's scope.
pub(crate) fn item_scopes<'a>(
    state: &'a ResumeState,
    key: &str,
) -> BTreeMap<&'a str, Vec<(&'a str, &'a StepEntry)>> {
    let mut scopes: BTreeMap<&str, Vec<(&str, &StepEntry)>> = BTreeMap::new();
    let open = format!("{key}[");
    for (other, entry) in state.iter() {
        let Some(after) = other.strip_prefix(open.as_str()) else {
            continue;
        };
        // An escaped item key holds no `]`: the first `]/` closes the item's scope.
        if let Some((item, rest)) = after.split_once("]/") {
            scopes.entry(item).or_default().push((rest, entry));
        }
    }
    scopes
}

/// Does `entry` wait for something outside the run (at `now_ms`)?
pub(crate) fn waits(state: &ResumeState, entry: &StepEntry, now_ms: u64) -> bool {
    if let Some(wake_at) = entry.sleep_until() {
        return wake_at > now_ms;
    }
    if let Some(hook_id) = entry.created_hook_id() {
        // A created hook (or a child) waits until its payload is recorded under `hook:<id>`.
        return state
            .get(&format!("{HOOK_KEY_PREFIX}{hook_id}"))
            .is_none_or(|payload| payload.pending_hook().is_some());
    }
    let kind = entry.error_type();
    matches!(kind, Some("PENDING_HOOK" | "PENDING_APPROVAL"))
}
