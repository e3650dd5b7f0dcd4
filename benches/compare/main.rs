//! Side by side with the TypeScript original (issue 4): workloads 1–4 on our runtime and on
//! `awaitly@1.35.0` under Node, in one invocation on one machine, printed as one markdown table
//! (ns per step, and the ratio awaitly / ours), followed by JSON bytes per step, the peak memory of
//! a suspended 10,000-step run, and the verdict on each target of issue 4.
//!
//! ```sh
//! cargo bench --bench compare --features sqlite,http,postgres               # ~5 min on 2 cores
//! cargo bench --bench compare --features sqlite,http,postgres -- --quick    # 1 round, short sampling
//! cargo bench --bench compare --features sqlite,http,postgres -- --no-node  # ours only
//! cargo bench --bench compare --features sqlite,http,postgres -- --rounds 5 # steadier medians
//! cargo bench --bench compare --features sqlite,http,postgres -- --durable-only  # 5, 6
//! # one workload in a loop, for a profiler (build with debug info, see BENCHMARKS.md):
//! cargo bench --bench compare --features sqlite,http,postgres -- --profile replay 1000 10
//! ```
//!
//! A bench target without the harness: `cargo bench` passes `--bench`, which is ignored; without
//! it (`cargo test --benches`) the harness only says how to run it.
//!
//! The Node side is `bench/awaitly.mjs --serve`, one process answering one measurement per request;
//! if `bench/node_modules` is missing this runs `npm ci --prefix bench` first. The two sides
//! alternate cell by cell (which goes first flips each round) for `--rounds` rounds (default 3),
//! and each figure is the median over rounds, so load from elsewhere on a shared machine hits both
//! alike. Method within a cell (both sides): a warm-up of ≥ 200 ms and ≥ 5 runs; then samples of
//! one run each — or of a batch of runs when one run is shorter than 50 µs, the sample being the
//! batch mean — for ≥ 400 ms and ≥ 15 samples; the figure is the median sample / N. Inputs a run
//! consumes (a cloned resume state) are made outside the timed region; dropping the run's result
//! is inside it.
//!
//! Workloads 5 (durable run per store, vs awaitly's `durable.run`) and 6 (HTTP callback round trip,
//! ours only) need the features `sqlite` and `http`, which the bench target requires (and
//! `postgres` for that store, measured when `AWAITLY_TEST_POSTGRES_URL` is set).
//!
//! Both are measured once per invocation (not per round; awaitly's durable run of 10,000 steps
//! alone takes tens of seconds), ours and awaitly's alternating per N; see `durable.rs`.

#![allow(clippy::cast_precision_loss)] // nanosecond and byte counts far below 2^52

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../common/mod.rs"]
mod common;
#[cfg(all(feature = "sqlite", feature = "http"))]
mod durable;

use common::{Fixture, SIZES};

/// How long to warm up and to sample one workload at one size.
#[derive(Clone, Copy, Debug)]
struct Method {
    warm_up: Duration,
    measure: Duration,
    min_samples: usize,
    max_samples: usize,
    sample_target: Duration,
}

impl Method {
    fn new(quick: bool) -> Self {
        Self {
            warm_up: Duration::from_millis(if quick { 50 } else { 200 }),
            measure: Duration::from_millis(if quick { 100 } else { 400 }),
            min_samples: if quick { 5 } else { 15 },
            max_samples: 1000,
            sample_target: Duration::from_micros(50),
        }
    }

    /// Median ns per run of `routine`, each run fed a fresh input from `setup` (made untimed).
    fn measure<I, O>(self, mut setup: impl FnMut() -> I, mut routine: impl FnMut(I) -> O) -> f64 {
        let warm_start = Instant::now();
        let mut runs = 0u32;
        let mut spent = Duration::ZERO;
        while runs < 5 || warm_start.elapsed() < self.warm_up {
            let input = setup();
            let start = Instant::now();
            drop(black_box(routine(black_box(input))));
            spent += start.elapsed();
            runs += 1;
        }
        let per_run = spent.as_nanos() / u128::from(runs);
        let batch = usize::try_from(self.sample_target.as_nanos().div_ceil(per_run.max(1)))
            .unwrap_or(1)
            .max(1);
        let mut samples = Vec::new();
        let start = Instant::now();
        while samples.len() < self.min_samples
            || (start.elapsed() < self.measure && samples.len() < self.max_samples)
        {
            let inputs: Vec<I> = (0..batch).map(|_| setup()).collect();
            let sample_start = Instant::now();
            for input in inputs {
                drop(black_box(routine(black_box(input))));
            }
            samples.push(sample_start.elapsed().as_nanos() as f64 / batch as f64);
        }
        median(&mut samples)
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        f64::midpoint(values[mid - 1], values[mid])
    }
}

