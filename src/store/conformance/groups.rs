//! The group part of the conformance suite: many runs' saves at once, as a store that commits
//! concurrent saves together (group commit) receives them. Each save keeps its own fencing: the
//! stale one and the one against another executor's lease fail alone, with their own typed
//! errors, and every other save of the same moment commits.

use std::sync::Arc;

use awaitly_runtime::StepEntry;
use serde_json::json;

use super::leases::{LONG, lease};
use crate::store::{Changes, NewRun, Store, StoreError};

/// Runs saved at once.
const RUNS: usize = 48;

/// Runs every group check on `store`.
pub(super) async fn run(store: &Arc<dyn Store>) {
    one_fenced_save_fails_alone(store).await;
}

fn entry(value: usize) -> StepEntry {
    StepEntry::ok(&value).expect("a number is JSON")
}

fn changes(run: usize) -> Changes {
    Changes {
        entries: vec![(format!("group:{run}"), entry(run))],
        lease: Some(lease("group-me", LONG)),
        ..Changes::default()
    }
}

async fn one_fenced_save_fails_alone(store: &Arc<dyn Store>) {
    for run in 0..RUNS {
        let mut new = NewRun::new(format!("g-{run}"), "w", 1, json!(null));
        // Run 1 is held by another executor for the whole check.
        if run == 1 {
            new.lease = Some(lease("group-other", LONG));
        }
        store.create_run(new).await.unwrap();
    }
    // Run 0 moves on to revision 1: a save naming revision 0 is stale.
    store.save("g-0", 0, Changes::default()).await.unwrap();

    // Every save starts at once (barrier-free: spawned together, so a group-committing store
    // receives them in one queue drain or a few).
    let mut pending = tokio::task::JoinSet::new();
    for run in 0..RUNS {
        let store = Arc::clone(store);
        pending.spawn(async move { (run, store.save(&format!("g-{run}"), 0, changes(run)).await) });
    }
    while let Some(joined) = pending.join_next().await {
        let (run, saved) = joined.expect("a save task panicked");
        match run {
            0 => assert!(
                matches!(saved, Err(StoreError::Conflict { ref run_id, expected: 0 }) if run_id == "g-0"),
                "the stale save of g-0 is refused with Conflict alone: {saved:?}"
            ),
            1 => assert!(
                matches!(saved, Err(StoreError::Leased { ref owner, .. }) if owner == "group-other"),
                "the save against another executor's lease is refused with Leased alone: {saved:?}"
            ),
            _ => assert_eq!(
                saved.map(|saved| saved.revision).ok(),
                Some(1),
                "g-{run} saved beside the refused ones"
            ),
        }
    }
    for run in 0..RUNS {
        let stored = store.load_run(&format!("g-{run}")).await.unwrap().unwrap();
        let key = format!("group:{run}");
        if run < 2 {
            assert!(
                stored.state.get(&key).is_none(),
                "a refused save leaves nothing of its own behind (g-{run})"
            );
            assert_eq!(stored.record.revision, u64::from(run == 0));
        } else {
            assert_eq!(
                stored.state.get(&key).and_then(StepEntry::value_json),
                Some(run.to_string().as_str()),
                "g-{run}'s entry"
            );
            assert_eq!(stored.record.revision, 1, "g-{run}'s revision");
        }
    }
    for run in 0..RUNS {
        store.delete_run(&format!("g-{run}")).await.unwrap();
    }
}
