//! A step that retries: a flaky payment gateway is called with exponential backoff, a per-attempt
//! timeout and a predicate that retries only transient errors; only the final outcome is recorded,
//! and a replay does not call the gateway again.
//!
//! Run: `cargo run --example retrying_step`. Expected output: two failed attempts with their
//! delays, the charge on the third, then a replay that makes no call.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use awaitly::{Backoff, Event, RetryPolicy, StepTimeout, step, workflow};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
enum ChargeError {
    GatewayDown,
    CardDeclined,
    TimedOut(String),
}

impl From<StepTimeout> for ChargeError {
    fn from(timeout: StepTimeout) -> Self {
        Self::TimedOut(timeout.to_string())
    }
}

static CALLS: AtomicU32 = AtomicU32::new(0);

/// Down twice, then up.
async fn charge_card(amount_cents: u64) -> Result<String, ChargeError> {
    tokio::task::yield_now().await; // stands in for the network call
    let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    println!("   gateway call {call} for {amount_cents} cents");
    if call < 3 {
        Err(ChargeError::GatewayDown)
    } else {
        Ok(format!("ch_{call}"))
    }
}

#[workflow]
async fn checkout(amount_cents: u64) -> Result<String, ChargeError> {
    step!(
        "charge",
        retry = RetryPolicy::attempts(5)
            .backoff(Backoff::Exponential)
            .initial_delay(Duration::from_millis(20))
            .jitter(false)
            .retry_if(|error| matches!(error, ChargeError::GatewayDown | ChargeError::TimedOut(_))),
        timeout = Duration::from_secs(2),
        charge_card(amount_cents).await
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let report = Arc::new(|event: &Event| {
            if let Event::StepRetrying {
                key,
                attempt,
                delay,
            } = event
            {
                println!("   attempt {attempt} of `{key}` failed; retrying in {delay:?}");
            }
        });
        println!("1. first run");
        let run = checkout(4200).events(report).start().await;
        println!("   outcome: {:?}", run.outcome);
        println!(
            "   recorded: {}",
            run.state
                .get("charge")
                .and_then(|entry| entry.value_json())
                .unwrap_or("-")
        );

        println!("2. replay");
        let replay = checkout(4200).run(run.state).await;
        println!(
            "   outcome: {:?}; gateway calls in total: {}",
            replay.outcome,
            CALLS.load(Ordering::SeqCst)
        );
        assert_eq!(CALLS.load(Ordering::SeqCst), 3);
        assert!(replay.outcome.is_completed());
        let _ = ChargeError::CardDeclined; // a terminal error: not retried by the predicate above
    });
}