/// The rows of the table, in order: (id shared with bench/awaitly.mjs, label).
const WORKLOADS: [(&str, &str); 9] = [
    ("fresh", "1 fresh run (records every step)"),
    ("replay", "2 full replay from a resume state"),
    ("to_json", "3a state → JSON"),
    ("from_json", "3b JSON → state"),
    ("load_replay", "3b+2 JSON load + full replay"),
    ("hook_cycle", "4 suspend + inject + resume"),
    ("suspend", "4a create hook, N−1 steps, suspend"),
    ("inject", "4b inject_hook (new state)"),
    ("resume", "4c resume: N−1 replays + hook"),
];

/// ns per run, by (workload id, N).
type Timings = BTreeMap<(String, u32), f64>;

/// Our median ns per run of `workload` at the fixture's size.
fn measure_ours(method: Method, fixture: &Fixture, workload: &str) -> f64 {
    let n = fixture.n;
    match workload {
        "fresh" => method.measure(|| n, common::fresh),
        "replay" => method.measure(|| fixture.state.clone(), |state| common::replay(n, state)),
        "to_json" => method.measure(|| (), |()| common::to_json(&fixture.state)),
        "from_json" => method.measure(|| (), |()| common::from_json(&fixture.json)),
        "load_replay" => method.measure(|| (), |()| common::load_and_replay(n, &fixture.json)),
        "hook_cycle" => method.measure(|| n, common::hook_cycle),
        "suspend" => method.measure(|| n, common::suspend),
        "inject" => method.measure(
            || (),
            |()| common::inject(&fixture.suspended, &fixture.hook, n),
        ),
        "resume" => method.measure(
            || (fixture.hook.clone(), fixture.injected.clone()),
            |(hook, state)| common::resume(n, hook, state),
        ),
        "floor_decode" => method.measure(|| (), |()| fixture.floor.decode()),
        "floor_lookup_decode" => method.measure(|| (), |()| fixture.floor.lookup_decode()),
        "floor_parse" => method.measure(|| (), |()| fixture.floor.parse()),
        other => unreachable!("unknown workload {other}"),
    }
}

fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bench")
}

/// `node bench/awaitly.mjs --serve`: measures one workload per request line, so the two sides can
/// alternate cell by cell.
struct NodeBench {
    child: Child,
    requests: Option<ChildStdin>,
    replies: BufReader<ChildStdout>,
    runtime: String,
    awaitly: String,
}

impl NodeBench {
    fn start(quick: bool) -> Result<Self, String> {
        let dir = bench_dir();
        if !dir.join("node_modules").join("awaitly").exists() {
            eprintln!("bench/node_modules is missing: npm ci --prefix bench");
            let status = Command::new("npm")
                .args(["ci", "--prefix"])
                .arg(&dir)
                .args(["--no-audit", "--no-fund", "--loglevel=error"])
                // npm's summary goes to stderr: stdout is the table.
                .stdout(std::io::stderr())
                .status()
                .map_err(|error| format!("cannot run npm: {error}"))?;
            if !status.success() {
                return Err(format!("npm ci --prefix bench failed: {status}"));
            }
        }
        let mut command = Command::new("node");
        command.arg(dir.join("awaitly.mjs")).arg("--serve");
        if quick {
            command.arg("--quick");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|error| format!("cannot run node: {error}"))?;
        let requests = child.stdin.take();
        let replies = BufReader::new(child.stdout.take().ok_or("node has no stdout")?);
        Ok(Self {
            child,
            requests,
            replies,
            runtime: String::new(),
            awaitly: String::new(),
        })
    }

