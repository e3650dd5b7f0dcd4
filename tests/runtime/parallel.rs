//! Doing things at once (issue 14) without a store: `all!` / `try_all!` branches, `race!`, and
//! `fan_out!` / `try_fan_out!` — keys independent of completion order, a branch waiting alone,
//! suspension when no branch can go on, replay of what every branch recorded, bounded
//! concurrency, results in input order, and checkpoints written together.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use awaitly::{
    HookId, InjectError, Journal, JournalFuture, ManualClock, Outcome, ResumeState, RunError,
    StepEntry, Suspension, all, await_hook, fan_out, inject_hook, race, sleep, step, try_all,
    try_fan_out, workflow,
};

fn keys(state: &ResumeState) -> Vec<String> {
    let mut keys: Vec<String> = state.keys().map(str::to_owned).collect();
    keys.sort();
    keys
}

/// Every hook the run waits at.
fn waiting_hooks(outcome: &Suspension) -> Vec<HookId> {
    outcome
        .each()
        .filter_map(|waiting| match waiting {
            Suspension::Hook(pending) => Some(pending.hook_id.clone()),
            _ => None,
        })
        .collect()
}

async fn tick(millis: u64, value: u32) -> Result<u32, String> {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    Ok(value)
}

#[workflow]
async fn reserve_and_confirm(
    reserved: &'static AtomicU32,
    slow_first: bool,
) -> Result<(u32, String), String> {
    let (stock, confirmation) = all!("checkout",
        stock => {
            reserved.fetch_add(1, Ordering::SeqCst);
            step!("reserve", tick(if slow_first { 20 } else { 1 }, 5).await)
        },
        confirm => {
            let said: String = await_hook!("customer");
            Ok::<String, String>(said)
        },
    );
    Ok((stock?, confirmation?))
}

#[tokio::test]
async fn a_hook_in_one_branch_waits_alone_while_the_other_completes() {
    static RESERVED: AtomicU32 = AtomicU32::new(0);
    let run = reserve_and_confirm(&RESERVED, true).start().await;
    let Outcome::Suspended(suspension) = &run.outcome else {
        panic!("expected a suspension, got {:?}", run.outcome);
    };
    // The other branch finished its step although this one waited from the start.
    assert_eq!(RESERVED.load(Ordering::SeqCst), 1);
    assert_eq!(
        keys(&run.state)
            .iter()
            .filter(|key| !key.starts_with("hook:"))
            .collect::<Vec<_>>(),
        ["checkout[confirm]/customer", "checkout[stock]/reserve"]
    );
    let hooks = waiting_hooks(suspension);
    assert_eq!(hooks.len(), 1);

    // Resume: the finished branch replays (its body runs again, its step does not).
    let state = inject_hook(&run.state, &hooks[0], &"yes").unwrap();
    let done = reserve_and_confirm(&RESERVED, true).run(state).await;
    assert!(
        matches!(done.outcome, Outcome::Completed((5, ref said)) if said == "yes"),
        "{:?}",
        done.outcome
    );
    assert_eq!(
        done.state
            .get("checkout[stock]/reserve")
            .unwrap()
            .value_json(),
        Some("5")
    );
}

#[tokio::test]
async fn keys_do_not_depend_on_which_branch_finishes_first() {
    static RESERVED: AtomicU32 = AtomicU32::new(0);
    let slow = reserve_and_confirm(&RESERVED, true).start().await;
    let fast = reserve_and_confirm(&RESERVED, false).start().await;
    let stable = |state: &ResumeState| {
        keys(state)
            .into_iter()
            .filter(|key| !key.starts_with("hook:"))
            .collect::<Vec<_>>()
    };
    assert_eq!(stable(&slow.state), stable(&fast.state));
}

#[workflow]
async fn two_approvals() -> Result<(bool, bool), String> {
    all!("approvals",
        finance => { let ok: bool = await_hook!("finance"); ok },
        legal => { let ok: bool = await_hook!("legal"); ok },
    )
    .pipe(Ok)
}

