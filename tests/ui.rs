//! Compile-fail tests of `#[workflow]`, `step!` and `await_hook!`: each file under `tests/ui/` holds
//! one mistake, and its `.stderr` snapshot is the exact diagnostic the user sees.
//!
//! Regenerate the snapshots after a deliberate change (or a toolchain bump) with
//! `TRYBUILD=overwrite cargo test --test ui`, then review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
