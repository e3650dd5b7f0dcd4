//! Durable sleep: a `sleep!` site records when it ends, so a resumed run before that time stays
//! suspended (and says when it is due) and a run after it goes on without sleeping again — a crash
//! mid-sleep never restarts the full duration.

use std::time::Duration;

use super::context::{Context, Halt};
use crate::clock::millis;
use crate::entry::StepEntry;
use crate::error::RunError;
use crate::outcome::Suspension;
use crate::site::SiteKind;

impl Context {
    /// A `sleep!` site: `true` when the wake-up time has passed (go on), `false` when the run
    /// halts until then (the body must await [`halt`](crate::__private::halt)).
    #[must_use]
    pub fn sleep(
        &self,
        site: usize,
        item: Option<&dyn std::fmt::Display>,
        duration: Duration,
    ) -> bool {
        let mut run = self.lock();
        let key = run.next_key(self.description, self.scope.as_deref(), site, item);
        let now = run.options.clock().now_ms();
        let wake_at_ms = match run.state.get(&key) {
            None => {
                let wake_at = now.saturating_add(millis(duration));
                run.state.insert(key.clone(), StepEntry::sleep(wake_at));
                wake_at
            }
            Some(entry) => {
                if let Some(wake_at) = entry.sleep_until() {
                    wake_at
                } else {
                    run.halt = Some(Halt::Stopped(RunError::KindMismatch {
                        key: key.into_owned(),
                        recorded: SiteKind::Step,
                        reached: SiteKind::Sleep,
                    }));
                    return false;
                }
            }
        };
        if wake_at_ms <= now {
            return true;
        }
        run.halt = Some(Halt::Suspended(Suspension::Sleep {
            key: key.into_owned(),
            wake_at_ms,
        }));
        false
    }
}
