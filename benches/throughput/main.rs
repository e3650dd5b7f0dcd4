//! The durable-throughput harness (issue 15): runs of 10 durable steps at 1, 16 and 64 runs in
//! flight on SQLite (WAL, `synchronous = FULL`) and PostgreSQL (`synchronous_commit = on`), next
//! to the bare driver doing the same durable writes (1, 16 and 64 checkpoints per commit), rounds
//! interleaved so the shared machine's moods fall on both; the 1-minute load average with every
//! row; commits and statements per run; and the HTTP callback path (64 clients, each delivery
//! completing its run on SQLite).
//!
//! ```text
//! cargo bench --bench throughput --features sqlite,postgres,http,test-util
//! cargo bench --bench throughput --features sqlite,postgres,http,test-util -- --quick
//!     [--runs 640] [--rounds 3] [--deliveries 4000] [--clients 64] [--stores sqlite,postgres]
//! ```
//!
//! `--runs` is the runs per measurement at 16 and 64 in flight (an eighth of it at 1). The floor
//! writes as many checkpoints as ours does steps. Counts: SQLite's own trace and commit hooks on
//! the store's connections (`SqliteCounts`, feature `test-util`); on PostgreSQL
//! `pg_stat_database.xact_commit` of a scratch database and the frontend messages seen by a
//! counting proxy (`proxy.rs`), in a separate pass so the proxy does not slow the timed runs.
//! Everything is scratch: a database `awaitly_tp_<pid>` (dropped at the end), a schema per
//! measurement, an SQLite file per measurement in the temp directory (removed). It measures
//! only when `cargo bench` runs it (which passes `--bench`); in test mode it prints how to run it.
#![allow(clippy::cast_precision_loss)] // counts far below 2^52

mod callback;
mod floor;
mod ours;
mod proxy;
mod timed;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use awaitly::durable::Engine;
use awaitly::store::{PostgresStore, SqliteCounts, SqliteStore};

use ours::{STEPS, Sample};

/// Runs in flight (and checkpoints per commit of the floor).
const IN_FLIGHT: [usize; 3] = [1, 16, 64];