trait Pipe: Sized {
    fn pipe<T>(self, then: impl FnOnce(Self) -> T) -> T {
        then(self)
    }
}
impl<T> Pipe for T {}

#[tokio::test]
async fn the_run_suspends_at_every_waiting_branch_and_goes_on_as_each_arrives() {
    let run = two_approvals().start().await;
    let Outcome::Suspended(suspension) = &run.outcome else {
        panic!("{:?}", run.outcome);
    };
    assert!(matches!(suspension, Suspension::Several(all) if all.len() == 2));
    let hooks = waiting_hooks(suspension);
    assert_eq!(hooks.len(), 2);

    let state = inject_hook(&run.state, &hooks[1], &true).unwrap();
    let run = two_approvals().run(state).await;
    let Outcome::Suspended(suspension) = &run.outcome else {
        panic!("{:?}", run.outcome);
    };
    assert_eq!(waiting_hooks(suspension), [hooks[0].clone()]);

    let state = inject_hook(&run.state, &hooks[0], &false).unwrap();
    let done = two_approvals().run(state).await;
    assert!(
        matches!(done.outcome, Outcome::Completed((false, true))),
        "{:?}",
        done.outcome
    );
}

#[workflow]
async fn fail_fast(started: &'static AtomicU32) -> Result<(u32, u32), String> {
    try_all!("both",
        slow => {
            started.fetch_add(1, Ordering::SeqCst);
            let value = step!("wait", tick(50, 1).await)?;
            started.fetch_add(1, Ordering::SeqCst);
            Ok(value)
        },
        quick => step!("fail", Err::<u32, String>("no stock".into())),
    )
}

#[tokio::test]
async fn try_all_stops_at_the_first_error_and_drops_the_other_branch() {
    static STARTED: AtomicU32 = AtomicU32::new(0);
    let run = fail_fast(&STARTED).start().await;
    assert!(matches!(run.outcome, Outcome::Failed(ref error) if error == "no stock"));
    // The slow branch started but was dropped before its step finished.
    assert_eq!(STARTED.load(Ordering::SeqCst), 1);
    assert!(run.state.get("both[slow]/wait").is_none());
}

#[workflow]
async fn cheapest(first_ms: u64, second_ms: u64, calls: &'static AtomicU32) -> Result<u32, String> {
    race!("cheapest",
        first => { calls.fetch_add(1, Ordering::SeqCst); step!("first", tick(first_ms, 1).await) },
        second => { calls.fetch_add(100, Ordering::SeqCst); step!("second", tick(second_ms, 2).await) },
    )
}

#[tokio::test]
async fn a_race_records_its_winner_and_a_replay_never_runs_the_loser() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let run = cheapest(80, 1, &CALLS).start().await;
    assert!(
        matches!(run.outcome, Outcome::Completed(2)),
        "{:?}",
        run.outcome
    );
    assert_eq!(
        run.state.get("cheapest").unwrap().value_json(),
        Some("\"second\"")
    );
    assert!(
        run.state.get("cheapest[first]/first").is_none(),
        "the loser was dropped"
    );

    // Replayed with timings that would now make `first` win: the recorded winner stands, and
    // only its branch runs (its step replays).
    CALLS.store(0, Ordering::SeqCst);
    let replay = cheapest(1, 80, &CALLS).run(run.state.clone()).await;
    assert!(
        matches!(replay.outcome, Outcome::Completed(2)),
        "{:?}",
        replay.outcome
    );
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        100,
        "only the winner's branch ran"
    );
}

#[tokio::test]
async fn a_recorded_winner_this_race_does_not_have_stops_the_run() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let mut state = ResumeState::new();
    state.insert("cheapest", StepEntry::ok(&"third").unwrap());
    let run = cheapest(1, 1, &CALLS).run(state).await;
    assert!(
        matches!(run.outcome, Outcome::Stopped(RunError::KindMismatch { ref key, .. }) if key == "cheapest"),
        "{:?}",
        run.outcome
    );
    assert_eq!(CALLS.load(Ordering::SeqCst), 0, "no branch ran");
}

