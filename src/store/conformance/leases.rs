//! The lease part of the conformance suite: saves fenced by the lease, renewals, hook claims
//! that take a waiting run's lease, claimed payloads making runs claimable. Also the helpers the
//! claim checks (`claims.rs`) share.
//!
//! Every check uses its own queues, so runs other checks leave behind (running, unleased, in the
//! default queue) never mix into its claims. Leases that must hold during a check last 30 s;
//! leases meant to lapse last [`SHORT`], and the check sleeps past them. An assertion that needs
//! a short lease still live is only made if the store's clock shows it was live when the call
//! returned, so a slow machine cannot fail it spuriously.

use std::time::Duration;

use awaitly_runtime::{HookId, PendingHookOptions, pending_hook};
use serde_json::json;

use crate::store::{
    Changes, Claim, ClaimedRuns, Lease, NewRun, QueueLimit, RunOutcome, RunRecord, Store,
    StoreError, now_ms,
};

/// A lease meant to lapse during the check.
pub(super) const SHORT: Duration = Duration::from_millis(200);
/// A lease meant to hold for the whole check.
pub(super) const LONG: Duration = Duration::from_secs(30);

/// Runs every lease check on `store` (after the claim checks).
pub(super) async fn run(store: &dyn Store) {
    saves_are_fenced_by_the_lease(store).await;
    only_the_holder_renews(store).await;
    hook_claims_take_the_lease_of_a_waiting_run(store).await;
    claimed_payloads_make_runs_claimable(store).await;
}

pub(super) fn now() -> u64 {
    now_ms()
}

pub(super) fn lease(owner: &str, duration: Duration) -> Lease {
    Lease::new(owner, duration)
}

pub(super) fn queue(name: &str) -> Vec<QueueLimit> {
    vec![QueueLimit::new(name)]
}

pub(super) fn ids(claimed: &ClaimedRuns) -> Vec<&str> {
    claimed.runs.iter().map(|run| run.run_id.as_str()).collect()
}

pub(super) fn sorted(mut ids: Vec<&str>) -> Vec<&str> {
    ids.sort_unstable();
    ids
}

/// Creates a run on `queue` at `priority`, running and unleased: enqueued.
pub(super) async fn enqueue(store: &dyn Store, run_id: &str, queue: &str, priority: i32) {
    let mut run = NewRun::new(run_id, "w", 1, json!(null));
    run.queue = queue.to_owned();
    run.priority = priority;
    store.create_run(run).await.unwrap();
}

/// Creates a run on `queue` and saves `outcome` (suspending at its hook, if any) without a lease.
pub(super) async fn park(store: &dyn Store, run_id: &str, queue: &str, outcome: RunOutcome) {
    enqueue(store, run_id, queue, 0).await;
    let changes = Changes {
        suspend_at: outcome.pending_hook().cloned(),
        outcome: Some(outcome),
        ..Changes::default()
    };
    store.save(run_id, 0, changes).await.unwrap();
}

/// A run suspended at a fresh hook `{run_id}-hook`, with `deadline`.
pub(super) async fn park_at_hook(
    store: &dyn Store,
    run_id: &str,
    queue: &str,
    deadline: Option<u64>,
) -> HookId {
    let hook_id = HookId::from(format!("{run_id}-hook"));
    let options = PendingHookOptions {
        deadline_ms: deadline,
        ..PendingHookOptions::default()
    };
    let hook = pending_hook(hook_id.clone(), options);
    park(store, run_id, queue, RunOutcome::Suspended { hook }).await;
    hook_id
}

pub(super) async fn record(store: &dyn Store, run_id: &str) -> RunRecord {
    store.load_run(run_id).await.unwrap().unwrap().record
}