#[derive(Debug)]
struct Options {
    runs: usize,
    rounds: usize,
    deliveries: usize,
    clients: usize,
    stores: Vec<String>,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        runs: 640,
        rounds: 3,
        deliveries: 4000,
        clients: 64,
        stores: vec!["sqlite".to_owned(), "postgres".to_owned()],
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        let number = |text: &String| {
            text.parse::<usize>()
                .map_err(|error| format!("{text}: {error}"))
        };
        match arg.as_str() {
            "--bench" => {}
            "--quick" => {
                options.runs = 128;
                options.rounds = 1;
                options.deliveries = 1000;
            }
            "--runs" => options.runs = number(value()?)?,
            "--rounds" => options.rounds = number(value()?)?,
            "--deliveries" => options.deliveries = number(value()?)?,
            "--clients" => options.clients = number(value()?)?,
            "--stores" => {
                options.stores = value()?.split(',').map(str::to_owned).collect();
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|arg| arg == "--bench") {
        println!(
            "throughput: measures only under `cargo bench --bench throughput --features sqlite,postgres,http,test-util`"
        );
        return ExitCode::SUCCESS;
    }
    let options = match options(&args) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("throughput: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("throughput: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(measure(&options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("throughput: {error}");
            ExitCode::FAILURE
        }
    }
}

/// One row of one round.
#[derive(Debug)]
struct Row {
    store: &'static str,
    in_flight: usize,
    ours: Sample,
    /// The median latency of one save (a checkpoint, the creation excluded).
    save: Duration,
    floor: Sample,
    load: f64,
    /// SQLite only: (commits, statements) per run, from the store's connections.
    counts: Option<(f64, f64)>,
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// A scratch SQLite file, removed with its WAL files on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new(what: &str) -> Self {
        Self(std::env::temp_dir().join(format!("awaitly-tp-{what}-{}.db", std::process::id())))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

/// The scratch database: created on a connection to the configured one, dropped at the end.
struct Scratch {
    admin: tokio_postgres::Client,
    name: String,
    url: String,
    /// `host:port` of the server, for the counting proxy.
    upstream: String,
}

impl Scratch {
    async fn create(url: &str) -> Result<Self, String> {
        let text = |error: tokio_postgres::Error| format!("{error:?}");
        let (admin, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(text)?;
        tokio::spawn(connection);
        let name = format!("awaitly_tp_{}", std::process::id());
        // Two statements: `CREATE DATABASE` cannot run in the implicit transaction of a batch.
        for sql in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ] {
            admin.batch_execute(&sql).await.map_err(text)?;
        }
        let (base, _) = url
            .rsplit_once('/')
            .ok_or_else(|| format!("{url}: no database name"))?;
        let authority = base
            .rsplit('@')
            .next()
            .unwrap_or(base)
            .trim_start_matches("postgres://");
        Ok(Self {
            admin,
            url: format!("{base}/{name}"),
            upstream: authority.to_owned(),
            name,
        })
    }

    /// The scratch database through `port` (the proxy) instead of the server.
    fn url_via(&self, port: u16) -> String {
        self.url
            .replace(&self.upstream, &format!("127.0.0.1:{port}"))
    }

    async fn xact_commit(&self) -> Result<i64, String> {
        let row = self
            .admin
            .query_one(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = $1",
                &[&self.name],
            )
            .await
            .map_err(|error| error.to_string())?;
        Ok(row.get(0))
    }

    async fn drop_database(&self) -> Result<(), String> {
        self.admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .map_err(|error| error.to_string())
    }
}

fn engine(store: impl awaitly::store::Store) -> Arc<Engine> {
    Arc::new(Engine::new(store).register("ten", 1, ours::ten_steps))
}

/// An engine on `store` whose saves are timed: the engine, and the median save latency so far.
fn timed_engine(
    store: impl awaitly::store::Store,
) -> (Arc<Engine>, Arc<std::sync::Mutex<Vec<Duration>>>) {
    let (timed, saves) = timed::Timed::new(Arc::new(store));
    (engine(timed), saves)
}

fn runs_at(options: &Options, in_flight: usize) -> usize {
    if in_flight == 1 {
        (options.runs / 8).max(8)
    } else {
        options.runs.max(in_flight)
    }
}

async fn sqlite_row(options: &Options, round: usize, in_flight: usize) -> Result<Row, String> {
    let runs = runs_at(options, in_flight);
    let ours = {
        let db = TempDb::new(&format!("ours-{round}-{in_flight}"));
        let store = SqliteStore::open(&db.0)
            .await
            .map_err(|error| error.to_string())?;
        let (engine, saves) = timed_engine(store);
        let before = SqliteCounts::now();
        let sample = ours::ours(&engine, "r", runs, in_flight).await?;
        let after = SqliteCounts::now();
        drop(engine);
        let save = timed::median(&saves);
        let per_run = |count: u64| count as f64 / runs as f64;
        (
            sample,
            (
                per_run(after.commits - before.commits),
                per_run(after.statements - before.statements),
            ),
            save,
        )
    };
    let db = TempDb::new(&format!("floor-{round}-{in_flight}"));
    drop(
        SqliteStore::open(&db.0)
            .await
            .map_err(|error| error.to_string())?,
    );
    let path = db.0.clone();
    let rows = runs * STEPS as usize;
    let floor = tokio::task::spawn_blocking(move || floor::sqlite(&path, rows, in_flight))
        .await
        .map_err(|error| error.to_string())??;
    Ok(Row {
        store: "SQLite",
        in_flight,
        ours: ours.0,
        save: ours.2,
        floor,
        load: load_average(),
        counts: Some(ours.1),
    })
}

async fn postgres_row(
    options: &Options,
    scratch: &Scratch,
    round: usize,
    in_flight: usize,
) -> Result<Row, String> {
    let runs = runs_at(options, in_flight);
    let store =
        PostgresStore::connect_with_schema(&scratch.url, &format!("ours_{round}_{in_flight}"))
            .await
            .map_err(|error| error.to_string())?;
    let (engine, saves) = timed_engine(store.clone());
    let ours = ours::ours(&engine, "r", runs, in_flight).await?;
    drop(engine);
    let save = timed::median(&saves);
    store
        .drop_schema()
        .await
        .map_err(|error| error.to_string())?;
    let schema = format!("floor_{round}_{in_flight}");
    let store = PostgresStore::connect_with_schema(&scratch.url, &schema)
        .await
        .map_err(|error| error.to_string())?;
    let floor = floor::postgres(&scratch.url, &schema, runs * STEPS as usize, in_flight).await?;
    store
        .drop_schema()
        .await
        .map_err(|error| error.to_string())?;
    Ok(Row {
        store: "PostgreSQL",
        in_flight,
        ours,
        save,
        floor,
        load: load_average(),
        counts: None,
    })
}

/// Commits, statements and round trips per run on PostgreSQL at `in_flight`: `runs` runs through
/// the counting proxy, less what connecting and disconnecting alone cost.
async fn postgres_counts(
    scratch: &Scratch,
    in_flight: usize,
    runs: usize,
) -> Result<(f64, f64, f64), String> {
    let (port, wire) = proxy::start(scratch.upstream.clone()).await?;
    let url = scratch.url_via(port);
    let mut deltas = Vec::new();
    for count in [0, runs] {
        let schema = format!("counts_{in_flight}_{count}");
        let commits = scratch.xact_commit().await?;
        let (statements, trips) = wire.counts();
        let store = PostgresStore::connect_with_schema(&url, &schema)
            .await
            .map_err(|error| error.to_string())?;
        let engine = engine(store.clone());
        if count > 0 {
            ours::ours(&engine, "c", count, in_flight).await?;
        }
        drop(engine);
        drop(store);
        // Backends flush their statistics when they exit.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (statements_after, trips_after) = wire.counts();
        deltas.push((
            (scratch.xact_commit().await? - commits) as f64,
            (statements_after - statements) as f64,
            (trips_after - trips) as f64,
        ));
        let cleanup = PostgresStore::connect_with_schema(&scratch.url, &schema)
            .await
            .map_err(|error| error.to_string())?;
        cleanup
            .drop_schema()
            .await
            .map_err(|error| error.to_string())?;
    }
    let per_run = |of: fn(&(f64, f64, f64)) -> f64| (of(&deltas[1]) - of(&deltas[0])) / runs as f64;
    Ok((per_run(|d| d.0), per_run(|d| d.1), per_run(|d| d.2)))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn print_row(round: usize, row: &Row) {
    println!(
        "round {round} {:<10} {:>2} in flight: ours {:>8.0} steps/s (run p50 {:>7.2} ms, p99 {:>7.2} ms, save p50 {:>6.2} ms) | floor {:>8.0} rows/s (commit p50 {:>6.2} ms) | ratio {:.3} | load {:.2}{}",
        row.store,
        row.in_flight,
        row.ours.per_second,
        ms(row.ours.p50),
        ms(row.ours.p99),
        ms(row.save),
        row.floor.per_second,
        ms(row.floor.p50),
        row.ours.per_second / row.floor.per_second,
        row.load,
        row.counts
            .map_or_else(String::new, |(commits, statements)| format!(
                " | {commits:.2} commits, {statements:.1} statements per run"
            )),
    );
}

async fn measure(options: &Options) -> Result<(), String> {
    let url = std::env::var("AWAITLY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let postgres = options.stores.iter().any(|store| store == "postgres");
    let scratch = if postgres {
        Some(Scratch::create(&url).await?)
    } else {
        None
    };
    let result = rounds(options, scratch.as_ref()).await;
    if let Some(scratch) = &scratch {
        scratch.drop_database().await?;
    }
    result
}

async fn rounds(options: &Options, scratch: Option<&Scratch>) -> Result<(), String> {
    println!(
        "runs of {STEPS} steps; {} runs per measurement at 16 and 64 in flight, {} at 1; {} rounds; {} deliveries from {} clients",
        options.runs,
        runs_at(options, 1),
        options.rounds,
        options.deliveries,
        options.clients
    );
    let mut rows: Vec<Row> = Vec::new();
    let mut callbacks = Vec::new();
    for round in 0..options.rounds {
        for &in_flight in &IN_FLIGHT {
            if options.stores.iter().any(|store| store == "sqlite") {
                let row = sqlite_row(options, round, in_flight).await?;
                print_row(round, &row);
                rows.push(row);
            }
            if let Some(scratch) = scratch {
                let row = postgres_row(options, scratch, round, in_flight).await?;
                print_row(round, &row);
                rows.push(row);
            }
        }
        if options.deliveries > 0 {
            let db = TempDb::new(&format!("callback-{round}"));
            let sample = callback::deliveries(&db.0, options.deliveries, options.clients).await?;
            let load = load_average();
            println!(
                "round {round} callback: {:.0} deliveries/s (p50 {:.2} ms, p99 {:.2} ms) | load {load:.2}",
                sample.per_second,
                ms(sample.p50),
                ms(sample.p99)
            );
            callbacks.push((sample, load));
        }
    }
    let mut counts = Vec::new();
    if let Some(scratch) = scratch {
        for in_flight in [1, 64] {
            let runs = if in_flight == 1 { 40 } else { 256 };
            counts.push((in_flight, postgres_counts(scratch, in_flight, runs).await?));
        }
    }
    summary(&rows, &callbacks, &counts);
    Ok(())
}

fn summary(rows: &[Row], callbacks: &[(Sample, f64)], counts: &[(usize, (f64, f64, f64))]) {
    println!("\nMedians over the rounds:\n");
    println!(
        "| store | runs in flight | ours steps/s | run p50 | run p99 | floor rows/s (rows per commit = in flight) | floor commit p50 | ours ÷ floor | load avg (1 min) | commits / run | statements / run |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for store in ["SQLite", "PostgreSQL"] {
        for in_flight in IN_FLIGHT {
            let these: Vec<&Row> = rows
                .iter()
                .filter(|row| row.store == store && row.in_flight == in_flight)
                .collect();
            if these.is_empty() {
                continue;
            }
            let of = |f: fn(&Row) -> f64| median(these.iter().map(|row| f(row)).collect());
            let counts = if store == "SQLite" {
                (
                    format!("{:.2}", of(|row| row.counts.map_or(f64::NAN, |c| c.0))),
                    format!("{:.1}", of(|row| row.counts.map_or(f64::NAN, |c| c.1))),
                )
            } else {
                counts.iter().find(|(at, _)| *at == in_flight).map_or(
                    ("–".to_owned(), "–".to_owned()),
                    |(_, (commits, statements, trips))| {
                        (
                            format!("{commits:.2}"),
                            format!("{statements:.1} ({trips:.1} round trips)"),
                        )
                    },
                )
            };
            println!(
                "| {store} | {in_flight} | {:.0} | {:.1} ms | {:.1} ms | {:.0} | {:.2} ms | {:.3} | {:.2} | {} | {} |",
                of(|row| row.ours.per_second),
                of(|row| ms(row.ours.p50)),
                of(|row| ms(row.ours.p99)),
                of(|row| row.floor.per_second),
                of(|row| ms(row.floor.p50)),
                of(|row| row.ours.per_second / row.floor.per_second),
                of(|row| row.load),
                counts.0,
                counts.1,
            );
        }
        let single: Vec<f64> = rows
            .iter()
            .filter(|row| row.store == store && row.in_flight == 1)
            .map(|row| row.floor.per_second / row.ours.per_second)
            .collect();
        let checkpoint: Vec<f64> = rows
            .iter()
            .filter(|row| row.store == store && row.in_flight == 1)
            .map(|row| ms(row.save) / ms(row.floor.p50))
            .collect();
        if !single.is_empty() {
            println!(
                "{store}: at 1 in flight one checkpoint (save p50) costs {:.2}× one bare commit (commit p50); a step, creation and completion included, {:.2}× (medians)",
                median(checkpoint),
                median(single)
            );
        }
    }
    if !callbacks.is_empty() {
        println!(
            "\ncallback path: {:.0} deliveries/s, p50 {:.2} ms, p99 {:.2} ms, load {:.2} (medians over {} rounds)",
            median(callbacks.iter().map(|(s, _)| s.per_second).collect()),
            median(callbacks.iter().map(|(s, _)| ms(s.p50)).collect()),
            median(callbacks.iter().map(|(s, _)| ms(s.p99)).collect()),
            median(callbacks.iter().map(|(_, load)| *load).collect()),
            callbacks.len()
        );
    }
}
