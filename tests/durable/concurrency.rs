//! Concurrent deliveries to one hook, at the engine level: exactly one wins, on every backend.
#![cfg(feature = "durable")]

use crate::common;

use std::sync::Arc;

use awaitly::durable::{Delivery, EngineError};
use awaitly::store::RunOutcome;
use common::flows::{self, OrderInput, executions};
use serde_json::json;

const DELIVERIES: u32 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_different_payloads_have_one_winner() {
    for (backend, store, cleanup) in common::backends().await {
        let run = format!("race-different-{backend}");
        let engine = Arc::new(flows::engine(store));
        let input = OrderInput {
            run: run.clone(),
            cents: 1,
        };
        let started = engine.start(&run, "order", &input).await.unwrap();
        let hook = started.outcome.pending_hook().unwrap().hook_id.clone();
        let mut tasks = tokio::task::JoinSet::new();
        for index in 0..DELIVERIES {
            let engine = Arc::clone(&engine);
            let hook = hook.clone();
            tasks.spawn(async move {
                engine
                    .resume_hook(&hook, json!({ "paid_cents": index }))
                    .await
            });
        }
        let results = tasks.join_all().await;
        let winners: Vec<&Delivery> = results
            .iter()
            .filter_map(|result| result.as_ref().ok())
            .collect();
        assert_eq!(winners.len(), 1, "{backend}: {results:?}");
        assert!(
            matches!(winners[0], Delivery::Applied { .. }),
            "{backend}: {:?}",
            winners[0]
        );
        assert!(
            results
                .iter()
                .filter_map(|result| result.as_ref().err())
                .all(|error| matches!(error, EngineError::AlreadyResolved { .. })),
            "{backend}: {results:?}"
        );
        assert_eq!(executions(&run, "fulfil"), 1, "{backend}");
        let record = engine.record(&run).await.unwrap();
        assert!(
            matches!(
                record.outcome,
                RunOutcome::Completed { .. } | RunOutcome::Failed { .. }
            ),
            "{backend}: {record:?}"
        );
        cleanup.run().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_same_payloads_apply_once() {
    for (backend, store, cleanup) in common::backends().await {
        let run = format!("race-same-{backend}");
        let engine = Arc::new(flows::engine(store));
        let input = OrderInput {
            run: run.clone(),
            cents: 5,
        };
        let started = engine.start(&run, "order", &input).await.unwrap();
        let hook = started.outcome.pending_hook().unwrap().hook_id.clone();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..DELIVERIES {
            let engine = Arc::clone(&engine);
            let hook = hook.clone();
            tasks.spawn(async move { engine.resume_hook(&hook, json!({ "paid_cents": 5 })).await });
        }
        let results: Vec<Delivery> = tasks
            .join_all()
            .await
            .into_iter()
            .map(|result| result.unwrap())
            .collect();
        let applied = results
            .iter()
            .filter(|delivery| matches!(delivery, Delivery::Applied { .. }))
            .count();
        assert_eq!(applied, 1, "{backend}: {results:?}");
        assert!(
            results.iter().all(|delivery| matches!(
                delivery,
                Delivery::Applied { .. } | Delivery::Duplicate { .. } | Delivery::Queued { .. }
            )),
            "{backend}: {results:?}"
        );
        assert_eq!(executions(&run, "fulfil"), 1, "{backend}");
        let record = engine.record(&run).await.unwrap();
        assert_eq!(
            record.outcome,
            RunOutcome::Completed {
                result: json!(format!("ord-{run} fulfilled"))
            }
        );
        cleanup.run().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_of_one_run_create_it_once() {
    for (backend, store, cleanup) in common::backends().await {
        let run = format!("start-race-{backend}");
        let engine = Arc::new(flows::engine(store));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let engine = Arc::clone(&engine);
            let run = run.clone();
            tasks.spawn(async move {
                let input = OrderInput {
                    run: run.clone(),
                    cents: 1,
                };
                engine.start(&run, "order", &input).await.unwrap()
            });
        }
        let starts = tasks.join_all().await;
        assert_eq!(
            starts.iter().filter(|started| started.created).count(),
            1,
            "{backend}: {starts:?}"
        );
        assert_eq!(executions(&run, "create-order"), 1, "{backend}");
        let record = engine.record(&run).await.unwrap();
        assert!(
            matches!(record.outcome, RunOutcome::Suspended { .. }),
            "{backend}: {record:?}"
        );
        cleanup.run().await;
    }
}
