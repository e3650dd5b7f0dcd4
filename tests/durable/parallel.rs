//! Doing things at once on the durable engine (issue 14), on every store: a hook in one branch of
//! `all!` while the other completes, a fan-out killed (SIGKILL, a real process) in the middle and
//! resumed with only its unfinished items, cancellation during a fan-out with compensations, and
//! a child workflow that suspends at its own hook and resumes its parent when it completes —
//! across two processes.
#![cfg(feature = "sqlite")]

use crate::common::{self, backends};

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use awaitly::durable::{Delivery, Engine};
use awaitly::store::{RunOutcome, SqliteStore, Store};
use awaitly::{
    ChildError, ManualClock, all, await_hook, child, fan_out, race, sleep, step, workflow,
};
use serde_json::json;

static RESERVED: AtomicU32 = AtomicU32::new(0);
static RELEASED: AtomicU32 = AtomicU32::new(0);

#[workflow]
async fn checkout(order: u32) -> Result<(u32, String), String> {
    let (stock, confirmation) = all!("checkout",
        stock => step!("reserve", {
            RESERVED.fetch_add(1, Ordering::SeqCst);
            Ok::<u32, String>(order)
        }),
        confirm => {
            let said: String = await_hook!("customer");
            Ok::<String, String>(said)
        },
    );
    Ok((stock?, confirmation?))
}

#[workflow]
async fn reserve_all(items: Vec<u32>) -> Result<Vec<u32>, String> {
    let confirmed = fan_out!("orders", item in items, key = item, concurrency = 4, {
        let reserved = step!("reserve", compensate = |item: u32| async move {
            RELEASED.fetch_add(item, Ordering::SeqCst);
            Ok::<(), String>(())
        }, Ok::<u32, String>(item))?;
        let ok: bool = await_hook!("confirm");
        if ok { Ok::<u32, String>(reserved) } else { Err(format!("{item} refused")) }
    });
    confirmed.into_iter().collect()
}

#[workflow]
async fn payment(cents: u32) -> Result<String, String> {
    let authorised: bool = await_hook!("bank");
    if authorised {
        Ok(format!("paid {cents}"))
    } else {
        Err("refused by the bank".into())
    }
}

#[workflow]
async fn order(cents: u32) -> Result<String, String> {
    step!("reserve", Ok::<u32, String>(cents))?;
    let receipt: Result<String, ChildError<String>> = child!("pay", "payment", &cents);
    receipt.map_err(|error| error.to_string())
}

#[workflow]
async fn two_approvals() -> Result<(bool, bool), String> {
    let (finance, legal) = all!("approvals",
        finance => { let ok: bool = await_hook!("finance"); ok },
        legal => { let ok: bool = await_hook!("legal"); ok },
    );
    Ok((finance, legal))
}

#[workflow]
async fn answer_or_timeout() -> Result<String, String> {
    let answer = race!("answer-or-timeout",
        answer => { let said: String = await_hook!("answer"); said },
        timeout => { sleep!("deadline", Duration::from_hours(1)); "timed out".to_owned() },
    );
    Ok(answer)
}

static UNDONE: AtomicU32 = AtomicU32::new(0);

#[workflow]
async fn slow_then_wait(millis: u64) -> Result<bool, String> {
    step!(
        "slow",
        compensate = |_: u32| async move {
            UNDONE.fetch_add(1, Ordering::SeqCst);
            Ok::<(), String>(())
        },
        async {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Ok::<u32, String>(1)
        }
        .await
    )?;
    let paid: bool = await_hook!("payment");
    Ok(paid)
}

#[workflow]
async fn orphan_order() -> Result<String, String> {
    let receipt: Result<String, ChildError<String>> = child!("pay", "no-such-workflow", &1_u32);
    receipt.map_err(|error| error.to_string())
}

fn engine(store: Arc<dyn Store>) -> Engine {
    Engine::with_store(store)
        .register("orphan-order", 1, |(): ()| orphan_order())
        .register("slow-then-wait", 1, slow_then_wait)
        .register("two-approvals", 1, |(): ()| two_approvals())
        .register("answer-or-timeout", 1, |(): ()| answer_or_timeout())
        .register("checkout", 1, checkout)
        .register("reserve-all", 1, reserve_all)
        .register("payment", 1, payment)
        .register("order", 1, order)
        .register("effects", 1, effects)
}

