//! The claim part of the conformance suite: `claim_runs` takes due runs nobody holds, in
//! priority order, within store-wide queue limits, from the queues named.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::leases::{
    LONG, SHORT, enqueue, held_by, ids, lease, now, park, park_at_hook, queue, record, sorted,
};
use crate::store::{Changes, NewRun, QueueLimit, RunOutcome, Store, now_ms};

/// Runs every claim check on `store`; the last one claims every free run of every queue.
pub(super) async fn run(shared: &Arc<dyn Store>) {
    let store = &**shared;
    claims_take_due_runs_nobody_holds(store).await;
    claims_follow_priority_then_due_time(store).await;
    queue_limits_count_live_leases(store).await;
    concurrent_claimers_share_a_queue_limit(shared).await;
    queues_filter_the_claim(store).await;
}

async fn claims_take_due_runs_nobody_holds(store: &dyn Store) {
    let q = "lq-claim";
    let later = now() + 3_600_000;
    enqueue(store, "lq-claim-enqueued", q, 0).await;
    let mut held = NewRun::new("lq-claim-held", "w", 1, json!(null));
    held.queue = q.to_owned();
    held.lease = Some(lease("creator", LONG));
    store.create_run(held).await.unwrap();
    assert!(
        held_by(store, "lq-claim-held", "creator").await,
        "created with its lease"
    );
    let sleeping = |wake_at_ms| RunOutcome::Sleeping {
        key: "nap".into(),
        wake_at_ms,
    };
    park(store, "lq-claim-woken", q, sleeping(1_000)).await;
    park(store, "lq-claim-asleep", q, sleeping(later)).await;
    park(
        store,
        "lq-claim-done",
        q,
        RunOutcome::Completed { result: json!(1) },
    )
    .await;
    park_at_hook(store, "lq-claim-waiting", q, None).await;

    let first = lease("claimer-a", SHORT);
    let before = now_ms();
    let claimed = store
        .claim_runs(now(), 10, &first, &queue(q))
        .await
        .unwrap();
    let after = now_ms();
    assert_eq!(
        ids(&claimed),
        ["lq-claim-enqueued", "lq-claim-woken"],
        "only due runs nobody holds, earliest due first"
    );
    assert_eq!(
        claimed.next_due_at_ms,
        Some(later),
        "the earliest due time not reached yet"
    );
    for run in &claimed.runs {
        let stored = record(store, &run.run_id).await.lease.unwrap();
        assert_eq!(
            run.lease.as_ref(),
            Some(&stored),
            "the claim returns the lease it stored"
        );
        assert_eq!(stored.owner, "claimer-a");
        assert!(
            (first.expires_at(before)..=first.expires_at(after)).contains(&stored.expires_at_ms),
            "leased for the lease's duration from the claim: {stored:?}"
        );
    }
    assert!(held_by(store, "lq-claim-held", "creator").await);

    let second = lease("claimer-b", SHORT);
    let taken = store
        .claim_runs(now(), 10, &second, &queue(q))
        .await
        .unwrap();
    if now_ms() < first.expires_at(before) {
        assert!(
            taken.runs.is_empty(),
            "runs held by a live lease: {taken:?}"
        );
    }
    tokio::time::sleep(SHORT + Duration::from_millis(50)).await;
    let taken = store
        .claim_runs(now(), 10, &second, &queue(q))
        .await
        .unwrap();
    assert_eq!(
        ids(&taken),
        ["lq-claim-enqueued", "lq-claim-woken"],
        "a lapsed lease is taken over"
    );
    assert!(held_by(store, "lq-claim-enqueued", "claimer-b").await);
    // The due time given is what counts, not the store's clock: nothing is due at 0 but runs
    // left running.
    tokio::time::sleep(SHORT + Duration::from_millis(50)).await;
    let early = store.claim_runs(0, 10, &first, &queue(q)).await.unwrap();
    assert_eq!(ids(&early), ["lq-claim-enqueued"]);
}

async fn claims_follow_priority_then_due_time(store: &dyn Store) {
    let q = "lq-prio";
    enqueue(store, "lq-prio-low", q, -1).await;
    enqueue(store, "lq-prio-mid", q, 0).await;
    enqueue(store, "lq-prio-high", q, 5).await;
    enqueue(store, "lq-prio-high-too", q, 5).await;
    // Urgent but not due: priority never makes a run due.
    let mut urgent = NewRun::new("lq-prio-not-due", "w", 1, json!(null));
    urgent.queue = q.to_owned();
    urgent.priority = 100;
    store.create_run(urgent).await.unwrap();
    let not_due = Changes {
        outcome: Some(RunOutcome::Sleeping {
            key: "nap".into(),
            wake_at_ms: now() + 3_600_000,
        }),
        ..Changes::default()
    };
    store.save("lq-prio-not-due", 0, not_due).await.unwrap();
    let owner = lease("prio", LONG);
    let top = store.claim_runs(now(), 2, &owner, &queue(q)).await.unwrap();
    assert_eq!(
        sorted(ids(&top)),
        ["lq-prio-high", "lq-prio-high-too"],
        "higher priority first"
    );
    let rest = store
        .claim_runs(now(), 10, &owner, &queue(q))
        .await
        .unwrap();
    assert_eq!(
        ids(&rest),
        ["lq-prio-mid", "lq-prio-low"],
        "in priority order"
    );
    let all = store
        .claim_runs(now(), 10, &owner, &queue(q))
        .await
        .unwrap();
    assert!(all.runs.is_empty(), "{all:?}");

    // Within one priority, the earliest due first (whatever the creation order).
    let q = "lq-due-order";
    let sleeping = |wake_at_ms| RunOutcome::Sleeping {
        key: "nap".into(),
        wake_at_ms,
    };
    park(store, "lq-due-order-late", q, sleeping(2_000)).await;
    park(store, "lq-due-order-early", q, sleeping(1_000)).await;
    let first = store.claim_runs(now(), 1, &owner, &queue(q)).await.unwrap();
    assert_eq!(ids(&first), ["lq-due-order-early"]);
}

