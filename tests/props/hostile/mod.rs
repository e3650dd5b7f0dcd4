//! What the hostile-input property tests share: how many cases each property runs, and (in
//! [`http`]) the in-process HTTP driver, hostile URL segments and the checks on every answer.
//!
//! **Short and long mode.** Each property runs the short count CI runs, unless
//! `AWAITLY_PROPTEST_CASES` is set: then every property runs that many cases (the long mode,
//! `docs/hostile-input.md`). The count is set explicitly on each runner, so proptest's own
//! `PROPTEST_CASES` does not change it; `PROPTEST_RNG_SEED` still fixes the seed.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

#[cfg(feature = "http")]
pub mod hooks;
#[cfg(feature = "http")]
pub mod http;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The environment variable that switches every hostile-input property to the long mode.
pub const CASES_VAR: &str = "AWAITLY_PROPTEST_CASES";

/// The long mode's count per property (`AWAITLY_PROPTEST_CASES`, `_` allowed as a digit
/// separator), or `short` when it is not set.
///
/// # Panics
///
/// When the variable is set to something that is not a positive count.
pub fn cases(short: u32) -> u32 {
    match std::env::var(CASES_VAR) {
        Ok(text) => match text.trim().replace('_', "").parse::<u32>() {
            Ok(count) if count > 0 => count,
            _ => panic!("{CASES_VAR}={text:?}: expected a positive number of cases"),
        },
        Err(_) => short,
    }
}

/// For a property whose case costs a process or more (the CLI's): the long mode's count divided
/// by `divisor`, never under `short`.
pub fn scaled_cases(short: u32, divisor: u32) -> u32 {
    if std::env::var_os(CASES_VAR).is_some() {
        (cases(short) / divisor).max(short)
    } else {
        short
    }
}

/// A runner for `cases` cases that writes no regression files.
pub fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Text weighted towards what breaks parsers and terminals: C0 and C1 controls, DEL, the General
/// Punctuation block (bidi controls, separators), astral characters, backslashes and quotes.
pub fn hostile_text(max_len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(hostile_char(), 0..max_len)
        .prop_map(|characters| characters.into_iter().collect())
}

/// One character of [`hostile_text`].
pub fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        3 => proptest::char::range('\u{0}', '\u{a0}'),
        2 => proptest::char::range('\u{2000}', '\u{206f}'),
        1 => prop::sample::select(vec!['\\', '"', '\u{feff}', '\u{fffd}', '\u{1f600}']),
    ]
}
