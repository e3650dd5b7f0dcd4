//! The history checker over real processes: K `awaitly-history-node` processes on one SQLite
//! file, and on one PostgreSQL schema when `AWAITLY_TEST_POSTGRES_URL` is set; M runs started
//! over HTTP; hook payloads delivered and approvals decided over HTTP to random nodes, with
//! duplicates, rival payloads and wrong-typed ones; nodes killed with SIGKILL at random and
//! restarted. Every step's side effect goes to a log outside the engine, every HTTP answer is
//! recorded, and once every run has settled the checker (`checker.rs`) judges the whole history.
//!
//! `cargo test --all-features --test history`; the longer soak: `AWAITLY_SOAK=1` (more runs, more
//! kills, figures printed). `AWAITLY_HISTORY_SEED=<n>` replays a seed's choices (the timing of
//! processes still differs from one run to the next).
#![cfg(all(
    feature = "sqlite",
    feature = "postgres",
    feature = "http",
    feature = "worker"
))]

#[path = "../common/mod.rs"]
mod common;

mod checker;
mod cluster;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use awaitly::store::{PostgresStore, RunOutcome, SqliteStore, Store, StoredRun};
use awaitly::{ResumeState, StepEntry};
use checker::{Answer, Effect, End, History, RunEnd, Target, Verdict};
use cluster::{Cluster, Live, unix_micros};
use serde_json::{Value, json};
use tokio::task::JoinSet;

/// The workflow's steps in stages (see `src/bin/awaitly-history-node.rs`): `b` and `p` are the
/// two branches of an `all!`, run at once.
const STAGES: [&[&str]; 4] = [&["a"], &["b", "p"], &["c"], &["d"]];

/// The key of the workflow's approval.
const APPROVAL_KEY: &str = "approve";

/// How often a driver looks at the store.
const POLL: Duration = Duration::from_millis(150);

/// One history test at a time: the nodes of two would share two cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How big a history is.
#[derive(Clone, Copy, Debug)]
struct Size {
    nodes: usize,
    runs: usize,
    kills: usize,
    /// Runs start spread over this many milliseconds.
    start_spread_ms: u64,
    /// A kill comes this many milliseconds (at least, at most) after the previous restart.
    kill_pause_ms: (u64, u64),
    /// Everything must have settled by then.
    deadline: Duration,
}

impl Size {
    /// The CI size, or the soak with `AWAITLY_SOAK=1`.
    fn from_env() -> Self {
        if std::env::var("AWAITLY_SOAK").is_ok_and(|soak| soak == "1") {
            Self {
                nodes: 3,
                runs: 300,
                kills: 30,
                start_spread_ms: 45_000,
                kill_pause_ms: (600, 2_000),
                deadline: Duration::from_mins(5),
            }
        } else {
            Self {
                nodes: 3,
                runs: 30,
                kills: 5,
                start_spread_ms: 8_000,
                kill_pause_ms: (500, 1_500),
                deadline: Duration::from_secs(45),
            }
        }
    }
}

/// `SplitMix64`: reproducible choices from a printed seed, without a dependency.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high.saturating_sub(low) + 1)
    }

    fn index(&mut self, len: usize) -> usize {
        let len = u64::try_from(len.max(1)).unwrap_or(u64::MAX);
        usize::try_from(self.next() % len).unwrap_or(0)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn millis(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(self.between(low, high))
    }
}