    fn ask(&mut self, request: &serde_json::Value) -> Result<serde_json::Value, String> {
        let requests = self.requests.as_mut().ok_or("node is closed")?;
        writeln!(requests, "{request}").map_err(|error| format!("node: {error}"))?;
        requests.flush().map_err(|error| format!("node: {error}"))?;
        let mut line = String::new();
        self.replies
            .read_line(&mut line)
            .map_err(|error| format!("node: {error}"))?;
        let reply: serde_json::Value = serde_json::from_str(&line)
            .map_err(|error| format!("bench/awaitly.mjs answered {line:?}: {error}"))?;
        if self.runtime.is_empty() {
            reply["runtime"]
                .as_str()
                .unwrap_or("?")
                .clone_into(&mut self.runtime);
            reply["awaitly"]
                .as_str()
                .unwrap_or("?")
                .clone_into(&mut self.awaitly);
        }
        Ok(reply)
    }

    /// awaitly's median ns per run of `workload` at `n` steps.
    fn measure(&mut self, workload: &str, n: u32) -> Result<f64, String> {
        let reply = self.ask(&serde_json::json!({ "workload": workload, "n": n }))?;
        reply["nsPerRun"]
            .as_f64()
            .ok_or_else(|| format!("no nsPerRun in {reply}"))
    }

    /// The size of awaitly's JSON form of a state of `n` steps.
    fn bytes(&mut self, n: u32) -> Result<u64, String> {
        let reply = self.ask(&serde_json::json!({ "bytes": n }))?;
        reply["bytes"]
            .as_u64()
            .ok_or_else(|| format!("no bytes in {reply}"))
    }
}

impl Drop for NodeBench {
    fn drop(&mut self) {
        // Closing stdin ends the serve loop.
        drop(self.requests.take());
        let _ = self.child.wait();
    }
}

/// Every measurement of the invocation: per cell, one median per round and side.
#[derive(Debug, Default)]
struct Rounds {
    ours: BTreeMap<(String, u32), Vec<f64>>,
    theirs: BTreeMap<(String, u32), Vec<f64>>,
}

impl Rounds {
    /// The median over rounds of each cell.
    fn medians(cells: &BTreeMap<(String, u32), Vec<f64>>) -> Timings {
        cells
            .iter()
            .map(|(cell, values)| (cell.clone(), median(&mut values.clone())))
            .collect()
    }
}

/// Runs every cell `rounds` times, alternating the sides within each cell (and which side goes
/// first from round to round), so that load from elsewhere on the machine hits both alike.
fn measure_all(
    method: Method,
    fixtures: &[Fixture],
    rounds: usize,
    mut node: Option<&mut NodeBench>,
) -> Rounds {
    let mut all = Rounds::default();
    for round in 0..rounds {
        for fixture in fixtures {
            let n = fixture.n;
            let cells = WORKLOADS
                .iter()
                .map(|&(workload, _)| (workload, true))
                .chain([
                    ("floor_decode", false),
                    ("floor_lookup_decode", false),
                    ("floor_parse", false),
                ]);
            for (workload, both) in cells {
                let mut ours = || {
                    let ns = measure_ours(method, fixture, workload);
                    all.ours
                        .entry((workload.to_owned(), n))
                        .or_default()
                        .push(ns);
                    ns
                };
                let (mine, theirs) = match node.as_deref_mut().filter(|_| both) {
                    None => (ours(), None),
                    Some(node) => {
                        let mut theirs = || match node.measure(workload, n) {
                            Ok(ns) => Some(ns),
                            Err(error) => {
                                eprintln!("awaitly {workload} N={n}: {error}");
                                None
                            }
                        };
                        if round % 2 == 0 {
                            let mine = ours();
                            (mine, theirs())
                        } else {
                            let theirs = theirs();
                            (ours(), theirs)
                        }
                    }
                };
                if let Some(ns) = theirs {
                    all.theirs
                        .entry((workload.to_owned(), n))
                        .or_default()
                        .push(ns);
                }
                eprintln!(
                    "round {}/{rounds} N={n} {workload}: ours {:.0} ns/step, awaitly {}",
                    round + 1,
                    mine / f64::from(n),
                    theirs.map_or_else(
                        || "—".to_owned(),
                        |ns| format!("{:.0} ns/step", ns / f64::from(n))
                    ),
                );
            }
        }
    }
    all
}

