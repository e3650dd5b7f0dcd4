//! The scale-out benchmark (issue 10): runs per second with 1, 2 and 4 worker processes on one
//! PostgreSQL database, PostgreSQL's own CPU next to it, exactly-once checked while it runs.
//!
//! Each round makes a fresh schema, starts N `awaitly-history-node` processes on it (the engine, a
//! `Worker` and the HTTP routers in each; `Cluster` of the history test), and enqueues R runs of
//! the nodes' `bench` workflow with `Engine::enqueue` from this process. A run is ten steps
//! (`s0`–`s3`, a hook the workflow creates, `s4`–`s6`, a 50 ms durable sleep, `s7`–`s9`); the
//! nodes' workers claim the enqueued runs. The harness lists the pending hooks every 20 ms and
//! POSTs each one's payload to `/hooks/{id}` on one of the nodes (by run, round-robin), where the
//! delivery runs the workflow on to its sleep; a worker claims the run when the sleep is over.
//!
//! Every step appends `run step pid micros` to a side-effect log outside the engine. While the
//! runs proceed the harness tails that log and reports any step executed twice; at the end the
//! history checker (`tests/history/checker.rs`) judges the whole history: each (run, step)
//! exactly once (no node is killed, so no repeat is allowed), every accepted payload is the one
//! its run consumed, every run completed. CPU comes from `/proc`: each node process, the
//! PostgreSQL backends serving the nodes and the harness (told apart by `application_name`), all
//! `postgres` processes, this process, and the machine.
//!
//! ```text
//! cargo bench --bench scale_out --features sqlite,postgres,http,worker
//! cargo bench --bench scale_out --features sqlite,postgres,http,worker -- --quick
//!     [--runs 1000] [--rounds 3] [--sizes 1,2,4] [--sleep-ms 50] [--concurrency 16]
//!     [--deliveries in-place|queue] [--poll-ms 20] [--deadline-s 600] [--keep]
//! ```
//!
//! The database is `AWAITLY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and must run on this machine for its CPU to be
//! read. It measures only when `cargo bench` runs it (which passes `--bench`): in test mode
//! (`cargo test --benches`) it prints how to run it and exits, and a plain `cargo bench` lacks
//! the features it requires.
#![allow(clippy::cast_precision_loss)] // tick, byte and run counts far below 2^52

// The history test's modules, shared: the checker whole, the cluster without its kills.
#[allow(dead_code)]
#[path = "../../tests/history/checker.rs"]
mod checker;
#[allow(dead_code)]
#[path = "../../tests/history/cluster.rs"]
mod cluster;

mod cpu;
mod deliver;
mod live;
mod probes;
mod round;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use round::Settings;

/// The command line, with the sizes and rounds to measure.
#[derive(Debug)]
struct Options {
    settings: Settings,
    sizes: Vec<usize>,
    rounds: usize,
}

const USAGE: &str = "usage: scale_out [--quick] [--runs <n>] [--rounds <n>] [--sizes 1,2,4] \
[--sleep-ms <n>] [--concurrency <n>] [--deliveries in-place|queue] [--poll-ms <n>] \
[--deadline-s <n>] [--keep]";

impl Options {
    fn parse(mut arguments: impl Iterator<Item = String>) -> Result<Self, String> {
        let url = std::env::var("AWAITLY_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let mut options = Self {
            settings: Settings {
                url,
                node_bin: PathBuf::from(env!("CARGO_BIN_EXE_awaitly-history-node")),
                runs: 1000,
                sleep_ms: 50,
                concurrency: 16,
                deliveries: "in-place".to_owned(),
                poll: Duration::from_millis(20),
                deadline: Duration::from_mins(10),
                keep: false,
            },
            sizes: vec![1, 2, 4],
            rounds: 3,
        };
        while let Some(flag) = arguments.next() {
            match flag.as_str() {
                // `cargo bench` passes `--bench` (and measuring needs it, see `main`).
                "--bench" => continue,
                "--keep" => {
                    options.settings.keep = true;
                    continue;
                }
                "--quick" => {
                    options.settings.runs = 200;
                    options.rounds = 1;
                    continue;
                }
                _ => {}
            }
            let value = arguments
                .next()
                .ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|error| format!("{flag} {value}: {error}"))
            };
            let count = || number().map(|n| usize::try_from(n).unwrap_or(usize::MAX).max(1));
            match flag.as_str() {
                "--runs" => options.settings.runs = count()?,
                "--rounds" => options.rounds = count()?,
                "--sleep-ms" => options.settings.sleep_ms = number()?,
                "--concurrency" => options.settings.concurrency = count()?,
                "--poll-ms" => options.settings.poll = Duration::from_millis(number()?),
                "--deadline-s" => options.settings.deadline = Duration::from_secs(number()?),
                "--deliveries" if matches!(value.as_str(), "in-place" | "queue") => {
                    options.settings.deliveries.clone_from(&value);
                }
                "--sizes" => {
                    options.sizes = value
                        .split(',')
                        .map(|size| size.trim().parse::<usize>().map(|size| size.max(1)))
                        .collect::<Result<_, _>>()
                        .map_err(|error| format!("--sizes {value}: {error}"))?;
                }
                other => return Err(format!("unknown argument {other} {value}")),
            }
        }
        Ok(options)
    }
}

/// Measures every size `rounds` times, the sizes interleaved (1, 2, 4, 1, 2, 4, …) so that the
/// shared machine's moods fall on all of them; prints each round, then the tables.
async fn bench(options: Options) -> Result<bool, String> {
    let (monitor, connection) =
        tokio_postgres::connect(&options.settings.url, tokio_postgres::NoTls)
            .await
            .map_err(|error| format!("PostgreSQL at {}: {error}", options.settings.url))?;
    tokio::spawn(connection);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "scale-out: {} runs per round, sizes {:?}, {} round(s) each, sleep {} ms, worker concurrency {}, deliveries {}, \
         hook listing every {} ms; load average before: {}",
        options.settings.runs,
        options.sizes,
        options.rounds,
        options.settings.sleep_ms,
        options.settings.concurrency,
        options.settings.deliveries,
        options.settings.poll.as_millis(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut all = Vec::new();
    let mut round = 0;
    for _ in 0..options.rounds {
        for &size in &options.sizes {
            let figures = round::measure(&options.settings, &monitor, size, round).await?;
            println!("round {round}: {}", figures.line());
            all.push(figures);
            round += 1;
        }
    }
    println!("\n{}", stats::tables(&all, &options.sizes));
    Ok(all
        .iter()
        .all(|figures| figures.violations == 0 && figures.live_repeats == 0))
}

fn main() -> ExitCode {
    if !std::env::args().any(|argument| argument == "--bench") {
        println!(
            "scale_out: skipped in test mode; measure with \
             `cargo bench --bench scale_out --features sqlite,postgres,http,worker`"
        );
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("{error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
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
    match runtime.block_on(bench(options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("scale-out: the checker found violations (see above)");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("scale-out: {error}");
            ExitCode::FAILURE
        }
    }
}
