//! Callback hooks: ids, pending hooks, timeouts. Delivering a payload into a state is in
//! [`delivery`](crate::delivery).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::key::HOOK_KEY_PREFIX;

/// The id of a callback hook: the part of the callback URL that says which suspended run to resume.
///
/// Ids made by [`create_hook`] (or minted by `await_hook!` inside a workflow) are 128 random bits
/// from the operating system's random source, written as 32 lowercase hex digits: whoever knows
/// the id can deliver to the hook, so it must not be guessable.
///
/// ```
/// let id = awaitly::HookId::from("pay_123");
/// assert_eq!(id.as_str(), "pay_123");
/// assert_eq!(id.to_string(), "pay_123");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HookId(String);

impl HookId {
    /// A fresh random hook id: 128 bits from the OS random source, as 32 hex digits.
    ///
    /// # Panics
    ///
    /// When the operating system's random source fails (then no id could be safe).
    ///
    /// ```
    /// let id = awaitly::HookId::random();
    /// assert_eq!(id.as_str().len(), 32);
    /// assert!(id.as_str().chars().all(|c| c.is_ascii_hexdigit()));
    /// assert_ne!(id, awaitly::HookId::random());
    /// ```
    #[must_use]
    pub fn random() -> Self {
        Self(random_hex_128())
    }

    /// The id as text, e.g. to build a callback URL.
    ///
    /// ```
    /// let id = awaitly::HookId::from("h1");
    /// assert_eq!(format!("/hooks/{}", id.as_str()), "/hooks/h1");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The step key this hook's payload is recorded under: `"hook:" + id`.
    ///
    /// ```
    /// assert_eq!(awaitly::HookId::from("h1").step_key(), "hook:h1");
    /// ```
    #[must_use]
    pub fn step_key(&self) -> String {
        hook_step_key(self)
    }
}

impl fmt::Display for HookId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl From<&str> for HookId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl From<String> for HookId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl AsRef<str> for HookId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// 128 random bits from the OS random source, as 32 hex digits.
fn random_hex_128() -> String {
    use std::fmt::Write as _;
    let mut random = [0u8; 16];
    // As uuid's `new_v4` did: an id that could be guessed must not be made, and a
    // system without a random source cannot make any.
    getrandom::fill(&mut random).expect("the operating system's random source failed");
    let mut hex = String::with_capacity(32);
    for byte in random {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The step key of a hook: [`HOOK_KEY_PREFIX`] followed by the id.
///
/// ```
/// assert_eq!(awaitly::hook_step_key(&"h1".into()), "hook:h1");
/// ```
#[must_use]
pub fn hook_step_key(hook_id: &HookId) -> String {
    let mut key = String::with_capacity(HOOK_KEY_PREFIX.len() + hook_id.0.len());
    key.push_str(HOOK_KEY_PREFIX);
    key.push_str(&hook_id.0);
    key
}

/// A hook made before a run, as returned by [`create_hook`]: its id and its step key.
///
/// ```
/// let hook = awaitly::create_hook();
/// assert_eq!(hook.step_key, format!("hook:{}", hook.hook_id));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedHook {
    /// The id to put in the callback URL and to pass to the workflow's `await_hook!`.
    pub hook_id: HookId,
    /// `"hook:" + hook_id`, the key the hook's payload is recorded under.
    pub step_key: String,
}

/// Makes a new hook id (and its step key) to pass into a workflow and into the callback URL.
///
/// ```
/// let first = awaitly::create_hook();
/// let second = awaitly::create_hook();
/// assert_ne!(first.hook_id, second.hook_id);
/// assert!(first.step_key.starts_with(awaitly::HOOK_KEY_PREFIX));
/// ```
#[must_use]
pub fn create_hook() -> CreatedHook {
    let hook_id = HookId::random();
    let step_key = hook_step_key(&hook_id);
    CreatedHook { hook_id, step_key }
}

/// A hook the run is waiting on: what suspends a run and what is recorded in the state until a
/// payload is injected.
///
/// Its JSON form is awaitly's: `{"type":"PENDING_HOOK","hookId":…,"stepKey":…,"metadata":…}`.
///
/// ```
/// let pending = awaitly::pending_hook("h1".into(), awaitly::PendingHookOptions::default());
/// assert_eq!(
///     serde_json::to_value(&pending).unwrap(),
///     serde_json::json!({ "type": "PENDING_HOOK", "hookId": "h1", "stepKey": "hook:h1" })
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "PENDING_HOOK", rename_all = "camelCase")]
pub struct PendingHook {
    /// The hook to deliver the callback to.
    pub hook_id: HookId,
    /// `"hook:" + hook_id`.
    pub step_key: String,
    /// What the workflow attached when it suspended (order id, source, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// When the hook stops accepting payloads, in milliseconds since the Unix epoch
    /// (`await_hook!(…, timeout = …)`); JSON field `deadline`, which awaitly ignores.
    #[serde(default, rename = "deadline", skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// When the run began waiting, in milliseconds since the Unix epoch (to show its age); JSON
    /// field `requestedAt`.
    #[serde(
        default,
        rename = "requestedAt",
        skip_serializing_if = "Option::is_none"
    )]
    pub requested_at_ms: Option<u64>,
}

