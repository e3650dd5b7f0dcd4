//! Resume states exchanged with the TypeScript awaitly, both ways.
//!
//! `tests/fixtures/awaitly/*.json` were written by the real awaitly 1.35.0 from npm
//! (`interop/generate.mjs`); here our runtime decodes and replays them. `tests/fixtures/rust/*.json`
//! are written by our runtime (compared here, regenerated with `AWAITLY_BLESS=1`) and replayed by
//! awaitly in `interop/verify-rust-states.mjs`.

#![allow(clippy::unnecessary_wraps)] // step functions return `Result` by contract, even when they cannot fail

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use awaitly::{
    HookId, Outcome, ResumeState, await_hook, get_pending_hooks, has_pending_hook, inject_hook,
    step, workflow,
};
use serde::{Deserialize, Serialize};

const HOOK_ID: &str = "hook-fixture-1";

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Order {
    id: String,
    total: u32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payment {
    payment_id: String,
    amount: u32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fulfilled {
    order_id: String,
    payment_id: String,
    status: String,
}

static ORDERS: AtomicU32 = AtomicU32::new(0);
static FULFILMENTS: AtomicU32 = AtomicU32::new(0);

fn create_order() -> Result<Order, String> {
    ORDERS.fetch_add(1, Ordering::SeqCst);
    Ok(Order {
        id: "ord_1".into(),
        total: 42,
    })
}

fn fulfill(order: &Order, payment: &Payment) -> Result<Fulfilled, String> {
    FULFILMENTS.fetch_add(1, Ordering::SeqCst);
    Ok(Fulfilled {
        order_id: order.id.clone(),
        payment_id: payment.payment_id.clone(),
        status: "fulfilled".into(),
    })
}

/// The same workflow as `paymentWorkflow` in `interop/generate.mjs`, key for key.
#[workflow]
async fn payment(hook: HookId) -> Result<Fulfilled, String> {
    let order = step!("create-order", create_order())?;
    let payment: Payment = await_hook!(hook, metadata = serde_json::json!({ "orderId": order.id }));
    step!("fulfill", fulfill(&order, &payment))
}

static CHARGES: AtomicU32 = AtomicU32::new(0);

fn charge() -> Result<u32, String> {
    CHARGES.fetch_add(1, Ordering::SeqCst);
    Err("GATEWAY_DOWN".into())
}

#[workflow]
async fn failing() -> Result<u32, String> {
    step!("load", Ok::<u32, String>(1))?;
    step!("charge", charge())
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    i: u32,
    v: String,
    done: bool,
}

static ITEMS: AtomicU32 = AtomicU32::new(0);

#[workflow]
async fn items(names: Vec<&'static str>) -> Result<Vec<Item>, String> {
    let mut out = Vec::new();
    for (i, name) in (0..).zip(names) {
        out.push(step!("item", key = name, {
            ITEMS.fetch_add(1, Ordering::SeqCst);
            Ok::<Item, String>(Item {
                i,
                v: "x".into(),
                done: true,
            })
        })?);
    }
    Ok(out)
}

fn fixture(dir: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(format!("{name}.json"))
}

fn awaitly_state(name: &str) -> ResumeState {
    let text = std::fs::read_to_string(fixture("awaitly", name)).expect("fixture present");
    ResumeState::from_json(&text).expect("awaitly's JSON decodes")
}

/// Compares a state we wrote with its committed fixture; `AWAITLY_BLESS=1` rewrites the fixture.
fn check_rust_fixture(name: &str, state: &ResumeState) {
    let path = fixture("rust", name);
    let text = serde_json::to_string_pretty(state).expect("state serialises") + "\n";
    if std::env::var_os("AWAITLY_BLESS").is_some() {
        std::fs::write(&path, &text).expect("fixture written");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed,
        text,
        "{} differs; rerun with AWAITLY_BLESS=1 and review the diff",
        path.display()
    );
}

// The counters are process-wide, so the tests that read them run in one test, in order.
#[tokio::test]
async fn awaitly_states_replay_in_rust_and_rust_states_match_their_fixtures() {
    // payment-suspended (awaitly): the order replays, the run suspends at the same hook.
    let state = awaitly_state("payment-suspended");
    assert!(has_pending_hook(&state, &HOOK_ID.into()));
    let pending = get_pending_hooks(&state);
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].metadata,
        Some(serde_json::json!({ "orderId": "ord_1" }))
    );
    let run = payment(HOOK_ID.into()).run(state.clone()).await;
    assert_eq!(
        run.outcome.pending_hook().map(|hook| hook.hook_id.as_str()),
        Some(HOOK_ID)
    );
    assert_eq!(
        ORDERS.load(Ordering::SeqCst),
        0,
        "create-order replayed from awaitly's state"
    );

    // Inject in Rust into awaitly's state and finish.
    let payload = serde_json::json!({ "paymentId": "pay_1", "amount": 42 });
    let injected = inject_hook(&state, &HOOK_ID.into(), &payload).unwrap();
    let run = payment(HOOK_ID.into()).run(injected).await;
    let Outcome::Completed(done) = run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(done.status, "fulfilled");
    assert_eq!(
        (
            ORDERS.load(Ordering::SeqCst),
            FULFILMENTS.load(Ordering::SeqCst)
        ),
        (0, 1)
    );

    // payment-injected (awaitly's injectHook): completes in Rust.
    let run = payment(HOOK_ID.into())
        .run(awaitly_state("payment-injected"))
        .await;
    assert!(run.outcome.is_completed());
    assert_eq!(
        (
            ORDERS.load(Ordering::SeqCst),
            FULFILMENTS.load(Ordering::SeqCst)
        ),
        (0, 2)
    );

    // payment-completed: nothing executes.
    let run = payment(HOOK_ID.into())
        .run(awaitly_state("payment-completed"))
        .await;
    let Outcome::Completed(done) = run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(done.payment_id, "pay_1");
    assert_eq!(
        (
            ORDERS.load(Ordering::SeqCst),
            FULFILMENTS.load(Ordering::SeqCst)
        ),
        (0, 2)
    );

    // failed-step: the recorded failure replays without calling charge.
    let run = failing().run(awaitly_state("failed-step")).await;
    assert!(
        matches!(run.outcome, Outcome::Failed(ref error) if error == "GATEWAY_DOWN"),
        "{:?}",
        run.outcome
    );
    assert_eq!(CHARGES.load(Ordering::SeqCst), 0);

    // loop-steps: per-item keys `item[a]` … replay.
    let run = items(vec!["a", "b", "c"])
        .run(awaitly_state("loop-steps"))
        .await;
    let Outcome::Completed(list) = run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(
        list.iter().map(|item| item.i).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(ITEMS.load(Ordering::SeqCst), 0);

    // The other direction: states written by our runtime, replayed by awaitly in
    // interop/verify-rust-states.mjs.
    // A fixed clock, so the recorded `requestedAt` is the same on every run.
    let clock = std::sync::Arc::new(awaitly::ManualClock::new(1_800_000_000_000));
    let suspended = payment(HOOK_ID.into()).clock(clock).start().await;
    check_rust_fixture("payment-suspended", &suspended.state);
    let injected = inject_hook(&suspended.state, &HOOK_ID.into(), &payload).unwrap();
    check_rust_fixture("payment-injected", &injected);
    let completed = payment(HOOK_ID.into()).run(injected).await;
    check_rust_fixture("payment-completed", &completed.state);
    let mut failed_state = failing().start().await.state;
    check_rust_fixture("failed-step", &failed_state);
    failed_state = awaitly::clear_step(&failed_state, "charge");
    assert_eq!(failed_state.len(), 1);
    let looped = items(vec!["a", "b", "c"]).start().await;
    check_rust_fixture("loop-steps", &looped.state);
}

#[test]
fn an_error_thrown_in_awaitly_keeps_its_error_and_cause() {
    let state = awaitly_state("thrown-step");
    let entry = state.get("explode").expect("entry");
    assert!(!entry.is_ok());
    assert_eq!(entry.error().unwrap()["_tag"], "UnexpectedError");
    assert_eq!(entry.cause().unwrap()["message"], "kaput");
    // Written back, awaitly's fields are all still there.
    let again = ResumeState::from_json(&state.to_json()).unwrap();
    assert_eq!(
        serde_json::to_value(again.get("explode")).unwrap(),
        serde_json::to_value(state.get("explode")).unwrap()
    );
}

#[test]
fn every_awaitly_fixture_round_trips_through_our_json() {
    for name in [
        "payment-suspended",
        "payment-injected",
        "payment-completed",
        "failed-step",
        "thrown-step",
        "loop-steps",
    ] {
        let text = std::fs::read_to_string(fixture("awaitly", name)).unwrap();
        let original: serde_json::Value = serde_json::from_str(&text).unwrap();
        let ours: serde_json::Value = serde_json::from_str(&awaitly_state(name).to_json()).unwrap();
        assert_eq!(
            ours["steps"], original["steps"],
            "{name}: steps differ after a round trip"
        );
        assert_eq!(ours["kind"], "ResumeState");
    }
}
