//! The workloads of issue 4, shared by the criterion suite (`benches/runtime.rs`) and the
//! side-by-side harness (`benches/compare/main.rs`), so both measure exactly the same code.
//!
//! Shape (the same as `bench/awaitly.mjs` and behaviour spec §8): N sequential keyed steps, step
//! `i` recorded under `step[i]` and returning `Item { i, v: "x", done: true }` from an async
//! dependency; the workflow value is built inside the timed region (a fresh workflow per run, as a
//! resuming process would).

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use awaitly::{
    HookId, Outcome, ResumeState, Run, await_hook, create_hook, inject_hook, step, workflow,
};
use serde::{Deserialize, Serialize};

/// The step counts of every workload.
pub(crate) const SIZES: [u32; 4] = [10, 100, 1_000, 10_000];

/// What every step returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Item {
    pub(crate) i: u32,
    pub(crate) v: String,
    pub(crate) done: bool,
}

/// How many step bodies really executed (replays must not move it). The Node side counts too.
pub(crate) static EXECUTED: AtomicU64 = AtomicU64::new(0);

/// The dependency every step calls: an async fn that completes at once (async like awaitly's
/// deps, so a step awaits a future as it would in an app).
#[allow(clippy::unused_async)]
async fn load_item(i: u32) -> Result<Item, String> {
    EXECUTED.fetch_add(1, Ordering::Relaxed);
    Ok(Item {
        i,
        v: "x".to_owned(),
        done: true,
    })
}

/// Workloads 1–3: `n` keyed steps. Returns the sum of the items' `i` (so every value is used).
#[workflow]
pub(crate) async fn keyed_steps(n: u32) -> Result<u64, String> {
    let mut sum = 0u64;
    for i in 0..n {
        let item = step!("step", key = i, load_item(i).await)?;
        sum += u64::from(item.i);
    }
    Ok(sum)
}

/// Workload 4: `n − 1` keyed steps, then a hook made before the run (awaitly's `createHook`).
#[workflow]
pub(crate) async fn keyed_steps_then_hook(n: u32, hook: HookId) -> Result<u64, String> {
    let mut sum = 0u64;
    for i in 0..n - 1 {
        let item = step!("step", key = i, load_item(i).await)?;
        sum += u64::from(item.i);
    }
    let paid: Item = await_hook!(hook);
    Ok(sum + u64::from(paid.i))
}

/// The sum every completed run of `n` steps returns.
pub(crate) fn expected_sum(n: u32) -> u64 {
    let n = u64::from(n);
    n * (n - 1) / 2
}

/// The payload injected into the hook of workload 4.
pub(crate) fn payload(n: u32) -> Item {
    Item {
        i: n - 1,
        v: "x".to_owned(),
        done: true,
    }
}

/// Polls a future to completion on this thread. The workloads never wait on anything (every
/// dependency is ready at once), so this measures the runtime, not an executor; a real app would
/// use tokio, whose `block_on` adds a constant per run, not per step.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::yield_now();
    }
}

/// Workload 1: a fresh run recording every step.
pub(crate) fn fresh(n: u32) -> Run<u64, String> {
    block_on(keyed_steps(n).start())
}

/// Workload 2: a full replay from a resume state (nothing executes).
pub(crate) fn replay(n: u32, state: ResumeState) -> Run<u64, String> {
    block_on(keyed_steps(n).run(state))
}

/// Workload 3a: the resume state to its JSON form.
pub(crate) fn to_json(state: &ResumeState) -> String {
    state.to_json()
}

/// Workload 3b: the JSON form back to a resume state.
pub(crate) fn from_json(json: &str) -> ResumeState {
    ResumeState::from_json(json).expect("the state's own JSON loads")
}

/// Workloads 3b + 2: what a resuming process does — load the JSON, replay everything.
pub(crate) fn load_and_replay(n: u32, json: &str) -> Run<u64, String> {
    replay(n, from_json(json))
}

/// Workload 4a: create a hook, run `n − 1` steps and suspend at the hook.
pub(crate) fn suspend(n: u32) -> (HookId, Run<u64, String>) {
    let hook = create_hook();
    let run = block_on(keyed_steps_then_hook(n, hook.hook_id.clone()).start());
    (hook.hook_id, run)
}

/// Workload 4b: `inject_hook` (awaitly's immutable form: returns a new state).
pub(crate) fn inject(state: &ResumeState, hook: &HookId, n: u32) -> ResumeState {
    inject_hook(state, hook, &payload(n)).expect("the hook is pending")
}

/// Workload 4c: a fresh workflow resumes: `n − 1` replays and the injected hook.
pub(crate) fn resume(n: u32, hook: HookId, state: ResumeState) -> Run<u64, String> {
    block_on(keyed_steps_then_hook(n, hook).run(state))
}

/// Workload 4: 4a + 4b + 4c.
pub(crate) fn hook_cycle(n: u32) -> Run<u64, String> {
    let (hook, suspended) = suspend(n);
    let injected = inject(&suspended.state, &hook, n);
    resume(n, hook, injected)
}