/// Peak memory of a run suspended after `n − 1` steps, measured in a fresh child process.
#[derive(Debug)]
struct Memory {
    baseline_kb: u64,
    peak_kb: u64,
    json_bytes: u64,
}

impl Memory {
    fn growth_bytes(&self) -> u64 {
        (self.peak_kb - self.baseline_kb) * 1024
    }
}

fn proc_status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The child: `--rss-probe suspend N` runs N − 1 steps to suspension and holds the suspended run;
/// `--rss-probe load FILE` loads a state from its JSON. Prints `baseline peak json_bytes`.
fn rss_probe(mode: &str, argument: &str) {
    // Fault in the code and the allocator's first arenas before the baseline.
    drop(common::suspend(10));
    let (baseline, peak, json_bytes) = if mode == "load" {
        let json = std::fs::read_to_string(argument).expect("the state file");
        let baseline = proc_status_kb("VmHWM:");
        let state = common::from_json(&json);
        let peak = proc_status_kb("VmHWM:");
        black_box(&state);
        (baseline, peak, json.len())
    } else {
        let n: u32 = argument.parse().expect("N");
        let baseline = proc_status_kb("VmHWM:");
        let (_hook, run) = common::suspend(n);
        let peak = proc_status_kb("VmHWM:");
        (baseline, peak, run.state.to_json().len())
    };
    println!("{baseline} {peak} {json_bytes}");
}

fn measure_memory(mode: &str, argument: &str) -> Result<Memory, String> {
    let exe = std::env::current_exe().map_err(|error| error.to_string())?;
    let output = Command::new(exe)
        .args(["--rss-probe", mode, argument])
        .output()
        .map_err(|error| error.to_string())?;
    let text = String::from_utf8_lossy(&output.stdout);
    let numbers: Vec<u64> = text
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    match numbers[..] {
        [baseline_kb, peak_kb, json_bytes] => Ok(Memory {
            baseline_kb,
            peak_kb,
            json_bytes,
        }),
        _ => Err(format!("the memory probe printed {text:?}")),
    }
}

/// `--profile WORKLOAD N [SECONDS]`: runs one workload in a loop for `perf record` / callgrind.
fn profile(workload: &str, n: u32, duration: Duration) {
    let fixture = Fixture::new(n);
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < duration {
        for _ in 0..16 {
            match workload {
                "fresh" => drop(black_box(common::fresh(n))),
                "replay" => drop(black_box(common::replay(n, fixture.state.clone()))),
                "to_json" => drop(black_box(common::to_json(&fixture.state))),
                "from_json" => drop(black_box(common::from_json(&fixture.json))),
                "load_replay" => drop(black_box(common::load_and_replay(n, &fixture.json))),
                "hook_cycle" => drop(black_box(common::hook_cycle(n))),
                "suspend" => drop(black_box(common::suspend(n))),
                "inject" => drop(black_box(common::inject(
                    &fixture.suspended,
                    &fixture.hook,
                    n,
                ))),
                "resume" => drop(black_box(common::resume(
                    n,
                    fixture.hook.clone(),
                    fixture.injected.clone(),
                ))),
                "floor_decode" => drop(black_box(fixture.floor.decode())),
                "floor_parse" => drop(black_box(fixture.floor.parse())),
                other => panic!("unknown workload {other:?}"),
            }
        }
        runs += 16;
    }
    eprintln!(
        "{workload} N={n}: {runs} runs, {:.0} ns/step (mean, including any setup)",
        start.elapsed().as_nanos() as f64 / runs as f64 / f64::from(n)
    );
}

/// Workloads 5 and 6, or why they were not measured.
#[derive(Debug)]
struct DurableResults {
    /// ns per run by (store, N); the store "awaitly" is awaitly's `durable.run` (memory store).
    runs: Timings,
    /// Stores not measured, and why.
    skipped: Vec<(String, String)>,
    /// Workload 6: requests per second and median latency (medians over rounds), deliveries per
    /// round, rounds.
    http: Result<(f64, Duration, usize, usize), String>,
}

#[cfg(not(all(feature = "sqlite", feature = "http")))]
fn durable_workloads(
    _quick: bool,
    _rounds: usize,
    _node: Option<&mut NodeBench>,
) -> DurableResults {
    let why = "built without the features sqlite and http (add `--features sqlite,http,postgres`)";
    eprintln!("workloads 5 and 6 skipped: {why}");
    DurableResults {
        runs: Timings::new(),
        skipped: ["memory", "sqlite", "postgres"]
            .into_iter()
            .map(|store| (store.to_owned(), why.to_owned()))
            .collect(),
        http: Err(why.to_owned()),
    }
}

