//! The durable engine's behaviours, each checked on every backend (memory, SQLite, and
//! Postgres when `AWAITLY_TEST_POSTGRES_URL` is set).
#![cfg(feature = "durable")]

use crate::common;

use common::on_every_backend;

use std::sync::Arc;
use std::time::Duration;

use awaitly::durable::{Delivery, Engine, EngineError};
use awaitly::store::{
    Changes, Claim, ClaimedRuns, Created, HookRecord, Lease, NewRun, QueueLimit, RunOutcome,
    RunRecord, RunStatus, Saved, Store, StoreFuture, StoredRun,
};
use awaitly::{HookId, await_hook, step, workflow};
use common::flows::{self, OrderInput, executions};
use serde_json::json;

fn order(run: &str) -> OrderInput {
    OrderInput {
        run: run.to_owned(),
        cents: 4200,
    }
}

fn hook_of(outcome: &RunOutcome) -> HookId {
    outcome
        .pending_hook()
        .unwrap_or_else(|| panic!("expected a suspended run, got {outcome:?}"))
        .hook_id
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspends_at_a_created_hook_then_completes_on_delivery() {
    on_every_backend(|backend, store| async move {
        let run = format!("happy-{backend}");
        let engine = flows::engine(store);
        let started = engine.start(&run, "order", &order(&run)).await.unwrap();
        assert!(started.created);
        let hook = hook_of(&started.outcome);
        let pending = engine.pending_hooks().await.unwrap();
        let listed = pending
            .iter()
            .find(|record| record.hook_id == hook)
            .unwrap();
        assert_eq!(listed.run_id, run);
        assert_eq!(
            listed.metadata,
            Some(json!({ "order": format!("ord-{run}") }))
        );
        assert_eq!(
            engine.record(&run).await.unwrap().status(),
            RunStatus::Suspended
        );

        let delivery = engine
            .resume_hook(&hook, json!({ "paid_cents": 4200 }))
            .await
            .unwrap();
        assert_eq!(
            delivery,
            Delivery::Applied {
                run_id: run.clone(),
                outcome: RunOutcome::Completed {
                    result: json!(format!("ord-{run} fulfilled"))
                }
            }
        );
        assert_eq!(
            executions(&run, "create-order"),
            1,
            "replayed, not run again"
        );
        assert_eq!(executions(&run, "fulfil"), 1);
        let record = engine.record(&run).await.unwrap();
        assert_eq!(
            record.status(),
            RunStatus::Completed,
            "completed runs are kept"
        );
        assert!(
            engine
                .pending_hooks()
                .await
                .unwrap()
                .iter()
                .all(|record| record.hook_id != hook)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_is_idempotent_and_run_ids_are_per_workflow() {
    on_every_backend(|backend, store| async move {
        let run = format!("idem-{backend}");
        let engine = flows::engine(store);
        let first = engine.start(&run, "order", &order(&run)).await.unwrap();
        let again = engine.start(&run, "order", &order(&run)).await.unwrap();
        assert!(!again.created);
        assert_eq!(again.outcome, first.outcome, "the existing run, same hook");
        assert_eq!(executions(&run, "create-order"), 1);
        let taken = engine.start(&run, "twenty", &run).await.unwrap_err();
        assert!(matches!(taken, EngineError::RunIdTaken { .. }), "{taken:?}");
        let unknown = engine.start("x", "nope", &1).await.unwrap_err();
        assert!(
            matches!(unknown, EngineError::UnknownWorkflow { .. }),
            "{unknown:?}"
        );
        let invalid = engine
            .start(&format!("{run}-bad"), "order", &"not an order")
            .await
            .unwrap_err();
        assert!(
            matches!(invalid, EngineError::InvalidInput { .. }),
            "{invalid:?}"
        );
        assert!(
            engine
                .store()
                .load_run(&format!("{run}-bad"))
                .await
                .unwrap()
                .is_none()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_validated() {
    on_every_backend(|backend, store| async move {
        let run = format!("validate-{backend}");
        let engine = flows::engine(store);
        let hook = hook_of(
            &engine
                .start(&run, "order", &order(&run))
                .await
                .unwrap()
                .outcome,
        );

        let unknown = engine
            .resume_hook(&"no-such-hook".into(), json!(1))
            .await
            .unwrap_err();
        assert!(
            matches!(unknown, EngineError::UnknownHook { .. }),
            "{unknown:?}"
        );

        // Wrong type: a typed error, the hook waits again, the stored state is unchanged.
        let before = engine
            .store()
            .load_run(&run)
            .await
            .unwrap()
            .unwrap()
            .state
            .to_json();
        let wrong = engine
            .resume_hook(&hook, json!({ "paid_cents": "lots" }))
            .await
            .unwrap_err();
        assert!(
            matches!(wrong, EngineError::PayloadType { .. }),
            "{wrong:?}"
        );
        let cause = std::error::Error::source(&wrong).expect("the decode error is kept");
        assert!(cause.is::<serde_json::Error>(), "{cause:?}");
        let after = engine.store().load_run(&run).await.unwrap().unwrap();
        assert_eq!(after.state.to_json(), before);
        assert_eq!(after.record.status(), RunStatus::Suspended);
        assert!(
            engine
                .pending_hooks()
                .await
                .unwrap()
                .iter()
                .any(|record| record.hook_id == hook)
        );
        assert_eq!(executions(&run, "fulfil"), 0);

        let payment = json!({ "paid_cents": 4200 });
        assert!(matches!(
            engine.resume_hook(&hook, payment.clone()).await.unwrap(),
            Delivery::Applied { .. }
        ));
        let duplicate = engine.resume_hook(&hook, payment).await.unwrap();
        assert!(
            matches!(
                &duplicate,
                Delivery::Duplicate {
                    outcome: RunOutcome::Completed { .. },
                    ..
                }
            ),
            "{duplicate:?}"
        );
        let other = engine
            .resume_hook(&hook, json!({ "paid_cents": 1 }))
            .await
            .unwrap_err();
        assert!(
            matches!(other, EngineError::AlreadyResolved { .. }),
            "{other:?}"
        );
        assert_eq!(executions(&run, "fulfil"), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_recorded_and_checked() {
    on_every_backend(|backend, store| async move {
        let run = format!("version-{backend}");
        let v1 = flows::engine(Arc::clone(&store));
        let hook = hook_of(&v1.start(&run, "order", &order(&run)).await.unwrap().outcome);
        assert_eq!(v1.record(&run).await.unwrap().version, 1);

        let v2 = Engine::with_store(Arc::clone(&store)).register("order", 2, flows::order_flow);
        let refused = v2.resume_hook(&hook, json!({ "paid_cents": 4200 })).await.unwrap_err();
        assert!(
            matches!(&refused, EngineError::VersionMismatch { run_version: 1, registered, .. } if *registered == [2]),
            "{refused:?}"
        );
        // The refused delivery left the claim; once migrated, the run takes it.
        v2.set_version(&run, 2).await.unwrap();
        let outcome = v2.resume_run(&run).await.unwrap();
        assert!(matches!(outcome, RunOutcome::Completed { .. }), "{outcome:?}");
        assert_eq!(executions(&run, "create-order"), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_can_be_retried() {
    on_every_backend(|backend, store| async move {
        let run = format!("retry-{backend}");
        let engine = flows::engine(store);
        let mut input = order(&run);
        input.cents = 100;
        let hook = hook_of(&engine.start(&run, "order", &input).await.unwrap().outcome);
        let delivery = engine
            .resume_hook(&hook, json!({ "paid_cents": 100 }))
            .await
            .unwrap();
        assert!(matches!(
            delivery,
            Delivery::Applied {
                outcome: RunOutcome::Completed { .. },
                ..
            }
        ));

        let failing = format!("retry-fail-{backend}");
        let mut input = order(&failing);
        input.cents = 100;
        let hook = hook_of(
            &engine
                .start(&failing, "order", &input)
                .await
                .unwrap()
                .outcome,
        );
        let delivery = engine
            .resume_hook(&hook, json!({ "paid_cents": 99 }))
            .await
            .unwrap();
        let Delivery::Applied {
            outcome: RunOutcome::Failed { error },
            ..
        } = delivery
        else {
            panic!("expected a failed run, got {delivery:?}");
        };
        assert_eq!(error, json!(format!("ord-{failing}: paid 99 of 100")));
        // The failure is recorded; a retry runs the failed step again (it fails again: same payment).
        let retried = engine.retry_run(&failing).await.unwrap();
        assert!(matches!(retried, RunOutcome::Failed { .. }));
        assert_eq!(executions(&failing, "fulfil"), 2);
        assert_eq!(executions(&failing, "create-order"), 1);
    })
    .await;
}

static GATE: tokio::sync::Mutex<Option<Arc<tokio::sync::Notify>>> =
    tokio::sync::Mutex::const_new(None);

async fn slow_step(run: &str) -> Result<u32, String> {
    flows::executed(run, "slow");
    let gate = GATE.lock().await.clone();
    if let Some(gate) = gate {
        gate.notified().await;
    }
    Ok(1)
}

#[workflow]
async fn gated(run: String) -> Result<u32, String> {
    let first = step!("first", Ok::<u32, String>(1))?;
    let slow = step!("slow", slow_step(&run).await)?;
    let last = step!("last", Ok::<u32, String>(1))?;
    Ok(first + slow + last)
}

/// A store whose lease renewals never arrive: the executor using it looks dead (a process
/// paused, or cut off from the database) while it is in fact still running a step.
struct Partitioned(Arc<dyn Store>);

impl Store for Partitioned {
    fn create_run(&self, run: NewRun) -> StoreFuture<'_, Created> {
        self.0.create_run(run)
    }
    fn load_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, Option<StoredRun>> {
        self.0.load_run(run_id)
    }
    fn save<'a>(
        &'a self,
        run_id: &'a str,
        revision: u64,
        changes: Changes,
    ) -> StoreFuture<'a, Saved> {
        self.0.save(run_id, revision, changes)
    }
    fn claim_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a serde_json::Value,
        now_ms: u64,
        dedupe_key: Option<&'a str>,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Claim> {
        self.0
            .claim_hook(hook_id, payload, now_ms, dedupe_key, lease)
    }
    fn release_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a serde_json::Value,
    ) -> StoreFuture<'a, bool> {
        self.0.release_hook(hook_id, payload)
    }
    fn find_hook<'a>(&'a self, hook_id: &'a HookId) -> StoreFuture<'a, Option<HookRecord>> {
        self.0.find_hook(hook_id)
    }
    fn pending_hooks(&self) -> StoreFuture<'_, Vec<HookRecord>> {
        self.0.pending_hooks()
    }
    fn due_runs(&self, now_ms: u64, limit: usize) -> StoreFuture<'_, Vec<RunRecord>> {
        self.0.due_runs(now_ms, limit)
    }
    fn claim_runs<'a>(
        &'a self,
        now_ms: u64,
        limit: usize,
        lease: &'a Lease,
        queues: &'a [QueueLimit],
    ) -> StoreFuture<'a, ClaimedRuns> {
        self.0.claim_runs(now_ms, limit, lease, queues)
    }
    fn renew_lease<'a>(&'a self, _run_id: &'a str, _lease: &'a Lease) -> StoreFuture<'a, bool> {
        Box::pin(async { Ok(false) })
    }
    fn list_runs(&self) -> StoreFuture<'_, Vec<RunRecord>> {
        self.0.list_runs()
    }
    fn delete_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, bool> {
        self.0.delete_run(run_id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_executor_is_not_taken_over() {
    on_every_backend(|backend, store| async move {
        let run = format!("alive-{backend}");
        let gate = Arc::new(tokio::sync::Notify::new());
        *GATE.lock().await = Some(Arc::clone(&gate));
        // A short lease: its heartbeat renews it (every third) while the slow step runs. Not too
        // short, so a loaded machine still renews it in time.
        let slow_engine = Arc::new(
            Engine::with_store(Arc::clone(&store))
                .stale_after(Duration::from_millis(600))
                .register("gated", 1, gated),
        );
        let first = {
            let engine = Arc::clone(&slow_engine);
            let run = run.clone();
            tokio::spawn(async move { engine.start(&run, "gated", &run).await })
        };
        while executions(&run, "slow") == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        // Well past the lease's length, the executor is alive: nobody else advances the run.
        let other = Engine::with_store(Arc::clone(&store)).register("gated", 1, gated);
        assert_eq!(other.resume_run(&run).await.unwrap(), RunOutcome::Running);
        assert!(other.recover().await.unwrap().is_empty());
        let restarted = other.start(&run, "gated", &run).await.unwrap();
        assert_eq!(restarted.outcome, RunOutcome::Running);
        *GATE.lock().await = None;
        gate.notify_one();
        let finished = first.await.unwrap().unwrap();
        assert_eq!(finished.outcome, RunOutcome::Completed { result: json!(3) });
        assert_eq!(executions(&run, "slow"), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_executor_is_fenced_out() {
    on_every_backend(|backend, store| async move {
        let run = format!("fence-{backend}");
        let gate = Arc::new(tokio::sync::Notify::new());
        *GATE.lock().await = Some(Arc::clone(&gate));
        // Its lease renewals never arrive, so its lease lapses while its step runs.
        let slow_engine = Arc::new(
            Engine::with_store(Arc::new(Partitioned(Arc::clone(&store))))
                .stale_after(Duration::from_millis(100))
                .register("gated", 1, gated),
        );
        let first = {
            let engine = Arc::clone(&slow_engine);
            let run = run.clone();
            tokio::spawn(async move { engine.start(&run, "gated", &run).await })
        };
        while executions(&run, "slow") == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The first executor looks crashed: once its lease lapsed, a second one takes the run
        // over and finishes it.
        tokio::time::sleep(Duration::from_millis(150)).await;
        *GATE.lock().await = None;
        let rescuer = Engine::with_store(Arc::clone(&store)).register("gated", 1, gated);
        let outcome = rescuer.resume_run(&run).await.unwrap();
        assert_eq!(outcome, RunOutcome::Completed { result: json!(3) });
        // The stale executor wakes up: its checkpoint is refused, nothing of it is merged.
        gate.notify_one();
        let stale = first.await.unwrap().unwrap_err();
        assert!(matches!(stale, EngineError::Fenced { .. }), "{stale:?}");
        let stored = store.load_run(&run).await.unwrap().unwrap();
        assert_eq!(
            stored.record.outcome,
            RunOutcome::Completed { result: json!(3) }
        );
        assert_eq!(
            stored.state.keys().collect::<Vec<_>>(),
            ["first", "slow", "last"]
        );
        assert_eq!(
            executions(&run, "slow"),
            2,
            "the step in flight ran twice: at least once"
        );
    })
    .await;
}

#[derive(serde::Serialize, serde::Deserialize)]
struct EarlyInput {
    run: String,
    hook: HookId,
}

static EARLY_DELIVERY: tokio::sync::Mutex<Option<Arc<Engine>>> =
    tokio::sync::Mutex::const_new(None);

async fn request_payment(input: &EarlyInput) -> Result<String, String> {
    // The "provider" calls back before this step has even returned: the run has not reached its
    // hook yet, let alone saved a suspension there.
    let engine = EARLY_DELIVERY
        .lock()
        .await
        .clone()
        .expect("engine installed");
    let delivery = engine
        .resume_hook(&input.hook, json!(4200))
        .await
        .map_err(|error| error.to_string())?;
    Ok(format!("{delivery:?}"))
}

#[workflow]
async fn early(input: EarlyInput) -> Result<(String, u32), String> {
    let answer = step!("request-payment", request_payment(&input).await)?;
    let cents: u32 = await_hook!(input.hook.clone());
    Ok((answer, cents))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_before_the_suspension_is_not_lost() {
    on_every_backend(|backend, store| async move {
        let run = format!("early-{backend}");
        let engine = Arc::new(Engine::with_store(store).register("early", 1, early));
        *EARLY_DELIVERY.lock().await = Some(Arc::clone(&engine));
        let hook = awaitly::create_hook().hook_id;
        let input = EarlyInput {
            run: run.clone(),
            hook: hook.clone(),
        };
        let started = engine
            .start_with_hooks(&run, "early", &input, std::slice::from_ref(&hook))
            .await
            .unwrap();
        let queued = format!(
            "{:?}",
            Delivery::Queued {
                run_id: run.clone()
            }
        );
        assert_eq!(
            started.outcome,
            RunOutcome::Completed {
                result: json!([queued, 4200])
            },
            "the run took the early payload the moment it reached the hook"
        );
        // Without registration, the same early delivery would be refused as unknown.
        let unregistered = awaitly::create_hook().hook_id;
        let refused = engine
            .resume_hook(&unregistered, json!(1))
            .await
            .unwrap_err();
        assert!(matches!(refused, EngineError::UnknownHook { .. }));
        *EARLY_DELIVERY.lock().await = None;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_hook_takes_no_payload() {
    on_every_backend(|backend, store| async move {
        let run = format!("expired-{backend}");
        let hook = flows::expired_hook_run(&store, &run).await;
        let engine = flows::engine(Arc::clone(&store));
        let before = store.load_run(&run).await.unwrap().unwrap();
        let expired = engine.resume_hook(&hook, json!(5)).await.unwrap_err();
        assert!(
            matches!(expired, EngineError::HookExpired { .. }),
            "{expired:?}"
        );
        // Nothing changed, and the claim was released (another late payload is refused the same way).
        let after = store.load_run(&run).await.unwrap().unwrap();
        assert_eq!(after.record, before.record);
        assert_eq!(after.state.to_json(), before.state.to_json());
        assert_eq!(store.find_hook(&hook).await.unwrap().unwrap().payload, None);
        let again = engine.resume_hook(&hook, json!(6)).await.unwrap_err();
        assert!(
            matches!(again, EngineError::HookExpired { .. }),
            "{again:?}"
        );
    })
    .await;
}