/// Whether `run_id`'s stored lease is `owner`'s and live now.
pub(super) async fn held_by(store: &dyn Store, run_id: &str, owner: &str) -> bool {
    record(store, run_id)
        .await
        .lease
        .is_some_and(|lease| lease.owner == owner && lease.is_live(now_ms()))
}
async fn saves_are_fenced_by_the_lease(store: &dyn Store) {
    let (holder, other) = (lease("holder", LONG), lease("other", LONG));
    let mut run = NewRun::new("ls-1", "w", 1, json!(null));
    run.lease = Some(holder.clone());
    store.create_run(run).await.unwrap();
    let taken = record(store, "ls-1").await.lease.unwrap();

    let with = |lease: Option<&Lease>| Changes {
        lease: lease.cloned(),
        ..Changes::default()
    };
    let refused = store.save("ls-1", 0, with(Some(&other))).await.unwrap_err();
    assert_eq!(
        refused,
        StoreError::Leased {
            run_id: "ls-1".into(),
            owner: "holder".into()
        }
    );
    let refused = store.save("ls-1", 0, with(None)).await.unwrap_err();
    assert!(
        matches!(&refused, StoreError::Leased { owner, .. } if owner == "holder"),
        "a save without a lease while one is live: {refused:?}"
    );
    assert_eq!(
        record(store, "ls-1").await.revision,
        0,
        "nothing was written"
    );

    tokio::time::sleep(Duration::from_millis(5)).await;
    let saved = store.save("ls-1", 0, with(Some(&holder))).await.unwrap();
    assert_eq!(saved.revision, 1);
    let renewed = record(store, "ls-1").await.lease.unwrap();
    assert_eq!(renewed.owner, "holder");
    assert!(
        renewed.expires_at_ms > taken.expires_at_ms,
        "renewed: {renewed:?}"
    );
    let stale = store
        .save("ls-1", 0, with(Some(&holder)))
        .await
        .unwrap_err();
    assert!(matches!(stale, StoreError::Conflict { .. }), "{stale:?}");

    // A save with an outcome other than running lets go of the lease.
    let sleeping = Changes {
        outcome: Some(RunOutcome::Sleeping {
            key: "nap".into(),
            wake_at_ms: now() + 3_600_000,
        }),
        lease: Some(holder.clone()),
        ..Changes::default()
    };
    store.save("ls-1", 1, sleeping).await.unwrap();
    assert_eq!(record(store, "ls-1").await.lease, None);
    store.save("ls-1", 2, with(None)).await.unwrap();
    store.save("ls-1", 3, with(Some(&other))).await.unwrap();
    assert!(
        held_by(store, "ls-1", "other").await,
        "a save with a lease takes a free run"
    );

    // A lapsed lease is no obstacle: the next executor's save takes the run over.
    let mut run = NewRun::new("ls-2", "w", 1, json!(null));
    run.lease = Some(lease("crashed", SHORT));
    store.create_run(run).await.unwrap();
    tokio::time::sleep(SHORT + Duration::from_millis(50)).await;
    store.save("ls-2", 0, with(Some(&other))).await.unwrap();
    assert!(held_by(store, "ls-2", "other").await);
    let late = store
        .save("ls-2", 1, with(Some(&lease("crashed", SHORT))))
        .await
        .unwrap_err();
    assert!(
        matches!(&late, StoreError::Leased { owner, .. } if owner == "other"),
        "the crashed executor is fenced out: {late:?}"
    );
}

async fn only_the_holder_renews(store: &dyn Store) {
    let mut run = NewRun::new("lr-1", "w", 1, json!(null));
    run.lease = Some(lease("holder", SHORT));
    store.create_run(run).await.unwrap();
    let before = now_ms();
    assert!(
        store
            .renew_lease("lr-1", &lease("holder", LONG))
            .await
            .unwrap()
    );
    let renewed = record(store, "lr-1").await.lease.unwrap();
    assert!(renewed.expires_at_ms >= lease("holder", LONG).expires_at(before));
    assert!(
        !store
            .renew_lease("lr-1", &lease("other", LONG))
            .await
            .unwrap()
    );
    assert_eq!(
        record(store, "lr-1").await.lease.unwrap(),
        renewed,
        "unchanged"
    );
    assert!(
        !store
            .renew_lease("lr-missing", &lease("holder", LONG))
            .await
            .unwrap()
    );
    // Once released, there is nothing to renew.
    let done = Changes {
        outcome: Some(RunOutcome::Completed { result: json!(1) }),
        lease: Some(lease("holder", LONG)),
        ..Changes::default()
    };
    store.save("lr-1", 0, done).await.unwrap();
    assert!(
        !store
            .renew_lease("lr-1", &lease("holder", LONG))
            .await
            .unwrap()
    );
    assert_eq!(record(store, "lr-1").await.lease, None);
}

