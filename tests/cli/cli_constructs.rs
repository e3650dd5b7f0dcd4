//! `run` shows a run's fan-out progress, children, compensations and cancellation; `cancel`
//! records a cancellation that a worker with the workflow's code then carries out — all through
//! the real binary on a SQLite store. (The engine suspends a run at one hook at a time, so the
//! fan-out here waits in one item.)
#![cfg(all(feature = "cli", feature = "sqlite"))]

use std::sync::Mutex;

use awaitly::durable::Engine;
use awaitly::store::{RunOutcome, SqliteStore};
use awaitly::{ChildError, await_hook, child, fan_out, step, workflow};

use super::cli::awaitly;

static UNDONE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

#[workflow]
async fn ship(orders: Vec<u32>) -> Result<u32, String> {
    let reserved = step!(
        "reserve",
        compensate = |reserved: u32| {
            UNDONE.lock().unwrap().push(reserved);
            std::future::ready(Ok::<(), String>(()))
        },
        Ok::<u32, String>(3)
    )?;
    let shipped = fan_out!("ship-all", order in orders, key = order, concurrency = 1, {
        step!("pack", Ok::<u32, String>(order))?;
        if order == 2 {
            let _confirmed: bool = await_hook!("confirm");
        }
        Ok::<u32, String>(order)
    });
    let shipped: Vec<u32> = shipped.into_iter().collect::<Result<_, _>>()?;
    Ok(reserved + shipped.iter().sum::<u32>())
}

#[workflow]
async fn parent(amount: u32) -> Result<u32, String> {
    let paid: Result<u32, ChildError<String>> = child!("pay", "payment", &amount);
    paid.map_err(|error| error.to_string())
}

#[workflow]
async fn payment(amount: u32) -> Result<u32, String> {
    let _approved: bool = await_hook!("bank");
    Ok(amount)
}

async fn open_engine(path: &std::path::Path) -> Engine {
    let store = SqliteStore::open(path).await.unwrap();
    Engine::new(store)
        .register("ship", 1, ship)
        .register("parent", 1, parent)
        .register("payment", 1, payment)
}

struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

#[tokio::test]
async fn cancel_records_a_cancellation_that_a_worker_carries_out_and_run_shows_the_constructs() {
    let path = std::env::temp_dir().join(format!("awaitly-cli-cancel-{}.db", std::process::id()));
    let _scratch = Scratch(path.clone());
    let store = format!("sqlite://{}", path.display());
    let engine = open_engine(&path).await;
    let outcome = engine
        .start("o-1", "ship", &(1..=6).collect::<Vec<u32>>())
        .await
        .unwrap();
    assert!(
        matches!(outcome.outcome, RunOutcome::Suspended { .. }),
        "{outcome:?}"
    );
    engine.start("p-1", "parent", &42_u32).await.unwrap();

    let shown = awaitly(&["--store", &store, "run", "o-1"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown
            .stdout
            .contains("fan-out   ship-all: 1 done / 1 in flight / 4 pending\n"),
        "{}",
        shown.stdout
    );
    let json = awaitly(&["--store", &store, "--json", "run", "o-1"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["fan_outs"][0]["pending"], 4);
    let shown = awaitly(&["--store", &store, "run", "p-1"]);
    assert!(
        shown
            .stdout
            .contains("child     pay -> run p-1/pay (workflow payment), waiting\n"),
        "{}",
        shown.stdout
    );

    // Hostile text in the reason is recorded as given and printed escaped.
    let cancelled = awaitly(&[
        "--store",
        &store,
        "cancel",
        "o-1",
        "--reason",
        "customer left\u{1b}[2J",
    ]);
    assert_eq!(cancelled.code, 0, "{}", cancelled.stderr);
    assert!(
        cancelled
            .stdout
            .contains("cancellation recorded for run o-1")
    );
    // Nothing ran yet: no workflow code in the tool.
    assert!(UNDONE.lock().unwrap().is_empty());

    // A worker with the workflow's code finishes it: stopped, compensated, cancelled.
    let worker = open_engine(&path).await;
    let recovered = worker.recover().await.unwrap();
    let (_, outcome) = recovered
        .iter()
        .find(|(run_id, _)| run_id == "o-1")
        .expect("o-1 recovered");
    assert_eq!(
        outcome.as_ref().unwrap(),
        &RunOutcome::Cancelled {
            reason: Some("customer left\u{1b}[2J".into())
        }
    );
    assert_eq!(*UNDONE.lock().unwrap(), [3]);

    let shown = awaitly(&["--store", &store, "run", "o-1"]);
    assert!(
        shown.stdout.contains("status    cancelled\n"),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains("undone    reserve\n"),
        "{}",
        shown.stdout
    );
    assert!(
        shown
            .stdout
            .contains("cancelled: customer left\\u001b[2J\n"),
        "{}",
        shown.stdout
    );

    // A finished run cannot be cancelled; an unknown one is named.
    let again = awaitly(&["--store", &store, "cancel", "o-1"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("run `o-1` is cancelled"),
        "{}",
        again.stderr
    );
    let unknown = awaitly(&["--store", &store, "cancel", "nope"]);
    assert!(
        unknown.stderr.contains("no run `nope`"),
        "{}",
        unknown.stderr
    );
    let help = awaitly(&["--store", &store, "help", "cancel"]);
    assert!(help.stdout.contains("Engine::recover"), "{}", help.stdout);
}
