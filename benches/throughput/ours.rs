//! Ours: runs of [`STEPS`] durable steps through the engine, a fixed number in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use awaitly::durable::Engine;
use awaitly::store::RunOutcome;
use awaitly::{step, workflow};

/// Steps per run (a checkpoint each).
pub(crate) const STEPS: u32 = 10;

/// The measured workflow: [`STEPS`] keyed steps, each returning a small record.
#[workflow]
pub(crate) async fn ten_steps(seed: u32) -> Result<u32, String> {
    let mut total = 0;
    for index in 0..STEPS {
        total += step!("s", key = index, Ok::<u32, String>(seed + index))?;
    }
    Ok(total)
}

/// One measurement: throughput and the spread of run latencies.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    /// Steps (or rows) per second of wall time.
    pub(crate) per_second: f64,
    /// Median run (or commit) latency.
    pub(crate) p50: Duration,
    /// 99th percentile.
    pub(crate) p99: Duration,
}

impl Sample {
    /// `units` done in `wall`, from these latencies.
    pub(crate) fn new(units: usize, wall: Duration, mut latencies: Vec<Duration>) -> Self {
        latencies.sort();
        // The latency at `per_mille` of the sorted list (integer arithmetic: no float casts).
        let at = |per_mille: usize| {
            latencies
                .get((latencies.len() * per_mille / 1000).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        Self {
            per_second: units as f64 / wall.as_secs_f64(),
            p50: at(500),
            p99: at(990),
        }
    }
}

/// `runs` runs named `{prefix}-{i}`, `in_flight` at a time, on `engine`; every run must complete.
pub(crate) async fn ours(
    engine: &Arc<Engine>,
    prefix: &str,
    runs: usize,
    in_flight: usize,
) -> Result<Sample, String> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..in_flight {
        let (engine, next, prefix) = (Arc::clone(engine), Arc::clone(&next), prefix.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= runs {
                    return Ok::<_, String>(latencies);
                }
                let sent = Instant::now();
                let seed = u32::try_from(index).unwrap_or(0);
                let started = engine
                    .start(&format!("{prefix}-{index}"), "ten", &seed)
                    .await
                    .map_err(|error| format!("run {index}: {error}"))?;
                if !matches!(started.outcome, RunOutcome::Completed { .. }) {
                    return Err(format!(
                        "run {index} did not complete: {:?}",
                        started.outcome
                    ));
                }
                latencies.push(sent.elapsed());
            }
        }));
    }
    let mut latencies = Vec::with_capacity(runs);
    for task in tasks {
        latencies.extend(task.await.map_err(|error| error.to_string())??);
    }
    Ok(Sample::new(
        runs * STEPS as usize,
        started.elapsed(),
        latencies,
    ))
}
