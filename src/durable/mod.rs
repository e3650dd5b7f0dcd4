//! Durable runs: workflows registered by name and version, checkpointed step by step into a
//! [`Store`](crate::store::Store), resumed by hook id or after a crash.
//!
//! # Guarantees and their limits
//!
//! - **Checkpoints.** Every executed step is saved (one entry, one compare-and-swap write)
//!   before the next step starts. A step whose checkpoint did not happen — the process died, or
//!   the write failed — runs again when the run is resumed: steps are *at least once*, and
//!   exactly once when nothing fails. Make steps idempotent (an idempotency key) where running
//!   twice would hurt.
//! - **Leases and fencing.** An executor advances a run only while it holds the run's lease
//!   (owner and expiry stored with the run): it takes it with a write naming the revision it
//!   loaded, before executing anything, and renews it with every checkpoint and a heartbeat.
//!   Another executor takes the run over only once the lease has expired; a stale executor's
//!   later checkpoint is refused ([`EngineError::Fenced`]) and it stops, never merging its
//!   writes. Starts, resumes, due runs, crashed runs, deliveries and decisions all take the
//!   lease the same way.
//! - **Claims, not listings.** [`Engine::resume_due`], [`Engine::recover`] and `Worker` take runs
//!   that need an executor with [`Store::claim_runs`](crate::store::Store::claim_runs), which leases
//!   a batch in one write, so executors sharing a store split the work. [`Engine::enqueue`] puts a
//!   run on a durable queue for them.
//! - **Deliveries.** Concurrent deliveries to one hook are decided by a single conditional write
//!   in the store (the hook's *claim*): exactly one wins and runs the workflow on; the others are
//!   answered once that claim is decided: [`Delivery::Duplicate`] (same payload),
//!   [`EngineError::AlreadyResolved`] (another payload was applied), or — if the claimed payload
//!   did not decode and was released — they claim the hook themselves. A claimed payload is
//!   durable: if the winner dies before applying it, the next executor applies it.
//! - **Early callbacks.** A hook created inside the workflow (`await_hook!("label")`) is saved
//!   with the run's suspension before the outcome — and so the id — leaves the engine. A hook id
//!   made before the run is registered with the run by [`Engine::start_with_hooks`]; a delivery
//!   that arrives before the run reaches it is stored with the hook and taken by the run the
//!   moment it suspends there (the suspension write returns it).
//! - **Completed runs are kept**, with their result, so a late duplicate callback still gets an
//!   idempotent answer; delete them with [`Store::delete_run`](crate::store::Store::delete_run).
//! - **Approvals.** A run waiting at `await_approval!` is stored as
//!   [`RunOutcome::AwaitingApproval`](crate::store::RunOutcome::AwaitingApproval) and listed by
//!   [`Engine::pending_approvals`]. [`Engine::decide_approval`] writes the decision with the
//!   run's compare-and-swap: of concurrent decisions exactly one wins, the same one again is
//!   idempotent, a different one is refused, and none is taken at or after the deadline.
//! - **Sleeps and deadlines.** A sleeping run ([`RunOutcome::Sleeping`](crate::store::RunOutcome::Sleeping))
//!   and a run waiting at a hook or approval with a deadline have a due time the store indexes;
//!   [`Engine::resume_due`] (or a `Worker` loop, feature `worker`) runs them on
//!   once it has passed — a sleep continues without sleeping again, a deadline lets the workflow
//!   see its typed timeout. Time comes from the engine's [`clock`](Engine::clock).
//! - **Late payloads.** The store records each suspended hook's deadline and refuses claims at or
//!   after it, so a payload racing the timeout is decided once, in the store: claimed in time, it
//!   wins even if applied after the deadline; otherwise the workflow sees the timeout. (An
//!   instance whose clock lags may still claim; if the timeout is already recorded, its payload is
//!   refused and released.)
//! - **Size.** With [`Engine::max_state_bytes`], a write that would grow a run's stored state past
//!   the limit is not made: the run stops with [`EngineError::StateTooLarge`] and its stored entries
//!   stay as they were.
//! - **Versions.** A run records the workflow version it started with and only resumes with that
//!   version ([`EngineError::VersionMismatch`] otherwise): register the old version alongside the
//!   new one, migrate ([`Engine::set_version`]), or delete the run.

mod admin;
mod approvals;
mod cancel;
mod child;
mod claim;
mod deliver;
mod drive;
mod due;
mod engine;
mod error;
mod journal;
mod lease;
mod queue;
mod registry;
mod results;
mod settle;
#[cfg(feature = "worker")]
mod worker;

pub use approvals::{Decision, PendingApprovalRecord};
pub use due::DUE_BATCH;
pub use engine::{Deliveries, Engine};
pub use error::EngineError;
pub use queue::Enqueue;
pub use results::{Delivery, Started};
#[cfg(feature = "worker")]
pub use worker::{Worker, WorkerHandle, WorkerStats};
