//! Durable approvals on every backend (memory, SQLite, and Postgres when
//! `AWAITLY_TEST_POSTGRES_URL` is set): persisted while waiting, decided once (grant, edit,
//! reject), idempotent, refused when decided differently or expired, listed with who waits.
#![cfg(feature = "durable")]

use crate::common;

use common::on_every_backend;

use std::sync::Arc;
use std::time::Duration;

use awaitly::durable::{Decision, Engine, EngineError};
use awaitly::store::{Lease, RunOutcome, RunStatus, Store};
use awaitly::{ApprovalError, ManualClock, await_approval, step, workflow};
use common::flows::{executed, executions};
use serde_json::json;

/// 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000_000;

#[workflow]
async fn refund(run: String, amount: u32) -> Result<String, String> {
    step!("load", load(&run).await)?;
    let decision: Result<u32, ApprovalError> = await_approval!(
        format!("approve:refund:{run}"),
        reason = format!("refund of {amount} is over the limit"),
        metadata = json!({ "amount": amount }),
        timeout = Duration::from_hours(1)
    );
    match decision {
        Ok(approved) => step!("pay", pay(&run, approved).await),
        Err(ApprovalError::Rejected { reason, actor, .. }) => Ok(format!(
            "refused by {}: {reason}",
            actor.unwrap_or_default()
        )),
        Err(ApprovalError::Expired { .. }) => Ok("expired: escalated".to_owned()),
    }
}

async fn load(run: &str) -> Result<u32, String> {
    executed(run, "load");
    tokio::task::yield_now().await;
    Ok(1)
}

async fn pay(run: &str, amount: u32) -> Result<String, String> {
    executed(run, "pay");
    tokio::task::yield_now().await;
    Ok(format!("refunded {amount}"))
}

/// Fails when the refund is refused.
#[workflow]
async fn strict_refund(run: String) -> Result<u32, String> {
    let decision: Result<u32, ApprovalError> = await_approval!(format!("approve:{run}"));
    let cents = decision.map_err(|error| error.to_string())?;
    step!("pay", pay(&run, cents).await)?;
    Ok(cents)
}

fn engine(store: Arc<dyn Store>, clock: &Arc<ManualClock>) -> Engine {
    Engine::with_store(store)
        .clock(clock.clone())
        .register("strict", 1, strict_refund)
        .register("refund", 1, |(run, amount): (String, u32)| {
            refund(run, amount)
        })
}

