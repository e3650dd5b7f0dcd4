//! The glue `#[workflow]`'s generated code calls (reached through `__private`, not public API):
//! the per-run [`Context`] and what each kind of site does with it — replay or execute a step
//! (`context`), retry and time out its attempts (`retry`), wait for a hook (`hook`) or an approval
//! (`approval`), sleep (`sleep`).
//!
//! It is built on the public concepts (state, entry, hook, approval, policy, outcome), which never
//! import it; only the [`Workflow`](crate::Workflow) runner sits above it.

mod approval;
mod checkpoint;
mod child;
mod compensate;
mod context;
mod hook;
mod lanes;
mod parallel;
mod retry;
mod scope;
mod sleep;

pub use checkpoint::Checkpoint;
pub(crate) use compensate::undo_key;
pub use context::{Context, Payload, StepStart, StepValue, halt};
pub(crate) use context::{Halt, RunOptions};
pub use hook::{HookTarget, Metadata, encode_metadata};
pub use lanes::{HOOK_ABANDONED, Parked, Split};
pub use parallel::RaceStart;
pub(crate) use scope::strip_scopes;