/// Workload 5 per store and N (awaitly's `durable.run` right after our memory store, which goes
/// first at even N), then workload 6 `rounds` times.
#[cfg(all(feature = "sqlite", feature = "http"))]
fn durable_workloads(
    quick: bool,
    rounds: usize,
    mut node: Option<&mut NodeBench>,
) -> DurableResults {
    let mut runs = Timings::new();
    let mut skipped = Vec::new();
    let mut benches = Vec::new();
    for store in durable::STORES {
        match durable::DurableBench::new(store) {
            Ok(bench) => benches.push((store, bench)),
            Err(why) => {
                eprintln!("workload 5, {store} store: skipped: {why}");
                skipped.push((store.to_owned(), why));
            }
        }
    }
    for (index, n) in SIZES.into_iter().enumerate() {
        let theirs = |node: Option<&mut NodeBench>, runs: &mut Timings| {
            let Some(node) = node else { return };
            match node.measure("durable", n) {
                Ok(ns) => {
                    eprintln!(
                        "durable N={n} awaitly: {:.1} µs/step",
                        ns / f64::from(n) / 1e3
                    );
                    runs.insert(("awaitly".to_owned(), n), ns);
                }
                Err(error) => eprintln!("awaitly durable N={n}: {error}"),
            }
        };
        if index % 2 == 1 {
            theirs(node.as_deref_mut(), &mut runs);
        }
        for (store, bench) in &mut benches {
            let ns = bench.measure(n, quick);
            eprintln!(
                "durable N={n} {store}: {:.1} µs/step",
                ns / f64::from(n) / 1e3
            );
            runs.insert(((*store).to_owned(), n), ns);
            if index % 2 == 0 && *store == "memory" {
                theirs(node.as_deref_mut(), &mut runs);
            }
        }
    }
    drop(benches);

    let deliveries = if quick { 500 } else { 2_000 };
    let mut measured = Vec::new();
    let mut http = Err("not run".to_owned());
    for round in 0..rounds {
        match durable::http_round_trip(deliveries) {
            Ok(result) => {
                eprintln!(
                    "round {}/{rounds} HTTP callback round trip: {:.0} requests/s, median {:.2} ms",
                    round + 1,
                    result.requests_per_second,
                    result.median_latency.as_secs_f64() * 1e3
                );
                measured.push(result);
            }
            Err(error) => {
                eprintln!("workload 6: {error}");
                http = Err(error);
                break;
            }
        }
    }
    if !measured.is_empty() {
        let mut per_second: Vec<f64> = measured.iter().map(|m| m.requests_per_second).collect();
        let mut latency: Vec<f64> = measured
            .iter()
            .map(|m| m.median_latency.as_secs_f64())
            .collect();
        http = Ok((
            median(&mut per_second),
            Duration::from_secs_f64(median(&mut latency)),
            deliveries,
            measured.len(),
        ));
    }
    DurableResults {
        runs,
        skipped,
        http,
    }
}

/// The tables of workloads 5 and 6 and their targets.
fn print_durable(results: &DurableResults) {
    println!();
    if results.runs.is_empty() {
        for (store, why) in &results.skipped {
            println!("workload 5 (durable run), {store} store: skipped: {why}");
        }
    } else {
        print_durable_table(results);
    }
    println!();
    match &results.http {
        Ok((per_second, latency, deliveries, rounds)) => {
            println!(
                "| workload 6: HTTP callback round trip, `hooks_router` + SQLite store, loopback | concurrent clients | deliveries per round | rounds | requests/s (median) | latency (median) |"
            );
            println!("|---|---:|---:|---:|---:|---:|");
            println!(
                "| each POST completes its own suspended run (200) | {} | {deliveries} | {rounds} | {per_second:.0} | {:.2} ms |",
                CLIENTS_OF_WORKLOAD_6,
                latency.as_secs_f64() * 1e3
            );
        }
        Err(why) => println!("workload 6 (HTTP callback round trip): not measured: {why}"),
    }
}