fn completed(text: &str) -> RunOutcome {
    RunOutcome::Completed {
        result: json!(text),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_approval_is_persisted_listed_and_granted_once() {
    on_every_backend(|backend, store| async move {
        let run = format!("grant-{backend}");
        let key = format!("approve:refund:{run}");
        let clock = Arc::new(ManualClock::new(T0));
        let engine = engine(Arc::clone(&store), &clock);
        let started = engine.start(&run, "refund", &(&run, 150)).await.unwrap();
        let RunOutcome::AwaitingApproval { approval } = &started.outcome else {
            panic!("{:?}", started.outcome);
        };
        assert_eq!(approval.step_key, key);
        assert_eq!(approval.deadline_ms, Some(T0 + 3_600_000));
        // Persisted: a fresh engine over the same store sees the same outcome and status.
        let record = engine.record(&run).await.unwrap();
        assert_eq!(record.outcome, started.outcome);
        assert_eq!(record.status(), RunStatus::Suspended);

        clock.advance(Duration::from_mins(5));
        let pending = engine.pending_approvals().await.unwrap();
        let listed = pending.iter().find(|p| p.run_id == run).expect("listed");
        assert_eq!(listed.workflow, "refund");
        assert_eq!(
            listed.approval.reason.as_deref(),
            Some("refund of 150 is over the limit")
        );
        assert_eq!(listed.approval.metadata, Some(json!({ "amount": 150 })));
        assert_eq!(listed.approval.requested_at_ms, Some(T0));
        assert_eq!(listed.age(T0 + 300_000), Duration::from_mins(5));

        let granted = engine
            .decide_approval(&run, &key, Decision::Grant(json!(150)), "grace")
            .await
            .unwrap();
        assert_eq!(granted, completed("refunded 150"));
        assert_eq!(executions(&run, "load"), 1, "replayed, not executed again");
        assert_eq!(executions(&run, "pay"), 1);
        // The actor is recorded with the decision.
        let stored = store.load_run(&run).await.unwrap().unwrap();
        let resolution = stored.state.get(&key).unwrap().approval().unwrap().clone();
        assert_eq!(resolution["actor"], "grace");
        assert_eq!(resolution["status"], "approved");
        assert!(
            engine
                .pending_approvals()
                .await
                .unwrap()
                .iter()
                .all(|p| p.run_id != run)
        );

        // The same decision again is idempotent; another one is refused.
        let again = engine
            .decide_approval(&run, &key, Decision::Grant(json!(150)), "grace")
            .await
            .unwrap();
        assert_eq!(again, completed("refunded 150"));
        assert_eq!(executions(&run, "pay"), 1, "nothing ran again");
        let other = engine
            .decide_approval(&run, &key, Decision::Reject("no".into()), "ada")
            .await
            .unwrap_err();
        assert!(
            matches!(other, EngineError::ApprovalAlreadyDecided { .. }),
            "{other:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_rejections_reach_the_workflow() {
    on_every_backend(|backend, store| async move {
        let clock = Arc::new(ManualClock::new(T0));
        let engine = engine(store, &clock);
        let edited = format!("edit-{backend}");
        engine
            .start(&edited, "refund", &(&edited, 150))
            .await
            .unwrap();
        let outcome = engine
            .decide_approval(
                &edited,
                &format!("approve:refund:{edited}"),
                Decision::Edit(json!(90)),
                "grace",
            )
            .await
            .unwrap();
        assert_eq!(outcome, completed("refunded 90"));

        let rejected = format!("reject-{backend}");
        engine
            .start(&rejected, "refund", &(&rejected, 150))
            .await
            .unwrap();
        let outcome = engine
            .decide_approval(
                &rejected,
                &format!("approve:refund:{rejected}"),
                Decision::Reject("over budget".into()),
                "grace",
            )
            .await
            .unwrap();
        assert_eq!(outcome, completed("refused by grace: over budget"));
        assert_eq!(executions(&rejected, "pay"), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_runs_and_keys_and_values_of_the_wrong_type_are_typed_errors() {
    on_every_backend(|backend, store| async move {
        let clock = Arc::new(ManualClock::new(T0));
        let engine = engine(store, &clock);
        let run = format!("typed-{backend}");
        let key = format!("approve:refund:{run}");
        let started = engine.start(&run, "refund", &(&run, 150)).await.unwrap();
        let unknown_run = engine
            .decide_approval("nope", &key, Decision::Grant(json!(1)), "grace")
            .await
            .unwrap_err();
        assert!(
            matches!(unknown_run, EngineError::UnknownRun { .. }),
            "{unknown_run:?}"
        );
        let unknown_key = engine
            .decide_approval(&run, "approve:other", Decision::Grant(json!(1)), "grace")
            .await
            .unwrap_err();
        assert!(
            matches!(unknown_key, EngineError::UnknownApproval { .. }),
            "{unknown_key:?}"
        );
        let step_key = engine
            .decide_approval(&run, "load", Decision::Grant(json!(1)), "grace")
            .await
            .unwrap_err();
        assert!(
            matches!(step_key, EngineError::UnknownApproval { .. }),
            "{step_key:?}"
        );

        let wrong = engine
            .decide_approval(&run, &key, Decision::Grant(json!("lots")), "grace")
            .await
            .unwrap_err();
        assert!(
            matches!(wrong, EngineError::ApprovalValueType { .. }),
            "{wrong:?}"
        );
        let cause = std::error::Error::source(&wrong).expect("the decode error is kept");
        assert!(cause.is::<serde_json::Error>(), "{cause:?}");
        assert!(wrong.to_string().contains("u32"), "{wrong}");
        // The approval waits again, exactly as before, and takes a decision of the right type.
        assert_eq!(engine.record(&run).await.unwrap().outcome, started.outcome);
        let outcome = engine
            .decide_approval(&run, &key, Decision::Grant(json!(120)), "grace")
            .await
            .unwrap();
        assert_eq!(outcome, completed("refunded 120"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_deadline_decisions_are_refused_and_the_workflow_sees_the_expiry() {
    on_every_backend(|backend, store| async move {
        let clock = Arc::new(ManualClock::new(T0));
        let engine = engine(store, &clock);
        let run = format!("expire-{backend}");
        let key = format!("approve:refund:{run}");
        engine.start(&run, "refund", &(&run, 150)).await.unwrap();
        clock.advance(Duration::from_hours(1));
        let late = engine
            .decide_approval(&run, &key, Decision::Grant(json!(150)), "grace")
            .await
            .unwrap_err();
        assert!(
            matches!(late, EngineError::ApprovalExpired { .. }),
            "{late:?}"
        );
        let resumed = engine.resume_due().await.unwrap();
        let mine: Vec<_> = resumed.iter().filter(|(id, _)| *id == run).collect();
        assert_eq!(mine.len(), 1, "{resumed:?}");
        assert_eq!(mine[0].1, Ok(completed("expired: escalated")));
        // Once the expiry is recorded it stays the answer.
        let later = engine
            .decide_approval(&run, &key, Decision::Reject("late".into()), "grace")
            .await
            .unwrap_err();
        assert!(
            matches!(later, EngineError::ApprovalExpired { .. }),
            "{later:?}"
        );
        assert!(
            engine
                .resume_due()
                .await
                .unwrap()
                .iter()
                .all(|(id, _)| *id != run)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_decisions_have_exactly_one_winner() {
    on_every_backend(|backend, store| async move {
        let clock = Arc::new(ManualClock::new(T0));
        let engine = Arc::new(engine(store, &clock));
        let run = format!("race-{backend}");
        let key = format!("approve:refund:{run}");
        engine.start(&run, "refund", &(&run, 150)).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for amount in 0..12u32 {
            let engine = Arc::clone(&engine);
            let (run, key) = (run.clone(), key.clone());
            tasks.spawn(async move {
                let decision = if amount % 2 == 0 {
                    Decision::Grant(json!(amount))
                } else {
                    Decision::Reject(format!("no {amount}"))
                };
                engine.decide_approval(&run, &key, decision, "clerk").await
            });
        }
        let results = tasks.join_all().await;
        let winners: Vec<_> = results.iter().filter(|result| result.is_ok()).collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        assert!(
            results.iter().all(|result| match result {
                Ok(_) => true,
                Err(error) => matches!(error, EngineError::ApprovalAlreadyDecided { .. }),
            }),
            "{results:?}"
        );
        assert_eq!(
            engine.record(&run).await.unwrap().outcome,
            *winners[0].as_ref().unwrap()
        );
        assert!(executions(&run, "pay") <= 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrying_a_failed_run_keeps_the_rejection() {
    on_every_backend(|backend, store| async move {
        let clock = Arc::new(ManualClock::new(T0));
        let engine = engine(store, &clock);
        let run = format!("strict-{backend}");
        engine.start(&run, "strict", &run).await.unwrap();
        let failed = engine
            .decide_approval(
                &run,
                &format!("approve:{run}"),
                Decision::Reject("no".into()),
                "grace",
            )
            .await
            .unwrap();
        assert!(matches!(failed, RunOutcome::Failed { .. }), "{failed:?}");
        let retried = engine.retry_run(&run).await.unwrap();
        assert_eq!(retried, failed, "a retry does not ask again");
        assert!(
            engine
                .pending_approvals()
                .await
                .unwrap()
                .iter()
                .all(|p| p.run_id != run)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_on_a_run_another_executor_holds_is_busy_and_changes_nothing() {
    on_every_backend(|backend, store| async move {
        let run = format!("busy-{backend}");
        let key = format!("approve:refund:{run}");
        let clock = Arc::new(ManualClock::new(T0));
        let engine = engine(Arc::clone(&store), &clock).answer_within(Duration::from_millis(100));
        engine.start(&run, "refund", &(&run, 150)).await.unwrap();
        // Another executor claims the run (its deadline passed by its clock) and sits on it.
        let other = Lease::new("another-executor", Duration::from_secs(30));
        let claimed = store.claim_runs(u64::MAX, 10, &other, &[]).await.unwrap();
        assert!(
            claimed.runs.iter().any(|claimed| claimed.run_id == run),
            "{backend}"
        );
        let before = store.load_run(&run).await.unwrap().unwrap();
        let refused = engine
            .decide_approval(&run, &key, Decision::Grant(json!(150)), "grace")
            .await
            .unwrap_err();
        assert_eq!(
            refused,
            EngineError::Busy {
                run_id: run.clone()
            },
            "{backend}"
        );
        let after = store.load_run(&run).await.unwrap().unwrap();
        assert_eq!(
            after.record.revision, before.record.revision,
            "{backend}: nothing written"
        );
        assert_eq!(
            after
                .state
                .get(&key)
                .map(serde_json::to_string)
                .transpose()
                .unwrap(),
            before
                .state
                .get(&key)
                .map(serde_json::to_string)
                .transpose()
                .unwrap()
        );
        assert_eq!(executions(&run, "pay"), 0);
    })
    .await;
}
