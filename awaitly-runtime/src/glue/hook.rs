//! What an `await_hook!` site does: find (or create) its hook, then hand over the injected payload,
//! report a timeout, or suspend the run.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::context::{Context, Halt, Payload, RunProgress};
use crate::clock::millis;
use crate::entry::StepEntry;
use crate::error::{Cause, RunError};
use crate::event::Event;
use crate::hook::{HookId, HookTimeout, MaybePendingHook, PendingHook, hook_step_key};
use crate::outcome::Suspension;

/// Which hook an `await_hook!` site waits for.
#[derive(Debug)]
pub enum HookTarget {
    /// A hook made before the run; its id came in as an argument.
    ById(HookId),
    /// A hook created by this site on first execution; its id is recorded and reused by replays.
    Created {
        /// The per-item part of the site's key, if the site takes one.
        item: Option<String>,
    },
}

/// Hook or approval metadata: kept as JSON with the pending record.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be hook metadata: it must implement `serde::Serialize`",
    label = "metadata is kept as JSON with the pending hook",
    note = "derive it: `#[derive(serde::Serialize)]`, or pass a `serde_json::json!` value"
)]
pub trait Metadata: Serialize {}

impl<T: Serialize + ?Sized> Metadata for T {}

/// Serialises `await_hook!`'s `metadata = …`.
///
/// # Errors
///
/// When the metadata cannot be written as JSON.
pub fn encode_metadata<M: Metadata + ?Sized>(
    metadata: &M,
) -> Result<Option<Value>, serde_json::Error> {
    serde_json::to_value(metadata).map(Some)
}

/// How one `await_hook!` execution ended.
pub(super) enum Wait<T> {
    Payload(T),
    TimedOut(HookTimeout),
    Halt,
}

impl Context {
    /// Waits for a hook's payload: `Some` when it was injected, `None` when the run halts (the
    /// body must then await [`halt`](crate::__private::halt)).
    pub fn await_hook<T: Payload>(
        &self,
        site: usize,
        target: HookTarget,
        metadata: impl FnOnce() -> Result<Option<Value>, serde_json::Error>,
    ) -> Option<T> {
        match self.wait_for_hook(site, target, None, metadata) {
            Wait::Payload(payload) => Some(payload),
            // Without a timeout at this site nothing can time out; a recorded timeout from code
            // that had one is a failed hook for this code.
            Wait::TimedOut(timeout) => {
                self.lock().halt = Some(Halt::Stopped(RunError::HookFailed {
                    hook_id: timeout.hook_id,
                }));
                None
            }
            Wait::Halt => None,
        }
    }

    /// [`await_hook`](Self::await_hook) with a deadline `timeout` after the hook first waits:
    /// `Some(Err(_))` once the deadline has passed without a payload.
    pub fn await_hook_with_timeout<T: Payload>(
        &self,
        site: usize,
        target: HookTarget,
        timeout: Duration,
        metadata: impl FnOnce() -> Result<Option<Value>, serde_json::Error>,
    ) -> Option<Result<T, HookTimeout>> {
        match self.wait_for_hook(site, target, Some(timeout), metadata) {
            Wait::Payload(payload) => Some(Ok(payload)),
            Wait::TimedOut(timeout) => Some(Err(timeout)),
            Wait::Halt => None,
        }
    }

