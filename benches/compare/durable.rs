//! Workloads 5 and 6 of issue 4 in `benches/compare/main.rs` (features `sqlite` and `http`, plus
//! `postgres` for that store):
//!
//! - 5: the durable run. `Engine::start` of the registered workflow `keyed_steps` (N keyed steps,
//!   each returning `Item { i, v: "x", done: true }`, a checkpoint after each) on the memory,
//!   SQLite and Postgres stores; time per step = wall time of the whole run (create, N
//!   checkpoints, completion) / N. A new run id per run; the finished run is deleted outside the
//!   timed region so the store does not grow from sample to sample.
//! - 6: the HTTP callback round trip. `hooks_router` with a `SqliteStore` on 127.0.0.1; M runs are
//!   started and suspend at a hook (untimed), then `CLIENTS` reqwest clients deliver the M payloads,
//!   each to its own run's hook, and each delivery completes its run (200). Requests per second =
//!   M / wall time of the deliveries; latency = the median of the M request times.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use awaitly::durable::Engine;
use awaitly::http::{HooksConfig, hooks_router_with};
use awaitly::store::{MemoryStore, RunOutcome, SqliteStore, Store};
use awaitly::{await_hook, workflow};

use crate::common::{Item, keyed_steps};

/// Concurrent clients of workload 6.
pub(crate) const CLIENTS: usize = 16;

/// The stores of workload 5, in table order.
pub(crate) const STORES: [&str; 3] = ["memory", "sqlite", "postgres"];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A scratch SQLite file, removed (with its WAL files) on drop.
struct TempDb(std::path::PathBuf);

impl TempDb {
    fn new(what: &str) -> Self {
        Self(std::env::temp_dir().join(format!("awaitly-compare-{what}-{}.db", std::process::id())))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

/// One store of workload 5, with an engine that runs `keyed_steps` on it.
pub(crate) struct DurableBench {
    runtime: tokio::runtime::Runtime,
    engine: Engine,
    runs: u64,
    _db: Option<TempDb>,
    #[cfg(feature = "postgres")]
    postgres: Option<awaitly::store::PostgresStore>,
}

impl std::fmt::Debug for DurableBench {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DurableBench")
            .field("runs", &self.runs)
            .finish_non_exhaustive()
    }
}

impl DurableBench {
    /// The bench for `store` (one of [`STORES`]); `Err` says why it is skipped.
    pub(crate) fn new(store: &str) -> Result<Self, String> {
        let runtime = runtime();
        let mut db = None;
        #[cfg(feature = "postgres")]
        let mut postgres = None;
        let store: Arc<dyn Store> = match store {
            "memory" => Arc::new(MemoryStore::new()),
            "sqlite" => {
                let file = TempDb::new("durable");
                let store = runtime
                    .block_on(SqliteStore::open(&file.0))
                    .map_err(|error| format!("SqliteStore::open: {error}"))?;
                db = Some(file);
                Arc::new(store)
            }
            #[cfg(feature = "postgres")]
            "postgres" => {
                let url = std::env::var("AWAITLY_TEST_POSTGRES_URL")
                    .map_err(|_| "AWAITLY_TEST_POSTGRES_URL not set".to_owned())?;
                let schema = format!("bench_compare_{}", std::process::id());
                let store = runtime
                    .block_on(awaitly::store::PostgresStore::connect_with_schema(
                        &url, &schema,
                    ))
                    .map_err(|error| format!("PostgresStore: {error}"))?;
                postgres = Some(store.clone());
                Arc::new(store)
            }
            #[cfg(not(feature = "postgres"))]
            "postgres" => return Err("built without the `postgres` feature".to_owned()),
            other => return Err(format!("unknown store {other}")),
        };
        let engine = Engine::with_store(store).register("steps", 1, keyed_steps);
        Ok(Self {
            runtime,
            engine,
            runs: 0,
            _db: db,
            #[cfg(feature = "postgres")]
            postgres,
        })
    }

    /// One durable run of `n` steps to completion; returns its wall time (the deletion of the
    /// finished run afterwards is not timed).
    pub(crate) fn run(&mut self, n: u32) -> Duration {
        self.runs += 1;
        let run_id = format!("bench-{n}-{}", self.runs);
        let (elapsed, outcome) = self.runtime.block_on(async {
            let start = Instant::now();
            let started = self
                .engine
                .start(&run_id, "steps", &n)
                .await
                .expect("the durable run");
            let elapsed = start.elapsed();
            self.engine
                .store()
                .delete_run(&run_id)
                .await
                .expect("delete the finished run");
            (elapsed, started.outcome)
        });
        let expected = u64::from(n) * u64::from(n.saturating_sub(1)) / 2;
        assert_eq!(
            outcome,
            RunOutcome::Completed {
                result: serde_json::json!(expected)
            },
            "durable run of {n} steps"
        );
        elapsed
    }

