//! The workflow runtime without a store: hooks, approvals, sleeps, replay and keys, retry
//! policies, events, diagrams, drift between workflow versions, macro hygiene and lints, tracing,
//! provider webhook signatures, and the index of the examples. One test binary (linking is most of
//! a test build's time); each module is one area.

mod approvals;
mod awaitly_shapes;
mod compensation;
mod diagrams;
mod drift;
mod events;
mod examples_index;
mod hooks;
mod hygiene;
mod keys;
mod lints;
mod parallel;
mod policies;
mod replay;
mod signatures;
mod sleep;
mod trace;
