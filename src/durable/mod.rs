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
//! - **Fencing.** Each save names the revision it expects. An executor that takes a run over
//!   bumps the revision before executing anything, so of two executors that loaded the same
//!   revision only one executes the next step; a stale executor's later checkpoint is refused
//!   ([`EngineError::Fenced`]) and it stops, never merging its writes.
//! - **Deliveries.** Concurrent deliveries to one hook are decided by a single conditional write
//!   in the store (the hook's *claim*): exactly one wins and runs the workflow on; the others get
//!   [`Delivery::Duplicate`] (same payload) or [`EngineError::AlreadyResolved`]. A claimed
//!   payload is durable: if the winner dies before applying it, [`Engine::recover`] applies it.
//! - **Early callbacks.** A hook created inside the workflow (`await_hook!("label")`) is saved
//!   with the run's suspension before the outcome — and so the id — leaves the engine. A hook id
//!   made before the run is registered with the run by [`Engine::start_with_hooks`]; a delivery
//!   that arrives before the run reaches it is stored with the hook and taken by the run the
//!   moment it suspends there (the suspension write returns it).
//! - **Completed runs are kept**, with their result, so a late duplicate callback still gets an
//!   idempotent answer; delete them with [`Store::delete_run`](crate::store::Store::delete_run).
//! - **Versions.** A run records the workflow version it started with and only resumes with that
//!   version ([`EngineError::VersionMismatch`] otherwise): register the old version alongside the
//!   new one, migrate ([`Engine::set_version`]), or delete the run.

mod drive;
mod engine;
mod error;
mod journal;
mod registry;
mod results;

pub use engine::Engine;
pub use error::EngineError;
pub use results::{Delivery, Started};
