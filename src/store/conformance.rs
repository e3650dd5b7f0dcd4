//! The conformance suite every [`Store`] backend runs unchanged (feature `test-util`): for people
//! writing their own store, as awaitly's own backends use it.
//!
//! Enable the feature for tests only (`awaitly = { version = "…", features = ["test-util"] }`
//! under `[dev-dependencies]`) and run the suite from a test with a fresh, empty store:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = std::sync::Arc::new(awaitly::store::MemoryStore::new());
//! awaitly::store::conformance::run(store).await;
//! # });
//! ```
//!
//! It panics, like any test, on the first behaviour that differs from the [`Store`] contract. It
//! spawns concurrent writers (`tokio::task::JoinSet`) and waits for short leases to expire, so run
//! it on a tokio runtime with its timer enabled (`#[tokio::test]` does).

use std::sync::Arc;

use awaitly_runtime::{
    HookId, PendingApprovalOptions, PendingHookOptions, StepEntry, pending_approval, pending_hook,
};
use serde_json::json;

use super::{Changes, Claim, Created, NewRun, RunOutcome, Store, StoreError};

mod claims;
mod groups;
mod leases;

/// Runs every check on `store`, which must be empty.
///
/// # Panics
///
/// On the first behaviour that breaks the [`Store`] contract.
pub async fn run(store: Arc<dyn Store>) {
    create_is_idempotent(&*store).await;
    save_is_compare_and_swap(&*store).await;
    entries_keep_recording_order(&*store).await;
    outcome_and_version_are_saved(&*store).await;
    early_delivery_is_kept_for_the_suspension(&*store).await;
    pending_hooks_claims_and_releases(&*store).await;
    hook_ids_belong_to_one_run(&*store).await;
    list_and_delete(&*store).await;
    due_runs_are_indexed_by_due_time(&*store).await;
    claims_after_the_deadline_are_refused(&*store).await;
    dedupe_keys_are_claimed_once_across_hooks(&*store).await;
    concurrent_claims_have_one_winner(&store).await;
    concurrent_saves_have_one_winner(&store).await;
    claims::run(&store).await;
    leases::run(&*store).await;
    groups::run(&store).await;
}

fn step(value: u32) -> StepEntry {
    StepEntry::ok(&value).expect("a number is JSON")
}

async fn create_is_idempotent(store: &dyn Store) {
    assert!(store.load_run("c-missing").await.unwrap().is_none());
    let created = store
        .create_run(NewRun::new("c-1", "checkout", 3, json!({ "cents": 42 })))
        .await
        .unwrap();
    let Created::New(record) = created else {
        panic!("a fresh id creates a run, got {created:?}");
    };
    assert_eq!((record.revision, record.version), (0, 3));
    assert_eq!(record.outcome, RunOutcome::Running);
    let again = store
        .create_run(NewRun::new("c-1", "other", 9, json!(null)))
        .await
        .unwrap();
    assert_eq!(
        again,
        Created::Existing(record.clone()),
        "a second create writes nothing"
    );
    let loaded = store.load_run("c-1").await.unwrap().unwrap();
    assert_eq!(loaded.record, record);
    assert!(loaded.state.is_empty());
}

async fn save_is_compare_and_swap(store: &dyn Store) {
    store
        .create_run(NewRun::new("cas-1", "w", 1, json!(null)))
        .await
        .unwrap();
    let mut changes = Changes::default();
    changes.entries.push(("a".into(), step(1)));
    let saved = store.save("cas-1", 0, changes.clone()).await.unwrap();
    assert_eq!(saved.revision, 1);
    assert_eq!(saved.delivered, None);
    let stale = store.save("cas-1", 0, changes).await.unwrap_err();
    assert!(
        matches!(stale, StoreError::Conflict { expected: 0, .. }),
        "a stale revision is refused: {stale:?}"
    );
    let mut fenced = Changes::default();
    fenced.entries.push(("b".into(), step(2)));
    assert!(store.save("cas-1", 0, fenced).await.is_err());
    let loaded = store.load_run("cas-1").await.unwrap().unwrap();
    assert_eq!(loaded.record.revision, 1);
    assert_eq!(
        loaded.state.keys().collect::<Vec<_>>(),
        ["a"],
        "nothing of a refused save is merged"
    );
    let unknown = store.save("cas-missing", 0, Changes::default()).await;
    assert!(
        matches!(unknown, Err(StoreError::UnknownRun { .. })),
        "{unknown:?}"
    );
}

