//! The programs as a user runs them: the `awaitly` command-line tool on seeded stores (its output,
//! and hostile text escaped on every output path), and the examples. One test binary (linking is
//! most of a test build's time); each module carries the features it needs.

#[cfg(feature = "durable")]
#[path = "../common/mod.rs"]
mod common;
#[cfg(feature = "sqlite")]
#[path = "../support/mod.rs"]
mod support;

mod cli;
mod cli_constructs;
mod cli_escaping;
mod examples;
