//! Workflows the durable tests run, with per-run counters of how often each step executed.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use awaitly::durable::Engine;
use awaitly::store::{Changes, NewRun, RunOutcome, Store};
use awaitly::{HookId, PendingHookOptions, StepEntry, await_hook, pending_hook, step, workflow};
use serde::{Deserialize, Serialize};

static EXECUTIONS: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

/// Counts one execution of `step` in run `run`.
pub fn executed(run: &str, step: &str) {
    let mut guard = EXECUTIONS.lock().unwrap();
    *guard
        .get_or_insert_with(HashMap::new)
        .entry(format!("{run}/{step}"))
        .or_default() += 1;
}

/// How often `step` executed in run `run`.
pub fn executions(run: &str, step: &str) -> u32 {
    EXECUTIONS
        .lock()
        .unwrap()
        .as_ref()
        .and_then(|counts| counts.get(&format!("{run}/{step}")).copied())
        .unwrap_or(0)
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderInput {
    pub run: String,
    pub cents: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub paid_cents: u32,
}

async fn create_order(input: &OrderInput) -> Result<String, String> {
    executed(&input.run, "create-order");
    tokio::task::yield_now().await;
    Ok(format!("ord-{}", input.run))
}

async fn fulfil(input: &OrderInput, order: &str, payment: &Payment) -> Result<String, String> {
    executed(&input.run, "fulfil");
    tokio::task::yield_now().await; // stands in for the call to the warehouse
    if payment.paid_cents == input.cents {
        Ok(format!("{order} fulfilled"))
    } else {
        Err(format!(
            "{order}: paid {} of {}",
            payment.paid_cents, input.cents
        ))
    }
}

/// Creates an order, waits for the payment at a hook created here, fulfils.
#[workflow]
pub async fn order_flow(input: OrderInput) -> Result<String, String> {
    let order = step!("create-order", create_order(&input).await)?;
    let payment: Payment = await_hook!("payment", metadata = serde_json::json!({ "order": order }));
    step!("fulfil", fulfil(&input, &order, &payment).await)
}

/// Twenty counted steps around one created hook (after step 10).
#[workflow]
pub async fn twenty_steps(run: String) -> Result<u64, String> {
    let mut total = 0u64;
    for index in 0..10u64 {
        total += step!("add", key = index, add(&run, index).await)?;
    }
    let bonus: u64 = await_hook!("bonus");
    for index in 10..20u64 {
        total += step!("add-after", key = index, add(&run, index).await)?;
    }
    Ok(total + bonus)
}

async fn add(run: &str, index: u64) -> Result<u64, String> {
    executed(run, &format!("add-{index}"));
    tokio::task::yield_now().await;
    Ok(index * index)
}

/// The expected result of `twenty_steps` with bonus `bonus`.
pub fn twenty_steps_result(bonus: u64) -> u64 {
    (0..20u64).map(|index| index * index).sum::<u64>() + bonus
}

/// Waits at a hook made before the run.
#[workflow]
pub async fn by_id(hook: HookId) -> Result<u32, String> {
    let cents: u32 = await_hook!(hook);
    Ok(cents)
}

/// Stores a `by-id` run suspended at a hook whose deadline passed long ago; returns the hook.
pub async fn expired_hook_run(store: &Arc<dyn Store>, run: &str) -> HookId {
    let hook_id = HookId::from(format!("{run}-hook"));
    store
        .create_run(NewRun::new(run, "by-id", 1, serde_json::json!(hook_id)))
        .await
        .unwrap();
    let options = PendingHookOptions {
        deadline_ms: Some(1),
        ..PendingHookOptions::default()
    };
    let hook = pending_hook(hook_id.clone(), options);
    let changes = Changes {
        entries: vec![(hook.step_key.clone(), StepEntry::pending(&hook))],
        outcome: Some(RunOutcome::Suspended { hook: hook.clone() }),
        suspend_at: Some(hook),
        ..Changes::default()
    };
    store.save(run, 0, changes).await.unwrap();
    hook_id
}

/// An engine with every workflow above registered at version 1.
pub fn engine(store: Arc<dyn Store>) -> Engine {
    Engine::with_store(store)
        .register("order", 1, order_flow)
        .register("twenty", 1, twenty_steps)
        .register("by-id", 1, by_id)
}
