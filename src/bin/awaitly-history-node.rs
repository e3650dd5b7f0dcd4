//! `awaitly-history-node`: a test node for the history checker (`tests/history/`).
//!
//! One OS process running the durable engine on a shared store, as one instance of an application
//! would: it registers the `history` workflow, serves the hooks and approvals routers over HTTP on
//! 127.0.0.1, runs a `Worker` (due sleeps and deadlines) and calls `Engine::recover` on start and
//! periodically, with a short `stale_after` so the runs of a killed node are taken over quickly.
//! The checker starts several of these on one SQLite file or one PostgreSQL schema, kills them
//! with SIGKILL at random and restarts them.
//!
//! It also registers the `bench` workflow of the scale-out benchmark (`benches/scale_out/`): ten
//! steps, a hook, a durable sleep; the benchmark enqueues its runs and the nodes' workers claim
//! them.
//!
//! Every step of both workflows appends its side effect to a log outside the engine before it
//! returns: one line `run_id step_key pid unix_micros`, written with one `write` on a file opened
//! with `O_APPEND` (so lines of several processes never interleave) and then `fsync`ed (not with
//! `--no-fsync`: the benchmark kills no node, and the page cache is enough for its checker).
//!
//! ```text
//! awaitly-history-node --store sqlite:/tmp/runs.db --log /tmp/effects.log [--port 0]
//! awaitly-history-node --store postgres://user@host/db#schema --log /tmp/effects.log
//!     [--worker-interval-ms 50] [--recover-interval-ms 500] [--stale-after-ms 2000]
//!     [--step-delay-ms 10] [--concurrency 16] [--deliveries in-place|queue] [--no-fsync]
//!     [--exit-with-stdin]
//! ```
//!
//! Once it serves, it prints one line on stdout: `READY port=<port> pid=<pid>`.
//!
//! Routes: the hooks router (`POST /hooks/{hook_id}`), the approvals router
//! (`POST /approvals/{run_id}/{key}`), and its own `POST /history/start/{run_id}`
//! (body: the workflow's input, see [`HistoryInput`]) which starts a run with the input's
//! pre-made hook registered, answering `{"run_id", "created", "outcome"}`, and
//! `GET /history/worker`, the `Worker`'s counters `{"ticks", "resumed"}`.

use std::fs::File;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use awaitly::durable::{Deliveries, Engine, Worker, WorkerHandle};
use awaitly::http::axum::extract::{Path, State};
use awaitly::http::axum::http::StatusCode;
use awaitly::http::axum::response::{IntoResponse, Response};
use awaitly::http::axum::routing::{get, post};
use awaitly::http::axum::{Json, Router};
use awaitly::http::{approvals_router, hooks_router};
use awaitly::store::{PostgresStore, SqliteStore, Store};
use awaitly::{
    ApprovalError, HookId, HookTimeout, all, await_approval, await_hook, sleep, step, workflow,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The workflow of the history checker.
const WORKFLOW: &str = "history";

/// The workflow of the scale-out benchmark.
const BENCH_WORKFLOW: &str = "bench";

/// The key of the workflow's approval (one per run).
const APPROVAL_KEY: &str = "approve";

/// What one `history` run does; chosen by the test per run.
#[derive(Debug, Serialize, Deserialize)]
struct HistoryInput {
    /// The run's id, written into every side-effect line.
    run: String,
    /// A hook id made before the run (registered with it at start, so a delivery may arrive
    /// before the run gets there); `None`: the `await_hook!` site creates the hook.
    #[serde(default)]
    hook: Option<String>,
    /// The hook's timeout, if it has one.
    #[serde(default)]
    hook_timeout_ms: Option<u64>,
    /// How long the durable sleep after step `c` lasts.
    #[serde(default)]
    sleep_ms: u64,
    /// Whether the run waits for an approval (key [`APPROVAL_KEY`]) before step `d`.
    #[serde(default)]
    approval: bool,
    /// The approval's timeout, if it has one.
    #[serde(default)]
    approval_timeout_ms: Option<u64>,
}

/// What a hook delivers.
#[derive(Debug, Serialize, Deserialize)]
struct Payment {
    /// Any amount: the checker tells payloads apart by their whole value.
    cents: u32,
    /// Who sent it.
    from: String,
}

/// What one `bench` run does (the scale-out benchmark enqueues it).
#[derive(Debug, Serialize, Deserialize)]
struct BenchInput {
    /// The run's id, written into every side-effect line.
    run: String,
    /// How long the durable sleep lasts.
    sleep_ms: u64,
}

/// Where side effects go and how long a step lingers after its effect.
#[derive(Debug)]
struct Effects {
    /// The shared log, opened with `O_APPEND`.
    log: File,
    /// Whether each line is `fsync`ed before the step returns.
    sync: bool,
    /// Kept between the logged effect and the step's return, so a kill can land in between.
    linger: Duration,
}

/// Set once in `main`, read by every step.
static EFFECTS: OnceLock<Effects> = OnceLock::new();

/// Microseconds since the Unix epoch: the clock of the side-effect log (the checker compares it
/// with the times it killed nodes).
fn unix_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros())
}