async fn hook_claims_take_the_lease_of_a_waiting_run(store: &dyn Store) {
    let q = "lq-hook";
    let claimer = lease("deliverer", LONG);
    let hook_id = park_at_hook(store, "lh-1", q, None).await;
    let claim = store
        .claim_hook(&hook_id, &json!("paid"), now(), None, Some(&claimer))
        .await
        .unwrap();
    assert_eq!(
        claim,
        Claim::Claimed {
            run_id: "lh-1".into(),
            suspended: true,
            leased: true
        }
    );
    assert!(held_by(store, "lh-1", "deliverer").await);
    let worker = lease("worker", LONG);
    let none = store
        .claim_runs(now(), 10, &worker, &queue(q))
        .await
        .unwrap();
    assert!(none.runs.is_empty(), "the deliverer applies it: {none:?}");
    let revision = record(store, "lh-1").await.revision;
    let applied = Changes {
        outcome: Some(RunOutcome::Completed {
            result: json!("paid"),
        }),
        lease: Some(claimer.clone()),
        ..Changes::default()
    };
    store.save("lh-1", revision, applied).await.unwrap();
    assert_eq!(record(store, "lh-1").await.lease, None);

    // A run another executor holds (here: a worker timing the hook out) keeps its holder.
    let deadline = now() + 3_600_000;
    let hook_id = park_at_hook(store, "lh-2", q, Some(deadline)).await;
    let timing_out = store
        .claim_runs(deadline + 1, 10, &worker, &queue(q))
        .await
        .unwrap();
    assert_eq!(ids(&timing_out), ["lh-2"], "due at its deadline");
    let claim = store
        .claim_hook(&hook_id, &json!("in time"), now(), None, Some(&claimer))
        .await
        .unwrap();
    assert_eq!(
        claim,
        Claim::Claimed {
            run_id: "lh-2".into(),
            suspended: true,
            leased: false
        }
    );
    assert!(
        held_by(store, "lh-2", "worker").await,
        "the holder keeps it"
    );
    let stored = store.find_hook(&hook_id).await.unwrap().unwrap();
    assert_eq!(
        stored.payload,
        Some(json!("in time")),
        "the claim itself stands"
    );

    // A hook the run has not reached takes no lease: there is nothing to apply yet.
    let early_hook = HookId::from("lh-3-hook");
    let mut run = NewRun::new("lh-3", "w", 1, json!(null));
    run.queue = q.to_owned();
    run.hooks.push(early_hook.clone());
    store.create_run(run).await.unwrap();
    let claim = store
        .claim_hook(&early_hook, &json!(1), now(), None, Some(&claimer))
        .await
        .unwrap();
    assert!(
        matches!(
            claim,
            Claim::Claimed {
                suspended: false,
                leased: false,
                ..
            }
        ),
        "{claim:?}"
    );
    assert_eq!(record(store, "lh-3").await.lease, None);
}

async fn claimed_payloads_make_runs_claimable(store: &dyn Store) {
    let q = "lq-payload";
    let worker = lease("worker", LONG);
    let hook_id = park_at_hook(store, "lp-1", q, None).await;
    let idle = store
        .claim_runs(now(), 10, &worker, &queue(q))
        .await
        .unwrap();
    assert!(
        idle.runs.is_empty(),
        "waiting at a hook is not due: {idle:?}"
    );
    let claim = store
        .claim_hook(&hook_id, &json!("paid"), now(), None, None)
        .await
        .unwrap();
    assert!(
        matches!(claim, Claim::Claimed { leased: false, .. }),
        "{claim:?}"
    );
    let due = store
        .claim_runs(now(), 10, &worker, &queue(q))
        .await
        .unwrap();
    assert_eq!(
        ids(&due),
        ["lp-1"],
        "a payload waits to be applied: due at once"
    );

    // A claimer that took the lease and died: once its lease lapsed, a worker applies it.
    let hook_id = park_at_hook(store, "lp-2", q, None).await;
    let dying = lease("dying", SHORT);
    let before = now_ms();
    let claim = store
        .claim_hook(&hook_id, &json!("paid"), now(), None, Some(&dying))
        .await
        .unwrap();
    assert!(
        matches!(claim, Claim::Claimed { leased: true, .. }),
        "{claim:?}"
    );
    let early = store
        .claim_runs(now(), 10, &worker, &queue(q))
        .await
        .unwrap();
    if now_ms() < dying.expires_at(before) {
        assert!(early.runs.is_empty(), "{early:?}");
    }
    tokio::time::sleep(SHORT + Duration::from_millis(50)).await;
    let rescued = store
        .claim_runs(now(), 10, &worker, &queue(q))
        .await
        .unwrap();
    assert_eq!(ids(&rescued), ["lp-2"]);
    assert!(held_by(store, "lp-2", "worker").await);
}