#[workflow]
async fn hook_or_timeout() -> Result<String, String> {
    let answer = race!("answer-or-timeout",
        answer => { let said: String = await_hook!("answer"); said },
        timeout => { sleep!("deadline", Duration::from_hours(1)); "timed out".to_owned() },
    );
    Ok(answer)
}

#[tokio::test]
async fn a_hook_or_a_timeout_whichever_comes_first() {
    let clock = Arc::new(ManualClock::new(1_000));
    let run = hook_or_timeout().clock(clock.clone()).start().await;
    let Outcome::Suspended(suspension) = &run.outcome else {
        panic!("{:?}", run.outcome);
    };
    // Waits for both: the hook and the end of the sleep.
    assert_eq!(suspension.each().count(), 2);
    let hook = waiting_hooks(suspension).remove(0);

    // The answer comes first.
    let answered = inject_hook(&run.state, &hook, &"ok").unwrap();
    let done = hook_or_timeout().clock(clock.clone()).run(answered).await;
    assert!(matches!(done.outcome, Outcome::Completed(ref said) if said == "ok"));
    assert_eq!(
        done.state.get("answer-or-timeout").unwrap().value_json(),
        Some("\"answer\"")
    );

    // The deadline comes first; the losing branch's hook is let go, so a late answer is refused.
    clock.advance(Duration::from_secs(3601));
    let late = hook_or_timeout()
        .clock(clock.clone())
        .run(run.state.clone())
        .await;
    assert!(matches!(late.outcome, Outcome::Completed(ref said) if said == "timed out"));
    assert!(matches!(
        inject_hook(&late.state, &hook, &"too late"),
        Err(InjectError::NotPending { .. })
    ));
    let again = hook_or_timeout().clock(clock).run(late.state).await;
    assert!(matches!(again.outcome, Outcome::Completed(ref said) if said == "timed out"));
}

#[workflow]
async fn confirm_items(items: Vec<u32>, shipped: &'static AtomicU32) -> Result<Vec<u32>, String> {
    let confirmed = fan_out!("items", item in items, key = item, concurrency = 3, {
        let ready = step!("ship", {
            shipped.fetch_add(1, Ordering::SeqCst);
            tick(1, item).await
        })?;
        // Odd items wait for a confirmation.
        if ready % 2 == 1 {
            let ok: bool = await_hook!("confirm");
            if !ok {
                return Err(format!("{item} refused"));
            }
        }
        Ok::<u32, String>(ready * 10)
    });
    confirmed.into_iter().collect()
}

#[tokio::test]
async fn a_fan_out_suspends_with_half_its_items_done_and_resumes_with_the_rest() {
    static SHIPPED: AtomicU32 = AtomicU32::new(0);
    let items: Vec<u32> = (1..=10).collect();
    let mut run = confirm_items(items.clone(), &SHIPPED).start().await;
    let mut rounds = 0;
    loop {
        rounds += 1;
        let Outcome::Suspended(suspension) = &run.outcome else {
            break;
        };
        let mut state = run.state.clone();
        for hook in waiting_hooks(suspension) {
            state = inject_hook(&state, &hook, &true).unwrap();
        }
        run = confirm_items(items.clone(), &SHIPPED).run(state).await;
    }
    assert!(
        matches!(run.outcome, Outcome::Completed(ref values) if *values == (1..=10).map(|item| item * 10).collect::<Vec<_>>()),
        "{:?}",
        run.outcome
    );
    // Every item shipped exactly once, across all the resumes.
    assert_eq!(SHIPPED.load(Ordering::SeqCst), 10);
    assert!(rounds > 1);
    assert!(run.state.get("items[7]/ship").is_some());
    assert!(
        run.state
            .get("items[7]/confirm")
            .unwrap()
            .created_hook_id()
            .is_some()
    );
}

#[workflow]
async fn bounded(
    count: u32,
    concurrency: usize,
    in_flight: &'static AtomicUsize,
    peak: &'static AtomicUsize,
) -> Result<Vec<u32>, String> {
    let done = fan_out!("bounded", item in 0..count, concurrency = concurrency, {
        step!("work", async {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            // Later items finish first.
            tokio::time::sleep(Duration::from_millis(u64::from(20 - item % 20))).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok::<u32, String>(item)
        }.await)
    });
    done.into_iter().collect()
}

