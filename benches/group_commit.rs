//! Criterion suite of issue 15: the group-commit path of the SQL stores — saves of different
//! runs arriving together, committed by one transaction — next to a lone save.
//!
//! ```sh
//! cargo bench --bench group_commit --features sqlite,postgres   # PostgreSQL when AWAITLY_TEST_POSTGRES_URL is set
//! ```
//!
//! Each benchmark's throughput is the saves of one iteration, so `thrpt` is saves per second.
//! An iteration saves one checkpoint (one entry, the run's lease) of each of `n` runs at once and
//! waits for every acknowledgement, i.e. for the durable commit(s) carrying them. The side-by-side
//! table against the bare driver comes from `benches/throughput` (see BENCHMARKS.md).

use std::sync::Arc;
use std::time::{Duration, Instant};

use awaitly::StepEntry;
use awaitly::store::{Changes, Lease, NewRun, Store};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};

/// Saves per iteration: one lone save, and the 64 runs in flight of the throughput goal.
const SIZES: [usize; 2] = [1, 64];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// `n` runs at revision `revision` on `store`, saved once each, all at once.
async fn save_all(store: &Arc<dyn Store>, n: usize, revision: u64) {
    let mut saves = tokio::task::JoinSet::new();
    for run in 0..n {
        let store = Arc::clone(store);
        saves.spawn(async move {
            let changes = Changes {
                entries: vec![(format!("s:{revision}"), StepEntry::ok(&run).expect("JSON"))],
                lease: Some(Lease::new("bench", Duration::from_mins(1))),
                ..Changes::default()
            };
            store
                .save(&format!("g{n}-{run}"), revision, changes)
                .await
                .expect("a save of the bench's own run");
        });
    }
    while let Some(joined) = saves.join_next().await {
        joined.expect("a save task");
    }
}

/// Benchmarks `store` under `name`.
fn bench_store(
    c: &mut Criterion,
    name: &str,
    runtime: &tokio::runtime::Runtime,
    store: &Arc<dyn Store>,
) {
    let mut group = c.benchmark_group(format!("group_commit/{name}"));
    for n in SIZES {
        runtime.block_on(async {
            for run in 0..n {
                store
                    .create_run(NewRun::new(
                        format!("g{n}-{run}"),
                        "bench",
                        1,
                        serde_json::Value::Null,
                    ))
                    .await
                    .expect("create");
            }
        });
        let mut revision = 0;
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("saves", n), |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for _ in 0..iters {
                    runtime.block_on(save_all(store, n, revision));
                    revision += 1;
                }
                started.elapsed()
            });
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    let runtime = runtime();
    let path = std::env::temp_dir().join(format!("awaitly-group-commit-{}.db", std::process::id()));
    let sqlite: Arc<dyn Store> = Arc::new(
        runtime
            .block_on(awaitly::store::SqliteStore::open(&path))
            .expect("a scratch SQLite file"),
    );
    bench_store(c, "sqlite", &runtime, &sqlite);
    drop(sqlite);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    #[cfg(feature = "postgres")]
    if let Ok(url) = std::env::var("AWAITLY_TEST_POSTGRES_URL") {
        let schema = format!("group_commit_{}", std::process::id());
        let postgres = runtime
            .block_on(awaitly::store::PostgresStore::connect_with_schema(
                &url, &schema,
            ))
            .expect("the PostgreSQL of AWAITLY_TEST_POSTGRES_URL");
        let store: Arc<dyn Store> = Arc::new(postgres.clone());
        bench_store(c, "postgres", &runtime, &store);
        let _ = runtime.block_on(postgres.drop_schema());
    }
}

criterion_group! {
    name = suite;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = benches
}

fn main() {
    suite();
    Criterion::default().configure_from_args().final_summary();
}