/// The floor under replay: the same N values, as the same JSON text per value, decoded with bare
/// `serde_json`; and the same behind a map lookup by (pre-built) key.
#[derive(Debug)]
pub(crate) struct Floor {
    keys: Vec<String>,
    texts: Vec<String>,
    by_key: HashMap<String, String>,
    /// The state's JSON form: what `parse` reads.
    json: String,
}

impl Floor {
    pub(crate) fn new(state: &ResumeState) -> Self {
        let pairs: Vec<(String, String)> = state
            .iter()
            .map(|(key, entry)| {
                let text = entry.value_json().expect("every step succeeded");
                (key.to_owned(), text.to_owned())
            })
            .collect();
        Self {
            keys: pairs.iter().map(|(key, _)| key.clone()).collect(),
            texts: pairs.iter().map(|(_, text)| text.clone()).collect(),
            by_key: pairs.into_iter().collect(),
            json: state.to_json(),
        }
    }

    /// `serde_json::from_str::<Item>` on each value's text.
    pub(crate) fn decode(&self) -> u64 {
        let mut sum = 0;
        for text in &self.texts {
            let item: Item = serde_json::from_str(text).expect("an Item");
            sum += u64::from(item.i);
        }
        sum
    }

    /// The parse alone, building nothing: `serde_json` checking the state's JSON form (the part
    /// of `from_json` a faster parser could speed up).
    pub(crate) fn parse(&self) -> serde::de::IgnoredAny {
        serde_json::from_str(&self.json).expect("JSON")
    }

    /// `HashMap::get` by key (std `HashMap`, `SipHash`), then the same decode.
    pub(crate) fn lookup_decode(&self) -> u64 {
        let mut sum = 0;
        for key in &self.keys {
            let text = self.by_key.get(key).expect("a recorded key");
            let item: Item = serde_json::from_str(text).expect("an Item");
            sum += u64::from(item.i);
        }
        sum
    }
}

/// Everything a workload at size `n` starts from, built (and checked) outside the timed region.
#[derive(Debug)]
pub(crate) struct Fixture {
    pub(crate) n: u32,
    /// The state of a fresh run: input of the replay, the JSON writer and the floor.
    pub(crate) state: ResumeState,
    /// That state's JSON form: input of the JSON reader.
    pub(crate) json: String,
    pub(crate) floor: Floor,
    /// A run suspended at its hook, and the hook: input of inject and resume.
    pub(crate) hook: HookId,
    pub(crate) suspended: ResumeState,
    pub(crate) injected: ResumeState,
}

impl Fixture {
    /// Builds the inputs and checks once that every workload does what it claims.
    pub(crate) fn new(n: u32) -> Self {
        let run = fresh(n);
        assert!(
            matches!(run.outcome, Outcome::Completed(sum) if sum == expected_sum(n)),
            "fresh run of {n}: {:?}",
            run.outcome
        );
        assert_eq!(run.state.len(), n as usize);
        let state = run.state;

        let before = EXECUTED.load(Ordering::Relaxed);
        let replayed = replay(n, state.clone());
        assert!(matches!(replayed.outcome, Outcome::Completed(sum) if sum == expected_sum(n)));
        assert_eq!(
            EXECUTED.load(Ordering::Relaxed),
            before,
            "a replay executes nothing"
        );

        let json = to_json(&state);
        assert_eq!(
            to_json(&from_json(&json)),
            json,
            "the JSON form round-trips"
        );
        let loaded = load_and_replay(n, &json);
        assert!(matches!(loaded.outcome, Outcome::Completed(sum) if sum == expected_sum(n)));

        let floor = Floor::new(&state);
        assert_eq!(floor.decode(), expected_sum(n));
        assert_eq!(floor.lookup_decode(), expected_sum(n));

        let (hook, suspended) = suspend(n);
        assert!(
            suspended.outcome.pending_hook().is_some(),
            "suspends at the hook: {:?}",
            suspended.outcome
        );
        assert_eq!(suspended.state.len(), n as usize);
        let injected = inject(&suspended.state, &hook, n);
        let before = EXECUTED.load(Ordering::Relaxed);
        let resumed = resume(n, hook.clone(), injected.clone());
        assert!(matches!(resumed.outcome, Outcome::Completed(sum) if sum == expected_sum(n)));
        assert_eq!(EXECUTED.load(Ordering::Relaxed), before, "a resume replays");
        assert!(matches!(hook_cycle(n).outcome, Outcome::Completed(_)));

        Self {
            n,
            state,
            json,
            floor,
            hook,
            suspended: suspended.state,
            injected,
        }
    }

    /// JSON bytes per step of this state.
    #[allow(clippy::cast_precision_loss)] // sizes far below 2^52
    pub(crate) fn bytes_per_step(&self) -> f64 {
        self.json.len() as f64 / f64::from(self.n)
    }
}
