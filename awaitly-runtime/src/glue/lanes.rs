//! Lanes: the parts of a run's body that can make progress on their own. A straight-line body is
//! one lane; a `join!` hands its lane to its branches while they run, a fan-out to its items in
//! flight. A site that must wait for something outside the run (a hook's payload, a decision, the
//! end of a sleep) *parks* its lane. The run suspends when every lane is parked — one branch
//! waiting at a hook does not stop its siblings — and stops at once when a site reports that the
//! state does not fit the code.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use super::context::{Context, Halt, RunProgress};
use crate::entry::StepEntry;
use crate::outcome::Suspension;

impl Context {
    /// What the body awaits after a site reported a halt: parks the site's lane (a suspension) or
    /// waits to be dropped (a stop). Never completes.
    pub fn halt(&self) -> Parked {
        let mut run = self.lock();
        let ticket = match run.halt.take() {
            // A cancelled run waits for nothing: it stops where it would have waited.
            Some(Halt::Suspended(_)) if run.cancelled.is_some() => {
                run.halt = Some(Halt::Cancelled);
                None
            }
            Some(Halt::Suspended(suspension)) => {
                run.next_park += 1;
                let ticket = run.next_park;
                run.parked.push((ticket, suspension));
                Some(ticket)
            }
            stop @ Some(Halt::Stopped(_) | Halt::Cancelled) => {
                run.halt = stop;
                None
            }
            None => None,
        };
        Parked {
            context: self.clone(),
            ticket,
        }
    }

    /// Hands the current lane to `branches` new ones (a `join!`, a race, a fan-out); the guard
    /// gives it back when dropped.
    #[must_use]
    pub fn split(&self, branches: usize) -> Split {
        let mut run = self.lock();
        run.lanes = run.lanes + branches - 1;
        Split {
            context: self.clone(),
            open: branches,
        }
    }
}

/// A parked site: pending until dropped (the run suspends or stops, or a race drops its branch).
#[derive(Debug)]
#[must_use = "a parked site must be awaited"]
pub struct Parked {
    context: Context,
    ticket: Option<u64>,
}

impl Future for Parked {
    type Output = std::convert::Infallible;

    fn poll(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Self::Output> {
        Poll::Pending
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket else {
            return;
        };
        let mut run = self.context.lock();
        let Some(at) = run.parked.iter().position(|(parked, _)| *parked == ticket) else {
            return;
        };
        let (_, suspension) = run.parked.remove(at);
        // A race's loser, a branch or an item dropped at a failure: its hook will never be read.
        // Recorded, so a late delivery is refused instead of stored for nobody.
        if !run.ending
            && let Suspension::Hook(pending) = suspension
            && let Ok(entry) = StepEntry::err(&serde_json::json!({
                "type": HOOK_ABANDONED,
                "hookId": pending.hook_id,
            }))
        {
            run.state.insert(pending.step_key, entry);
        }
    }
}

/// The `type` of the error recorded for a hook whose branch was let go before it was delivered
/// (the loser of a `race!`, a branch of `try_all!` or an item of `try_fan_out!` dropped at the
/// first error): a late delivery to it is refused.
///
/// ```
/// assert_eq!(awaitly::HOOK_ABANDONED, "HOOK_ABANDONED");
/// ```
pub const HOOK_ABANDONED: &str = "HOOK_ABANDONED";

/// The lanes of a split: each branch that ends or is dropped closes its lane; the split itself
/// closes the rest and gives the parent its lane back.
#[derive(Debug)]
pub struct Split {
    context: Context,
    open: usize,
}

impl Split {
    /// One branch ended: its lane closes.
    pub fn close_one(&mut self) {
        if self.open > 0 {
            self.open -= 1;
            self.context.lock().lanes -= 1;
        }
    }

    /// A fan-out started one more item: it gets a lane.
    pub fn open_one(&mut self) {
        self.open += 1;
        self.context.lock().lanes += 1;
    }
}

impl Drop for Split {
    fn drop(&mut self) {
        let mut run = self.context.lock();
        run.lanes = run.lanes + 1 - self.open;
    }
}

impl RunProgress {
    /// Why the body cannot go on, once polling it returned `Pending`: a stop, or a suspension
    /// when every lane is parked (the first parked site's, or all of them when several are).
    pub(crate) fn blocked(&mut self) -> Option<Halt> {
        match self.halt.take() {
            Some(halt @ (Halt::Stopped(_) | Halt::Cancelled)) => return Some(halt),
            other => self.halt = other,
        }
        if self.parked.is_empty() || self.parked.len() < self.lanes {
            return None;
        }
        let mut suspensions: Vec<Suspension> = self
            .parked
            .iter()
            .map(|(_, suspension)| suspension.clone())
            .collect();
        Some(Halt::Suspended(if suspensions.len() == 1 {
            suspensions.remove(0)
        } else {
            Suspension::Several(suspensions)
        }))
    }
}
