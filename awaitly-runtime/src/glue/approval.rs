//! What an `await_approval!` site does: hand over the decided value, report a rejection or an
//! expiry, or suspend the run until someone decides.

use serde::Deserialize as _;
use serde_json::Value;

use super::context::{Context, Halt, Payload, RunProgress};
use crate::approval::{ApprovalError, PendingApproval, pending_at};
use crate::compat::parse_key;
use crate::entry::StepEntry;
use crate::error::{Cause, RunError};
use crate::event::Event;
use crate::key::HOOK_KEY_PREFIX;
use crate::outcome::Suspension;
use crate::site::SiteKind;

impl Context {
    /// An `await_approval!` site: `Some(Ok(value))` once approved, `Some(Err(_))` once rejected or
    /// expired, `None` when the run halts waiting for a decision (the body must then await
    /// [`halt`](crate::__private::halt)).
    ///
    /// The key must be the approval's own: a key that a step, created hook or sleep of the
    /// workflow also produces, a `hook:` key, or a key another approval of this run already used
    /// stops the run ([`RunError::ApprovalKeyTaken`], [`RunError::RepeatedApprovalKey`]) before
    /// anything is read or recorded under it.
    pub fn await_approval<T: Payload>(
        &self,
        key: String,
        reason: Option<String>,
        timeout: Option<std::time::Duration>,
        metadata: impl FnOnce() -> Result<Option<Value>, serde_json::Error>,
    ) -> Option<Result<T, ApprovalError>> {
        let mut run = self.lock();
        if let Some(error) = key_conflict(self, &mut run, &key) {
            return stop(&mut run, error);
        }
        let now = run.options.clock().now_ms();
        let Some(entry) = run.state.get(&key) else {
            let metadata = match metadata() {
                Ok(metadata) => metadata,
                Err(error) => {
                    return stop(
                        &mut run,
                        RunError::Encode {
                            key,
                            message: error.to_string(),
                            source: Cause::new(error),
                        },
                    );
                }
            };
            let pending = PendingApproval {
                step_key: key.clone(),
                reason,
                metadata,
                deadline_ms: timeout
                    .map(|timeout| now.saturating_add(crate::clock::millis(timeout))),
                requested_at_ms: Some(now),
            };
            run.state.insert(key, StepEntry::pending_approval(&pending));
            run.emit(|| Event::ApprovalRequested {
                approval: pending.clone(),
            });
            run.halt = Some(Halt::Suspended(Suspension::Approval(pending)));
            return None;
        };
        if let Some(value) = entry.value_json() {
            let decoded = serde_json::from_str(value);
            return match decoded {
                Ok(value) => {
                    run.emit(|| Event::ApprovalResolved {
                        key,
                        approved: true,
                    });
                    Some(Ok(value))
                }
                Err(error) => stop(
                    &mut run,
                    RunError::DecodeValue {
                        key,
                        expected: std::any::type_name::<T>(),
                        message: error.to_string(),
                        source: Cause::new(error),
                    },
                ),
            };
        }
        if let Some(pending) = pending_at(&run.state, &key) {
            if let Some(deadline_ms) = pending.deadline_ms.filter(|deadline| *deadline <= now) {
                let expired = ApprovalError::Expired {
                    key: key.clone(),
                    deadline_ms,
                };
                if let Ok(entry) = StepEntry::err(&expired) {
                    run.state.insert(key.clone(), entry);
                }
                run.emit(|| Event::ApprovalResolved {
                    key,
                    approved: false,
                });
                return Some(Err(expired));
            }
            run.halt = Some(Halt::Suspended(Suspension::Approval(pending)));
            return None;
        }
        if let Some(decided) = entry
            .error()
            .and_then(|error| ApprovalError::deserialize(error).ok())
        {
            run.emit(|| Event::ApprovalResolved {
                key,
                approved: false,
            });
            return Some(Err(decided));
        }
        stop(
            &mut run,
            RunError::KindMismatch {
                key,
                recorded: SiteKind::Step,
                reached: SiteKind::Approval,
            },
        )
    }
}

fn stop<T>(run: &mut RunProgress, error: RunError) -> Option<T> {
    run.halt = Some(Halt::Stopped(error));
    None
}

/// Why `key` cannot be this approval's: a step, created hook or sleep of the workflow produces it
/// (so the two would read each other's entries), it is a hook's payload key, or an approval of this
/// run already used it (the second would read the first one's decision). Marks `key` used.
fn key_conflict(context: &Context, run: &mut RunProgress, key: &str) -> Option<RunError> {
    if key.starts_with(HOOK_KEY_PREFIX) {
        return Some(RunError::ApprovalKeyTaken {
            key: key.to_owned(),
            site: SiteKind::HookById,
        });
    }
    let (label, per_item) = parse_key(key);
    let taken = context.description().sites.iter().find(|site| {
        matches!(
            site.kind,
            SiteKind::Step | SiteKind::CreatedHook | SiteKind::Sleep | SiteKind::Child
        ) && site.key == label
            && site.per_item == per_item
    });
    if let Some(site) = taken {
        return Some(RunError::ApprovalKeyTaken {
            key: key.to_owned(),
            site: site.kind,
        });
    }
    if !run.reach_approval(key) {
        return Some(RunError::RepeatedApprovalKey {
            key: key.to_owned(),
        });
    }
    None
}
