//! Criterion suite of issue 4: the runtime's cost per step for N = 10 … 10,000 keyed steps.
//!
//! ```sh
//! cargo bench --bench runtime                 # whole suite, ~3 min on 2 cores
//! cargo bench --bench runtime -- replay/      # one group
//! ```
//!
//! Each benchmark's throughput is N elements, so criterion's `time` is per run and `thrpt` is
//! steps per second; ns per step = time / N. The side-by-side table against awaitly (and the
//! memory probe) comes from `cargo bench --bench compare --features sqlite,http,postgres`; see BENCHMARKS.md.
//!
//! Workloads 5 (durable run per store) and 6 (HTTP callback round trip) are measured by the
//! compare harness instead (`cargo bench --bench compare --features sqlite,http,postgres`,
//! see `benches/compare/durable.rs`): a run of 10,000 checkpoints on SQLite or Postgres takes
//! seconds, and awaitly's side of 5 runs on Node.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
};

mod common;

use common::{Fixture, SIZES};

/// Per-size settings: throughput N steps; at 10,000 steps (a run of milliseconds) ten flat samples,
/// so the suite stays within its time budget.
fn size(group: &mut BenchmarkGroup<'_, WallTime>, n: u32) {
    group.throughput(Throughput::Elements(u64::from(n)));
    if n >= 10_000 {
        group.sample_size(10).sampling_mode(SamplingMode::Flat);
    } else {
        group.sample_size(20).sampling_mode(SamplingMode::Auto);
    }
}

fn fixtures() -> Vec<Fixture> {
    SIZES.into_iter().map(Fixture::new).collect()
}

/// Workload 1: a fresh run recording every step.
fn fresh(c: &mut Criterion, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("fresh");
    for fixture in fixtures {
        let n = fixture.n;
        size(&mut group, n);
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| common::fresh(black_box(n)));
        });
    }
    group.finish();
}

/// Workload 2: a full replay from a resume state. The state is moved into the run (as a resuming
/// process does), so each iteration gets a clone made outside the timed region.
fn replay(c: &mut Criterion, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("replay");
    for fixture in fixtures {
        let n = fixture.n;
        size(&mut group, n);
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter_batched(
                || fixture.state.clone(),
                |state| common::replay(black_box(n), state),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

/// Workload 3: the state to JSON, and JSON back to a state; plus load + full replay.
fn json(c: &mut Criterion, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("to_json");
    for fixture in fixtures {
        size(&mut group, fixture.n);
        group.bench_function(BenchmarkId::from_parameter(fixture.n), |b| {
            b.iter(|| common::to_json(black_box(&fixture.state)));
        });
    }
    group.finish();
    let mut group = c.benchmark_group("from_json");
    for fixture in fixtures {
        size(&mut group, fixture.n);
        group.bench_function(BenchmarkId::from_parameter(fixture.n), |b| {
            b.iter(|| common::from_json(black_box(&fixture.json)));
        });
    }
    group.finish();
    let mut group = c.benchmark_group("load_replay");
    for fixture in fixtures {
        let n = fixture.n;
        size(&mut group, n);
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| common::load_and_replay(black_box(n), black_box(&fixture.json)));
        });
    }
    group.finish();
}

/// Workload 4: create a hook, run to suspension after N − 1 steps, inject, resume to completion;
/// and its three phases.
fn hook_cycle(c: &mut Criterion, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("hook_cycle");
    for fixture in fixtures {
        let n = fixture.n;
        size(&mut group, n);
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| common::hook_cycle(black_box(n)));
        });
    }
    group.finish();
    let mut group = c.benchmark_group("hook_phases");
    for fixture in fixtures {
        let n = fixture.n;
        size(&mut group, n);
        group.bench_function(BenchmarkId::new("suspend", n), |b| {
            b.iter(|| common::suspend(black_box(n)));
        });
        group.bench_function(BenchmarkId::new("inject", n), |b| {
            b.iter(|| common::inject(black_box(&fixture.suspended), &fixture.hook, n));
        });
        group.bench_function(BenchmarkId::new("resume", n), |b| {
            b.iter_batched(
                || (fixture.hook.clone(), fixture.injected.clone()),
                |(hook, state)| common::resume(black_box(n), hook, state),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

/// The floor under replay: bare `serde_json` decode of the same values, and map lookup + decode;
/// and under `from_json`: `serde_json` parsing the state's JSON without building anything.
fn floor(c: &mut Criterion, fixtures: &[Fixture]) {
    let mut group = c.benchmark_group("floor");
    for fixture in fixtures {
        size(&mut group, fixture.n);
        group.bench_function(BenchmarkId::new("decode", fixture.n), |b| {
            b.iter(|| black_box(&fixture.floor).decode());
        });
        group.bench_function(BenchmarkId::new("lookup_decode", fixture.n), |b| {
            b.iter(|| black_box(&fixture.floor).lookup_decode());
        });
        group.bench_function(BenchmarkId::new("parse", fixture.n), |b| {
            b.iter(|| black_box(&fixture.floor).parse());
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    let fixtures = fixtures();
    eprintln!("JSON bytes of a state of N steps (bytes per step):");
    for fixture in &fixtures {
        eprintln!(
            "  N = {:>6}: {:>7} B ({:.1} B/step)",
            fixture.n,
            fixture.json.len(),
            fixture.bytes_per_step()
        );
    }
    fresh(c, &fixtures);
    replay(c, &fixtures);
    json(c, &fixtures);
    hook_cycle(c, &fixtures);
    floor(c, &fixtures);
}

criterion_group! {
    name = suite;
    // Short enough that the whole suite stays under ~5 minutes on 2 cores; command-line flags
    // (`--warm-up-time`, `--measurement-time`, `--sample-size`) still override these.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = benches
}

fn main() {
    suite();
    Criterion::default().configure_from_args().final_summary();
}