#[tokio::test]
async fn a_hook_in_one_branch_of_all_waits_while_the_other_completes() {
    for (name, store, cleanup) in backends().await {
        let engine = engine(store);
        let before = RESERVED.load(Ordering::SeqCst);
        let started = engine
            .start(&format!("{name}-join"), "checkout", &7)
            .await
            .unwrap();
        let RunOutcome::Suspended { hook } = started.outcome else {
            panic!("{name}: {:?}", started.outcome);
        };
        // The other branch's step ran and is stored.
        assert_eq!(RESERVED.load(Ordering::SeqCst), before + 1, "{name}");
        let delivery = engine
            .resume_hook(&hook.hook_id, json!("yes"))
            .await
            .unwrap();
        let Delivery::Applied { outcome, .. } = delivery else {
            panic!("{name}: {delivery:?}");
        };
        assert_eq!(
            outcome,
            RunOutcome::Completed {
                result: json!([7, "yes"])
            },
            "{name}"
        );
        assert_eq!(
            RESERVED.load(Ordering::SeqCst),
            before + 1,
            "{name}: replayed, not run again"
        );
        cleanup.run().await;
    }
}

#[tokio::test]
async fn branches_waiting_at_once_take_their_deliveries_in_any_order_and_any_process() {
    for (name, store, cleanup) in backends().await {
        let engine = engine(store.clone());
        let run_id = format!("{name}-two-waits");
        let started = engine.start(&run_id, "two-approvals", &()).await.unwrap();
        let RunOutcome::Waiting { hooks, .. } = started.outcome else {
            panic!("{name}: {:?}", started.outcome);
        };
        assert_eq!(hooks.len(), 2, "{name}");
        // Both hooks are listed as waiting, by their ids.
        let listed = engine.pending_hooks().await.unwrap();
        assert!(
            hooks
                .iter()
                .all(|hook| listed.iter().any(|record| record.hook_id == hook.hook_id)),
            "{name}"
        );
        // The second branch's hook first, by another engine on the same store.
        let other = self::engine(store);
        let delivery = other
            .resume_hook(&hooks[1].hook_id, json!(true))
            .await
            .unwrap();
        let Delivery::Applied { outcome, .. } = delivery else {
            panic!("{name}: {delivery:?}");
        };
        assert!(
            matches!(outcome, RunOutcome::Suspended { ref hook } if hook.hook_id == hooks[0].hook_id),
            "{name}: {outcome:?}"
        );
        let delivery = engine
            .resume_hook(&hooks[0].hook_id, json!(false))
            .await
            .unwrap();
        let Delivery::Applied { outcome, .. } = delivery else {
            panic!("{name}: {delivery:?}");
        };
        assert_eq!(
            outcome,
            RunOutcome::Completed {
                result: json!([false, true])
            },
            "{name}"
        );
        cleanup.run().await;
    }
}

