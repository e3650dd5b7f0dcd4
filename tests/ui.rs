//! Compile-fail tests of `#[workflow]`, `step!`, `await_hook!`, `await_approval!` and `sleep!`:
//! each file under `tests/ui/` holds one mistake, and its `.stderr` snapshot is the exact diagnostic
//! the user sees.
//!
//! Regenerate the snapshots after a deliberate change (or a toolchain bump) with
//! `TRYBUILD=overwrite cargo test --all-features --test ui`, then review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    // rustc's diagnostics for a missing serde trait list the types that do implement it, and that
    // list depends on which crates are linked: these snapshots are taken with every feature on
    // (the README's test command).
    if cfg!(all(
        feature = "sqlite",
        feature = "postgres",
        feature = "http",
        feature = "signatures",
        feature = "tracing",
        feature = "worker",
        feature = "cli",
        feature = "dashboard"
    )) {
        cases.compile_fail("tests/ui-serde/*.rs");
    } else {
        println!("skipped tests/ui-serde: run with --all-features");
    }
}