async fn entries_keep_recording_order(store: &dyn Store) {
    store
        .create_run(NewRun::new("order-1", "w", 1, json!(null)))
        .await
        .unwrap();
    let mut revision = 0;
    for index in 0..50u32 {
        let mut changes = Changes::default();
        changes.entries.push((format!("step-{index}"), step(index)));
        revision = store
            .save("order-1", revision, changes)
            .await
            .unwrap()
            .revision;
    }
    // Replace one in place, remove one, add two in one save.
    let mut changes = Changes::default();
    changes.entries.push(("step-10".into(), step(1000)));
    changes.entries.push(("z".into(), step(1)));
    changes.entries.push(("y".into(), step(2)));
    changes.removed.push("step-20".into());
    store.save("order-1", revision, changes).await.unwrap();
    let state = store.load_run("order-1").await.unwrap().unwrap().state;
    let mut expected: Vec<String> = (0..50)
        .filter(|index| *index != 20)
        .map(|index| format!("step-{index}"))
        .collect();
    expected.extend(["z".to_owned(), "y".to_owned()]);
    assert_eq!(state.keys().collect::<Vec<_>>(), expected);
    assert_eq!(state.get("step-10").unwrap().value_json(), Some("1000"));
    assert_eq!(state.get("step-11").unwrap().value_json(), Some("11"));
}

async fn outcome_and_version_are_saved(store: &dyn Store) {
    store
        .create_run(NewRun::new("out-1", "w", 1, json!({ "x": [1, 2] })))
        .await
        .unwrap();
    let changes = Changes {
        outcome: Some(RunOutcome::Completed {
            result: json!({ "id": "ord_1" }),
        }),
        version: Some(2),
        ..Changes::default()
    };
    store.save("out-1", 0, changes).await.unwrap();
    let record = store.load_run("out-1").await.unwrap().unwrap().record;
    assert_eq!(record.version, 2);
    assert_eq!(record.input, json!({ "x": [1, 2] }));
    assert_eq!(
        record.outcome,
        RunOutcome::Completed {
            result: json!({ "id": "ord_1" })
        }
    );
    assert!(record.updated_at_ms >= record.created_at_ms);
}

async fn early_delivery_is_kept_for_the_suspension(store: &dyn Store) {
    let hook_id = HookId::from("early-hook-1");
    let mut run = NewRun::new("early-1", "w", 1, json!(null));
    run.hooks.push(hook_id.clone());
    store.create_run(run).await.unwrap();
    let registered = store.find_hook(&hook_id).await.unwrap().unwrap();
    assert_eq!(registered.run_id, "early-1");
    assert_eq!(registered.suspended_at_ms, None);
    assert!(!registered.is_pending(), "the run has not reached it yet");
    let claim = store
        .claim_hook(&hook_id, &json!({ "paid": 1 }), 0, None, None)
        .await
        .unwrap();
    assert_eq!(
        claim,
        Claim::Claimed {
            run_id: "early-1".into(),
            suspended: false,
            leased: false
        }
    );
    let changes = Changes {
        suspend_at: Some(pending_hook(hook_id.clone(), PendingHookOptions::default())),
        outcome: Some(RunOutcome::Running),
        ..Changes::default()
    };
    let saved = store.save("early-1", 0, changes).await.unwrap();
    assert_eq!(
        saved.delivered,
        Some(json!({ "paid": 1 })),
        "the early payload is handed over"
    );
}

