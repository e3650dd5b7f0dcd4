//! Resume states exchanged with the TypeScript awaitly, both ways.
//!
//! `tests/fixtures/awaitly/*.json` were written by the real awaitly 1.35.0 from npm
//! (`interop/generate.mjs`); here our runtime decodes and replays them. `tests/fixtures/rust/*.json`
//! are written by our runtime (compared here, regenerated with `AWAITLY_BLESS=1`) and replayed by
//! awaitly in `interop/verify-rust-states.mjs`. Each also makes a round trip through the other
//! side's serialiser: `awaitly-via-rust/` (ours, checked by awaitly) and `rust-via-awaitly/`
//! (awaitly's, replayed here) — see `interop/shapes.rs`.

#![allow(clippy::unnecessary_wraps)] // step functions return `Result` by contract, even when they cannot fail

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use awaitly::{
    HookId, Outcome, ResumeState, await_hook, get_pending_hooks, has_pending_hook, inject_hook,
    step, workflow,
};
use serde::{Deserialize, Serialize};

#[path = "interop/shapes.rs"]
mod shapes;
#[path = "interop/workflows.rs"]
mod workflows;

/// Every fixture `interop/generate.mjs` writes to `tests/fixtures/awaitly/`.
const AWAITLY_NAMES: [&str; 18] = [
    "payment-suspended",
    "payment-injected",
    "payment-completed",
    "failed-step",
    "thrown-step",
    "loop-steps",
    "approval-pending",
    "approval-granted",
    "approval-edited",
    "approval-rejected",
    "approval-expired",
    "created-hook-pending",
    "created-hook-delivered",
    "sleep-waiting",
    "sleep-done",
    "nested-cause",
    "undefined-values",
    "lone-surrogates",
];

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

/// The text of `tests/fixtures/<dir>/<name>.json`; empty when there is none.
fn read_fixture(dir: &str, name: &str) -> String {
    std::fs::read_to_string(fixture(dir, name)).unwrap_or_default()
}

fn awaitly_state(name: &str) -> ResumeState {
    ResumeState::from_json(&read_fixture("awaitly", name)).expect("awaitly's JSON decodes")
}

fn check_rust_fixture(name: &str, state: &ResumeState) {
    check_fixture("rust", name, state);
}

/// Compares a state we wrote (`to_json_pretty`) with its committed fixture in `dir`;
/// `AWAITLY_BLESS=1` rewrites the fixture.
fn check_fixture(dir: &str, name: &str, state: &ResumeState) {
    let path = fixture(dir, name);
    let text = state.to_json_pretty() + "\n";
    if std::env::var_os("AWAITLY_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("a directory")).expect("directory made");
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

    // Those states after a round trip through awaitly's serialiser replay as ours do.
    ours_replay_the_same_after_awaitly().await;
}

/// Our states after a round trip through awaitly's serialiser (rust-via-awaitly/, written by
/// interop/generate.mjs) replay exactly as ours do, executing the same steps.
async fn ours_replay_the_same_after_awaitly() {
    for name in [
        "payment-suspended",
        "payment-injected",
        "payment-completed",
        "failed-step",
        "loop-steps",
    ] {
        let mut seen = Vec::new();
        for dir in ["rust", "rust-via-awaitly"] {
            let text = read_fixture(dir, name);
            assert!(
                !text.is_empty(),
                "{dir}/{name}.json is missing: run node interop/generate.mjs"
            );
            let state = ResumeState::from_json(&text)
                .unwrap_or_else(|error| panic!("{dir}/{name}: {error}"));
            let before = counters();
            let outcome = match name {
                "failed-step" => format!("{:?}", failing().run(state).await.outcome),
                "loop-steps" => {
                    format!("{:?}", items(vec!["a", "b", "c"]).run(state).await.outcome)
                }
                _ => format!("{:?}", payment(HOOK_ID.into()).run(state).await.outcome),
            };
            assert!(!outcome.starts_with("Stopped"), "{dir}/{name}: {outcome}");
            let after = counters();
            seen.push((
                outcome,
                std::array::from_fn::<u32, 4, _>(|i| after[i] - before[i]),
            ));
        }
        assert_eq!(
            seen[0], seen[1],
            "{name}: ours vs after awaitly's round trip"
        );
    }
}

/// Executions so far of create-order, fulfill, charge and item.
fn counters() -> [u32; 4] {
    [&ORDERS, &FULFILMENTS, &CHARGES, &ITEMS].map(|counter| counter.load(Ordering::SeqCst))
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
