//! Hostile input, as properties (proptest): the resume-state decoder, `inject_hook` and approval
//! decisions; the HTTP body path over a real socket; the public callback router, the
//! administration router and the decision endpoint in-process; the `awaitly` binary's output over
//! hostile stores. One test binary (linking is most of a test build's time); each module is one
//! area and carries the features it needs.
//!
//! Short counts by default; `AWAITLY_PROPTEST_CASES=N` is the long mode (see `hostile/mod.rs` and
//! docs/hostile-input.md): `AWAITLY_PROPTEST_CASES=100000 cargo test --release --all-features
//! --test props -- --nocapture`.

mod hostile;

mod cli;
mod decoder;
mod http_admin;
mod http_router;
mod http_socket;
