//! The figures of one round, where a run's time goes, and the tables of medians over rounds.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use awaitly::store::RunRecord;

use crate::checker::Effect;

/// Median of `values` (the mean of the middle two for an even count); 0 for none.
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        f64::midpoint(values[middle - 1], values[middle])
    }
}

/// Where a run's time goes, in milliseconds, each the median over the round's runs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Phases {
    /// Enqueued → its first step (waiting in the queue behind the other runs).
    pub(crate) queue: f64,
    /// `s0` → `s3`: three steps run by the worker that claimed it.
    pub(crate) first_steps: f64,
    /// `s3` → the hook's delivery sent: the suspension, then the harness finding the hook.
    pub(crate) to_delivery: f64,
    /// Delivery sent → `s4`: the HTTP request, the hook's claim and the run's resumption.
    pub(crate) delivery: f64,
    /// `s4` → `s6`.
    pub(crate) middle_steps: f64,
    /// `s6` → `s7`: the durable sleep, then a worker claiming the run.
    pub(crate) sleep: f64,
    /// `s7` → `s9`.
    pub(crate) last_steps: f64,
    /// `s9` → the run's completion saved (millisecond clock).
    pub(crate) finish: f64,
    /// Enqueued → completed.
    pub(crate) latency: f64,
    /// First step → completed.
    pub(crate) active: f64,
    /// One step to the next within a stretch of steps (a checkpoint plus the effect).
    pub(crate) step: f64,
}

impl Phases {
    /// The medians of the round's runs: `effects` from the log, `enqueued` and `delivered`
    /// (run → hook and send time) in µs, the runs' `records` for completion times.
    pub(crate) fn of(
        effects: &[Effect],
        enqueued: &HashMap<String, u64>,
        delivered: &HashMap<String, (String, u64)>,
        records: &[RunRecord],
    ) -> Self {
        let mut at: HashMap<(&str, &str), u64> = HashMap::new();
        for effect in effects {
            at.entry((effect.run.as_str(), effect.step.as_str()))
                .or_insert(effect.at_us);
        }
        let mut columns: [Vec<f64>; 11] = Default::default();
        for record in records {
            let run = record.run_id.as_str();
            let step = |name: &str| at.get(&(run, name)).copied();
            let (Some(queued), Some((_, sent))) = (enqueued.get(run), delivered.get(run)) else {
                continue;
            };
            let steps: Option<Vec<u64>> =
                crate::round::STEPS.iter().map(|name| step(name)).collect();
            let Some(steps) = steps else {
                continue;
            };
            let done = record.updated_at_ms.saturating_mul(1000);
            let ms = |from: u64, to: u64| to.saturating_sub(from) as f64 / 1000.0;
            let values = [
                ms(*queued, steps[0]),
                ms(steps[0], steps[3]),
                ms(steps[3], *sent),
                ms(*sent, steps[4]),
                ms(steps[4], steps[6]),
                ms(steps[6], steps[7]),
                ms(steps[7], steps[9]),
                ms(steps[9], done),
                ms(*queued, done),
                ms(steps[0], done),
            ];
            for (column, value) in columns.iter_mut().zip(values) {
                column.push(value);
            }
            for pair in [(0, 1), (1, 2), (2, 3), (4, 5), (5, 6), (7, 8), (8, 9)] {
                columns[10].push(ms(steps[pair.0], steps[pair.1]));
            }
        }
        let [
            queue,
            first_steps,
            to_delivery,
            delivery,
            middle_steps,
            sleep,
            last_steps,
            finish,
            latency,
            active,
            step,
        ] = columns.map(median);
        Self {
            queue,
            first_steps,
            to_delivery,
            delivery,
            middle_steps,
            sleep,
            last_steps,
            finish,
            latency,
            active,
            step,
        }
    }
}