#[tokio::test]
async fn a_durable_race_of_a_hook_and_a_sleep_wakes_at_the_deadline() {
    for (name, store, cleanup) in backends().await {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let engine = engine(store).clock(clock.clone());
        let run_id = format!("{name}-race");
        let started = engine
            .start(&run_id, "answer-or-timeout", &())
            .await
            .unwrap();
        assert!(
            matches!(started.outcome, RunOutcome::Waiting { ref hooks, ref sleeps, .. } if hooks.len() == 1 && sleeps.len() == 1),
            "{name}: {:?}",
            started.outcome
        );
        assert_eq!(
            started.outcome.due_at_ms(),
            Some(1_000_000 + 3_600_000),
            "{name}"
        );
        // Not due yet.
        assert!(engine.resume_due().await.unwrap().is_empty(), "{name}");
        clock.advance(Duration::from_hours(1));
        let resumed = engine.resume_due().await.unwrap();
        assert_eq!(resumed.len(), 1, "{name}");
        assert_eq!(
            engine.record(&run_id).await.unwrap().outcome,
            RunOutcome::Completed {
                result: json!("timed out")
            },
            "{name}"
        );
        // The losing branch's hook was let go: a late answer is refused, its claim freed.
        let RunOutcome::Waiting { hooks, .. } = started.outcome else {
            unreachable!("checked above")
        };
        let late = engine
            .resume_hook(&hooks[0].hook_id, json!("too late"))
            .await;
        assert!(
            matches!(
                late,
                Err(awaitly::durable::EngineError::HookAbandoned { .. })
            ),
            "{name}: {late:?}"
        );
        let record = engine
            .store()
            .find_hook(&hooks[0].hook_id)
            .await
            .unwrap()
            .unwrap();
        assert!(record.payload.is_none(), "{name}");
        cleanup.run().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_run_another_executor_is_advancing_waits_for_it_to_let_go() {
    for (name, store, cleanup) in backends().await {
        let busy = Arc::new(engine(store.clone()));
        let run_id = format!("{name}-held");
        let runner = Arc::clone(&busy);
        let id = run_id.clone();
        let started =
            tokio::spawn(async move { runner.start(&id, "slow-then-wait", &400_u64).await });
        // Wait until the other executor holds the run in its slow step.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !matches!(store.load_run(&run_id).await.unwrap(), Some(ref run) if run.record.lease.is_some())
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{name}: never started"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Impatient: refused, nothing changed.
        let impatient = engine(store.clone()).answer_within(Duration::from_millis(20));
        assert!(
            matches!(
                impatient.cancel(&run_id, "now").await,
                Err(awaitly::durable::EngineError::Busy { .. })
            ),
            "{name}"
        );
        // Patient: waits until the run suspends at its hook, then cancels and compensates.
        let before = UNDONE.load(Ordering::SeqCst);
        let patient = engine(store.clone()).answer_within(Duration::from_secs(10));
        let cancelled = patient.cancel(&run_id, "later").await.unwrap();
        assert_eq!(
            cancelled,
            RunOutcome::Cancelled {
                reason: Some("later".into())
            },
            "{name}"
        );
        assert_eq!(UNDONE.load(Ordering::SeqCst) - before, 1, "{name}");
        assert!(started.await.unwrap().is_ok(), "{name}");
        cleanup.run().await;
    }
}

#[tokio::test]
async fn cancelling_during_a_durable_fan_out_undoes_every_reserved_item() {
    for (name, store, cleanup) in backends().await {
        let engine = engine(store);
        let run_id = format!("{name}-cancel-fan-out");
        let started = engine
            .start(&run_id, "reserve-all", &vec![1_u32, 2, 3, 4, 5, 6])
            .await
            .unwrap();
        // Four items in flight wait for their confirmation; items 5 and 6 have not started.
        assert!(
            matches!(started.outcome, RunOutcome::Waiting { ref hooks, .. } if hooks.len() == 4),
            "{name}: {:?}",
            started.outcome
        );
        let before = RELEASED.load(Ordering::SeqCst);
        let cancelled = engine.cancel(&run_id, "order withdrawn").await.unwrap();
        assert_eq!(
            cancelled,
            RunOutcome::Cancelled {
                reason: Some("order withdrawn".into())
            },
            "{name}"
        );
        assert_eq!(
            RELEASED.load(Ordering::SeqCst) - before,
            1 + 2 + 3 + 4,
            "{name}"
        );
        // Cancelling again changes nothing and undoes nothing twice.
        assert_eq!(engine.cancel(&run_id, "again").await.unwrap(), cancelled);
        assert_eq!(RELEASED.load(Ordering::SeqCst) - before, 10, "{name}");
        cleanup.run().await;
    }
}

#[tokio::test]
async fn a_child_workflow_suspends_at_its_own_hook_and_its_completion_resumes_the_parent() {
    for (name, store, cleanup) in backends().await {
        let engine = engine(store);
        let parent = format!("{name}-order");
        let started = engine.start(&parent, "order", &4200).await.unwrap();
        assert!(
            matches!(started.outcome, RunOutcome::Suspended { .. }),
            "{name}"
        );
        // The child runs under a derived id and waits at its own hook.
        let child = engine.record(&format!("{parent}/pay")).await.unwrap();
        let RunOutcome::Suspended { hook } = child.outcome else {
            panic!("{name}: {:?}", child.outcome);
        };
        let delivery = engine
            .resume_hook(&hook.hook_id, json!(true))
            .await
            .unwrap();
        assert!(
            matches!(delivery, Delivery::Applied { .. }),
            "{name}: {delivery:?}"
        );
        assert_eq!(
            engine.record(&parent).await.unwrap().outcome,
            RunOutcome::Completed {
                result: json!("paid 4200")
            },
            "{name}"
        );

        // A child that fails reaches its parent typed.
        let refused = format!("{name}-refused");
        engine.start(&refused, "order", &1).await.unwrap();
        let child = engine.record(&format!("{refused}/pay")).await.unwrap();
        let hook = child.outcome.pending_hook().unwrap().hook_id.clone();
        engine.resume_hook(&hook, json!(false)).await.unwrap();
        assert_eq!(
            engine.record(&refused).await.unwrap().outcome,
            RunOutcome::Failed {
                error: json!("the child run failed")
            },
            "{name}"
        );

        // Cancelling a parent cancels the child it waits for.
        let cancelled = format!("{name}-cancelled");
        engine.start(&cancelled, "order", &1).await.unwrap();
        engine.cancel(&cancelled, "changed my mind").await.unwrap();
        assert!(
            matches!(
                engine
                    .record(&format!("{cancelled}/pay"))
                    .await
                    .unwrap()
                    .outcome,
                RunOutcome::Cancelled { .. }
            ),
            "{name}"
        );
        cleanup.run().await;
    }
}

#[tokio::test]
async fn a_child_that_cannot_start_is_reported_to_its_parent_as_stopped() {
    for (name, store, cleanup) in backends().await {
        let engine = engine(store);
        let run_id = format!("{name}-orphan");
        let started = engine.start(&run_id, "orphan-order", &()).await.unwrap();
        let RunOutcome::Failed { error } = started.outcome else {
            panic!("{name}: {:?}", started.outcome);
        };
        let message = error.as_str().unwrap_or_default();
        assert!(
            message.starts_with("the child run stopped") && message.contains("no-such-workflow"),
            "{name}: {message}"
        );
        cleanup.run().await;
    }
}

/// The role a re-executed copy of this test binary plays, and its argument.
const ROLE: &str = "AWAITLY_PARALLEL_TEST_ROLE";
const ARGUMENT: &str = "AWAITLY_PARALLEL_TEST_ARGUMENT";

/// Runs this test binary again as another process, running only `test` with `role`.
fn other_process(test: &str, role: &str, argument: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(ROLE, role)
        .env(ARGUMENT, argument);
    command
}

#[tokio::test]
async fn a_child_completing_in_another_process_resumes_its_parent_there() {
    let file = common::ScratchFile::new("child-two-processes");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&file.0).await.unwrap());
    let engine = engine(store);
    engine.start("order-2p", "order", &99).await.unwrap();
    let child = engine.record("order-2p/pay").await.unwrap();
    let hook = child.outcome.pending_hook().unwrap().hook_id.clone();
    // The bank's callback reaches the other process, which has its own engine on the file.
    let status = other_process(
        "parallel::second_process",
        "deliver",
        &format!("{}|{}", file.0.display(), hook.as_str()),
    )
    .status()
    .unwrap();
    assert!(status.success());
    // This process did nothing more: the other one completed the child and resumed the parent.
    assert_eq!(
        engine.record("order-2p").await.unwrap().outcome,
        RunOutcome::Completed {
            result: json!("paid 99")
        }
    );
}

