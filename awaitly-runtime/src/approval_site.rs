//! What an `await_approval!` site does: hand over the decided value, report a rejection or an
//! expiry, or suspend the run until someone decides.

use serde::Deserialize as _;
use serde_json::Value;

use crate::approval::{ApprovalError, PendingApproval, pending_at};
use crate::entry::StepEntry;

impl crate::context::Context {
    /// An `await_approval!` site: `Some(Ok(value))` once approved, `Some(Err(_))` once rejected or
    /// expired, `None` when the run halts waiting for a decision (the body must then await
    /// [`halt`](crate::__private::halt)).
    pub fn await_approval<T: crate::context::Payload>(
        &self,
        key: String,
        reason: Option<String>,
        timeout: Option<std::time::Duration>,
        metadata: impl FnOnce() -> Result<Option<Value>, serde_json::Error>,
    ) -> Option<Result<T, ApprovalError>> {
        use crate::context::Halt;
        use crate::error::RunError;
        use crate::event::Event;
        use crate::workflow::Suspension;

        let mut run = self.lock();
        let now = run.options.clock().now_millis();
        let stop = |run: &mut crate::context::RunProgress, error: RunError| {
            run.halt = Some(Halt::Stopped(error));
            None
        };
        let Some(entry) = run.state.get(&key) else {
            let metadata = match metadata() {
                Ok(metadata) => metadata,
                Err(error) => {
                    return stop(
                        &mut run,
                        RunError::Encode {
                            key,
                            message: error.to_string(),
                        },
                    );
                }
            };
            let pending = PendingApproval {
                step_key: key.clone(),
                reason,
                metadata,
                deadline_millis: timeout
                    .map(|timeout| now.saturating_add(crate::clock::millis(timeout))),
                requested_at_millis: Some(now),
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
                    },
                ),
            };
        }
        if let Some(pending) = pending_at(&run.state, &key) {
            if let Some(deadline_millis) =
                pending.deadline_millis.filter(|deadline| *deadline <= now)
            {
                let expired = ApprovalError::Expired {
                    key: key.clone(),
                    deadline_millis,
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
                recorded: crate::site::SiteKind::Step,
                reached: crate::site::SiteKind::Approval,
            },
        )
    }
}