/// The side effect of step `step` of run `run`: one log line, written and synced before the
/// step returns. Returns the step's value.
async fn effect(run: &str, step: &str) -> Result<String, String> {
    let effects = EFFECTS.get().ok_or("the side-effect log is not open")?;
    let pid = std::process::id();
    let line = format!("{run} {step} {pid} {}\n", unix_micros());
    // One `write` of a short line on an `O_APPEND` file: appended whole, never interleaved.
    if effects.sync {
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut log = &effects.log;
            log.write_all(line.as_bytes())?;
            log.sync_data()
        })
        .await
        .map_err(|error| error.to_string())?
    } else {
        // Into the page cache only: a few microseconds, not worth a blocking-pool hop.
        (&effects.log).write_all(line.as_bytes())
    }
    .map_err(|error| format!("the side-effect log: {error}"))?;
    if !effects.linger.is_zero() {
        tokio::time::sleep(effects.linger).await;
    }
    Ok(format!("{step}@{pid}"))
}

/// Step `a`, steps `b` and `p` at once (two branches of `all!`), a hook (pre-made or created, with or without a timeout), step `c`, a
/// durable sleep, an approval (some runs, with or without a timeout), step `d`. Every branch ends
/// completed: a timed-out hook, a rejected or expired approval are outcomes, not failures.
#[workflow]
async fn history(input: HistoryInput) -> Result<Value, String> {
    step!("a", effect(&input.run, "a").await)?;
    // Two branches at once: their checkpoints may share a write, and a kill may land between.
    let (left, right) = all!("pair",
        left => step!("b", effect(&input.run, "b").await),
        right => step!("p", effect(&input.run, "p").await),
    );
    left?;
    right?;
    let timeout = input.hook_timeout_ms.map(Duration::from_millis);
    let paid: Result<Payment, HookTimeout> = match (input.hook.clone(), timeout) {
        (Some(hook), Some(timeout)) => await_hook!(HookId::from(hook), timeout = timeout),
        (Some(hook), None) => Ok(await_hook!(HookId::from(hook))),
        (None, Some(timeout)) => await_hook!("pay-in-time", timeout = timeout),
        (None, None) => Ok(await_hook!("pay")),
    };
    step!("c", effect(&input.run, "c").await)?;
    sleep!("nap", Duration::from_millis(input.sleep_ms));
    let decision: Option<Result<u32, ApprovalError>> = match input.approval_timeout_ms {
        _ if !input.approval => None,
        Some(timeout) => Some(await_approval!(
            APPROVAL_KEY,
            reason = "history check",
            timeout = Duration::from_millis(timeout)
        )),
        None => Some(await_approval!(APPROVAL_KEY, reason = "history check")),
    };
    step!("d", effect(&input.run, "d").await)?;
    Ok(json!({
        "paid": paid.map_or(Value::Null, |payment| json!(payment)),
        "decision": match decision {
            None => Value::Null,
            Some(Ok(value)) => json!(value),
            Some(Err(refused)) => json!(refused.to_string()),
        },
    }))
}

/// The `bench` workflow's steps, in order.
const BENCH_STEPS: [&str; 10] = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"];

/// The scale-out benchmark's run: steps `s0`–`s3`, a hook the workflow creates (`pay`), steps
/// `s4`–`s6`, a durable sleep, steps `s7`–`s9`. Returns the payload it consumed, for the checker.
#[workflow]
async fn bench(input: BenchInput) -> Result<Value, String> {
    for (index, name) in BENCH_STEPS.iter().enumerate().take(4) {
        step!("before-hook", key = index, effect(&input.run, name).await)?;
    }
    let paid: Payment = await_hook!("pay");
    for (index, name) in BENCH_STEPS.iter().enumerate().skip(4).take(3) {
        step!("after-hook", key = index, effect(&input.run, name).await)?;
    }
    sleep!("nap", Duration::from_millis(input.sleep_ms));
    for (index, name) in BENCH_STEPS.iter().enumerate().skip(7) {
        step!("after-sleep", key = index, effect(&input.run, name).await)?;
    }
    Ok(json!({ "paid": paid }))
}

