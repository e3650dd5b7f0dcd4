//! Delivering a callback's payload into a resume state, and finding the hooks a state waits for.

use serde::{Deserialize as _, Serialize};

use crate::entry::StepEntry;
use crate::error::InjectError;
use crate::hook::{HookId, HookTimeout, MaybePendingHook, PendingHook, hook_step_key};
use crate::key::HOOK_KEY_PREFIX;
use crate::state::ResumeState;

/// Does `state` hold a pending hook for `hook_id`, waiting for its payload?
///
/// ```
/// use awaitly::{ResumeState, StepEntry, has_pending_hook, pending_hook};
/// let mut state = ResumeState::new();
/// state.insert("hook:h1", StepEntry::pending(&pending_hook("h1".into(), Default::default())));
/// assert!(has_pending_hook(&state, &"h1".into()));
/// assert!(!has_pending_hook(&state, &"h2".into()));
/// ```
#[must_use]
pub fn has_pending_hook(state: &ResumeState, hook_id: &HookId) -> bool {
    state
        .get(&hook_step_key(hook_id))
        .and_then(MaybePendingHook::pending_hook)
        .is_some_and(|pending| pending.hook_id == *hook_id)
}

/// The hooks `state` is waiting on, in the order they were reached, with their metadata.
///
/// Only entries under their own `"hook:" + id` key count, so this list and [`has_pending_hook`]
/// always agree (awaitly's two functions can disagree).
///
/// ```
/// use awaitly::{ResumeState, StepEntry, get_pending_hooks, pending_hook};
/// let mut state = ResumeState::new();
/// state.insert("load", StepEntry::ok(&1).unwrap());
/// state.insert("hook:h1", StepEntry::pending(&pending_hook("h1".into(), Default::default())));
/// let ids: Vec<_> = get_pending_hooks(&state).into_iter().map(|hook| hook.hook_id).collect();
/// assert_eq!(ids, ["h1".into()]);
/// ```
#[must_use]
pub fn get_pending_hooks(state: &ResumeState) -> Vec<PendingHook> {
    state
        .iter()
        .filter(|(key, _)| key.starts_with(HOOK_KEY_PREFIX))
        .filter_map(|(key, entry)| {
            entry
                .pending_hook()
                .filter(|pending| pending.step_key == key)
        })
        .collect()
}

/// Returns a **new** state in which the pending hook `hook_id` holds `payload`; `state` is untouched.
/// Deadlines are checked against the state's [`clock`](ResumeState::clock).
///
/// Validated, unlike awaitly's: an id the state does not wait on is [`InjectError::UnknownHook`];
/// injecting the payload already recorded is an idempotent success; a different payload into a
/// resolved hook is [`InjectError::AlreadyResolved`].
///
/// ```
/// use awaitly::{InjectError, ResumeState, StepEntry, inject_hook, pending_hook};
/// use serde_json::json;
///
/// let mut state = ResumeState::new();
/// state.insert("hook:h1", StepEntry::pending(&pending_hook("h1".into(), Default::default())));
///
/// let resolved = inject_hook(&state, &"h1".into(), &json!({ "paid": true })).unwrap();
/// assert!(awaitly::has_pending_hook(&state, &"h1".into()), "the input state is untouched");
/// assert!(!awaitly::has_pending_hook(&resolved, &"h1".into()));
///
/// // The same payload again is fine; another one is refused.
/// assert!(inject_hook(&resolved, &"h1".into(), &json!({ "paid": true })).is_ok());
/// assert!(matches!(
///     inject_hook(&resolved, &"h1".into(), &json!({ "paid": false })),
///     Err(InjectError::AlreadyResolved { .. })
/// ));
/// assert!(matches!(
///     inject_hook(&state, &"nope".into(), &json!(1)),
///     Err(InjectError::UnknownHook { .. })
/// ));
/// ```
///
/// # Errors
///
/// [`InjectError`] when the hook is unknown, already resolved with another payload, recorded as
/// failed, or when `payload` cannot be serialised to JSON.
pub fn inject_hook<P: Serialize + ?Sized>(
    state: &ResumeState,
    hook_id: &HookId,
    payload: &P,
) -> Result<ResumeState, InjectError> {
    let mut next = state.clone();
    next.inject_hook(hook_id, payload)?;
    Ok(next)
}

