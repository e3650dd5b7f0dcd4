//! Issue 14's measurements of doing things at once, medians of several rounds printed with their
//! ratios (`cargo bench --bench fan_out --features sqlite,postgres,test-util`; PostgreSQL when
//! `AWAITLY_TEST_POSTGRES_URL` is set):
//!
//! 1. a fan-out of 1,000 items, one step each over a 1 ms asynchronous dependency, 16 in flight:
//!    wall time next to the ideal (1,000 / 16 × 1 ms) and to the bare floor (the same calls, 16 at
//!    a time, without awaitly), in memory and on the durable engine with SQLite and PostgreSQL
//!    (store writes and checkpoints per second shown);
//! 2. the replay of a completed 10,000-item fan-out next to the replay of 10,000 sequential steps,
//!    per item;
//! 3. memory per in-flight item: resident memory with 20,000 items in flight, minus 100, per item
//!    (measured first, in a fresh process, so freed memory of other runs does not hide it).

mod delay;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use awaitly::durable::Engine;
use awaitly::store::{Changes, Intercepted, SaveHook, Saved, SqliteStore, Store, StoreFuture};
use awaitly::{CancelHandle, ResumeState, fan_out, step, workflow};

/// The process's resident memory, in kilobytes (`VmRSS` of `/proc/self/status`).
fn resident_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

const ITEMS: u32 = 1_000;
const IN_FLIGHT: usize = 16;
const DEPENDENCY: Duration = Duration::from_millis(1);
const REPLAYED: u32 = 10_000;

async fn call(item: u32) -> Result<u32, String> {
    delay::after(DEPENDENCY).await;
    Ok(item)
}

#[workflow]
async fn fan(count: u32, concurrency: usize) -> Result<usize, String> {
    let done = fan_out!("items", item in 0..count, key = item, concurrency = concurrency,
        step!(call(item).await)
    );
    Ok(done.into_iter().collect::<Result<Vec<_>, _>>()?.len())
}

#[workflow]
async fn fan_instant(count: u32) -> Result<usize, String> {
    let done = fan_out!("items", item in 0..count, key = item, concurrency = 16,
        step!("call", Ok::<u32, String>(item))
    );
    Ok(done.into_iter().collect::<Result<Vec<_>, _>>()?.len())
}

#[workflow]
async fn sequential(count: u32) -> Result<usize, String> {
    let mut done = 0;
    for item in 0..count {
        step!("call", key = item, Ok::<u32, String>(item))?;
        done += 1;
    }
    Ok(done)
}

#[workflow]
async fn parked(count: u32) -> Result<usize, String> {
    let done = fan_out!("items", item in 0..count, key = item, {
        step!("wait", async {
            std::future::pending::<()>().await;
            Ok::<u32, String>(item)
        }.await)
    });
    Ok(done.len())
}

/// The bare floor: the same calls, at most `in_flight` at a time, without awaitly.
async fn floor(count: u32, in_flight: usize) {
    let mut running = tokio::task::JoinSet::new();
    for item in 0..count {
        if running.len() == in_flight {
            running.join_next().await;
        }
        running.spawn(call(item));
    }
    while running.join_next().await.is_some() {}
}

/// Resident memory with many items in flight, per item.
async fn memory_per_item() -> String {
    let resident_with = |count: u32| async move {
        let handle = CancelHandle::new();
        let before = resident_kb();
        let run = tokio::spawn(parked(count).cancel_with(handle.clone()).start());
        tokio::time::sleep(Duration::from_millis(300)).await;
        let during = resident_kb().saturating_sub(before);
        handle.cancel("measured");
        let _ = run.await;
        during
    };
    let small = resident_with(100).await;
    let large = resident_with(20_000).await;
    format!(
        "{} bytes per in-flight item (20,000 in flight: +{large} kB resident; 100: +{small} kB)",
        large.saturating_sub(small) * 1024 / 19_900
    )
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "n/a".into(),
        |text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        },
    )
}

/// Counts the store writes (`save`) of the runs it carries.
#[derive(Default)]
struct CountSaves(AtomicUsize);

impl SaveHook for CountSaves {
    fn save<'a>(
        &'a self,
        inner: &'a dyn Store,
        run_id: &'a str,
        revision: u64,
        changes: Changes,
    ) -> StoreFuture<'a, Saved> {
        self.0.fetch_add(1, Ordering::Relaxed);
        inner.save(run_id, revision, changes)
    }
}

async fn durable(name: &str, store: Arc<dyn Store>, rounds: usize, ideal: Duration) {
    let counting = Arc::new(Intercepted::new(store, CountSaves::default()));
    let engine = Engine::with_store(counting.clone()).register(
        "fan",
        1,
        |(count, concurrency): (u32, usize)| fan(count, concurrency),
    );
    let mut samples = Vec::new();
    let mut saves = Vec::new();
    for round in 0..rounds {
        counting.hook().0.store(0, Ordering::Relaxed);
        let began = Instant::now();
        let started = engine
            .start(
                &format!("fan-{round}-{}", std::process::id()),
                "fan",
                &(ITEMS, IN_FLIGHT),
            )
            .await
            .expect("the run starts");
        samples.push(began.elapsed());
        saves.push(counting.hook().0.load(Ordering::Relaxed));
        assert!(
            matches!(
                started.outcome,
                awaitly::store::RunOutcome::Completed { .. }
            ),
            "{:?}",
            started.outcome
        );
    }
    let wall = median(samples);
    saves.sort_unstable();
    let writes = saves[saves.len() / 2];
    println!(
        "| {name} | {:.1} ms | {:.2}× | {writes} writes for {ITEMS} checkpoints ({:.0} checkpoints/s, {:.0} writes/s) | {} |",
        wall.as_secs_f64() * 1e3,
        wall.as_secs_f64() / ideal.as_secs_f64(),
        f64::from(ITEMS) / wall.as_secs_f64(),
        f64::from(u32::try_from(writes).unwrap_or(u32::MAX)) / wall.as_secs_f64(),
        load_average()
    );
}