async fn queue_limits_count_live_leases(store: &dyn Store) {
    let q = "lq-limit";
    // One of the queue's runs is held already (by its creator): it counts against the limit.
    let mut held = NewRun::new("lq-limit-held", "w", 1, json!(null));
    held.queue = q.to_owned();
    held.lease = Some(lease("creator", LONG));
    store.create_run(held).await.unwrap();
    for index in 0..4 {
        enqueue(store, &format!("lq-limit-{index}"), q, 0).await;
    }
    let limited = vec![QueueLimit::new(q).concurrency(2)];
    let first = lease("limit-a", LONG);
    let claimed = store.claim_runs(now(), 10, &first, &limited).await.unwrap();
    assert_eq!(ids(&claimed), ["lq-limit-0"], "2 minus the one held");
    let second = lease("limit-b", LONG);
    let none = store
        .claim_runs(now(), 10, &second, &limited)
        .await
        .unwrap();
    assert!(none.runs.is_empty(), "the limit is store-wide: {none:?}");
    // A run that lets go of its lease (its outcome is no longer running) frees a slot.
    let done = Changes {
        outcome: Some(RunOutcome::Completed { result: json!(1) }),
        lease: Some(first.clone()),
        ..Changes::default()
    };
    store.save("lq-limit-0", 0, done).await.unwrap();
    assert_eq!(record(store, "lq-limit-0").await.lease, None, "released");
    let freed = store
        .claim_runs(now(), 10, &second, &limited)
        .await
        .unwrap();
    assert_eq!(ids(&freed), ["lq-limit-1"]);
    // A limit above what is held takes up to it; no limit takes the rest.
    let wider = vec![QueueLimit::new(q).concurrency(3)];
    let more = store.claim_runs(now(), 10, &second, &wider).await.unwrap();
    assert_eq!(ids(&more), ["lq-limit-2"]);
    let unlimited = store
        .claim_runs(now(), 10, &second, &queue(q))
        .await
        .unwrap();
    assert_eq!(ids(&unlimited), ["lq-limit-3"]);

    // Lapsed leases do not count.
    let q = "lq-limit-lapse";
    for index in 0..3 {
        enqueue(store, &format!("{q}-{index}"), q, 0).await;
    }
    let limited = vec![QueueLimit::new(q).concurrency(2)];
    let short = store
        .claim_runs(now(), 10, &lease("lapse-a", SHORT), &limited)
        .await
        .unwrap();
    assert_eq!(ids(&short).len(), 2);
    tokio::time::sleep(SHORT + Duration::from_millis(50)).await;
    let after = store
        .claim_runs(now(), 10, &lease("lapse-b", LONG), &limited)
        .await
        .unwrap();
    assert_eq!(ids(&after).len(), 2, "{after:?}");
}

async fn concurrent_claimers_share_a_queue_limit(store: &Arc<dyn Store>) {
    for round in 0..10 {
        let q = format!("lq-race-{round}");
        for index in 0..8 {
            enqueue(&**store, &format!("{q}-{index}"), &q, 0).await;
        }
        let mut claimers = tokio::task::JoinSet::new();
        let start = Arc::new(tokio::sync::Barrier::new(4));
        for claimer in 0..4 {
            let (store, q, start) = (Arc::clone(store), q.clone(), Arc::clone(&start));
            claimers.spawn(async move {
                let limited = [QueueLimit::new(q).concurrency(2)];
                let owner = lease(&format!("race-{claimer}"), LONG);
                // Every claimer's connection is warm; then all claim at once.
                store.load_run("lq-race-warm-up").await.unwrap();
                start.wait().await;
                let claimed = store.claim_runs(now(), 10, &owner, &limited).await;
                claimed.unwrap().runs.into_iter().map(|run| run.run_id)
            });
        }
        let mut all: Vec<String> = claimers.join_all().await.into_iter().flatten().collect();
        assert_eq!(all.len(), 2, "four claimers at once, limit 2: {all:?}");
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 2, "no run claimed twice");
    }
}

async fn queues_filter_the_claim(store: &dyn Store) {
    for (run_id, q) in [
        ("lf-a", "lq-filter-a"),
        ("lf-b", "lq-filter-b"),
        ("lf-c", "lq-filter-c"),
    ] {
        enqueue(store, run_id, q, 0).await;
    }
    let owner = lease("filter", LONG);
    let claimed = store
        .claim_runs(now(), 10, &owner, &queue("lq-filter-a"))
        .await
        .unwrap();
    assert_eq!(ids(&claimed), ["lf-a"]);
    let several = vec![
        QueueLimit::new("lq-filter-b"),
        QueueLimit::new("lq-filter-none"),
        QueueLimit::new("lq-filter-a"),
    ];
    let claimed = store.claim_runs(now(), 10, &owner, &several).await.unwrap();
    assert_eq!(
        ids(&claimed),
        ["lf-b"],
        "only the queues named, and free runs"
    );
    // No queue named: every queue, including runs other checks left behind. Last, with a short
    // lease, since it takes them all.
    let everything = store
        .claim_runs(now(), 1_000, &lease("filter-all", SHORT), &[])
        .await
        .unwrap();
    let taken = ids(&everything);
    assert!(taken.contains(&"lf-c"), "{taken:?}");
    assert!(
        !taken.contains(&"lf-a") && !taken.contains(&"lf-b"),
        "held: {taken:?}"
    );
    tokio::time::sleep(SHORT + Duration::from_millis(50)).await;
}
