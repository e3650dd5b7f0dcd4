//! CPU time from `/proc`: per process (`utime + stime` of `/proc/<pid>/stat`), for every
//! `postgres` process, and for the whole machine (`/proc/stat`). Linux only; the database must
//! run on this machine for its processes to be seen.

use std::collections::HashMap;
use std::time::Instant;

/// Clock ticks per second of `/proc` times (`getconf CLK_TCK`; 100 on Linux).
pub(crate) fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

/// The fields of `/proc/<pid>/stat` after the command name: state is field 3 of the whole line,
/// so `fields[0]` is the state, `fields[1]` the parent pid, `fields[11]`/`[12]` utime/stime and
/// `fields[13]`/`[14]` the waited-for children's cutime/cstime.
fn stat_fields(pid: u32) -> Option<(String, Vec<u64>)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let fields = text
        .get(close + 2..)?
        .split_whitespace()
        .map(|field| field.parse::<u64>().unwrap_or(0))
        .collect();
    Some((name, fields))
}

/// What a process had spent at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    /// `utime + stime`, in ticks.
    pub(crate) ticks: u64,
    /// Nanoseconds its threads spent runnable but waiting for a CPU (`/proc/<pid>/task/*/schedstat`,
    /// second field; threads that exited are not counted).
    pub(crate) waited_ns: u64,
}

impl Usage {
    /// What was spent between `self` and `later`.
    pub(crate) fn until(self, later: Self) -> Self {
        Self {
            ticks: later.ticks.saturating_sub(self.ticks),
            waited_ns: later.waited_ns.saturating_sub(self.waited_ns),
        }
    }

    /// The sum of two.
    pub(crate) fn plus(self, other: Self) -> Self {
        Self {
            ticks: self.ticks + other.ticks,
            waited_ns: self.waited_ns + other.waited_ns,
        }
    }
}

/// Nanoseconds the threads of `pid` waited for a CPU while runnable.
fn waited_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|text| text.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// What `pid` has spent so far; `None` once it has exited.
pub(crate) fn process_usage(pid: u32) -> Option<Usage> {
    let (_, fields) = stat_fields(pid)?;
    Some(Usage {
        ticks: fields.get(11)? + fields.get(12)?,
        waited_ns: waited_ns(pid),
    })
}

/// What the machine and the database had spent at one moment.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    /// When it was taken.
    pub(crate) at: Instant,
    /// What every `postgres` process had spent, by pid.
    pub(crate) postgres: HashMap<u32, Usage>,
    /// The postmaster's `cutime + cstime`: backends that exited since it started.
    pub(crate) postgres_exited: u64,
    /// Ticks the machine spent busy (all but idle and iowait), over all cores.
    pub(crate) machine_busy: u64,
    /// Ticks the machine spent in iowait.
    pub(crate) machine_iowait: u64,
    /// Every tick of every core.
    pub(crate) machine_total: u64,
    /// Microseconds during which some task waited for a CPU (`/proc/pressure/cpu`, `some`).
    pub(crate) pressure_us: u64,
}

impl Snapshot {
    /// Reads `/proc` now.
    pub(crate) fn take() -> Self {
        let mut postgres = HashMap::new();
        let mut parents = HashMap::new();
        let mut children = HashMap::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse().ok())
            else {
                continue;
            };
            let Some((name, fields)) = stat_fields(pid) else {
                continue;
            };
            if name != "postgres" || fields.len() < 15 {
                continue;
            }
            let usage = Usage {
                ticks: fields[11] + fields[12],
                waited_ns: waited_ns(pid),
            };
            postgres.insert(pid, usage);
            parents.insert(pid, u32::try_from(fields[1]).unwrap_or(0));
            children.insert(pid, fields[13] + fields[14]);
        }
        // The postmaster is the `postgres` process whose parent is not one.
        let postgres_exited = parents
            .iter()
            .filter(|(_, parent)| !postgres.contains_key(parent))
            .map(|(pid, _)| children.get(pid).copied().unwrap_or(0))
            .sum();
        let (machine_busy, machine_iowait, machine_total) = machine();
        Self {
            at: Instant::now(),
            postgres,
            postgres_exited,
            machine_busy,
            machine_iowait,
            machine_total,
            pressure_us: pressure(),
        }
    }

    /// Ticks every `postgres` process spent between `self` and `later` (a backend that started
    /// in between counts from zero, one that exited through the postmaster's children times).
    pub(crate) fn postgres_since(&self, later: &Self) -> u64 {
        let live: u64 = later
            .postgres
            .iter()
            .map(|(pid, usage)| {
                let before = self.postgres.get(pid).copied().unwrap_or_default();
                usage.ticks.saturating_sub(before.ticks)
            })
            .sum();
        live + later.postgres_exited.saturating_sub(self.postgres_exited)
    }

    /// What the backends `pids` spent between `self` and `later`.
    pub(crate) fn backends_since(&self, later: &Self, pids: &[u32]) -> Usage {
        pids.iter()
            .map(|pid| {
                let before = self.postgres.get(pid).copied().unwrap_or_default();
                before.until(later.postgres.get(pid).copied().unwrap_or_default())
            })
            .fold(Usage::default(), Usage::plus)
    }
}

/// The `some` total of `/proc/pressure/cpu`, in µs (0 without PSI).
fn pressure() -> u64 {
    let text = std::fs::read_to_string("/proc/pressure/cpu").unwrap_or_default();
    text.lines()
        .find(|line| line.starts_with("some "))
        .and_then(|line| {
            line.split_whitespace()
                .find_map(|field| field.strip_prefix("total="))
        })
        .and_then(|total| total.parse().ok())
        .unwrap_or(0)
}

/// `(busy, iowait, total)` ticks of the `cpu` line of `/proc/stat`.
fn machine() -> (u64, u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|line| line.starts_with("cpu ")) else {
        return (0, 0, 0);
    };
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3).copied().unwrap_or(0);
    let iowait = fields.get(4).copied().unwrap_or(0);
    (total - idle - iowait, iowait, total)
}