/// What one round measured. CPU figures are percent of one core over the measured interval.
#[derive(Clone, Debug)]
pub(crate) struct Figures {
    /// Node processes.
    pub(crate) nodes: usize,
    /// Runs enqueued.
    pub(crate) runs: usize,
    /// Runs completed.
    pub(crate) completed: usize,
    /// First enqueue → last completion saved.
    pub(crate) wall: Duration,
    /// The interval CPU was measured over, in seconds (the wall time plus the detection of the
    /// end, a few ms).
    pub(crate) interval: f64,
    /// Each node process.
    pub(crate) node_cpu: Vec<f64>,
    /// The node processes' threads waiting for a CPU while runnable (percent of the interval,
    /// summed over threads).
    pub(crate) node_wait: f64,
    /// The PostgreSQL backends serving the nodes.
    pub(crate) pg_nodes_cpu: f64,
    /// Those backends waiting for a CPU while runnable.
    pub(crate) pg_nodes_wait: f64,
    /// The PostgreSQL backends serving the harness (enqueues, hook listings).
    pub(crate) pg_harness_cpu: f64,
    /// Every `postgres` process (also the WAL writer, the checkpointer, and other clients').
    pub(crate) pg_all_cpu: f64,
    /// The harness process.
    pub(crate) harness_cpu: f64,
    /// The harness's threads waiting for a CPU while runnable.
    pub(crate) harness_wait: f64,
    /// Share of the interval during which some task on the machine waited for a CPU
    /// (`/proc/pressure/cpu`, `some`).
    pub(crate) pressure: f64,
    /// The whole machine, busy (everything but idle and iowait).
    pub(crate) machine_busy: f64,
    /// The whole machine, in iowait.
    pub(crate) machine_iowait: f64,
    /// How many cores `/proc/stat` counted.
    pub(crate) machine_cores: f64,
    /// Transactions committed in the database meanwhile (all clients, read-only ones too).
    pub(crate) commits: i64,
    /// WAL written meanwhile (the whole server).
    pub(crate) wal_bytes: i64,
    /// Claims the nodes' workers made (`WorkerStats::ticks`), all nodes.
    pub(crate) claims: u64,
    /// Runs the nodes' workers advanced (`WorkerStats::resumed`), all nodes.
    pub(crate) drives: u64,
    /// The nodes' backends, mean count per state over samples every 100 ms.
    pub(crate) pg_states: BTreeMap<String, f64>,
    /// Side effects logged.
    pub(crate) effects: usize,
    /// Repeated effects the live checker saw during the measurement.
    pub(crate) live_repeats: usize,
    /// Repeated effects the final checker saw.
    pub(crate) repeats: usize,
    /// The checker's violations.
    pub(crate) violations: usize,
    /// Log lines that did not parse.
    pub(crate) unreadable: usize,
    /// Where a run's time went.
    pub(crate) phases: Phases,
}