/// What one run does and what is sent to it.
#[derive(Clone, Debug)]
struct RunPlan {
    run: String,
    /// The workflow's input (`HistoryInput` in the node).
    input: Value,
    /// A hook id made before the run, or `None` (the workflow creates it).
    hook: Option<String>,
    hook_timeout_ms: Option<u64>,
    approval: bool,
    approval_timeout_ms: Option<u64>,
    start_delay: Duration,
    /// What is delivered to the hook at first: label, payload, well typed.
    deliveries: Vec<(&'static str, Value, bool)>,
    /// What is decided at first: label, posted body, the decision as recorded.
    decisions: Vec<(&'static str, Value, Value)>,
    seed: u64,
}

impl RunPlan {
    fn new(index: usize, size: Size, rng: &mut Rng) -> Self {
        let run = format!("r{index:03}");
        let hook = rng.chance(50).then(|| format!("pre-{run}"));
        let hook_timeout_ms = rng.chance(30).then(|| rng.between(800, 2_000));
        let approval = rng.chance(70);
        let approval_timeout_ms = (approval && rng.chance(30)).then(|| rng.between(800, 2_000));
        let input = json!({
            "run": run,
            "hook": hook,
            "hook_timeout_ms": hook_timeout_ms,
            "sleep_ms": rng.between(100, 400),
            "approval": approval,
            "approval_timeout_ms": approval_timeout_ms,
        });
        let cents = 100 + index;
        let first = json!({ "cents": cents, "from": "p1" });
        let mut deliveries =
            vec![("p1", first, true); usize::try_from(rng.between(2, 4)).unwrap_or(2)];
        if rng.chance(40) {
            deliveries.push(("p2", json!({ "cents": cents + 1, "from": "p2" }), true));
        }
        if rng.chance(25) {
            deliveries.push(("bad", json!({ "cents": "lots", "from": "bad" }), false));
        }
        let grant = (
            "approve",
            json!({ "decision": "approve", "value": cents, "actor": "checker" }),
            json!({ "status": "approved", "value": cents }),
        );
        let mut decisions = vec![grant; usize::try_from(rng.between(2, 3)).unwrap_or(2)];
        if rng.chance(40) {
            decisions.push(if rng.chance(50) {
                (
                    "reject",
                    json!({ "decision": "reject", "reason": "rival", "actor": "rival" }),
                    json!({ "status": "rejected", "reason": "rival" }),
                )
            } else {
                (
                    "edit",
                    json!({ "decision": "edit", "value": cents + 1, "actor": "rival" }),
                    json!({ "status": "edited", "value": cents + 1 }),
                )
            });
        }
        Self {
            run,
            input,
            hook,
            hook_timeout_ms,
            approval,
            approval_timeout_ms,
            start_delay: rng.millis(0, size.start_spread_ms),
            deliveries,
            decisions,
            seed: rng.next(),
        }
    }
}

/// What the drivers share.
struct Drive {
    client: reqwest::Client,
    /// The nodes to send to.
    live: Live,
    /// The store, as the test reads it (the runs' state, never written).
    store: Arc<dyn Store>,
    /// Every answer to a delivery or a decision, for the checker.
    answers: Mutex<Vec<Answer>>,
    /// The status of every answer to a start (`None`: no answer): counted, not judged.
    starts: Mutex<Vec<Option<u16>>>,
    /// Drivers give up (and the checker reports their runs) past this.
    deadline: Instant,
}

impl Drive {
    fn late(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// POSTs `body` to `path` on a random live node: the node's pid, the status (`None`: no
    /// answer) and the body.
    async fn post(&self, rng: &mut Rng, path: &str, body: &Value) -> (u32, Option<u16>, Value) {
        let node = loop {
            let live: Vec<cluster::Node> = self
                .live
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .flatten()
                .cloned()
                .collect();
            if !live.is_empty() {
                break live[rng.index(live.len())].clone();
            }
            if self.late() {
                return (0, None, json!("no node serves"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let sent = self
            .client
            .post(format!("{}{path}", node.base))
            .json(body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
                (node.pid, Some(status), body)
            }
            Err(error) => (node.pid, None, json!(error.to_string())),
        }
    }

    async fn load(&self, run: &str) -> Option<StoredRun> {
        self.store.load_run(run).await.ok().flatten()
    }

    /// Waits until `probe` of the run's stored state says yes; `None` past the deadline.
    async fn until(&self, run: &str, probe: impl Fn(&StoredRun) -> bool) -> Option<StoredRun> {
        loop {
            if let Some(stored) = self.load(run).await
                && probe(&stored)
            {
                return Some(stored);
            }
            if self.late() {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sends one delivery or decision and records the answer.
    async fn send(&self, mut rng: Rng, plan: &RunPlan, target: Target, sending: Sending) {
        let path = match &target {
            Target::Hook(hook) => format!("/hooks/{hook}"),
            Target::Approval(key) => format!("/approvals/{}/{key}", plan.run),
        };
        let (pid, status, body) = self.post(&mut rng, &path, &sending.body).await;
        let answer = Answer {
            run: plan.run.clone(),
            target,
            label: sending.label.to_owned(),
            sent: sending.recorded,
            well_typed: sending.well_typed,
            pid,
            status,
            body,
            at_us: unix_micros(),
        };
        self.answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(answer);
    }
}

/// One delivery or decision to send.
#[derive(Clone, Debug)]
struct Sending {
    label: &'static str,
    /// What is posted.
    body: Value,
    /// What the final state records if it is consumed.
    recorded: Value,
    well_typed: bool,
}

/// The hook id a run waits at (or waited at), from its stored state.
fn hook_in(state: &ResumeState) -> Option<String> {
    state
        .keys()
        .find_map(|key| key.strip_prefix("hook:").map(str::to_owned))
}

/// The `type` of a recorded error.
fn error_type(entry: &StepEntry) -> Option<&str> {
    entry.error()?.get("type")?.as_str()
}

/// How the run's hook ended so far.
fn hook_end(state: &ResumeState, hook: &str) -> End {
    let Some(entry) = state.get(&format!("hook:{hook}")) else {
        return End::Missing;
    };
    if let Some(payload) = entry.value_json() {
        return End::Consumed(serde_json::from_str(payload).unwrap_or(Value::Null));
    }
    match error_type(entry) {
        Some("HOOK_TIMEOUT") => End::Expired,
        Some("PENDING_HOOK") => End::Pending,
        _ => End::Consumed(json!({ "recorded error": entry.error() })),
    }
}

/// How the run's approval ended so far.
fn approval_end(state: &ResumeState) -> End {
    let Some(entry) = state.get(APPROVAL_KEY) else {
        return End::Missing;
    };
    if let Some(value) = entry.value_json() {
        let status = entry
            .approval()
            .and_then(|approval| approval.get("status"))
            .cloned()
            .unwrap_or(Value::Null);
        let value: Value = serde_json::from_str(value).unwrap_or(Value::Null);
        return End::Consumed(json!({ "status": status, "value": value }));
    }
    let error = entry.error().cloned().unwrap_or(Value::Null);
    match error_type(entry) {
        Some("APPROVAL_EXPIRED") => End::Expired,
        Some("PENDING_APPROVAL") => End::Pending,
        Some("APPROVAL_REJECTED") => {
            End::Consumed(json!({ "status": "rejected", "reason": error["reason"] }))
        }
        _ => End::Consumed(json!({ "recorded error": error })),
    }
}

fn settled(end: &End) -> bool {
    matches!(end, End::Consumed(_) | End::Expired)
}

/// Drives one run: start, hook deliveries, approval decisions, completion. Gives up at the
/// deadline (the checker then reports the run).
async fn drive(drive: Arc<Drive>, plan: Arc<RunPlan>) -> Option<()> {
    let mut rng = Rng(plan.seed);
    tokio::time::sleep(plan.start_delay).await;
    let path = format!("/history/start/{}", plan.run);
    loop {
        let (_, status, _) = drive.post(&mut rng, &path, &plan.input).await;
        drive
            .starts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(status);
        if status.is_some_and(|status| (200..300).contains(&status)) {
            break;
        }
        if drive.late() {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let hook = match &plan.hook {
        Some(hook) => {
            // Some deliveries reach the hook before the run does (queued), some after.
            tokio::time::sleep(rng.millis(0, 300)).await;
            hook.clone()
        }
        None => hook_in(
            &drive
                .until(&plan.run, |stored| hook_in(&stored.state).is_some())
                .await?
                .state,
        )?,
    };
    let sendings = plan
        .deliveries
        .iter()
        .map(|(label, payload, well_typed)| Sending {
            label,
            body: payload.clone(),
            recorded: payload.clone(),
            well_typed: *well_typed,
        })
        .collect();
    let target = Target::Hook(hook.clone());
    let resolved = |stored: &StoredRun| settled(&hook_end(&stored.state, &hook));
    burst(
        &drive,
        &plan,
        &mut rng,
        &target,
        sendings,
        plan.hook_timeout_ms,
        resolved,
    )
    .await?;
    if plan.approval {
        drive
            .until(&plan.run, |stored| {
                approval_end(&stored.state) != End::Missing
            })
            .await?;
        let sendings = plan
            .decisions
            .iter()
            .map(|(label, body, recorded)| Sending {
                label,
                body: body.clone(),
                recorded: recorded.clone(),
                well_typed: true,
            })
            .collect();
        let target = Target::Approval(APPROVAL_KEY.to_owned());
        let decided = |stored: &StoredRun| settled(&approval_end(&stored.state));
        burst(
            &drive,
            &plan,
            &mut rng,
            &target,
            sendings,
            plan.approval_timeout_ms,
            decided,
        )
        .await?;
    }
    drive
        .until(&plan.run, |stored| {
            matches!(stored.record.outcome, RunOutcome::Completed { .. })
        })
        .await
        .map(drop)
}

/// Sends `sendings` concurrently at random moments (up to past the `timeout`, if there is one),
/// then — without a timeout — sends the first again until `resolved`; with one, waits for it.
async fn burst(
    drive: &Arc<Drive>,
    plan: &Arc<RunPlan>,
    rng: &mut Rng,
    target: &Target,
    sendings: Vec<Sending>,
    timeout_ms: Option<u64>,
    resolved: impl Fn(&StoredRun) -> bool,
) -> Option<()> {
    let spread = timeout_ms.map_or(300, |timeout| timeout + 500);
    let first = sendings.first().cloned()?;
    let mut sent = JoinSet::new();
    for sending in sendings {
        let (drive, plan, target) = (Arc::clone(drive), Arc::clone(plan), target.clone());
        let (delay, seed) = (rng.millis(0, spread), rng.next());
        sent.spawn(async move {
            tokio::time::sleep(delay).await;
            drive.send(Rng(seed), &plan, target, sending).await;
        });
    }
    while sent.join_next().await.is_some() {}
    loop {
        if drive
            .load(&plan.run)
            .await
            .is_some_and(|stored| resolved(&stored))
        {
            return Some(());
        }
        if drive.late() {
            return None;
        }
        if timeout_ms.is_none() {
            drive
                .send(Rng(rng.next()), plan, target.clone(), first.clone())
                .await;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

/// Reads a run's final state for the checker.
fn run_end(plan: &RunPlan, stored: Option<&StoredRun>) -> RunEnd {
    let Some(stored) = stored else {
        return RunEnd {
            run: plan.run.clone(),
            outcome: "never created".to_owned(),
            completed: false,
            ends: BTreeMap::new(),
        };
    };
    let completed = matches!(stored.record.outcome, RunOutcome::Completed { .. });
    let outcome = if completed {
        "completed".to_owned()
    } else {
        let mut outcome = serde_json::to_string(&stored.record.outcome).unwrap_or_default();
        outcome.truncate(300);
        outcome
    };
    let mut ends = BTreeMap::new();
    if let Some(hook) = plan.hook.clone().or_else(|| hook_in(&stored.state)) {
        let end = hook_end(&stored.state, &hook);
        ends.insert(Target::Hook(hook), end);
    }
    if plan.approval {
        ends.insert(
            Target::Approval(APPROVAL_KEY.to_owned()),
            approval_end(&stored.state),
        );
    }
    RunEnd {
        run: plan.run.clone(),
        outcome,
        completed,
        ends,
    }
}

/// Where one history runs: its store as the test reads it, and as a node's `--store`.
struct Backend {
    name: &'static str,
    store: Arc<dyn Store>,
    node_store: String,
}

/// A scratch directory (store file, side-effect log, node stderr), kept when the check fails.
fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(common::unique("awaitly_history"));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn seed() -> u64 {
    std::env::var("AWAITLY_HISTORY_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(unix_micros)
}

/// The side-effect log.
fn read_effects(log: &Path) -> (Vec<Effect>, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let effects: Vec<Effect> = text.lines().filter_map(Effect::parse).collect();
    let unreadable = text.lines().count() - effects.len();
    (effects, unreadable)
}

/// Kills and restarts nodes on a thread of its own, `size.kills` times (fewer once `stop` is set).
fn spawn_killer(
    cluster: Cluster,
    size: Size,
    mut rng: Rng,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Cluster> {
    let (low, high) = size.kill_pause_ms;
    std::thread::spawn(move || {
        let plan = |_| {
            let pause = rng.millis(low, high);
            (pause, rng.index(size.nodes), rng.millis(150, 700))
        };
        cluster::kill_and_restart(cluster, size.kills, plan, &stop)
    })
}

/// Every run's final state, from the store.
async fn final_states(store: &dyn Store, plans: &[Arc<RunPlan>]) -> Vec<RunEnd> {
    let mut runs = Vec::new();
    for plan in plans {
        let stored = store.load_run(&plan.run).await.expect("the store reads");
        runs.push(run_end(plan, stored.as_ref()));
    }
    runs
}

/// Runs one history on `backend` and judges it; panics with the checker's report on a violation.
async fn history(backend: Backend, dir: &Path) {
    let size = Size::from_env();
    let seed = seed();
    println!(
        "history [{}]: seed {seed} (AWAITLY_HISTORY_SEED), {size:?}",
        backend.name
    );
    let began = Instant::now();
    let origin_us = unix_micros();
    let log = dir.join("effects.log");
    let bin = Path::new(env!("CARGO_BIN_EXE_awaitly-history-node"));
    let cluster =
        Cluster::start(bin, &backend.node_store, &log, dir, size.nodes).expect("the nodes start");
    let live = cluster.live();
    let mut rng = Rng(seed);
    let plans: Vec<Arc<RunPlan>> = (0..size.runs)
        .map(|index| Arc::new(RunPlan::new(index, size, &mut rng)))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let killer = spawn_killer(cluster, size, Rng(rng.next()), Arc::clone(&stop));
    let drive = Arc::new(Drive {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client"),
        live,
        store: Arc::clone(&backend.store),
        answers: Mutex::new(Vec::new()),
        starts: Mutex::new(Vec::new()),
        deadline: began + size.deadline,
    });
    let mut drivers = JoinSet::new();
    for plan in &plans {
        drivers.spawn(self::drive(Arc::clone(&drive), Arc::clone(plan)));
    }
    while drivers.join_next().await.is_some() {}
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut cluster = tokio::task::spawn_blocking(move || killer.join())
        .await
        .expect("the killer thread")
        .expect("the killer did not panic");
    cluster.shutdown();
    let elapsed = began.elapsed();

    let runs = final_states(&*backend.store, &plans).await;
    let (effects, unreadable) = read_effects(&log);
    let answers =
        std::mem::take(&mut *drive.answers.lock().unwrap_or_else(PoisonError::into_inner));
    let starts = std::mem::take(&mut *drive.starts.lock().unwrap_or_else(PoisonError::into_inner));
    let history = History {
        stages: STAGES
            .iter()
            .map(|stage| stage.iter().map(|step| (*step).to_owned()).collect())
            .collect(),
        effects,
        kills: cluster.kills.clone(),
        answers,
        runs,
        origin_us,
    };
    let verdict = checker::check(&history);
    println!(
        "{}",
        figures(
            backend.name,
            size,
            &history,
            &verdict,
            &starts,
            unreadable,
            elapsed
        )
    );
    assert!(
        verdict.violations.is_empty(),
        "{}\nseed {seed}; the store, the effect log and each node's stderr are kept in {}",
        verdict.report(8),
        dir.display()
    );
}

/// One line of figures: what the history held and what the checker found.
fn figures(
    name: &str,
    size: Size,
    history: &History,
    verdict: &Verdict,
    starts: &[Option<u16>],
    unreadable: usize,
    elapsed: Duration,
) -> String {
    let count = |pick: &dyn Fn(&Answer) -> bool| history.answers.iter().filter(|a| pick(a)).count();
    let deliveries = count(&|answer| matches!(answer.target, Target::Hook(_)));
    let decisions = history.answers.len() - deliveries;
    let duplicates = count(&|answer| answer.body["duplicate"] == Value::Bool(true));
    let no_answer = count(&|answer| answer.status.is_none());
    let unavailable = count(&|answer| answer.status.is_some_and(|status| status >= 500));
    let refused = count(&|answer| {
        answer
            .status
            .is_some_and(|status| (400..500).contains(&status))
    });
    format!(
        "history [{name}]: {} nodes, {} runs, {} kills, {} effects ({unreadable} unreadable lines), \
         {} starts sent, {deliveries} deliveries and {decisions} decisions sent \
         ({duplicates} answered as duplicates, {refused} refused 4xx, {unavailable} 5xx, {no_answer} without answer); \
         repeated effects {} (allowed by a kill: {}); {} violation(s); {:.1} s",
        size.nodes,
        history.runs.len(),
        history.kills.len(),
        history.effects.len(),
        starts.len(),
        verdict.repeats,
        verdict.repeats_allowed,
        verdict.violations.len(),
        elapsed.as_secs_f64()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_on_sqlite() {
    let _serial = SERIAL.lock().await;
    let dir = scratch_dir();
    let file = dir.join("runs.db");
    let store = SqliteStore::open(&file)
        .await
        .expect("the SQLite store opens");
    let backend = Backend {
        name: "sqlite",
        store: Arc::new(store),
        node_store: format!("sqlite:{}", file.display()),
    };
    history(backend, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_on_postgres() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let dir = scratch_dir();
    let schema = common::unique("history");
    let store = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .expect("the PostgreSQL store connects");
    let backend = Backend {
        name: "postgres",
        store: Arc::new(store.clone()),
        node_store: format!("postgres:{url}#{schema}"),
    };
    // Drop the schema whatever the verdict (the report has what it held).
    let judged = tokio::spawn(async move {
        history(backend, &dir).await;
        dir
    })
    .await;
    let _ = store.drop_schema().await;
    match judged {
        Ok(dir) => {
            let _ = std::fs::remove_dir_all(&dir);
        }
        Err(failed) => std::panic::resume_unwind(failed.into_panic()),
    }
}