impl ResumeState {
    /// [`inject_hook`] in place: resolves the pending hook `hook_id` in this state with `payload`.
    /// A deadline is checked against the state's [`clock`](Self::clock): the one of the run that
    /// returned the state (see [Time](ResumeState#time)).
    ///
    /// ```
    /// use awaitly::{ResumeState, StepEntry, pending_hook};
    /// let mut state = ResumeState::new();
    /// state.insert("hook:h1", StepEntry::pending(&pending_hook("h1".into(), Default::default())));
    /// state.inject_hook(&"h1".into(), &42).unwrap();
    /// assert_eq!(state.get("hook:h1").unwrap().value_json(), Some("42"));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`inject_hook`]; on error the state is unchanged.
    pub fn inject_hook<P: Serialize + ?Sized>(
        &mut self,
        hook_id: &HookId,
        payload: &P,
    ) -> Result<(), InjectError> {
        self.inject_hook_at(hook_id, payload, self.clock().now_ms())
    }

    /// [`inject_hook`](Self::inject_hook) at the time `now_ms` (milliseconds since the Unix
    /// epoch, e.g. from a [`Clock`](crate::Clock)) instead of the state's clock: a hook whose
    /// deadline is not after `now_ms` is expired.
    ///
    /// ```
    /// use awaitly::{InjectError, PendingHookOptions, ResumeState, StepEntry, pending_hook};
    /// let options = PendingHookOptions { deadline_ms: Some(1_000), ..Default::default() };
    /// let mut state = ResumeState::new();
    /// state.insert("hook:h1", StepEntry::pending(&pending_hook("h1".into(), options)));
    /// assert!(matches!(state.inject_hook_at(&"h1".into(), &1, 1_000), Err(InjectError::Expired { .. })));
    /// assert!(state.inject_hook_at(&"h1".into(), &1, 999).is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// As [`inject_hook`], plus [`InjectError::Expired`].
    pub fn inject_hook_at<P: Serialize + ?Sized>(
        &mut self,
        hook_id: &HookId,
        payload: &P,
        now_ms: u64,
    ) -> Result<(), InjectError> {
        let key = hook_step_key(hook_id);
        let Some(entry) = self.get(&key) else {
            return Err(InjectError::UnknownHook {
                hook_id: hook_id.clone(),
            });
        };
        if self.contains_key(crate::cancel::CANCEL_KEY) {
            return Err(InjectError::Cancelled {
                hook_id: hook_id.clone(),
            });
        }
        if let Some(pending) = entry.pending_hook() {
            if pending
                .deadline_ms
                .is_some_and(|deadline| deadline <= now_ms)
            {
                return Err(InjectError::Expired {
                    hook_id: hook_id.clone(),
                });
            }
            let payload =
                crate::finite::to_raw_value(payload).map_err(|source| InjectError::Encode {
                    hook_id: hook_id.clone(),
                    source,
                })?;
            // The pending record stays with the payload: should the workflow not decode it, the
            // hook waits again exactly as before (same request time, same deadline).
            self.insert(key, StepEntry::delivered(payload, pending));
            return Ok(());
        }
        if entry.is_ok() {
            let payload =
                crate::finite::to_value(payload).map_err(|source| InjectError::Encode {
                    hook_id: hook_id.clone(),
                    source,
                })?;
            return if entry.value_equals(&payload) {
                Ok(())
            } else {
                Err(InjectError::AlreadyResolved {
                    hook_id: hook_id.clone(),
                })
            };
        }
        if entry
            .error()
            .and_then(|error| HookTimeout::deserialize(error).ok())
            .is_some()
        {
            return Err(InjectError::Expired {
                hook_id: hook_id.clone(),
            });
        }
        Err(InjectError::NotPending {
            hook_id: hook_id.clone(),
        })
    }
}
