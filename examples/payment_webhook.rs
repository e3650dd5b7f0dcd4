//! The callback-hooks guide, in Rust: create an order, suspend until the payment provider calls
//! back, inject the payment by hook id, resume and fulfil — with the order step not run again.
//!
//! Runs in-process, no server: `cargo run --example payment_webhook`.

use std::sync::atomic::{AtomicU32, Ordering};

use awaitly::{HookId, Outcome, ResumeState, await_hook, create_hook, inject_hook, step, workflow};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct OrderRequest {
    customer: String,
    total_cents: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Order {
    id: String,
    total_cents: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Payment {
    payment_id: String,
    amount_cents: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Receipt {
    order_id: String,
    payment_id: String,
    status: String,
}

#[derive(Debug, Serialize, Deserialize)]
enum CheckoutError {
    AmountMismatch { expected: u64, paid: u64 },
}

static ORDERS_CREATED: AtomicU32 = AtomicU32::new(0);

async fn create_order(request: &OrderRequest) -> Result<Order, CheckoutError> {
    tokio::task::yield_now().await; // stands in for the call to the order service
    ORDERS_CREATED.fetch_add(1, Ordering::SeqCst);
    println!("  creating order for {}", request.customer);
    Ok(Order {
        id: "ord_1".to_owned(),
        total_cents: request.total_cents,
    })
}

async fn fulfill_order(order: &Order, payment: &Payment) -> Result<Receipt, CheckoutError> {
    tokio::task::yield_now().await; // stands in for the call to the warehouse
    if payment.amount_cents != order.total_cents {
        return Err(CheckoutError::AmountMismatch {
            expected: order.total_cents,
            paid: payment.amount_cents,
        });
    }
    Ok(Receipt {
        order_id: order.id.clone(),
        payment_id: payment.payment_id.clone(),
        status: "fulfilled".to_owned(),
    })
}

#[workflow]
async fn payment_flow(
    request: OrderRequest,
    payment_hook: HookId,
) -> Result<Receipt, CheckoutError> {
    let order = step!("create-order", create_order(&request).await)?;
    let payment: Payment = await_hook!(
        payment_hook,
        metadata = serde_json::json!({ "orderId": order.id })
    );
    step!("fulfill", fulfill_order(&order, &payment).await)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let request = OrderRequest {
            customer: "ada@example.com".to_owned(),
            total_cents: 4200,
        };
        let hook = create_hook();
        println!(
            "1. start checkout; callback URL: POST /webhooks/payment/{}",
            hook.hook_id
        );

        let run = payment_flow(request.clone(), hook.hook_id.clone())
            .run(ResumeState::new())
            .await;
        let Outcome::Suspended(suspension) = &run.outcome else {
            panic!(
                "expected the run to suspend at the payment hook, got {:?}",
                run.outcome
            );
        };
        println!("2. suspended: {suspension:?}");
        let stored = run.state.to_json();
        println!("3. persisted resume state ({} bytes)", stored.len());

        // Later, in the webhook handler: load the state, inject the payload, run again.
        let state = ResumeState::from_json(&stored).expect("the state we just wrote");
        let payload = serde_json::json!({ "payment_id": "pay_1", "amount_cents": 4200 });
        let state = inject_hook(&state, &hook.hook_id, &payload).expect("the hook is pending");
        println!("4. injected payment into hook {}", hook.hook_id);

        let run = payment_flow(request, hook.hook_id.clone()).run(state).await;
        match run.outcome {
            Outcome::Completed(receipt) => println!("5. completed: {receipt:?}"),
            other => panic!("expected the run to complete, got {other:?}"),
        }
        let created = ORDERS_CREATED.load(Ordering::SeqCst);
        println!(
            "6. orders created across both runs: {created} (create-order was replayed, not re-run)"
        );
        assert_eq!(created, 1);
        println!(
            "   final state keys: {:?}",
            run.state.keys().collect::<Vec<_>>()
        );
    });
}