/// Appends one line per item effect to a file, fsynced before the step returns.
#[workflow]
async fn effects(input: (String, u32)) -> Result<Vec<u32>, String> {
    let (log, count) = input;
    let done = fan_out!("items", item in 0..count, key = item, concurrency = 8, {
        step!("effect", async {
            tokio::time::sleep(Duration::from_millis(3)).await;
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&log).map_err(|error| error.to_string())?;
            writeln!(file, "{item}").map_err(|error| error.to_string())?;
            file.sync_all().map_err(|error| error.to_string())?;
            Ok::<u32, String>(item)
        }.await)
    });
    done.into_iter().collect()
}

fn effect_counts(log: &Path, count: u32) -> Vec<u32> {
    let mut counts = vec![0; count as usize];
    for line in std::fs::read_to_string(log).unwrap_or_default().lines() {
        counts[line.parse::<usize>().unwrap()] += 1;
    }
    counts
}

/// A store both processes open: a SQLite file, or a PostgreSQL schema (`pg:<schema>`).
async fn open_shared(place: &str) -> Arc<dyn Store> {
    match place.strip_prefix("pg:") {
        Some(schema) => {
            let url = common::postgres_url().expect("PostgreSQL is configured");
            Arc::new(
                awaitly::store::PostgresStore::connect_with_schema(&url, schema)
                    .await
                    .unwrap(),
            )
        }
        None => Arc::new(SqliteStore::open(place).await.unwrap()),
    }
}