async fn pending_hooks_claims_and_releases(store: &dyn Store) {
    store
        .create_run(NewRun::new("pend-1", "w", 1, json!(null)))
        .await
        .unwrap();
    let hook_id = HookId::from("pend-hook-1");
    assert_eq!(
        store
            .claim_hook(&hook_id, &json!(1), 0, None, None)
            .await
            .unwrap(),
        Claim::Unknown
    );
    let hook = pending_hook(
        hook_id.clone(),
        PendingHookOptions {
            metadata: Some(json!({ "orderId": "ord_1" })),
            ..PendingHookOptions::default()
        },
    );
    let changes = Changes {
        entries: vec![(hook.step_key.clone(), StepEntry::pending(&hook))],
        suspend_at: Some(hook.clone()),
        outcome: Some(RunOutcome::Suspended { hook: hook.clone() }),
        ..Changes::default()
    };
    let saved = store.save("pend-1", 0, changes).await.unwrap();
    assert_eq!(saved.delivered, None);
    let pending = store.pending_hooks().await.unwrap();
    let listed = pending
        .iter()
        .find(|record| record.hook_id == hook_id)
        .expect("the suspended hook is listed");
    assert_eq!(listed.run_id, "pend-1");
    assert_eq!(listed.metadata, Some(json!({ "orderId": "ord_1" })));
    assert!(listed.suspended_at_ms.is_some());
    let claim = store
        .claim_hook(&hook_id, &json!({ "a": 1 }), 0, None, None)
        .await
        .unwrap();
    assert_eq!(
        claim,
        Claim::Claimed {
            run_id: "pend-1".into(),
            suspended: true,
            leased: false
        }
    );
    let taken = store
        .claim_hook(&hook_id, &json!({ "b": 2 }), 0, None, None)
        .await
        .unwrap();
    assert_eq!(
        taken,
        Claim::Taken {
            run_id: "pend-1".into(),
            payload: json!({ "a": 1 })
        }
    );
    let still_pending = store.pending_hooks().await.unwrap();
    assert!(still_pending.iter().all(|record| record.hook_id != hook_id));
    assert!(
        !store
            .release_hook(&hook_id, &json!({ "b": 2 }))
            .await
            .unwrap()
    );
    assert!(
        store
            .release_hook(&hook_id, &json!({ "a": 1 }))
            .await
            .unwrap()
    );
    let found = store.find_hook(&hook_id).await.unwrap().unwrap();
    assert!(found.is_pending(), "a released hook waits again: {found:?}");
}

async fn hook_ids_belong_to_one_run(store: &dyn Store) {
    let hook_id = HookId::from("owned-hook-1");
    let mut first = NewRun::new("owned-1", "w", 1, json!(null));
    first.hooks.push(hook_id.clone());
    store.create_run(first).await.unwrap();
    store
        .create_run(NewRun::new("owned-2", "w", 1, json!(null)))
        .await
        .unwrap();
    let changes = Changes {
        suspend_at: Some(pending_hook(hook_id.clone(), PendingHookOptions::default())),
        ..Changes::default()
    };
    let error = store.save("owned-2", 0, changes).await.unwrap_err();
    assert!(
        matches!(error, StoreError::HookOwnedElsewhere { .. }),
        "{error:?}"
    );
    let record = store.load_run("owned-2").await.unwrap().unwrap().record;
    assert_eq!(record.revision, 0, "a refused save writes nothing");
    let mut third = NewRun::new("owned-3", "w", 1, json!(null));
    third.hooks.push(hook_id);
    let error = store.create_run(third).await.unwrap_err();
    assert!(
        matches!(error, StoreError::HookOwnedElsewhere { .. }),
        "{error:?}"
    );
    assert!(store.load_run("owned-3").await.unwrap().is_none());
}

async fn list_and_delete(store: &dyn Store) {
    for run_id in ["list-1", "list-2"] {
        let mut run = NewRun::new(run_id, "w", 1, json!(null));
        run.hooks.push(HookId::from(format!("{run_id}-hook")));
        store.create_run(run).await.unwrap();
    }
    let listed: Vec<String> = store
        .list_runs()
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.run_id)
        .filter(|run_id| run_id.starts_with("list-"))
        .collect();
    assert_eq!(listed, ["list-1", "list-2"]);
    assert!(store.delete_run("list-1").await.unwrap());
    assert!(!store.delete_run("list-1").await.unwrap());
    assert!(store.load_run("list-1").await.unwrap().is_none());
    assert!(
        store
            .find_hook(&"list-1-hook".into())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_hook(&"list-2-hook".into())
            .await
            .unwrap()
            .is_some()
    );
}

