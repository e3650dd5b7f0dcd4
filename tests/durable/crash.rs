//! Crash injection: the store write at checkpoint k fails, for every k of a 20-step workflow
//! with a hook in the middle; a fresh engine then finishes the run. Every run ends with the same
//! result, and the only step that ever runs twice is the one whose checkpoint failed (the
//! documented at-least-once).
#![cfg(all(feature = "durable", feature = "test-util"))]

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use awaitly::durable::{Delivery, Engine, EngineError};
use awaitly::store::{
    Changes, Intercepted, RunOutcome, SaveHook, Saved, Store, StoreError, StoreFuture,
};
use common::flows::{self, executions, twenty_steps_result};
use serde_json::{Value, json};

const BONUS: u64 = 7;
/// 10 checkpoints, the suspension, the take-over on delivery, 10 checkpoints, the completion.
const SAVES: usize = 23;

/// Saves through to the store, but save number `fail_at` (counting from 0) fails, as if the
/// process died there.
struct FailAt {
    fail_at: usize,
    saves: AtomicUsize,
}

impl FailAt {
    fn new(fail_at: usize) -> Self {
        Self {
            fail_at,
            saves: AtomicUsize::new(0),
        }
    }
}

impl SaveHook for FailAt {
    fn save<'a>(
        &'a self,
        inner: &'a dyn Store,
        run_id: &'a str,
        revision: u64,
        changes: Changes,
    ) -> StoreFuture<'a, Saved> {
        if self.saves.fetch_add(1, Ordering::SeqCst) == self.fail_at {
            return Box::pin(async { Err(StoreError::backend("injected crash")) });
        }
        inner.save(run_id, revision, changes)
    }
}

/// Plays the client until the run completes or the engine fails.
async fn drive(engine: &Engine, run: &str) -> Result<Value, EngineError> {
    let mut outcome = engine.start(run, "twenty", &run).await?.outcome;
    loop {
        match outcome {
            RunOutcome::Completed { result } => return Ok(result),
            RunOutcome::Suspended { hook } => {
                outcome = match engine.resume_hook(&hook.hook_id, json!(BONUS)).await? {
                    Delivery::Applied { outcome, .. } | Delivery::Duplicate { outcome, .. } => {
                        outcome
                    }
                    Delivery::Queued { .. } => engine.resume_run(run).await?,
                };
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
}

/// After the restart: pick the run up where it stands and finish it.
async fn finish(engine: &Engine, run: &str) -> Value {
    let recovered = engine.recover().await.unwrap();
    assert!(
        recovered.iter().all(|(_, result)| result.is_ok()),
        "{recovered:?}"
    );
    let mut outcome = engine.resume_run(run).await.unwrap();
    for _ in 0..3 {
        match outcome {
            RunOutcome::Completed { result } => return result,
            RunOutcome::Suspended { hook } => {
                outcome = match engine
                    .resume_hook(&hook.hook_id, json!(BONUS))
                    .await
                    .unwrap()
                {
                    Delivery::Applied { outcome, .. } | Delivery::Duplicate { outcome, .. } => {
                        outcome
                    }
                    Delivery::Queued { .. } => engine.resume_run(run).await.unwrap(),
                };
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    panic!("the run did not complete: {outcome:?}");
}

/// The step whose checkpoint is save number `k`, if that save is a step's checkpoint.
fn checkpointed_step(k: usize) -> Option<String> {
    match k {
        0..=9 => Some(format!("add-{k}")),
        12..=21 => Some(format!("add-{}", k - 2)),
        _ => None, // the suspension, the take-over, the completion: no step in flight
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_checkpoint_can_fail_without_losing_or_repeating_steps() {
    for (backend, store, cleanup) in common::backends().await {
        for k in 0..=SAVES {
            let run = format!("crash-{backend}-{k}");
            let failing = Arc::new(Intercepted::new(Arc::clone(&store), FailAt::new(k)));
            let crashed = flows::engine(failing.clone()).stale_after(Duration::ZERO);
            let first = drive(&crashed, &run).await;
            if k < SAVES {
                assert!(
                    first.is_err(),
                    "{backend} k={k}: the injected failure surfaces: {first:?}"
                );
            } else {
                assert_eq!(
                    failing.hook().saves.load(Ordering::SeqCst),
                    SAVES,
                    "{backend}: saves counted"
                );
            }
            drop(crashed);

            let restarted = flows::engine(Arc::clone(&store)).stale_after(Duration::ZERO);
            let result = match first {
                Ok(result) => result,
                Err(_) => finish(&restarted, &run).await,
            };
            assert_eq!(result, json!(twenty_steps_result(BONUS)), "{backend} k={k}");

            let repeated = checkpointed_step(k).filter(|_| k < SAVES);
            for index in 0..20 {
                let step = format!("add-{index}");
                let expected = if repeated.as_deref() == Some(step.as_str()) {
                    2
                } else {
                    1
                };
                assert_eq!(
                    executions(&run, &step),
                    expected,
                    "{backend} k={k}: {step} ran {} times",
                    executions(&run, &step)
                );
            }
            let stored = store.load_run(&run).await.unwrap().unwrap();
            assert_eq!(
                stored.record.outcome,
                RunOutcome::Completed {
                    result: json!(twenty_steps_result(BONUS))
                }
            );
            assert_eq!(
                stored.state.len(),
                20 + 2,
                "20 steps, the created hook and its payload"
            );
        }
        cleanup.run().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_finishes_a_claim_whose_winner_died() {
    for (backend, store, cleanup) in common::backends().await {
        let run = format!("died-after-claim-{backend}");
        // Saves of `order`: the create-order checkpoint (0), the suspension (1), then the
        // delivery's take-over (2): that one fails, after the delivery claimed the hook.
        let failing = Arc::new(Intercepted::new(Arc::clone(&store), FailAt::new(2)));
        let dying = flows::engine(failing);
        let input = flows::OrderInput {
            run: run.clone(),
            cents: 9,
        };
        let started = dying.start(&run, "order", &input).await.unwrap();
        let hook = started.outcome.pending_hook().unwrap().hook_id.clone();
        let payment = json!({ "paid_cents": 9 });
        let died = dying.resume_hook(&hook, payment.clone()).await.unwrap_err();
        assert!(matches!(died, EngineError::Store(_)), "{backend}: {died:?}");
        drop(dying);

        // The claim survived: the provider's retry applies it, and another payload is refused.
        let engine = flows::engine(Arc::clone(&store));
        let retried = engine.resume_hook(&hook, payment).await.unwrap();
        assert_eq!(
            retried,
            Delivery::Applied {
                run_id: run.clone(),
                outcome: RunOutcome::Completed {
                    result: json!(format!("ord-{run} fulfilled"))
                }
            },
            "{backend}"
        );
        let other = engine
            .resume_hook(&hook, json!({ "paid_cents": 1 }))
            .await
            .unwrap_err();
        assert!(
            matches!(other, EngineError::AlreadyResolved { .. }),
            "{backend}: {other:?}"
        );
        assert_eq!(executions(&run, "create-order"), 1);
        assert_eq!(executions(&run, "fulfil"), 1);
        cleanup.run().await;
    }
}