/// Workload 5: µs per step per store and N, and the target "flat in N".
fn print_durable_table(results: &DurableResults) {
    use std::fmt::Write as _;
    const STORES: [&str; 3] = ["memory", "sqlite", "postgres"];
    let micros = |store: &str, n: u32| {
        results
            .runs
            .get(&(store.to_owned(), n))
            .map(|ns| ns / f64::from(n) / 1e3)
    };
    let us = |value: Option<f64>| match value {
        Some(value) if value >= 100.0 => format!("{value:.0}"),
        Some(value) if value >= 1.0 => format!("{value:.2}"),
        Some(value) => format!("{value:.3}"),
        None => "—".to_owned(),
    };
    println!(
        "Workload 5, durable run of N keyed steps (a checkpoint per step): µs per step (median run / N), ratio = awaitly / ours"
    );
    println!();
    println!(
        "| N | awaitly `durable.run` (memory) | ours memory | ratio | ours SQLite | ratio | ours Postgres | ratio |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in SIZES {
        let theirs = micros("awaitly", n);
        let mut row = format!("| {n} | {} |", us(theirs));
        for store in STORES {
            let mine = micros(store, n);
            let times = match (theirs, mine) {
                (Some(theirs), Some(mine)) if theirs < mine => format!("{:.2}×", theirs / mine),
                _ => ratio(theirs, mine),
            };
            let _ = write!(row, " {} | {times} |", us(mine));
        }
        println!("{row}");
    }
    for (store, why) in &results.skipped {
        println!("{store} store: skipped: {why}");
    }
    println!();
    println!(
        "| target (issue 4) | ours memory | ours SQLite | ours Postgres | awaitly (memory, for reference) |"
    );
    println!("|---|---|---|---|---|");
    let flat = |store: &str, judge: bool| match (micros(store, 10), micros(store, 10_000)) {
        (Some(small), Some(large)) => {
            let times = large / small;
            if judge {
                format!("{times:.2}× {}", verdict(times <= 2.0))
            } else {
                format!("{times:.2}×")
            }
        }
        _ => "—".to_owned(),
    };
    println!(
        "| checkpoint cost per step at 10,000 steps ≤ 2× at 10 | {} | {} | {} | {} |",
        flat("memory", true),
        flat("sqlite", true),
        flat("postgres", true),
        flat("awaitly", false)
    );
}

/// Concurrent clients of workload 6.
#[cfg(all(feature = "sqlite", feature = "http"))]
const CLIENTS_OF_WORKLOAD_6: usize = durable::CLIENTS;
#[cfg(not(all(feature = "sqlite", feature = "http")))]
const CLIENTS_OF_WORKLOAD_6: usize = 16;

fn per_step(timings: &Timings, workload: &str, n: u32) -> Option<f64> {
    timings
        .get(&(workload.to_owned(), n))
        .map(|ns| ns / f64::from(n))
}

fn cell(value: Option<f64>) -> String {
    match value {
        Some(value) if value >= 100.0 => format!("{value:.0}"),
        Some(value) => format!("{value:.1}"),
        None => "—".to_owned(),
    }
}