/// The command line.
#[derive(Debug)]
struct Options {
    /// `sqlite:<path>` or `postgres://…[#schema]` (also `postgres:postgres://…`).
    store: String,
    /// The side-effect log.
    log: PathBuf,
    /// The HTTP port on 127.0.0.1; 0 picks a free one (printed in the `READY` line).
    port: u16,
    /// The `Worker`'s interval.
    worker_interval: Duration,
    /// How often `Engine::recover` runs.
    recover_interval: Duration,
    /// The engine's `stale_after`.
    stale_after: Duration,
    /// How long a step lingers after logging its effect.
    step_delay: Duration,
    /// How many runs the `Worker` advances at once.
    concurrency: usize,
    /// Whether a delivery runs the workflow on in the HTTP request or leaves it to the workers.
    deliveries: Deliveries,
    /// Whether each side-effect line is `fsync`ed.
    fsync: bool,
    /// Exit when stdin closes: the test holds the other end, so no node outlives it.
    exit_with_stdin: bool,
}

const USAGE: &str = "usage: awaitly-history-node --store sqlite:<path>|postgres://<url>[#schema] --log <path> \
[--port <n>] [--worker-interval-ms <n>] [--recover-interval-ms <n>] [--stale-after-ms <n>] \
[--step-delay-ms <n>] [--concurrency <n>] [--deliveries in-place|queue] [--no-fsync] \
[--exit-with-stdin]";

impl Options {
    /// Reads the command line (plain `std::env` parsing: the node needs no `cli` feature).
    fn parse(mut arguments: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut options = Self {
            store: String::new(),
            log: PathBuf::new(),
            port: 0,
            worker_interval: Duration::from_millis(50),
            recover_interval: Duration::from_millis(500),
            stale_after: Duration::from_secs(2),
            step_delay: Duration::from_millis(10),
            concurrency: 16,
            deliveries: Deliveries::InPlace,
            fsync: true,
            exit_with_stdin: false,
        };
        while let Some(flag) = arguments.next() {
            match flag.as_str() {
                "--exit-with-stdin" => {
                    options.exit_with_stdin = true;
                    continue;
                }
                "--no-fsync" => {
                    options.fsync = false;
                    continue;
                }
                _ => {}
            }
            let value = arguments
                .next()
                .ok_or_else(|| format!("{flag} needs a value"))?;
            let millis = || {
                value
                    .parse::<u64>()
                    .map(Duration::from_millis)
                    .map_err(|error| format!("{flag} {value}: {error}"))
            };
            match flag.as_str() {
                "--store" => options.store.clone_from(&value),
                "--log" => options.log = PathBuf::from(&value),
                "--port" => {
                    options.port = value
                        .parse()
                        .map_err(|error| format!("--port {value}: {error}"))?;
                }
                "--worker-interval-ms" => options.worker_interval = millis()?,
                "--recover-interval-ms" => options.recover_interval = millis()?,
                "--stale-after-ms" => options.stale_after = millis()?,
                "--step-delay-ms" => options.step_delay = millis()?,
                "--concurrency" => {
                    options.concurrency = value
                        .parse()
                        .map_err(|error| format!("--concurrency {value}: {error}"))?;
                }
                "--deliveries" => {
                    options.deliveries = match value.as_str() {
                        "in-place" => Deliveries::InPlace,
                        "queue" => Deliveries::Queue,
                        other => return Err(format!("--deliveries {other}: in-place or queue")),
                    };
                }
                other => return Err(format!("unknown argument {other}")),
            }
        }
        if options.store.is_empty() || options.log.as_os_str().is_empty() {
            return Err("--store and --log are required".to_owned());
        }
        Ok(options)
    }
}

/// Opens the `--store`.
async fn open_store(store: &str) -> Result<Arc<dyn Store>, String> {
    if let Some(path) = store.strip_prefix("sqlite:") {
        let store = SqliteStore::open(path)
            .await
            .map_err(|error| format!("SQLite store {path}: {error}"))?;
        return Ok(Arc::new(store));
    }
    let url = store.strip_prefix("postgres:").unwrap_or(store);
    let url = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        url
    } else if store.starts_with("postgres") {
        store
    } else {
        return Err(format!("unsupported --store {store}\n{USAGE}"));
    };
    let (url, schema) = url.rsplit_once('#').unwrap_or((url, "awaitly"));
    let store = PostgresStore::connect_with_schema(url, schema)
        .await
        .map_err(|error| format!("PostgreSQL store (schema {schema}): {error}"))?;
    Ok(Arc::new(store))
}