    pub(super) fn wait_for_hook<T: DeserializeOwned>(
        &self,
        site: usize,
        target: HookTarget,
        timeout: Option<Duration>,
        metadata: impl FnOnce() -> Result<Option<Value>, serde_json::Error>,
    ) -> Wait<T> {
        let mut run = self.lock();
        let hook_id = match target {
            HookTarget::ById(hook_id) => hook_id,
            HookTarget::Created { item } => {
                let item = item.as_ref().map(|item| item as &dyn std::fmt::Display);
                let key = run.next_key(self.description, self.scope.as_deref(), site, item);
                match run.created_hook(&key) {
                    Ok(hook_id) => hook_id,
                    Err(error) => {
                        run.halt = Some(Halt::Stopped(error));
                        return Wait::Halt;
                    }
                }
            }
        };
        let key = hook_step_key(&hook_id);
        let now = run.options.clock().now_ms();
        let Some(entry) = run.state.get(&key) else {
            let halt = match metadata() {
                Ok(metadata) => {
                    let pending = PendingHook {
                        hook_id,
                        step_key: key.clone(),
                        metadata,
                        deadline_ms: timeout.map(|timeout| now.saturating_add(millis(timeout))),
                        requested_at_ms: Some(now),
                    };
                    run.state.insert(key, StepEntry::pending(&pending));
                    run.emit(|| Event::HookPending {
                        hook: pending.clone(),
                    });
                    Halt::Suspended(Suspension::Hook(pending))
                }
                Err(error) => Halt::Stopped(RunError::Encode {
                    key,
                    message: error.to_string(),
                    source: Cause::new(error),
                }),
            };
            run.halt = Some(halt);
            return Wait::Halt;
        };
        if let Some(pending) = entry.pending_hook() {
            if let Some(deadline_ms) = pending.deadline_ms.filter(|deadline| *deadline <= now) {
                return record_timeout(
                    &mut run,
                    key,
                    HookTimeout {
                        hook_id,
                        deadline_ms,
                    },
                );
            }
            run.halt = Some(Halt::Suspended(Suspension::Hook(pending)));
            return Wait::Halt;
        }
        if let Some(payload) = entry.value_json() {
            return match serde_json::from_str(payload) {
                Ok(payload) => {
                    // Read: the pending record kept for a malformed payload is no longer needed.
                    if let Some(plain) = entry.without_delivery() {
                        run.state.insert(key, plain);
                    }
                    run.emit(|| Event::HookDelivered { hook_id });
                    Wait::Payload(payload)
                }
                Err(error) => {
                    // Put the hook back to pending, so a corrected delivery can still resolve it
                    // and a persisted state holds no payload of the wrong shape. The pending
                    // record the payload replaced comes back as it was: a malformed delivery
                    // never moves the deadline. Only a payload that arrived without it (injected
                    // by awaitly) gets a fresh record.
                    let pending = entry
                        .delivered_to()
                        .cloned()
                        .unwrap_or_else(|| PendingHook {
                            hook_id: hook_id.clone(),
                            step_key: key.clone(),
                            metadata: metadata().ok().flatten(),
                            deadline_ms: timeout.map(|timeout| now.saturating_add(millis(timeout))),
                            requested_at_ms: Some(now),
                        });
                    run.state.insert(key, StepEntry::pending(&pending));
                    run.halt = Some(Halt::Stopped(RunError::DecodePayload {
                        hook_id,
                        expected: std::any::type_name::<T>(),
                        message: error.to_string(),
                        source: Cause::new(error),
                    }));
                    Wait::Halt
                }
            };
        }
        if let Some(timeout) = entry
            .error()
            .and_then(|error| HookTimeout::deserialize(error).ok())
        {
            return Wait::TimedOut(timeout);
        }
        run.halt = Some(Halt::Stopped(RunError::HookFailed { hook_id }));
        Wait::Halt
    }
}

/// Records that the hook timed out, so replays see the same timeout and late deliveries are refused.
fn record_timeout<T>(run: &mut RunProgress, key: String, timeout: HookTimeout) -> Wait<T> {
    match StepEntry::err(&timeout) {
        Ok(entry) => {
            run.state.insert(key, entry);
            Wait::TimedOut(timeout)
        }
        Err(error) => {
            run.halt = Some(Halt::Stopped(RunError::Encode {
                key,
                message: error.to_string(),
                source: Cause::new(error),
            }));
            Wait::Halt
        }
    }
}