fn ratio(theirs: Option<f64>, ours: Option<f64>) -> String {
    match (theirs, ours) {
        (Some(theirs), Some(ours)) if ours > 0.0 => format!("{:.1}×", theirs / ours),
        _ => "—".to_owned(),
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

#[allow(clippy::too_many_lines)] // one linear report
fn main() {
    // `cargo bench` passes `--bench` (after the arguments given after `--`); measuring needs it,
    // so that `cargo test --benches` does not drive Node for minutes.
    if !std::env::args().any(|arg| arg == "--bench" || arg == "--rss-probe") {
        println!(
            "compare: skipped in test mode; measure with \
             `cargo bench --bench compare --features sqlite,http,postgres`"
        );
        return;
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| arg != "--bench")
        .collect();
    if let [flag, mode, argument] = &args[..]
        && flag == "--rss-probe"
    {
        rss_probe(mode, argument);
        return;
    }
    if let [flag, workload, n, ..] = &args[..]
        && flag == "--profile"
    {
        let seconds = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
        profile(
            workload,
            n.parse().expect("N"),
            Duration::from_secs(seconds),
        );
        return;
    }
    let quick = args.iter().any(|arg| arg == "--quick");
    let with_node = !args.iter().any(|arg| arg == "--no-node");
    let rounds = args
        .iter()
        .position(|arg| arg == "--rounds")
        .and_then(|at| args.get(at + 1)?.parse().ok())
        .unwrap_or(if quick { 1 } else { 3 });
    let method = Method::new(quick);

    eprintln!("building and checking the fixtures …");
    let fixtures: Vec<Fixture> = SIZES.into_iter().map(Fixture::new).collect();
    let mut node = if with_node {
        NodeBench::start(quick)
            .map_err(|error| eprintln!("awaitly side skipped: {error}"))
            .ok()
    } else {
        None
    };
    if args.iter().any(|arg| arg == "--durable-only") {
        print_durable(&durable_workloads(quick, rounds, node.as_mut()));
        return;
    }
    let all = measure_all(method, &fixtures, rounds, node.as_mut());
    let ours = Rounds::medians(&all.ours);
    let theirs = Rounds::medians(&all.theirs);
    let mut their_bytes = BTreeMap::new();
    let (mut runtime, mut awaitly) = (String::new(), String::new());
    if let Some(node) = node.as_mut() {
        for n in SIZES {
            if let Ok(bytes) = node.bytes(n) {
                their_bytes.insert(n, bytes);
            }
        }
        (runtime, awaitly) = (node.runtime.clone(), node.awaitly.clone());
    }
    let mut node_for_durable = node;
    let last = fixtures.last().expect("sizes");
    let state_file =
        std::env::temp_dir().join(format!("awaitly-compare-{}.json", std::process::id()));
    let suspended_json = last.suspended.to_json();
    let memory_suspend = measure_memory("suspend", &last.n.to_string());
    let memory_load = std::fs::write(&state_file, &suspended_json)
        .map_err(|error| error.to_string())
        .and_then(|()| measure_memory("load", &state_file.to_string_lossy()));
    let _ = std::fs::remove_file(&state_file);
    let durable_results = durable_workloads(quick, rounds, node_for_durable.as_mut());

    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!();
    println!(
        "awaitly {} on {} vs awaitly-rs {} (release), {cores} cores; ns per step (median run / N), ratio = awaitly / ours{}",
        if awaitly.is_empty() {
            "(not run)"
        } else {
            &awaitly
        },
        if runtime.is_empty() { "—" } else { &runtime },
        env!("CARGO_PKG_VERSION"),
        if quick { " — quick method" } else { "" },
    );
    println!();
    println!("| workload | N | awaitly ns/step | ours ns/step | ratio |");
    println!("|---|---:|---:|---:|---:|");
    for (workload, label) in WORKLOADS {
        for n in SIZES {
            let theirs = per_step(&theirs, workload, n);
            let mine = per_step(&ours, workload, n);
            println!(
                "| {label} | {n} | {} | {} | {} |",
                cell(theirs),
                cell(mine),
                ratio(theirs, mine)
            );
        }
    }
    for (workload, label) in [
        ("floor_decode", "floor: serde_json decode of each value"),
        ("floor_lookup_decode", "floor: map lookup + decode"),
        (
            "floor_parse",
            "floor: serde_json parse of the state's JSON, nothing built",
        ),
    ] {
        for n in SIZES {
            println!(
                "| {label} | {n} | — | {} | — |",
                cell(per_step(&ours, workload, n))
            );
        }
    }

    println!();
    println!(
        "| JSON of a state of N steps | N | awaitly bytes (per step) | ours bytes (per step) |"
    );
    println!("|---|---:|---:|---:|");
    for fixture in &fixtures {
        let theirs = their_bytes.get(&fixture.n).map_or_else(
            || "—".to_owned(),
            |bytes| format!("{bytes} ({:.1})", *bytes as f64 / f64::from(fixture.n)),
        );
        println!(
            "| `to_json` | {} | {theirs} | {} ({:.1}) |",
            fixture.n,
            fixture.json.len(),
            fixture.bytes_per_step()
        );
    }

    println!();
    for (what, memory) in [
        (
            format!("run suspended after {} steps", last.n - 1),
            &memory_suspend,
        ),
        (
            format!("state of {} steps loaded from JSON", last.n),
            &memory_load,
        ),
    ] {
        match memory {
            Ok(memory) => println!(
                "peak RSS, {what}: VmHWM {} kB − baseline {} kB = {} kB for {} B of JSON: {:.2}× its JSON",
                memory.peak_kb,
                memory.baseline_kb,
                memory.peak_kb - memory.baseline_kb,
                memory.json_bytes,
                memory.growth_bytes() as f64 / memory.json_bytes as f64
            ),
            Err(error) => println!("peak RSS, {what}: not measured ({error})"),
        }
    }

    println!();
    println!("| target (issues 4 and 15) | N=10 | N=100 | N=1000 | N=10000 |");
    println!("|---|---|---|---|---|");
    let speedup = |workload: &str, at_least: f64, label: &str| {
        let cells: Vec<String> = SIZES
            .iter()
            .map(
                |&n| match (per_step(&theirs, workload, n), per_step(&ours, workload, n)) {
                    (Some(theirs), Some(mine)) => {
                        let times = theirs / mine;
                        format!("{times:.1}× {}", verdict(times >= at_least))
                    }
                    _ => "—".to_owned(),
                },
            )
            .collect();
        println!("| {label} | {} |", cells.join(" | "));
    };
    speedup("fresh", 8.0, "fresh run ≥ 8× faster");
    speedup("hook_cycle", 8.0, "suspend + inject + resume ≥ 8× faster");
    speedup("load_replay", 4.0, "JSON load + full replay ≥ 4× faster");
    let cells: Vec<String> = SIZES
        .iter()
        .map(|&n| {
            match (
                per_step(&ours, "replay", n),
                per_step(&ours, "floor_decode", n),
            ) {
                (Some(replay), Some(floor)) => {
                    let times = replay / floor;
                    format!("{times:.2}× {}", verdict(times <= 2.0))
                }
                _ => "—".to_owned(),
            }
        })
        .collect();
    println!(
        "| replay ≤ 2× the bare serde_json decode | {} |",
        cells.join(" | ")
    );
    let cells: Vec<String> = SIZES
        .iter()
        .map(|&n| {
            match (
                per_step(&ours, "replay", n),
                per_step(&ours, "floor_lookup_decode", n),
            ) {
                (Some(replay), Some(floor)) => {
                    let times = replay / floor;
                    format!("{times:.2}× {}", verdict(times <= 1.5))
                }
                _ => "—".to_owned(),
            }
        })
        .collect();
    println!(
        "| replay ≤ 1.5× the map lookup + decode floor (issue 15) | {} |",
        cells.join(" | ")
    );
    let cells: Vec<String> = fixtures
        .iter()
        .map(|fixture| match their_bytes.get(&fixture.n) {
            Some(&theirs) => {
                let mine = fixture.json.len() as u64;
                format!(
                    "{:+.1} B/step {}",
                    (mine as f64 - theirs as f64) / f64::from(fixture.n),
                    verdict(mine <= theirs)
                )
            }
            None => "—".to_owned(),
        })
        .collect();
    println!(
        "| JSON bytes per step ≤ awaitly's (whole state) | {} |",
        cells.join(" | ")
    );
    // Per added step: the constant header (`version`, `workflow`) cancels out.
    let (first, last_fixture) = (&fixtures[0], fixtures.last().expect("sizes"));
    if let (Some(&theirs_first), Some(&theirs_last)) =
        (their_bytes.get(&first.n), their_bytes.get(&last_fixture.n))
    {
        let steps = f64::from(last_fixture.n - first.n);
        let theirs = (theirs_last as f64 - theirs_first as f64) / steps;
        let mine = (last_fixture.json.len() as f64 - first.json.len() as f64) / steps;
        println!(
            "| JSON bytes per added step ≤ awaitly's | {mine:.2} vs {theirs:.2} B {} | | | |",
            verdict(mine <= theirs)
        );
    }
    let memory_cell = match &memory_suspend {
        Ok(memory) => {
            let times = memory.growth_bytes() as f64 / memory.json_bytes as f64;
            format!("{times:.2}× {}", verdict(times <= 3.0))
        }
        Err(_) => "—".to_owned(),
    };
    println!("| peak RSS of a suspended run ≤ 3× its JSON | — | — | — | {memory_cell} |");
    print_durable(&durable_results);
}
