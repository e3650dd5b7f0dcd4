//! The durable engine on every store: suspend and resume, due runs, crashes and restarts, limits,
//! events, exactly-once across executors, the queue and worker leases, hooks at rest, the store
//! conformance suite and schema migrations. One test binary (linking is most of a test build's
//! time); each module is one area and carries the features it needs.
//!
//! PostgreSQL runs when `AWAITLY_TEST_POSTGRES_URL` is set (a notice is printed otherwise).

#[cfg(feature = "durable")]
#[path = "../common/mod.rs"]
mod common;

mod approvals;
mod concurrency;
mod crash;
mod due;
mod engine;
mod events;
mod exactly_once;
#[cfg(feature = "test-util")]
mod group_commit;
mod hooks_at_rest;
mod limits;
mod parallel;
mod postgres;
mod queue;
mod restart;
#[cfg(feature = "test-util")]
mod store_conformance;
mod store_migration;
mod worker_leases;
