//! One measurement: N node processes on a fresh schema, R runs enqueued, each run's hook
//! delivered over HTTP as soon as it is pending, the side-effect log checked while the runs
//! proceed, CPU read from `/proc` around it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use awaitly::durable::{Engine, Enqueue};
use awaitly::store::{PostgresStore, RunOutcome, RunRecord};
use awaitly::workflow;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checker::{self, End, History, RunEnd, Target};
use crate::cluster::{Cluster, Node, unix_micros};
use crate::cpu::{self, Snapshot, Usage};
use crate::deliver::Deliverer;
use crate::live::Tail;
use crate::probes::{Sampler, backends, database_counters, worker_counters};
use crate::stats::{Figures, Phases};

/// The `bench` workflow's steps, in order (see `src/bin/awaitly-history-node.rs`).
pub(crate) const STEPS: [&str; 10] = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"];

/// What every round shares.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// The database, `postgres://…` (no `#schema`: each round makes its own).
    pub(crate) url: String,
    /// `awaitly-history-node`.
    pub(crate) node_bin: PathBuf,
    /// Runs per round.
    pub(crate) runs: usize,
    /// The durable sleep of each run.
    pub(crate) sleep_ms: u64,
    /// Each node's `Worker::concurrency`.
    pub(crate) concurrency: usize,
    /// `in-place` or `queue` (the nodes' `Engine::deliveries`).
    pub(crate) deliveries: String,
    /// How often the harness looks for pending hooks.
    pub(crate) poll: Duration,
    /// A round that has not finished by then is reported as such.
    pub(crate) deadline: Duration,
    /// Keep each round's scratch directory (effect log, node stderr).
    pub(crate) keep: bool,
}

/// The input of a `bench` run, as the nodes' workflow reads it.
#[derive(Debug, Serialize, Deserialize)]
struct BenchInput {
    run: String,
    sleep_ms: u64,
}

/// Registered only so that [`Engine::enqueue`] can check the input: the harness runs no worker,
/// the nodes run the real body (`bench` in `src/bin/awaitly-history-node.rs`).
#[workflow]
async fn bench(input: BenchInput) -> Result<Value, String> {
    Err(format!("run {} is executed by the nodes", input.run))
}

/// `url` with `application_name` set, so the round's backends can be told apart in
/// `pg_stat_activity`.
fn with_application(url: &str, name: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}application_name={name}")
}

/// One round with `nodes` node processes: the figures, and the scratch directory if it was kept.
pub(crate) async fn measure(
    settings: &Settings,
    monitor: &tokio_postgres::Client,
    nodes: usize,
    round: usize,
) -> Result<Figures, String> {
    let tag = format!("scale_out_{}_{round}", std::process::id());
    let dir = std::env::temp_dir().join(format!("awaitly_{tag}"));
    std::fs::create_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let (node_app, harness_app) = (format!("{tag}_node"), format!("{tag}_harness"));
    let store =
        PostgresStore::connect_with_schema(&with_application(&settings.url, &harness_app), &tag)
            .await
            .map_err(|error| format!("the harness's store: {error}"))?;
    let engine = Arc::new(Engine::new(store.clone()).register("bench", 1, bench));
    let figures = run_round(
        settings,
        monitor,
        nodes,
        &engine,
        &dir,
        &node_app,
        &harness_app,
    )
    .await;
    let _ = store.drop_schema().await;
    let clean = figures
        .as_ref()
        .is_ok_and(|figures| figures.violations == 0);
    if clean && !settings.keep {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("round {round}: scratch directory kept: {}", dir.display());
    }
    figures
}

