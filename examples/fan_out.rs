//! Doing things at once: a checkout that reserves stock and authorises the payment in parallel
//! (`try_all!`), ships 200 parcels with at most 16 in flight (`fan_out!`), asks the cheaper of two
//! carriers (`race!`), bills through a child workflow (`child!`), and undoes its reservations when
//! a later step fails (`compensate = …`) — durably, on a SQLite file.
//!
//! Run: `cargo run --example fan_out --features sqlite`. Expected output: the first order
//! completes (200 parcels shipped in about 200 / 16 × 5 ms, the winner of the race recorded);
//! the second is cancelled while its child waits for the bank, and its reservation is released.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use awaitly::durable::Engine;
use awaitly::store::{RunOutcome, SqliteStore};
use awaitly::{ChildError, await_hook, child, fan_out, race, step, try_all, workflow};
use serde::{Deserialize, Serialize};

static SHIPPED: AtomicU32 = AtomicU32::new(0);

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Order {
    id: String,
    cents: u32,
    parcels: u32,
}

async fn reserve_stock(order: &Order) -> Result<u32, String> {
    tokio::task::yield_now().await; // a call to the inventory service
    println!("   reserve {} parcels for {}", order.parcels, order.id);
    Ok(order.parcels)
}

async fn authorise(order: &Order) -> Result<String, String> {
    tokio::task::yield_now().await; // a call to the payment provider
    Ok(format!("auth-{}", order.id))
}

async fn ship(parcel: u32) -> Result<u32, String> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    SHIPPED.fetch_add(1, Ordering::SeqCst);
    Ok(parcel)
}

async fn quote(carrier: &str, millis: u64) -> Result<String, String> {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    Ok(carrier.to_owned())
}

#[workflow]
async fn billing(cents: u32) -> Result<String, String> {
    let approved: bool = await_hook!("bank");
    if approved {
        Ok(format!("billed {cents}"))
    } else {
        Err("refused".into())
    }
}

#[workflow]
async fn checkout(order: Order) -> Result<String, String> {
    let release = |parcels: u32| async move {
        println!("   compensate: release {parcels} reserved parcels");
        Ok::<(), String>(())
    };
    let (reserved, authorisation) = try_all!("prepare",
        stock => step!("reserve", compensate = release, reserve_stock(&order).await),
        payment => step!(authorise(&order).await),
    )?;
    let shipped = fan_out!("ship-all", parcel in 0..reserved, key = parcel, concurrency = 16,
        step!(ship(parcel).await)
    );
    let shipped: Vec<u32> = shipped.into_iter().collect::<Result<_, _>>()?;
    let carrier = race!("carrier",
        fast => step!("ask-fast", quote("fast-freight", 5).await),
        cheap => step!("ask-cheap", quote("cheap-cargo", 50).await),
    )?;
    let bill: Result<String, ChildError<String>> = child!("bill", "billing", &order.cents);
    let bill = bill.map_err(|error| error.to_string())?;
    Ok(format!(
        "{} parcels via {carrier}, {authorisation}, {bill}",
        shipped.len()
    ))
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let file = std::env::temp_dir().join(format!("awaitly-fan-out-{}.db", std::process::id()));
        let store = SqliteStore::open(&file)
            .await
            .expect("the SQLite file opens");
        let engine = Engine::new(store)
            .register("checkout", 1, checkout)
            .register("billing", 1, billing);

        println!("1. order-1: reserve and authorise at once, ship 200 parcels 16 at a time");
        let order = Order {
            id: "order-1".into(),
            cents: 4200,
            parcels: 200,
        };
        let began = Instant::now();
        let started = engine
            .start("order-1", "checkout", &order)
            .await
            .expect("started");
        println!(
            "   shipped {} parcels in {:?}; waits for its child: {}",
            SHIPPED.load(Ordering::SeqCst),
            began.elapsed(),
            matches!(started.outcome, RunOutcome::Suspended { .. })
        );
        let child = engine.record("order-1/bill").await.expect("the child run");
        let bank = child
            .outcome
            .pending_hook()
            .expect("the child waits for the bank");
        println!("2. the bank approves: the child completes and resumes its parent");
        engine
            .resume_hook(&bank.hook_id, serde_json::json!(true))
            .await
            .expect("delivered");
        match engine.record("order-1").await.expect("the run").outcome {
            RunOutcome::Completed { result } => println!("   order-1 completed: {result}"),
            other => panic!("expected completion, got {other:?}"),
        }

        println!("3. order-2 is cancelled while its child waits: its reservation is released");
        let order = Order {
            id: "order-2".into(),
            cents: 100,
            parcels: 3,
        };
        engine
            .start("order-2", "checkout", &order)
            .await
            .expect("started");
        let cancelled = engine
            .cancel("order-2", "customer left")
            .await
            .expect("cancelled");
        println!("   order-2: {cancelled:?}");
        println!(
            "   its child: {:?}",
            engine
                .record("order-2/bill")
                .await
                .expect("the child")
                .outcome
        );
        drop(engine);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    });
}