    /// Median ns per run: a warm-up of ≥ 1 run and ≥ 200 ms, then one run per sample for
    /// ≥ 400 ms and ≥ 3 samples, stopping after 2 s once there is one sample (50 and 100 ms with
    /// `quick`). The same rule as `measureFew` in bench/awaitly.mjs, which alone skips the warm-up
    /// and takes one sample at 10,000 steps.
    pub(crate) fn measure(&mut self, n: u32, quick: bool) -> f64 {
        let (warm_up, measure) = if quick {
            (Duration::from_millis(50), Duration::from_millis(100))
        } else {
            (Duration::from_millis(200), Duration::from_millis(400))
        };
        let warm_start = Instant::now();
        let mut runs = 0;
        while runs < 1 || warm_start.elapsed() < warm_up {
            self.run(n);
            runs += 1;
        }
        let mut samples = Vec::new();
        let start = Instant::now();
        loop {
            samples.push(self.run(n).as_secs_f64() * 1e9);
            let spent = start.elapsed();
            if samples.len() >= 3 && spent >= measure || spent >= Duration::from_secs(2) {
                break;
            }
        }
        crate::median(&mut samples)
    }
}

impl Drop for DurableBench {
    fn drop(&mut self) {
        #[cfg(feature = "postgres")]
        if let Some(store) = self.postgres.take() {
            let _ = self.runtime.block_on(store.drop_schema());
        }
    }
}

/// Workload 6: waits at one hook for its item and returns it.
#[workflow]
pub(crate) async fn callback(i: u32) -> Result<Item, String> {
    let item: Item = await_hook!("callback");
    if item.i == i {
        Ok(item)
    } else {
        Err(format!("run {i} got the payload of run {}", item.i))
    }
}

/// What one measurement of workload 6 gave.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Http {
    /// Deliveries completed per second of wall time.
    pub(crate) requests_per_second: f64,
    /// Median time of one delivery, request sent to response body read.
    pub(crate) median_latency: Duration,
}

/// Workload 6 once: `m` runs suspended at their hook, then their `m` callbacks from [`CLIENTS`]
/// concurrent clients over loopback HTTP.
pub(crate) fn http_round_trip(m: usize) -> Result<Http, String> {
    let runtime = runtime();
    let db = TempDb::new("http");
    runtime.block_on(async {
        let store = SqliteStore::open(&db.0)
            .await
            .map_err(|error| format!("SqliteStore::open: {error}"))?;
        let engine = Arc::new(Engine::new(store).register("callback", 1, callback));
        let config = HooksConfig::default();
        let app = hooks_router_with(Arc::clone(&engine), config.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|error| format!("bind: {error}"))?;
        let base = format!(
            "http://{}",
            listener.local_addr().map_err(|error| error.to_string())?
        );
        let server = tokio::spawn(async move { awaitly::http::axum::serve(listener, app).await });

        // Untimed: m runs, each suspended at its hook.
        let mut deliveries = Vec::with_capacity(m);
        for i in 0..m {
            let index = u32::try_from(i).expect("m fits u32");
            let started = engine
                .start(&format!("http-{i}"), "callback", &index)
                .await
                .map_err(|error| format!("start: {error}"))?;
            let RunOutcome::Suspended { hook } = started.outcome else {
                return Err(format!("run {i} did not suspend: {:?}", started.outcome));
            };
            let url = format!("{base}{}", config.hook_url(hook.hook_id.as_str()));
            let body = serde_json::to_vec(&Item {
                i: index,
                v: "x".to_owned(),
                done: true,
            })
            .map_err(|error| error.to_string())?;
            deliveries.push((url, body));
        }
        let deliveries = Arc::new(deliveries);
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CLIENTS)
            .build()
            .map_err(|error| error.to_string())?;
        // Warm the connections (one request per client to a hook that does not exist: 404).
        for _ in 0..CLIENTS {
            let _ = client
                .post(format!("{base}{}", config.hook_url("warm-up")))
                .body("{}")
                .header("content-type", "application/json")
                .send()
                .await;
        }

        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let mut clients = Vec::new();
        for _ in 0..CLIENTS {
            let (client, deliveries, next) =
                (client.clone(), Arc::clone(&deliveries), Arc::clone(&next));
            clients.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((url, body)) = deliveries.get(index) else {
                        return Ok::<_, String>(latencies);
                    };
                    let sent = Instant::now();
                    let response = client
                        .post(url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .map_err(|error| format!("POST {url}: {error}"))?;
                    let status = response.status();
                    let answer = response.bytes().await.map_err(|error| error.to_string())?;
                    latencies.push(sent.elapsed());
                    if status != reqwest::StatusCode::OK {
                        return Err(format!(
                            "POST {url}: {status} {}",
                            String::from_utf8_lossy(&answer)
                        ));
                    }
                }
            }));
        }
        let mut latencies = Vec::with_capacity(m);
        for client in clients {
            latencies.extend(client.await.map_err(|error| error.to_string())??);
        }
        let wall = start.elapsed();
        server.abort();
        drop(engine);
        latencies.sort();
        Ok(Http {
            requests_per_second: m as f64 / wall.as_secs_f64(),
            median_latency: latencies[latencies.len() / 2],
        })
    })
}