// One sequence of the round's phases; splitting it would only pass its state around.
#[allow(clippy::too_many_lines)]
async fn run_round(
    settings: &Settings,
    monitor: &tokio_postgres::Client,
    nodes: usize,
    engine: &Arc<Engine>,
    dir: &Path,
    node_app: &str,
    harness_app: &str,
) -> Result<Figures, String> {
    let log = dir.join("effects.log");
    let schema = dir
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_prefix("awaitly_"))
        .unwrap_or_default()
        .to_owned();
    let node_store = format!(
        "postgres:{}#{schema}",
        with_application(&settings.url, node_app)
    );
    let extra: Vec<String> = [
        "--step-delay-ms",
        "0",
        "--no-fsync",
        "--worker-interval-ms",
        "1000",
        // Only the workers claim runs: `Engine::recover` (for runs of dead executors, which
        // workers take over anyway once their lease expires) waits out the round.
        "--recover-interval-ms",
        "3600000",
        "--stale-after-ms",
        "30000",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([
        "--concurrency".to_owned(),
        settings.concurrency.to_string(),
        "--deliveries".to_owned(),
        settings.deliveries.clone(),
    ])
    .collect();
    let (bin, dir_owned) = (settings.node_bin.clone(), dir.to_owned());
    let mut cluster = tokio::task::spawn_blocking(move || {
        Cluster::start_with(&bin, &node_store, &log, &dir_owned, nodes, &extra)
    })
    .await
    .map_err(|error| error.to_string())?
    .map_err(|error| format!("the nodes: {error}"))?;
    let live: Vec<Node> = cluster
        .live()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .flatten()
        .cloned()
        .collect();
    // Let the nodes open their pools and their LISTEN connection before the clock starts.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let runs: Vec<String> = (0..settings.runs)
        .map(|index| format!("b{index:05}"))
        .collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|error| error.to_string())?;
    let deliverer = Arc::new(Deliverer::new(
        client,
        live.clone(),
        Arc::clone(engine),
        &runs,
    ));
    let mut tail = Tail::open(&dir.join("effects.log")).map_err(|error| error.to_string())?;
    let node_before: Vec<Usage> = live
        .iter()
        .map(|node| cpu::process_usage(node.pid).unwrap_or_default())
        .collect();
    let workers_before = worker_counters(deliverer.client(), &live).await;
    let harness_before = cpu::process_usage(std::process::id()).unwrap_or_default();
    let counters_before = database_counters(monitor).await;
    let before = Snapshot::take();
    let origin_us = unix_micros();
    let stop = Arc::new(AtomicBool::new(false));
    let delivering = tokio::spawn(Arc::clone(&deliverer).run(settings.poll, Arc::clone(&stop)));

    let mut enqueued_us = HashMap::new();
    for run in &runs {
        enqueued_us.insert(run.clone(), unix_micros());
        let input = BenchInput {
            run: run.clone(),
            sleep_ms: settings.sleep_ms,
        };
        engine
            .enqueue(run, "bench", &input, &Enqueue::default())
            .await
            .map_err(|error| format!("enqueue {run}: {error}"))?;
    }
    let deadline = Instant::now() + settings.deadline;
    let mut sampler = Sampler::default();
    let mut next_sample = Instant::now();
    while tail.finished.len() < runs.len() && Instant::now() < deadline {
        tail.read_new().map_err(|error| error.to_string())?;
        if Instant::now() >= next_sample {
            sampler.sample(monitor, node_app).await;
            next_sample += Duration::from_millis(100);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let records: Vec<RunRecord> = loop {
        let records = engine
            .store()
            .list_runs()
            .await
            .map_err(|error| format!("list runs: {error}"))?;
        let completed = records
            .iter()
            .filter(|record| matches!(record.outcome, RunOutcome::Completed { .. }))
            .count();
        if completed == runs.len() || Instant::now() >= deadline {
            break records;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let after = Snapshot::take();
    let node_after: Vec<Usage> = live
        .iter()
        .map(|node| cpu::process_usage(node.pid).unwrap_or_default())
        .collect();
    let harness_after = cpu::process_usage(std::process::id()).unwrap_or_default();
    let workers_after = worker_counters(deliverer.client(), &live).await;
    let ours = backends(monitor, &[node_app, harness_app]).await;
    stop.store(true, Ordering::SeqCst);
    let _ = delivering.await;
    tail.read_new().map_err(|error| error.to_string())?;
    tokio::task::spawn_blocking(move || cluster.shutdown())
        .await
        .map_err(|error| error.to_string())?;
    // The nodes' backends report their last transactions as they exit.
    let gone = Instant::now() + Duration::from_secs(3);
    while !backends(monitor, &[node_app]).await.is_empty() && Instant::now() < gone {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let counters_after = database_counters(monitor).await;

    // The checker's verdict over the whole history (the live one only saw the effects).
    let (accepted, answers) = deliverer.take();
    let by_id: HashMap<&str, &RunRecord> = records
        .iter()
        .map(|record| (record.run_id.as_str(), record))
        .collect();
    let ends: Vec<RunEnd> = runs
        .iter()
        .map(|run| run_end(run, by_id.get(run.as_str()).copied(), &accepted))
        .collect();
    let history = History {
        stages: STEPS.iter().map(|step| vec![(*step).to_owned()]).collect(),
        effects: std::mem::take(&mut tail.effects),
        kills: Vec::new(),
        answers,
        runs: ends,
        origin_us,
    };
    let verdict = checker::check(&history);
    if !verdict.violations.is_empty() {
        eprintln!("{}", verdict.report(8));
    }

    let ticks = cpu::ticks_per_second();
    let interval = after.at.duration_since(before.at).as_secs_f64();
    let percent = |spent: u64| spent as f64 / ticks / interval * 100.0;
    let waited = |usage: Usage| usage.waited_ns as f64 / 1e9 / interval * 100.0;
    let nodes_used: Vec<Usage> = node_before
        .iter()
        .zip(&node_after)
        .map(|(before, after)| before.until(*after))
        .collect();
    let harness_used = harness_before.until(harness_after);
    let node_pids: Vec<u32> = ours
        .iter()
        .filter(|(_, name)| name == node_app)
        .map(|(pid, _)| *pid)
        .collect();
    let harness_pids: Vec<u32> = ours
        .iter()
        .filter(|(_, name)| name == harness_app)
        .map(|(pid, _)| *pid)
        .collect();
    let pg_nodes = before.backends_since(&after, &node_pids);
    let last_ms = records
        .iter()
        .map(|record| record.updated_at_ms)
        .max()
        .unwrap_or_default();
    let wall = Duration::from_micros(last_ms.saturating_mul(1000).saturating_sub(origin_us));
    let completed = history.runs.iter().filter(|run| run.completed).count();
    let phases = Phases::of(&history.effects, &enqueued_us, &accepted, &records);
    Ok(Figures {
        nodes,
        runs: runs.len(),
        completed,
        wall,
        interval,
        node_cpu: nodes_used.iter().map(|used| percent(used.ticks)).collect(),
        node_wait: nodes_used.iter().map(|used| waited(*used)).sum(),
        pg_nodes_cpu: percent(pg_nodes.ticks),
        pg_nodes_wait: waited(pg_nodes),
        pg_harness_cpu: percent(before.backends_since(&after, &harness_pids).ticks),
        pg_all_cpu: percent(before.postgres_since(&after)),
        harness_cpu: percent(harness_used.ticks),
        harness_wait: waited(harness_used),
        pressure: after.pressure_us.saturating_sub(before.pressure_us) as f64 / 1e6 / interval
            * 100.0,
        machine_busy: percent(after.machine_busy.saturating_sub(before.machine_busy)),
        machine_iowait: percent(after.machine_iowait.saturating_sub(before.machine_iowait)),
        machine_cores: (after.machine_total.saturating_sub(before.machine_total)) as f64
            / ticks
            / interval,
        commits: counters_after.0.saturating_sub(counters_before.0),
        wal_bytes: counters_after.1.saturating_sub(counters_before.1),
        pg_states: sampler.means(),
        claims: workers_before
            .iter()
            .zip(&workers_after)
            .map(|(before, after)| after.0.saturating_sub(before.0))
            .sum(),
        drives: workers_before
            .iter()
            .zip(&workers_after)
            .map(|(before, after)| after.1.saturating_sub(before.1))
            .sum(),
        effects: history.effects.len(),
        live_repeats: tail.repeats.len(),
        repeats: verdict.repeats,
        violations: verdict.violations.len(),
        unreadable: tail.unreadable,
        phases,
    })
}

/// How run `run` ended, for the checker: completed, and its hook consuming the payload its
/// result reports (`{"paid": …}`).
fn run_end(
    run: &str,
    record: Option<&RunRecord>,
    delivered: &HashMap<String, (String, u64)>,
) -> RunEnd {
    let Some(record) = record else {
        return RunEnd {
            run: run.to_owned(),
            outcome: "never created".to_owned(),
            completed: false,
            ends: BTreeMap::new(),
        };
    };
    let (completed, outcome, end) = match &record.outcome {
        RunOutcome::Completed { result } => (
            true,
            "completed".to_owned(),
            End::Consumed(result["paid"].clone()),
        ),
        other => {
            let mut outcome = serde_json::to_string(other).unwrap_or_default();
            outcome.truncate(300);
            (false, outcome, End::Pending)
        }
    };
    let mut ends = BTreeMap::new();
    if let Some((hook, _)) = delivered.get(run) {
        ends.insert(Target::Hook(hook.clone()), end);
    }
    RunEnd {
        run: run.to_owned(),
        outcome,
        completed,
        ends,
    }
}
