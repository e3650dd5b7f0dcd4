//! Measures what a checkpoint costs as a run grows: a workflow of N steps runs durably on each
//! store, and every checkpoint write is timed. Incremental saves mean the median stays flat from
//! 10 to 10,000 steps.
//!
//! `cargo run --release --example checkpoint_cost --features sqlite,postgres`
//! (Postgres is measured when `AWAITLY_TEST_POSTGRES_URL` is set.)

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use awaitly::HookId;
use awaitly::durable::Engine;
use awaitly::store::{
    Changes, Claim, Created, HookRecord, MemoryStore, NewRun, RunRecord, Saved, SqliteStore, Store,
    StoreFuture, StoredRun,
};
use awaitly::{step, workflow};
use serde_json::Value;

#[workflow]
async fn many_steps(count: u64) -> Result<u64, String> {
    let mut total = 0;
    for index in 0..count {
        total += step!("step", key = index, Ok::<u64, String>(index))?;
    }
    Ok(total)
}

/// Times every `save` of the store it wraps.
struct Timed {
    inner: Arc<dyn Store>,
    saves: Mutex<Vec<Duration>>,
}

impl Store for Timed {
    fn create_run(&self, run: NewRun) -> StoreFuture<'_, Created> {
        self.inner.create_run(run)
    }
    fn load_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, Option<StoredRun>> {
        self.inner.load_run(run_id)
    }
    fn save<'a>(
        &'a self,
        run_id: &'a str,
        revision: u64,
        changes: Changes,
    ) -> StoreFuture<'a, Saved> {
        Box::pin(async move {
            let started = Instant::now();
            let saved = self.inner.save(run_id, revision, changes).await;
            self.saves.lock().unwrap().push(started.elapsed());
            saved
        })
    }
    fn claim_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a Value,
        now_ms: u64,
        dedupe_key: Option<&'a str>,
        lease: Option<&'a awaitly::store::Lease>,
    ) -> StoreFuture<'a, Claim> {
        self.inner
            .claim_hook(hook_id, payload, now_ms, dedupe_key, lease)
    }
    fn release_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a Value,
    ) -> StoreFuture<'a, bool> {
        self.inner.release_hook(hook_id, payload)
    }
    fn claim_runs<'a>(
        &'a self,
        now_ms: u64,
        limit: usize,
        lease: &'a awaitly::store::Lease,
        queues: &'a [awaitly::store::QueueLimit],
    ) -> StoreFuture<'a, awaitly::store::ClaimedRuns> {
        self.inner.claim_runs(now_ms, limit, lease, queues)
    }
    fn renew_lease<'a>(
        &'a self,
        run_id: &'a str,
        lease: &'a awaitly::store::Lease,
    ) -> StoreFuture<'a, bool> {
        self.inner.renew_lease(run_id, lease)
    }
    fn find_hook<'a>(&'a self, hook_id: &'a HookId) -> StoreFuture<'a, Option<HookRecord>> {
        self.inner.find_hook(hook_id)
    }
    fn pending_hooks(&self) -> StoreFuture<'_, Vec<HookRecord>> {
        self.inner.pending_hooks()
    }
    fn due_runs(&self, now_ms: u64, limit: usize) -> StoreFuture<'_, Vec<RunRecord>> {
        self.inner.due_runs(now_ms, limit)
    }
    fn list_runs(&self) -> StoreFuture<'_, Vec<RunRecord>> {
        self.inner.list_runs()
    }
    fn delete_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, bool> {
        self.inner.delete_run(run_id)
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Medians of one run's checkpoints: all of them, the first 10% and the last 10%.
struct Medians {
    all: Duration,
    mean: Duration,
    first: Duration,
    last: Duration,
}

/// Runs one workflow of `steps` steps; returns its checkpoint medians and wall time per step.
async fn measure(store: Arc<dyn Store>, run_id: &str, steps: u64) -> (Medians, Duration) {
    let timed = Arc::new(Timed {
        inner: store,
        saves: Mutex::new(Vec::new()),
    });
    let engine = Engine::with_store(timed.clone()).register("many", 1, many_steps);
    let started = Instant::now();
    let run = engine
        .start(run_id, "many", &steps)
        .await
        .expect("the run completes");
    let wall = started.elapsed();
    assert!(run.outcome.status().is_terminal(), "{:?}", run.outcome);
    let mut saves = std::mem::take(&mut *timed.saves.lock().unwrap());
    saves.pop(); // the completion, not a step's checkpoint
    let tenth = saves.len().div_ceil(10);
    let first = median(saves[..tenth].to_vec());
    let last = median(saves[saves.len() - tenth..].to_vec());
    let per_step = wall / u32::try_from(steps).expect("steps fit u32");
    let mean = saves.iter().sum::<Duration>() / u32::try_from(saves.len()).expect("fits u32");
    let all = median(saves);
    (
        Medians {
            all,
            mean,
            first,
            last,
        },
        per_step,
    )
}

async fn report(name: &str, store: Arc<dyn Store>) {
    let micros = |duration: Duration| duration.as_secs_f64() * 1e6;
    for steps in [10u64, 1_000, 10_000] {
        let (medians, per_step) =
            measure(Arc::clone(&store), &format!("{name}-{steps}"), steps).await;
        println!(
            "{name:>8} {steps:>6} steps: median checkpoint {:>7.1} µs (first 10% {:>7.1}, last 10% {:>7.1}), mean {:>7.1} µs, wall per step {:>7.1} µs",
            micros(medians.all),
            micros(medians.first),
            micros(medians.last),
            micros(medians.mean),
            micros(per_step)
        );
    }
}

#[tokio::main]
async fn main() {
    report("memory", Arc::new(MemoryStore::new())).await;

    let path =
        std::env::temp_dir().join(format!("awaitly-checkpoint-cost-{}.db", std::process::id()));
    report(
        "sqlite",
        Arc::new(SqliteStore::open(&path).await.expect("a temp file")),
    )
    .await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }

    match std::env::var("AWAITLY_TEST_POSTGRES_URL") {
        Ok(url) => {
            let schema = format!("checkpoint_cost_{}", std::process::id());
            let store = awaitly::store::PostgresStore::connect_with_schema(&url, &schema)
                .await
                .expect("the Postgres server");
            report("postgres", Arc::new(store.clone())).await;
            store.drop_schema().await.expect("drop the scratch schema");
        }
        Err(_) => println!("postgres: skipped: AWAITLY_TEST_POSTGRES_URL not set"),
    }
}
