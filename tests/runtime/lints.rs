//! The code `#[workflow]` generates is lint-clean: this file denies every warning, clippy's default
//! and pedantic groups and unsafe code, and holds a workflow using every kind of site (steps with a
//! label and a derived key, a per-item loop, a hook by id with metadata, a created hook, a per-item
//! created hook), which it also runs to completion.
#![deny(warnings, clippy::all, clippy::pedantic)]
#![forbid(unsafe_code)]

use awaitly::{
    HookId, Outcome, ResumeState, Run, all, await_hook, child, create_hook, fan_out, inject_hook,
    race, step, try_all, try_fan_out, workflow,
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Order {
    id: String,
    skus: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Payment {
    cents: u64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Receipt {
    order_id: String,
    packed: Vec<String>,
    cents: u64,
}

#[derive(Debug, Serialize, Deserialize)]
enum FulfilError {
    Rejected,
}

async fn reserve(order: &Order) -> Result<usize, FulfilError> {
    tokio::task::yield_now().await; // stands in for a call to the stock service
    Ok(order.skus.len())
}

async fn pack(sku: &str) -> Result<String, FulfilError> {
    tokio::task::yield_now().await; // stands in for a call to the warehouse
    Ok(format!("box:{sku}"))
}

#[workflow]
async fn fulfil(order: Order, payment_hook: HookId) -> Result<Receipt, FulfilError> {
    let reserved = step!(reserve(&order).await)?;
    let mut packed = Vec::with_capacity(reserved);
    for sku in &order.skus {
        packed.push(step!("pack", key = sku, pack(sku).await)?);
        let checked: bool = await_hook!("check", key = sku);
        if !checked {
            return Err(FulfilError::Rejected);
        }
    }
    let payment: Payment = await_hook!(payment_hook, metadata = order.id.as_str());
    let approved: bool = await_hook!(
        "manager",
        metadata = serde_json::json!({ "order": order.id })
    );
    if !approved {
        return Err(FulfilError::Rejected);
    }
    step!(
        "receipt",
        Ok::<Receipt, FulfilError>(Receipt {
            order_id: order.id.clone(),
            packed,
            cents: payment.cents,
        })
    )
}

/// Runs `fulfil` from `state` and, if it suspends, injects `payload` into the hook it waits for.
async fn run_and_inject<P: Serialize>(
    order: &Order,
    hook: &HookId,
    state: ResumeState,
    payload: &P,
) -> Run<Receipt, FulfilError> {
    let run = fulfil(order.clone(), hook.clone()).run(state).await;
    let Some(pending) = run.outcome.pending_hook() else {
        return run;
    };
    let state = inject_hook(&run.state, &pending.hook_id, payload).expect("the hook is pending");
    Run {
        outcome: run.outcome,
        state,
    }
}

#[tokio::test]
async fn every_kind_of_site_runs_to_completion() {
    let order = Order {
        id: "ord_1".to_owned(),
        skus: vec!["a".to_owned(), "b".to_owned()],
    };
    let payment_hook = create_hook().hook_id;

    let run = run_and_inject(&order, &payment_hook, ResumeState::new(), &true).await;
    let run = run_and_inject(&order, &payment_hook, run.state, &true).await;
    let run = run_and_inject(&order, &payment_hook, run.state, &Payment { cents: 4200 }).await;
    let run = run_and_inject(&order, &payment_hook, run.state, &true).await;
    let run = fulfil(order, payment_hook.clone()).run(run.state).await;

    let Outcome::Completed(receipt) = run.outcome else {
        panic!("expected the run to complete, got {:?}", run.outcome);
    };
    assert_eq!(
        receipt,
        Receipt {
            order_id: "ord_1".to_owned(),
            packed: vec!["box:a".to_owned(), "box:b".to_owned()],
            cents: 4200,
        }
    );
    let keys: Vec<&str> = run.state.keys().collect();
    for key in [
        "reserve", "pack[a]", "check[a]", "pack[b]", "check[b]", "manager", "receipt",
    ] {
        assert!(keys.contains(&key), "missing {key} in {keys:?}");
    }
    assert!(keys.contains(&payment_hook.step_key().as_str()));
}

async fn quote(carrier: &str) -> Result<u64, FulfilError> {
    tokio::task::yield_now().await; // stands in for a call to a carrier
    Ok(if carrier == "fast" { 900 } else { 400 })
}

/// Every construct of issue 14 under the same lints: parallel branches (plain and fail-fast), a
/// race, fan-outs (plain and fail-fast), a child and a compensated step.
#[workflow]
async fn dispatch(order: Order) -> Result<u64, FulfilError> {
    let undo = |count: usize| async move {
        let _ = count;
        Ok::<(), FulfilError>(())
    };
    let reserved = step!("reserve-all", compensate = undo, reserve(&order).await)?;
    let (stock, sku_count) = all!("check",
        stock => step!("stock", Ok::<usize, FulfilError>(reserved)),
        count => order.skus.len(),
    );
    let (first, second) = try_all!("quotes",
        fast => step!("quote-fast", quote("fast").await),
        cheap => step!("quote-cheap", quote("cheap").await),
    )?;
    let cheapest = race!("cheapest",
        fast => step!("race-fast", quote("fast").await),
        cheap => step!("race-cheap", quote("cheap").await),
    )?;
    let packed = fan_out!("pack-all", sku in order.skus.clone(), key = sku, concurrency = 2,
        step!("pack", pack(&sku).await)
    );
    let boxes = try_fan_out!("label-all", sku in order.skus.clone(), key = sku,
        step!("label", pack(&sku).await)
    )?;
    let billed: Result<u64, awaitly::ChildError<String>> = child!("bill", "billing", &order.id);
    let billed = billed.unwrap_or(0);
    let total = stock? + sku_count + packed.len() + boxes.len();
    Ok(u64::try_from(total).unwrap_or(0) + first.min(second) + cheapest + billed)
}

#[tokio::test]
async fn every_construct_runs_to_completion() {
    let order = Order {
        id: "ord_2".to_owned(),
        skus: vec!["a".to_owned(), "b".to_owned()],
    };
    let run = dispatch(order.clone()).start().await;
    let hook = run
        .outcome
        .pending_hook()
        .expect("waits for its child")
        .hook_id
        .clone();
    let delivered = serde_json::json!({ "status": "completed", "result": 1 });
    let state = inject_hook(&run.state, &hook, &delivered).expect("the child's hook is pending");
    let run = dispatch(order).run(state).await;
    let Outcome::Completed(total) = run.outcome else {
        panic!("expected the run to complete, got {:?}", run.outcome);
    };
    // 2 stock + 2 skus + 2 packed + 2 labelled, 400 cheapest quote, 900 race winner, 1 billed.
    assert_eq!(total, 8 + 400 + 900 + 1);
}
