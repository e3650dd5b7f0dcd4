//! A queued job for the queue and lease tests: its one step counts its executions
//! (`flows::executed`), reports how many jobs of its *gauge* run at once and in which order they
//! started, and can be held at a gate on its first attempt.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use awaitly::durable::Engine;
use awaitly::store::Store;
use awaitly::{step, workflow};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::flows::{executed, executions};

/// One job: the run it belongs to, the gauge it reports to, and how long its step takes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    pub run: String,
    pub gauge: String,
    pub millis: u64,
}

impl Job {
    pub fn new(run: &str, gauge: &str, millis: u64) -> Self {
        Self {
            run: run.to_owned(),
            gauge: gauge.to_owned(),
            millis,
        }
    }
}

#[derive(Debug, Default)]
struct Gauge {
    now: usize,
    max: usize,
    started: Vec<String>,
}

static GAUGES: Mutex<Option<HashMap<String, Gauge>>> = Mutex::new(None);
static GATES: Mutex<Option<HashMap<String, Arc<Notify>>>> = Mutex::new(None);

fn with_gauge<T>(name: &str, change: impl FnOnce(&mut Gauge) -> T) -> T {
    let mut gauges = GAUGES.lock().unwrap();
    change(
        gauges
            .get_or_insert_with(HashMap::new)
            .entry(name.to_owned())
            .or_default(),
    )
}

/// The most jobs of `gauge` that ran their step at once.
pub fn max_in_flight(gauge: &str) -> usize {
    with_gauge(gauge, |gauge| gauge.max)
}

/// The runs of `gauge` in the order their steps started (every attempt).
pub fn started(gauge: &str) -> Vec<String> {
    with_gauge(gauge, |gauge| gauge.started.clone())
}

/// Holds the first attempt of `run`'s step until [`open`] (forever if never opened).
pub fn hold(run: &str) {
    GATES
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(run.to_owned(), Arc::new(Notify::new()));
}

/// Lets the held first attempt of `run` go on (at once if it has not reached the gate yet).
pub fn open(run: &str) {
    let gate = GATES
        .lock()
        .unwrap()
        .as_mut()
        .and_then(|gates| gates.remove(run));
    if let Some(gate) = gate {
        gate.notify_one();
    }
}

/// Leaves the gauge when the step ends, or when its executor is dropped mid-step (a crash).
struct InFlight(String);

impl InFlight {
    fn enter(job: &Job) -> Self {
        with_gauge(&job.gauge, |gauge| {
            gauge.now += 1;
            gauge.max = gauge.max.max(gauge.now);
            gauge.started.push(job.run.clone());
        });
        Self(job.gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        with_gauge(&self.0, |gauge| gauge.now -= 1);
    }
}

async fn work(job: &Job) -> Result<String, String> {
    executed(&job.run, "work");
    let first_attempt = executions(&job.run, "work") == 1;
    let _in_flight = InFlight::enter(job);
    let gate = GATES
        .lock()
        .unwrap()
        .as_ref()
        .and_then(|gates| gates.get(&job.run).cloned());
    if first_attempt && let Some(gate) = gate {
        gate.notified().await;
    }
    tokio::time::sleep(Duration::from_millis(job.millis)).await;
    Ok(format!("{} done", job.run))
}

/// One step: the work.
#[workflow]
pub async fn job(job: Job) -> Result<String, String> {
    step!("work", work(&job).await)
}

/// What a finished job's run completes with.
pub fn result(run: &str) -> serde_json::Value {
    serde_json::json!(format!("{run} done"))
}

/// An engine over `store` with `job` registered at version 1.
pub fn engine(store: Arc<dyn Store>) -> Engine {
    Engine::with_store(store).register("job", 1, job)
}
