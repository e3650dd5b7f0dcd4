//! Hostile input: the resume-state decoder, `inject_hook` and approval decisions never panic, never
//! allocate without bound, and reject bad input with a typed error; a valid state survives a round
//! trip unchanged. Cases per property: 2,000, or `AWAITLY_PROPTEST_CASES` in the long mode
//! (`tests/props/hostile/mod.rs`); they are printed with `-- --nocapture`.

use crate::hostile;

use awaitly::{
    HookId, PendingApprovalOptions, PendingHookOptions, ResumeState, StepEntry, inject_hook,
    pending_approval, pending_hook,
};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

/// Cases per property in the short mode (CI).
const SHORT: u32 = 2_000;

fn runner() -> TestRunner {
    hostile::runner(hostile::cases(SHORT))
}

/// Arbitrary JSON values, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A state built through the public API: steps, failures, pending hooks and approvals.
fn state() -> impl Strategy<Value = ResumeState> {
    let entry = prop_oneof![
        json_value().prop_map(|value| StepEntry::ok(&value).unwrap()),
        json_value().prop_map(|error| StepEntry::err(&error).unwrap()),
        ".{1,16}".prop_map(|id| StepEntry::pending(&pending_hook(
            HookId::from(id),
            PendingHookOptions::default()
        ))),
        ".{1,16}".prop_map(|key| StepEntry::pending_approval(&pending_approval(
            key,
            PendingApprovalOptions::default()
        ))),
    ];
    prop::collection::vec((".{0,16}", entry), 0..12).prop_map(|entries| {
        let mut state = ResumeState::new();
        for (key, entry) in entries {
            state.insert(key, entry);
        }
        state
    })
}

#[test]
fn valid_states_round_trip_exactly() {
    let mut runner = runner();
    runner
        .run(&state(), |state| {
            let json = state.to_json();
            let back = ResumeState::from_json(&json)
                .map_err(|error| TestCaseError::fail(error.to_string()))?;
            prop_assert_eq!(back.to_json(), json);
            Ok(())
        })
        .unwrap();
    println!("round trip: {} generated states", hostile::cases(SHORT));
}

#[test]
fn arbitrary_text_and_json_never_panic_and_fail_with_a_typed_error() {
    let mut runner = runner();
    runner
        .run(&".{0,200}", |text| {
            let _ = ResumeState::from_json(&text);
            Ok(())
        })
        .unwrap();
    runner
        .run(&json_value(), |value| {
            // Any JSON that is not a resume state is refused with a message, never a panic.
            if let Err(error) = ResumeState::from_json(&value.to_string()) {
                prop_assert!(!error.to_string().is_empty());
            }
            Ok(())
        })
        .unwrap();
    println!(
        "decoder: {} arbitrary texts and JSON values",
        2 * hostile::cases(SHORT)
    );
}

#[test]
fn mutated_states_never_panic() {
    let mut runner = runner();
    let strategy = (
        state(),
        any::<prop::sample::Index>(),
        any::<u8>(),
        0..3usize,
    );
    runner
        .run(&strategy, |(state, position, byte, operation)| {
            let mut bytes = state.to_json().into_bytes();
            let at = position
                .index(bytes.len().max(1))
                .min(bytes.len().saturating_sub(1));
            match operation {
                0 if !bytes.is_empty() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if !bytes.is_empty() => {
                    bytes.remove(at);
                }
                _ => {}
            }
            if let Ok(text) = String::from_utf8(bytes) {
                let _ = ResumeState::from_json(&text);
            }
            Ok(())
        })
        .unwrap();
    println!(
        "mutations: {} byte-level mutations of valid states",
        hostile::cases(SHORT)
    );
}

#[test]
fn injections_are_validated_and_never_panic() {
    let mut runner = runner();
    let strategy = (state(), ".{0,16}", json_value());
    runner
        .run(&strategy, |(state, id, payload)| {
            let before = state.to_json();
            let hook = HookId::from(id.as_str());
            match inject_hook(&state, &hook, &payload) {
                Ok(next) => {
                    prop_assert!(next.get(&hook.step_key()).is_some_and(StepEntry::is_ok));
                    // Idempotent: the same payload again succeeds and changes nothing.
                    let again = inject_hook(&next, &hook, &payload)
                        .map_err(|error| TestCaseError::fail(error.to_string()))?;
                    prop_assert_eq!(again.to_json(), next.to_json());
                }
                Err(error) => prop_assert!(!error.to_string().is_empty()),
            }
            prop_assert_eq!(state.to_json(), before, "the input state is never changed");
            let mut decided = state.clone();
            let _ = decided.grant_approval(&id, &payload, "fuzzer");
            let _ = decided.reject_approval(&id, "no", "fuzzer");
            Ok(())
        })
        .unwrap();
    println!(
        "injections: {} random hooks, payloads and states",
        hostile::cases(SHORT)
    );
}

#[test]
fn deep_nesting_is_refused_with_a_typed_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    // In a recorded value: read as raw JSON text, and refused when decoded.
    let state = format!(r#"{{"kind":"ResumeState","steps":[["k",{{"ok":true,"value":{deep}}}]]}}"#);
    if let Ok(state) = ResumeState::from_json(&state) {
        let decoded = state.get("k").unwrap().decode_value::<Value>().unwrap();
        assert!(decoded.unwrap_err().to_string().contains("recursion limit"));
    }
    // In a recorded error, and in the state's own structure: refused while reading.
    let in_error =
        format!(r#"{{"kind":"ResumeState","steps":[["k",{{"ok":false,"error":{deep}}}]]}}"#);
    assert!(
        ResumeState::from_json(&in_error)
            .unwrap_err()
            .to_string()
            .contains("recursion limit")
    );
    let not_an_entry =
        json!({ "kind": "ResumeState", "steps": [["k", { "value": 1 }]] }).to_string();
    assert!(
        ResumeState::from_json(&not_an_entry)
            .unwrap_err()
            .to_string()
            .contains("missing field `ok`")
    );
}