#[tokio::test]
async fn a_fan_out_keeps_at_most_concurrency_in_flight_and_returns_outputs_in_input_order() {
    static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);
    let run = bounded(40, 4, &IN_FLIGHT, &PEAK).start().await;
    assert!(
        matches!(run.outcome, Outcome::Completed(ref values) if *values == (0..40).collect::<Vec<_>>()),
        "{:?}",
        run.outcome
    );
    assert_eq!(PEAK.load(Ordering::SeqCst), 4);
    // Without a key, an item's scope is its position.
    assert!(run.state.get("bounded[39]/work").is_some());
}

#[workflow]
async fn duplicate_items(items: Vec<&'static str>) -> Result<Vec<u32>, String> {
    let lengths = fan_out!("lengths", item in items, key = item,
        step!("length", Ok::<u32, String>(u32::try_from(item.len()).unwrap_or(0)))
    );
    lengths.into_iter().collect()
}

#[tokio::test]
async fn two_items_with_one_key_stop_the_run_before_any_item_runs() {
    let run = duplicate_items(vec!["a", "b", "a"]).start().await;
    assert!(
        matches!(run.outcome, Outcome::Stopped(RunError::DuplicateItemKey { ref key, ref item }) if key == "lengths" && item == "a"),
        "{:?}",
        run.outcome
    );
    assert!(run.state.is_empty());
}

#[workflow]
async fn stop_at_first(started: &'static AtomicU32) -> Result<Vec<u32>, String> {
    try_fan_out!("charge-all", amount in [1_u32, 2, 3, 4, 5], key = amount, concurrency = 1, {
        started.fetch_add(1, Ordering::SeqCst);
        step!("charge", if amount == 2 { Err(format!("{amount} declined")) } else { Ok(amount) })
    })
}

#[tokio::test]
async fn try_fan_out_stops_at_the_first_error_and_starts_no_more_items() {
    static STARTED: AtomicU32 = AtomicU32::new(0);
    let run = stop_at_first(&STARTED).start().await;
    assert!(matches!(run.outcome, Outcome::Failed(ref error) if error == "2 declined"));
    assert_eq!(STARTED.load(Ordering::SeqCst), 2);
}

/// Counts writes and the entries they carry; each write takes a little while, so entries of
/// branches that finish meanwhile queue up.
#[derive(Default)]
struct CountingJournal {
    writes: AtomicUsize,
    entries: AtomicUsize,
}

impl Journal for CountingJournal {
    fn record<'a>(&'a self, key: &'a str, entry: &'a StepEntry) -> JournalFuture<'a> {
        self.record_all_owned(vec![(Cow::Owned(key.to_owned()), entry.clone())])
    }

    fn record_all<'a>(
        &'a self,
        entries: &'a [(Cow<'static, str>, StepEntry)],
    ) -> JournalFuture<'a> {
        self.record_all_owned(entries.to_vec())
    }
}

impl CountingJournal {
    fn record_all_owned<'a>(
        &'a self,
        entries: Vec<(Cow<'static, str>, StepEntry)>,
    ) -> JournalFuture<'a> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(2)).await;
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.entries.fetch_add(entries.len(), Ordering::SeqCst);
            Ok(())
        })
    }
}

#[tokio::test]
async fn checkpoints_of_concurrent_items_are_written_together_and_none_is_lost() {
    static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);
    let journal = Arc::new(CountingJournal::default());
    let run = bounded(64, 16, &IN_FLIGHT, &PEAK)
        .journal(journal.clone())
        .start()
        .await;
    assert!(run.outcome.is_completed(), "{:?}", run.outcome);
    assert_eq!(journal.entries.load(Ordering::SeqCst), 64);
    let writes = journal.writes.load(Ordering::SeqCst);
    assert!(writes < 64, "{writes} writes for 64 entries");
}