async fn concurrent_claims_have_one_winner(store: &Arc<dyn Store>) {
    let hook_id = HookId::from("race-hook-1");
    let mut run = NewRun::new("race-1", "w", 1, json!(null));
    run.hooks.push(hook_id.clone());
    store.create_run(run).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..20 {
        let store = Arc::clone(store);
        let hook_id = hook_id.clone();
        tasks.spawn(async move {
            store
                .claim_hook(&hook_id, &json!(index), 0, None, None)
                .await
                .unwrap()
        });
    }
    let claims = tasks.join_all().await;
    let winners: Vec<&Claim> = claims
        .iter()
        .filter(|claim| matches!(claim, Claim::Claimed { .. }))
        .collect();
    assert_eq!(winners.len(), 1, "{claims:?}");
    let stored = store
        .find_hook(&hook_id)
        .await
        .unwrap()
        .unwrap()
        .payload
        .unwrap();
    for claim in &claims {
        if let Claim::Taken { payload, .. } = claim {
            assert_eq!(*payload, stored, "every loser sees the winner's payload");
        }
    }
}

async fn concurrent_saves_have_one_winner(store: &Arc<dyn Store>) {
    store
        .create_run(NewRun::new("race-2", "w", 1, json!(null)))
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..20u32 {
        let store = Arc::clone(store);
        tasks.spawn(async move {
            let mut changes = Changes::default();
            changes
                .entries
                .push((format!("writer-{index}"), step(index)));
            store.save("race-2", 0, changes).await
        });
    }
    let results = tasks.join_all().await;
    assert_eq!(
        results.iter().filter(|result| result.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results.iter().all(|result| match result {
        Ok(_) => true,
        Err(error) => matches!(error, StoreError::Conflict { .. }),
    }));
    let state = store.load_run("race-2").await.unwrap().unwrap().state;
    assert_eq!(state.len(), 1, "only the winner's entry is stored");
}

async fn due_runs_are_indexed_by_due_time(store: &dyn Store) {
    let deadline_hook = pending_hook(
        HookId::from("due-hook-1"),
        PendingHookOptions {
            deadline_ms: Some(3_000),
            ..PendingHookOptions::default()
        },
    );
    let approval = pending_approval(
        "approve:due",
        PendingApprovalOptions {
            deadline_ms: Some(2_000),
            ..PendingApprovalOptions::default()
        },
    );
    let outcomes = [
        (
            "due-sleep",
            RunOutcome::Sleeping {
                key: "nap".into(),
                wake_at_ms: 1_000,
            },
        ),
        (
            "due-approval",
            RunOutcome::AwaitingApproval {
                approval: approval.clone(),
            },
        ),
        (
            "due-hook",
            RunOutcome::Suspended {
                hook: deadline_hook.clone(),
            },
        ),
        (
            "due-never",
            RunOutcome::AwaitingApproval {
                approval: pending_approval("approve:forever", PendingApprovalOptions::default()),
            },
        ),
        ("due-done", RunOutcome::Completed { result: json!(1) }),
    ];
    for (run_id, outcome) in &outcomes {
        store
            .create_run(NewRun::new(*run_id, "w", 1, json!(null)))
            .await
            .unwrap();
        let changes = Changes {
            outcome: Some(outcome.clone()),
            suspend_at: outcome.pending_hook().cloned(),
            ..Changes::default()
        };
        store.save(run_id, 0, changes).await.unwrap();
    }
    let ids = |runs: Vec<super::RunRecord>| -> Vec<String> {
        runs.into_iter()
            .map(|run| run.run_id)
            .filter(|id| id.starts_with("due-"))
            .collect()
    };
    assert!(ids(store.due_runs(999, 10).await.unwrap()).is_empty());
    assert_eq!(ids(store.due_runs(1_000, 10).await.unwrap()), ["due-sleep"]);
    assert_eq!(
        ids(store.due_runs(u64::MAX, 10).await.unwrap()),
        ["due-sleep", "due-approval", "due-hook"],
        "earliest first; no deadline and finished runs are never due"
    );
    // The limit cuts the listing (other runs of the shared store may come first).
    let all = store.due_runs(u64::MAX, 1_000).await.unwrap();
    let through_approval = all
        .iter()
        .position(|run| run.run_id == "due-approval")
        .unwrap()
        + 1;
    assert_eq!(
        ids(store.due_runs(u64::MAX, through_approval).await.unwrap()),
        ["due-sleep", "due-approval"]
    );
    let loaded = store
        .load_run("due-approval")
        .await
        .unwrap()
        .unwrap()
        .record;
    assert_eq!(loaded.outcome, RunOutcome::AwaitingApproval { approval });
    // A new outcome replaces the due time; a save without an outcome keeps it.
    store
        .save("due-sleep", 1, Changes::default())
        .await
        .unwrap();
    assert_eq!(ids(store.due_runs(1_000, 10).await.unwrap()), ["due-sleep"]);
    let running = Changes {
        outcome: Some(RunOutcome::Running),
        ..Changes::default()
    };
    store.save("due-sleep", 2, running).await.unwrap();
    assert!(ids(store.due_runs(1_000, 10).await.unwrap()).is_empty());
}

async fn claims_after_the_deadline_are_refused(store: &dyn Store) {
    // `due-hook` waits at a hook with deadline 3 000 (saved above).
    let hook_id = HookId::from("due-hook-1");
    assert_eq!(
        store
            .claim_hook(&hook_id, &json!("late"), 3_000, None, None)
            .await
            .unwrap(),
        Claim::Expired {
            run_id: "due-hook".into()
        },
        "at the deadline the hook takes nothing"
    );
    assert!(
        store
            .find_hook(&hook_id)
            .await
            .unwrap()
            .unwrap()
            .payload
            .is_none()
    );
    assert_eq!(
        store
            .claim_hook(&hook_id, &json!("in time"), 2_999, None, None)
            .await
            .unwrap(),
        Claim::Claimed {
            run_id: "due-hook".into(),
            suspended: true,
            leased: false
        }
    );
    assert_eq!(
        store
            .claim_hook(&hook_id, &json!("late"), 5_000, None, None)
            .await
            .unwrap(),
        Claim::Taken {
            run_id: "due-hook".into(),
            payload: json!("in time")
        },
        "a claim accepted in time stays decided after the deadline"
    );
}

async fn dedupe_keys_are_claimed_once_across_hooks(store: &dyn Store) {
    let (first, second) = (HookId::from("dedupe-hook-1"), HookId::from("dedupe-hook-2"));
    let mut run = NewRun::new("dedupe-1", "w", 1, json!(null));
    run.hooks.extend([first.clone(), second.clone()]);
    store.create_run(run).await.unwrap();
    let claim = store
        .claim_hook(&first, &json!("a"), 0, Some("Stripe:evt_1"), None)
        .await
        .unwrap();
    assert!(matches!(claim, Claim::Claimed { .. }), "{claim:?}");
    for hook in [&first, &second] {
        let again = store
            .claim_hook(hook, &json!("b"), 0, Some("Stripe:evt_1"), None)
            .await
            .unwrap();
        let seen = Claim::Seen {
            run_id: "dedupe-1".into(),
            same_hook: hook == &first,
        };
        assert_eq!(
            again, seen,
            "the same event claims nothing, whatever the hook"
        );
    }
    assert_eq!(
        store.find_hook(&second).await.unwrap().unwrap().payload,
        None
    );
    // Releasing the claim frees its key: the provider's retry is processed.
    assert!(store.release_hook(&first, &json!("a")).await.unwrap());
    let retried = store
        .claim_hook(&second, &json!("c"), 0, Some("Stripe:evt_1"), None)
        .await
        .unwrap();
    assert!(matches!(retried, Claim::Claimed { .. }), "{retried:?}");
}