/// Options of [`pending_hook`].
///
/// ```
/// let options = awaitly::PendingHookOptions {
///     metadata: Some(serde_json::json!({ "orderId": "ord_123" })),
///     ..Default::default()
/// };
/// let pending = awaitly::pending_hook("h1".into(), options);
/// assert_eq!(pending.metadata.unwrap()["orderId"], "ord_123");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PendingHookOptions {
    /// Metadata kept with the pending hook, for logging and for whoever lists pending hooks.
    pub metadata: Option<Value>,
    /// When the hook stops accepting payloads, in milliseconds since the Unix epoch.
    pub deadline_ms: Option<u64>,
}

/// The pending-hook record for `hook_id`, as `await_hook!` stores it when a run suspends.
///
/// ```
/// let pending = awaitly::pending_hook("X".into(), Default::default());
/// assert_eq!(pending.hook_id.as_str(), "X");
/// assert_eq!(pending.step_key, "hook:X");
/// assert!(awaitly::is_pending_hook(&pending));
/// ```
#[must_use]
pub fn pending_hook(hook_id: HookId, options: PendingHookOptions) -> PendingHook {
    PendingHook {
        step_key: hook_step_key(&hook_id),
        hook_id,
        metadata: options.metadata,
        deadline_ms: options.deadline_ms,
        requested_at_ms: None,
    }
}

/// Things that may be, or may hold, a pending hook: see [`is_pending_hook`].
pub trait MaybePendingHook {
    /// The pending hook this value stands for, if any.
    fn pending_hook(&self) -> Option<PendingHook>;
}

impl MaybePendingHook for PendingHook {
    fn pending_hook(&self) -> Option<PendingHook> {
        Some(self.clone())
    }
}

impl MaybePendingHook for Value {
    fn pending_hook(&self) -> Option<PendingHook> {
        if self.get("type").and_then(Value::as_str) != Some("PENDING_HOOK") {
            return None;
        }
        PendingHook::deserialize(self).ok()
    }
}

/// Is this a pending hook (or a suspension at one)?
///
/// Accepts a [`PendingHook`], a [`Suspension`](crate::Suspension), a run's [`Outcome`](crate::Outcome), a recorded [`StepEntry`](crate::StepEntry) or a
/// JSON error value such as awaitly's `{"type":"PENDING_HOOK",…}`.
///
/// ```
/// use serde_json::json;
/// assert!(awaitly::is_pending_hook(&json!({ "type": "PENDING_HOOK", "hookId": "h", "stepKey": "hook:h" })));
/// assert!(!awaitly::is_pending_hook(&json!({ "type": "PENDING_APPROVAL", "stepKey": "a" })));
/// assert!(!awaitly::is_pending_hook(&json!("a string")));
/// ```
#[must_use]
pub fn is_pending_hook<V: MaybePendingHook + ?Sized>(value: &V) -> bool {
    value.pending_hook().is_some()
}

/// A hook's deadline passed before a payload arrived: what `await_hook!(…, timeout = …)` returns,
/// and what stays recorded under the hook's key (`{"type":"HOOK_TIMEOUT",…}`) so every replay sees
/// the same timeout.
///
/// ```
/// let timeout = awaitly::HookTimeout { hook_id: "h1".into(), deadline_ms: 5 };
/// assert_eq!(
///     timeout.to_string(),
///     "hook `h1` timed out: no payload arrived before its deadline (5 ms after the Unix epoch)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "type", rename = "HOOK_TIMEOUT", rename_all = "camelCase")]
#[error(
    "hook `{hook_id}` timed out: no payload arrived before its deadline ({deadline_ms} ms after the Unix epoch)"
)]
pub struct HookTimeout {
    /// The hook.
    pub hook_id: HookId,
    /// When it expired, in milliseconds since the Unix epoch.
    #[serde(rename = "deadline")]
    pub deadline_ms: u64,
}
