//! Two app instances (two engines, each with its own connection pool) on one PostgreSQL
//! database, each receiving the callbacks of runs the other started.
#![cfg(feature = "postgres")]

use crate::common;

use std::sync::Arc;

use awaitly::durable::Delivery;
use awaitly::store::{PostgresStore, RunOutcome};
use common::flows::{self, OrderInput, executions};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_resume_each_others_runs() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = common::unique("instances");
    let first_store = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    let second_store = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    let first = Arc::new(flows::engine(Arc::new(first_store.clone())));
    let second = Arc::new(flows::engine(Arc::new(second_store)));

    let mut hooks = Vec::new();
    for index in 0..10 {
        let run = format!("{schema}-run-{index}");
        let (starting, receiving) = if index % 2 == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        let input = OrderInput {
            run: run.clone(),
            cents: 3,
        };
        let started = starting.start(&run, "order", &input).await.unwrap();
        let hook = started.outcome.pending_hook().unwrap().hook_id.clone();
        hooks.push((run, hook, Arc::clone(receiving)));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (run, hook, receiver) in hooks.clone() {
        tasks.spawn(async move {
            let delivery = receiver
                .resume_hook(&hook, json!({ "paid_cents": 3 }))
                .await
                .unwrap();
            (run, delivery)
        });
    }
    for (run, delivery) in tasks.join_all().await {
        assert_eq!(
            delivery,
            Delivery::Applied {
                run_id: run.clone(),
                outcome: RunOutcome::Completed {
                    result: json!(format!("ord-{run} fulfilled"))
                }
            }
        );
        assert_eq!(executions(&run, "create-order"), 1);
        assert_eq!(executions(&run, "fulfil"), 1);
    }
    // Each instance sees the other's results.
    for (run, _, _) in &hooks {
        assert!(first.record(run).await.unwrap().status().is_terminal());
        assert!(second.record(run).await.unwrap().status().is_terminal());
    }
    first_store.drop_schema().await.unwrap();
}
