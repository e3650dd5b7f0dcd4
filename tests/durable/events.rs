//! Durable runs report the same typed event stream as direct runs (`Engine::events`), across the
//! start, the suspension and the delivery that resumes them.
#![cfg(feature = "durable")]

use crate::common;

use std::sync::{Arc, Mutex};

use awaitly::Event;
use awaitly::store::MemoryStore;
use common::flows::{self, OrderInput};
use serde_json::json;

#[tokio::test]
async fn an_engine_reports_every_run_event() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let engine =
        flows::engine(Arc::new(MemoryStore::new())).events(Arc::new(move |event: &Event| {
            let label = match event {
                Event::RunStarted { workflow } => format!("run started {workflow}"),
                Event::StepStarted { key } => format!("step started {key}"),
                Event::StepCompleted { key, ok, .. } => format!("step completed {key} ok={ok}"),
                Event::StepReplayed { key, .. } => format!("step replayed {key}"),
                Event::HookPending { .. } => "hook pending".to_owned(),
                Event::HookDelivered { .. } => "hook delivered".to_owned(),
                Event::RunSuspended => "run suspended".to_owned(),
                Event::RunCompleted => "run completed".to_owned(),
                other => format!("{other:?}"),
            };
            sink.lock().unwrap().push(label);
        }));
    let input = OrderInput {
        run: "run-events".to_owned(),
        cents: 4200,
    };
    let started = engine.start("run-events", "order", &input).await.unwrap();
    let hook = started
        .outcome
        .pending_hook()
        .expect("suspended at the payment hook")
        .hook_id
        .clone();
    let first: Vec<String> = seen.lock().unwrap().drain(..).collect();
    assert_eq!(
        first.first().map(String::as_str),
        Some("run started order_flow"),
        "{first:?}"
    );
    assert!(
        first
            .iter()
            .any(|label| label.starts_with("step completed")),
        "{first:?}"
    );
    assert!(
        first.contains(&"hook pending".to_owned())
            && first.last().map(String::as_str) == Some("run suspended"),
        "{first:?}"
    );

    engine
        .resume_hook(&hook, json!({ "paid_cents": 4200 }))
        .await
        .unwrap();
    let second: Vec<String> = seen.lock().unwrap().clone();
    assert!(
        second
            .iter()
            .any(|label| label.starts_with("step replayed")),
        "{second:?}"
    );
    assert!(second.contains(&"hook delivered".to_owned()), "{second:?}");
    assert_eq!(
        second.last().map(String::as_str),
        Some("run completed"),
        "{second:?}"
    );
}