#[tokio::test]
async fn a_fan_out_killed_in_the_middle_resumes_with_only_its_unfinished_items() {
    let file = common::ScratchFile::new("fan-out-kill");
    kill_a_fan_out_and_recover(&file.0.display().to_string()).await;
    if common::postgres_url().is_some() {
        let schema = common::unique("fan_out_kill");
        kill_a_fan_out_and_recover(&format!("pg:{schema}")).await;
        if let Ok(store) = awaitly::store::PostgresStore::connect_with_schema(
            &common::postgres_url().unwrap(),
            &schema,
        )
        .await
        {
            store.drop_schema().await.unwrap();
        }
    }
}

/// Starts a 400-item fan-out in another process on `place`, SIGKILLs it once 60 items ran, and
/// recovers the run here: only the unfinished items run again.
async fn kill_a_fan_out_and_recover(place: &str) {
    const COUNT: u32 = 400;
    let log = std::env::temp_dir().join(format!("{}.log", common::unique("fan-out-effects")));
    let mut child = other_process(
        "parallel::second_process",
        "fan-out",
        &format!("{place}|{}|{COUNT}", log.display()),
    )
    .spawn()
    .unwrap();
    // Kill it once some items are done, well before all are.
    let deadline = std::time::Instant::now() + Duration::from_mins(1);
    while effect_counts(&log, COUNT)
        .iter()
        .filter(|count| **count > 0)
        .count()
        < 60
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{place}: the fan-out never got going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let store = open_shared(place).await;
    let stored = store.load_run("fan-out").await.unwrap().unwrap();
    let recorded = (0..COUNT)
        .filter(|item| stored.state.contains_key(&format!("items[{item}]/effect")))
        .count();
    let before = effect_counts(&log, COUNT);
    assert!(
        recorded > 0 && recorded < COUNT as usize,
        "{place}: recorded {recorded}"
    );

    // Its lease lapses; another executor recovers the run.
    let engine = engine(store).stale_after(Duration::from_millis(300));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let recovered = engine.recover().await.unwrap();
    assert_eq!(recovered.len(), 1, "{place}");
    let outcome = engine.record("fan-out").await.unwrap().outcome;
    assert_eq!(
        outcome,
        RunOutcome::Completed {
            result: json!((0..COUNT).collect::<Vec<_>>())
        },
        "{place}"
    );

    let after = effect_counts(&log, COUNT);
    let rerun: usize = (0..COUNT as usize)
        .filter(|item| after[*item] > before[*item])
        .count();
    // Only the unfinished items ran after the restart...
    assert_eq!(rerun, COUNT as usize - recorded, "{place}");
    // ...and the only effects that ever ran twice are of items in flight at the kill, whose
    // checkpoint had not been written (at most `concurrency` of them).
    let twice = after.iter().filter(|count| **count > 1).count();
    assert!(twice <= 8, "{place}: {twice} items ran twice");
    assert!(after.iter().all(|count| *count >= 1), "{place}");
    let _ = std::fs::remove_file(&log);
}

/// What the re-executed test binary does: nothing unless it was started by a test above.
#[tokio::test]
#[ignore = "a role played by a second process that the tests above start"]
async fn second_process() {
    let (Ok(role), Ok(argument)) = (std::env::var(ROLE), std::env::var(ARGUMENT)) else {
        return;
    };
    let parts: Vec<&str> = argument.split('|').collect();
    let store = open_shared(parts[0]).await;
    // A short lease: the test that kills this process waits it out before recovering.
    let engine = engine(store).stale_after(Duration::from_millis(300));
    match role.as_str() {
        "deliver" => {
            let delivery = engine
                .resume_hook(&parts[1].into(), json!(true))
                .await
                .unwrap();
            assert!(matches!(delivery, Delivery::Applied { .. }), "{delivery:?}");
        }
        "fan-out" => {
            let count: u32 = parts[2].parse().unwrap();
            engine
                .start("fan-out", "effects", &(parts[1].to_owned(), count))
                .await
                .unwrap();
        }
        other => panic!("unknown role {other}"),
    }
}
