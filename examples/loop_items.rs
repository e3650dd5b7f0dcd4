//! Loops: one step per item with `key = …` (keys `label[item]`), and a site that simply runs several
//! times (keys `label`, `label#2`, …). A replay after a crash skips every item already done.
//!
//! Run: `cargo run --example loop_items`. Expected output: the first run stops at the failing item
//! after shipping two; after clearing that failure, the second run ships only the remaining items.

use std::sync::atomic::{AtomicBool, Ordering};

use awaitly::{Outcome, clear_failed_steps, step, workflow};

static WAREHOUSE_DOWN: AtomicBool = AtomicBool::new(true);

fn ship(item: &str) -> Result<String, String> {
    if item == "lamp" && WAREHOUSE_DOWN.load(Ordering::SeqCst) {
        return Err(format!("warehouse unavailable for {item}"));
    }
    println!("   shipping {item}");
    Ok(format!("{item}: shipped"))
}

#[workflow]
async fn ship_all(items: Vec<String>) -> Result<Vec<String>, String> {
    let mut receipts = Vec::new();
    for item in &items {
        receipts.push(step!("ship", key = item, ship(item))?);
        step!("heartbeat", Ok::<(), String>(()))?;
    }
    Ok(receipts)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let items: Vec<String> = ["chair", "desk", "lamp", "rug"].map(String::from).into();
        println!("1. first run");
        let run = ship_all(items.clone()).start().await;
        println!("   outcome: {:?}", run.outcome);
        println!("   keys: {:?}", run.state.keys().collect::<Vec<_>>());

        WAREHOUSE_DOWN.store(false, Ordering::SeqCst);
        println!("2. retry after clearing the recorded failure");
        let run = ship_all(items).run(clear_failed_steps(&run.state)).await;
        match run.outcome {
            Outcome::Completed(receipts) => println!("   completed: {receipts:?}"),
            other => panic!("expected completion, got {other:?}"),
        }
        println!("   keys: {:?}", run.state.keys().collect::<Vec<_>>());
    });
}