/// Section 2: the replay of a completed fan-out next to a sequential replay, per item.
async fn replay_section(rounds: usize) {
    println!(
        "\n## 2. Replay of a completed {REPLAYED}-item fan-out vs {REPLAYED} sequential steps (median of {rounds})\n"
    );
    let fanned = fan_instant(REPLAYED).start().await.state;
    let straight = sequential(REPLAYED).start().await.state;
    let replay = |state: ResumeState, fanned: bool| async move {
        let began = Instant::now();
        let completed = if fanned {
            fan_instant(REPLAYED)
                .run(state)
                .await
                .outcome
                .is_completed()
        } else {
            sequential(REPLAYED).run(state).await.outcome.is_completed()
        };
        assert!(completed);
        began.elapsed()
    };
    let mut fan_samples = Vec::new();
    let mut sequential_samples = Vec::new();
    for _ in 0..rounds {
        fan_samples.push(replay(fanned.clone(), true).await);
        sequential_samples.push(replay(straight.clone(), false).await);
    }
    let fan_replay = median(fan_samples);
    let sequential_replay = median(sequential_samples);
    let per_item = |duration: Duration| duration.as_secs_f64() * 1e9 / f64::from(REPLAYED);
    println!("| replay | total | per item | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| sequential steps | {:.2} ms | {:.0} ns | 1.00× |",
        sequential_replay.as_secs_f64() * 1e3,
        per_item(sequential_replay)
    );
    println!(
        "| fan-out (16 in flight) | {:.2} ms | {:.0} ns | {:.2}× |",
        fan_replay.as_secs_f64() * 1e3,
        per_item(fan_replay),
        fan_replay.as_secs_f64() / sequential_replay.as_secs_f64()
    );
}

fn main() {
    if std::env::args().any(|argument| argument == "--test") {
        println!(
            "fan_out: run it with `cargo bench --bench fan_out --features sqlite,postgres,test-util`"
        );
        return;
    }
    let rounds = 7;
    // `--profile-replay SECONDS`: replays the fan-out in a loop, for `perf record`.
    if let Some(seconds) = std::env::args()
        .skip_while(|argument| argument != "--profile-replay")
        .nth(1)
        .and_then(|seconds| seconds.parse::<u64>().ok())
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let state = fan_instant(REPLAYED).start().await.state;
            let until = Instant::now() + Duration::from_secs(seconds);
            while Instant::now() < until {
                assert!(
                    fan_instant(REPLAYED)
                        .run(state.clone())
                        .await
                        .outcome
                        .is_completed()
                );
            }
        });
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let memory_line = memory_per_item().await;
        let ideal = DEPENDENCY * ITEMS / u32::try_from(IN_FLIGHT).unwrap();
        println!("## 1. Fan-out of {ITEMS} items, one step each over a {DEPENDENCY:?} dependency, {IN_FLIGHT} in flight (median of {rounds})\n");
        println!("ideal: {:.1} ms\n", ideal.as_secs_f64() * 1e3);
        println!("| where | wall | ÷ ideal | store writes | load average |");
        println!("|---|---:|---:|---|---|");
        let mut samples = Vec::new();
        for _ in 0..rounds {
            let began = Instant::now();
            floor(ITEMS, IN_FLIGHT).await;
            samples.push(began.elapsed());
        }
        let bare = median(samples);
        println!("| bare floor (same calls, no awaitly) | {:.1} ms | {:.2}× | – | {} |", bare.as_secs_f64() * 1e3, bare.as_secs_f64() / ideal.as_secs_f64(), load_average());
        let mut samples = Vec::new();
        for _ in 0..rounds {
            let began = Instant::now();
            let run = fan(ITEMS, IN_FLIGHT).start().await;
            samples.push(began.elapsed());
            assert!(run.outcome.is_completed());
        }
        let memory = median(samples);
        println!("| in memory | {:.1} ms | {:.2}× | – | {} |", memory.as_secs_f64() * 1e3, memory.as_secs_f64() / ideal.as_secs_f64(), load_average());
        let file = std::env::temp_dir().join(format!("awaitly-bench-fan-out-{}.db", std::process::id()));
        let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(&file).await.expect("SQLite opens"));
        durable("SQLite (WAL, synchronous=FULL)", sqlite, rounds, ideal).await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
        match std::env::var("AWAITLY_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => {
                let schema = format!("bench_fan_out_{}", std::process::id());
                let store = awaitly::store::PostgresStore::connect_with_schema(&url, &schema)
                    .await
                    .expect("PostgreSQL connects");
                durable("PostgreSQL", Arc::new(store.clone()), rounds, ideal).await;
                store.drop_schema().await.expect("the scratch schema drops");
            }
            _ => println!("| PostgreSQL | skipped: set AWAITLY_TEST_POSTGRES_URL | | | |"),
        }

        replay_section(rounds).await;
        println!("\n## 3. Memory per in-flight item (resident memory while items wait, minus the same with 100)\n");
        println!("{memory_line}");
    });
}