impl Figures {
    /// Runs completed per second of wall time.
    pub(crate) fn throughput(&self) -> f64 {
        self.completed as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// CPU milliseconds per run that `percent` (of one core) over the interval means.
    fn per_run(&self, percent: f64) -> f64 {
        percent / 100.0 * self.interval * 1000.0 / self.runs.max(1) as f64
    }

    fn nodes_cpu(&self) -> f64 {
        self.node_cpu.iter().sum()
    }

    /// The machine's busy time not spent by the nodes, PostgreSQL or the harness: other
    /// programs on the shared machine.
    fn others_cpu(&self) -> f64 {
        (self.machine_busy - self.nodes_cpu() - self.pg_all_cpu - self.harness_cpu).max(0.0)
    }

    /// Claims per second of each node's worker (the mean over the nodes).
    fn claims_per_second(&self) -> f64 {
        self.claims as f64 / self.interval.max(1e-9) / self.nodes.max(1) as f64
    }

    /// The mean number of the nodes' backends whose state `pick` accepts.
    fn backends(&self, pick: impl Fn(&str) -> bool) -> f64 {
        self.pg_states
            .iter()
            .filter(|(state, _)| pick(state))
            .fold(0.0, |sum, (_, count)| sum + count)
    }

    /// One line for the progress output.
    pub(crate) fn line(&self) -> String {
        let each: Vec<String> = self
            .node_cpu
            .iter()
            .map(|cpu| format!("{cpu:.0}"))
            .collect();
        format!(
            "{} node(s): {}/{} runs in {:.2} s = {:.1} runs/s; latency {:.0} ms (active {:.0} ms, {:.1} ms/step); \
             CPU % nodes {:.0} [{}] (waiting {:.0}), PG node backends {:.0} (waiting {:.0}), PG all {:.0}, harness {:.0}, machine {:.0} of {:.0} (iowait {:.0}, CPU pressure {:.0}); \
             worker claims {} ({:.0}/s per process), worker drives {}; {} transactions, {} kB WAL; the nodes' backends: {}; checker: {} effects ({} unreadable lines), {} repeats live / {} final, {} violation(s)",
            self.nodes,
            self.completed,
            self.runs,
            self.wall.as_secs_f64(),
            self.throughput(),
            self.phases.latency,
            self.phases.active,
            self.phases.step,
            self.nodes_cpu(),
            each.join("/"),
            self.node_wait,
            self.pg_nodes_cpu,
            self.pg_nodes_wait,
            self.pg_all_cpu,
            self.harness_cpu,
            self.machine_busy,
            self.machine_cores * 100.0,
            self.machine_iowait,
            self.pressure,
            self.claims,
            self.claims_per_second(),
            self.drives,
            self.commits,
            self.wal_bytes / 1024,
            self.pg_states
                .iter()
                .map(|(state, count)| format!("{state} {count:.1}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.effects,
            self.unreadable,
            self.live_repeats,
            self.repeats,
            self.violations,
        )
    }
}

/// The median of `pick` over `rounds`.
fn med(rounds: &[&Figures], pick: impl Fn(&Figures) -> f64) -> f64 {
    median(rounds.iter().map(|figures| pick(figures)).collect())
}

/// The tables (Markdown) of medians over the rounds of each size.
pub(crate) fn tables(all: &[Figures], sizes: &[usize]) -> String {
    let by_size: Vec<(usize, Vec<&Figures>)> = sizes
        .iter()
        .map(|size| (*size, all.iter().filter(|f| f.nodes == *size).collect()))
        .collect();
    let base = by_size
        .first()
        .map_or(0.0, |(_, rounds)| med(rounds, Figures::throughput));
    let cores = med(&all.iter().collect::<Vec<_>>(), |f| f.machine_cores);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| worker processes | rounds | runs/s | vs 1 process | wall | run latency (enqueue → done) | first step → done | step → step | checker (all rounds) |\n|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for (size, rounds) in &by_size {
        let throughput = med(rounds, Figures::throughput);
        let effects: usize = rounds.iter().map(|f| f.effects).sum();
        let runs: usize = rounds.iter().map(|f| f.runs).sum();
        let completed: usize = rounds.iter().map(|f| f.completed).sum();
        let repeats: usize = rounds.iter().map(|f| f.repeats.max(f.live_repeats)).sum();
        let violations: usize = rounds.iter().map(|f| f.violations).sum();
        let _ = writeln!(
            out,
            "| {size} | {} | {throughput:.1} | {:.2}× | {:.1} s | {:.0} ms | {:.0} ms | {:.1} ms | {completed}/{runs} runs completed, {effects} effects, {repeats} repeated, {violations} violations |",
            rounds.len(),
            throughput / base.max(1e-9),
            med(rounds, |f| f.wall.as_secs_f64()),
            med(rounds, |f| f.phases.latency),
            med(rounds, |f| f.phases.active),
            med(rounds, |f| f.phases.step),
        );
    }
    let _ = writeln!(
        out,
        "\nCPU, % of one core (the machine has {cores:.0} cores = {:.0} %), medians over the rounds:\n\n| worker processes | nodes, sum (each) | PostgreSQL: the nodes' backends | PostgreSQL: the harness's backends | PostgreSQL: all processes | harness | other programs | machine busy | machine iowait |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        cores * 100.0
    );
    for (size, rounds) in &by_size {
        let each: Vec<String> = (0..*size)
            .map(|slot| {
                format!(
                    "{:.0}",
                    med(rounds, |f| f.node_cpu.get(slot).copied().unwrap_or(0.0))
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "| {size} | {:.0} % ({}) | {:.0} % | {:.0} % | {:.0} % | {:.0} % | {:.0} % | {:.0} % | {:.0} % |",
            med(rounds, Figures::nodes_cpu),
            each.join(" / "),
            med(rounds, |f| f.pg_nodes_cpu),
            med(rounds, |f| f.pg_harness_cpu),
            med(rounds, |f| f.pg_all_cpu),
            med(rounds, |f| f.harness_cpu),
            med(rounds, Figures::others_cpu),
            med(rounds, |f| f.machine_busy),
            med(rounds, |f| f.machine_iowait),
        );
    }
    let _ = writeln!(
        out,
        "\nWaiting for a CPU while runnable (`/proc/<pid>/task/*/schedstat`), % of the interval summed over threads, next to the time running; CPU pressure = share of the interval during which some task on the machine waited (`/proc/pressure/cpu`):\n\n| worker processes | nodes: running / waiting | PostgreSQL node backends: running / waiting | harness: running / waiting | CPU pressure |\n|---:|---:|---:|---:|---:|"
    );
    for (size, rounds) in &by_size {
        let _ = writeln!(
            out,
            "| {size} | {:.0} % / {:.0} % | {:.0} % / {:.0} % | {:.0} % / {:.0} % | {:.0} % |",
            med(rounds, Figures::nodes_cpu),
            med(rounds, |f| f.node_wait),
            med(rounds, |f| f.pg_nodes_cpu),
            med(rounds, |f| f.pg_nodes_wait),
            med(rounds, |f| f.harness_cpu),
            med(rounds, |f| f.harness_wait),
            med(rounds, |f| f.pressure),
        );
    }
    let _ = writeln!(
        out,
        "\nThe nodes' workers (`WorkerStats`: a claim is one pass of a worker's loop, one claiming transaction; a drive is one claimed run advanced to its next suspension or its end):\n\n| worker processes | claims per second, each process | claims per run | worker drives per run | runs per second per process |\n|---:|---:|---:|---:|---:|"
    );
    for (size, rounds) in &by_size {
        let _ = writeln!(
            out,
            "| {size} | {:.0} | {:.2} | {:.2} | {:.1} |",
            med(rounds, Figures::claims_per_second),
            med(rounds, |f| f.claims as f64 / f.runs.max(1) as f64),
            med(rounds, |f| f.drives as f64 / f.runs.max(1) as f64),
            med(rounds, |f| f.throughput() / f.nodes.max(1) as f64),
        );
    }
    let _ = writeln!(
        out,
        "\nThe nodes' PostgreSQL connections, sampled from `pg_stat_activity` every 100 ms (mean count): a statement running (on a CPU or waiting for one), waiting on a lock, on I/O or on something else, a transaction open while the database waits for the node's next statement, and free in the pool:\n\n| worker processes | open | running | lock wait | I/O wait | other wait | idle in transaction | idle |\n|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (size, rounds) in &by_size {
        let _ = writeln!(
            out,
            "| {size} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            med(rounds, |f| f.backends(|_| true)),
            med(rounds, |f| f.backends(|state| state == "active")),
            med(rounds, |f| f.backends(|state| matches!(
                state,
                "active:Lock" | "active:LWLock"
            ))),
            med(rounds, |f| f.backends(|state| state == "active:IO")),
            med(rounds, |f| f.backends(|state| {
                state.starts_with("active:")
                    && !matches!(state, "active:Lock" | "active:LWLock" | "active:IO")
            })),
            med(rounds, |f| f
                .backends(|state| state == "idle in transaction")),
            med(rounds, |f| f.backends(|state| state == "idle")),
        );
    }
    let _ = writeln!(
        out,
        "\nCPU per run (ms) and the throughput the machine's cores would allow at that cost:\n\n| worker processes | nodes | PostgreSQL (all) | harness | sum | {cores:.0}-core ceiling | machine busy per run | transactions per run (whole database) | WAL per run (whole server) |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (size, rounds) in &by_size {
        let nodes = med(rounds, |f| f.per_run(f.nodes_cpu()));
        let postgres = med(rounds, |f| f.per_run(f.pg_all_cpu));
        let harness = med(rounds, |f| f.per_run(f.harness_cpu));
        let sum = nodes + postgres + harness;
        let _ = writeln!(
            out,
            "| {size} | {nodes:.1} | {postgres:.1} | {harness:.1} | {sum:.1} | {:.0} runs/s | {:.1} | {:.1} | {:.1} kB |",
            cores * 1000.0 / sum.max(1e-9),
            med(rounds, |f| f.per_run(f.machine_busy)),
            med(rounds, |f| f.commits as f64 / f.runs.max(1) as f64),
            med(rounds, |f| f.wal_bytes as f64
                / 1024.0
                / f.runs.max(1) as f64),
        );
    }
    let _ = writeln!(
        out,
        "\nWhere a run's time goes, ms (median run of each round, then the median over rounds):\n\n| worker processes | queue wait | s0 → s3 | s3 → hook POST sent | POST → s4 | s4 → s6 | s6 → s7 (sleep) | s7 → s9 | s9 → completed |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (size, rounds) in &by_size {
        let _ = writeln!(
            out,
            "| {size} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            med(rounds, |f| f.phases.queue),
            med(rounds, |f| f.phases.first_steps),
            med(rounds, |f| f.phases.to_delivery),
            med(rounds, |f| f.phases.delivery),
            med(rounds, |f| f.phases.middle_steps),
            med(rounds, |f| f.phases.sleep),
            med(rounds, |f| f.phases.last_steps),
            med(rounds, |f| f.phases.finish),
        );
    }
    out
}