/// `POST /history/start/{run_id}`: starts (or finds) the run, registering the input's pre-made
/// hook with it.
async fn start(
    State(engine): State<Arc<Engine>>,
    Path(run_id): Path<String>,
    Json(input): Json<HistoryInput>,
) -> Response {
    let hooks: Vec<HookId> = input
        .hook
        .iter()
        .map(|hook| HookId::from(hook.as_str()))
        .collect();
    match engine
        .start_with_hooks(&run_id, WORKFLOW, &input, &hooks)
        .await
    {
        Ok(started) => Json(json!({
            "run_id": started.run_id,
            "created": started.created,
            "outcome": started.outcome,
        }))
        .into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": { "code": "start", "message": error.to_string() } })),
        )
            .into_response(),
    }
}

/// `GET /history/worker`: what the node's `Worker` has done so far, `{"ticks", "resumed"}`
/// (claims made, runs advanced; the scale-out benchmark reads it).
async fn worker_stats(State(worker): State<Arc<WorkerHandle>>) -> Json<Value> {
    let stats = worker.stats();
    Json(json!({ "ticks": stats.ticks, "resumed": stats.resumed }))
}

/// Calls `Engine::recover` every `interval`, reporting failures on stderr.
async fn recover_forever(engine: Arc<Engine>, interval: Duration) {
    loop {
        match engine.recover().await {
            Ok(resumed) => {
                for (run_id, result) in resumed {
                    if let Err(error) = result {
                        eprintln!("recover {run_id}: {error}");
                    }
                }
            }
            Err(error) => eprintln!("recover: {error}"),
        }
        tokio::time::sleep(interval).await;
    }
}

/// Exits the process once stdin closes (or fails).
fn exit_when_stdin_closes() {
    std::thread::spawn(|| {
        let mut stdin = std::io::stdin().lock();
        let mut line = String::new();
        while stdin.read_line(&mut line).is_ok_and(|read| read > 0) {
            line.clear();
        }
        std::process::exit(0);
    });
}

/// Opens the store and the log, then serves until killed.
async fn serve(options: Options) -> Result<(), String> {
    let log = File::options()
        .create(true)
        .append(true)
        .open(&options.log)
        .map_err(|error| format!("--log {}: {error}", options.log.display()))?;
    EFFECTS
        .set(Effects {
            log,
            sync: options.fsync,
            linger: options.step_delay,
        })
        .map_err(|_| "the side-effect log was opened twice")?;
    let store = open_store(&options.store).await?;
    let engine = Arc::new(
        Engine::with_store(store)
            .stale_after(options.stale_after)
            .deliveries(options.deliveries)
            .register(WORKFLOW, 1, history)
            .register(BENCH_WORKFLOW, 1, bench),
    );
    let worker = Worker::new(Arc::clone(&engine))
        .interval(options.worker_interval)
        .concurrency(options.concurrency)
        .on_resumed(|run_id, result| {
            if let Err(error) = result {
                eprintln!("worker {run_id}: {error}");
            }
        })
        .spawn();
    let app = Router::new()
        .route("/history/start/{run_id}", post(start))
        .with_state(Arc::clone(&engine))
        .merge(
            Router::new()
                .route("/history/worker", get(worker_stats))
                .with_state(Arc::new(worker)),
        )
        .merge(hooks_router(Arc::clone(&engine)))
        .merge(approvals_router(Arc::clone(&engine)));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
        .await
        .map_err(|error| format!("port {}: {error}", options.port))?;
    let port = listener
        .local_addr()
        .map_err(|error| error.to_string())?
        .port();
    tokio::spawn(recover_forever(
        Arc::clone(&engine),
        options.recover_interval,
    ));
    println!("READY port={port} pid={}", std::process::id());
    std::io::stdout()
        .flush()
        .map_err(|error| error.to_string())?;
    awaitly::http::axum::serve(listener, app)
        .await
        .map_err(|error| format!("the HTTP server stopped: {error}"))
}

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("{error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if options.exit_with_stdin {
        exit_when_stdin_closes();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tokio: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("awaitly-history-node: {error}");
            ExitCode::FAILURE
        }
    }
}
