//! The node processes (`awaitly-history-node`): started on one store, killed with SIGKILL and
//! restarted, each kill recorded for the checker.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::checker::Kill;

/// Microseconds since the Unix epoch: the clock the nodes write into the side-effect log.
pub(crate) fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
        })
}

/// How the nodes are tuned: busy workers and recovery (several executors race for each due
/// run), steps that linger after their effect (kills catch steps in flight), and a short
/// `stale_after` (a killed node's runs are taken over within seconds).
const TUNING: [&str; 8] = [
    "--worker-interval-ms",
    "10",
    "--recover-interval-ms",
    "200",
    "--step-delay-ms",
    "30",
    "--stale-after-ms",
    "2000",
];

/// A node that serves: its process id and its base URL.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// The process.
    pub(crate) pid: u32,
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
}

/// The nodes that serve right now, one slot per node (`None` while it is down): what senders
/// pick from.
pub(crate) type Live = Arc<Mutex<Vec<Option<Node>>>>;

/// The nodes of one history test.
#[derive(Debug)]
pub(crate) struct Cluster {
    /// The node binary.
    bin: PathBuf,
    /// Its `--store` argument.
    store: String,
    /// The side-effect log all nodes append to.
    log: PathBuf,
    /// Where each node's stderr goes (`node-<slot>-<start>.stderr`).
    dir: PathBuf,
    /// The processes, per slot, with the stdin that keeps them alive.
    children: Vec<Option<(Child, ChildStdin)>>,
    /// Which nodes serve.
    live: Live,
    /// Arguments added after the tuning (a later flag overrides an earlier one).
    extra: Vec<String>,
    /// Nodes started so far (names the stderr files).
    started: usize,
    /// Every kill so far.
    pub(crate) kills: Vec<Kill>,
}

impl Cluster {
    /// Starts `nodes` nodes of `bin` on `store`, logging effects to `log`, stderr into `dir`.
    pub(crate) fn start(
        bin: &Path,
        store: &str,
        log: &Path,
        dir: &Path,
        nodes: usize,
    ) -> std::io::Result<Self> {
        Self::start_with(bin, store, log, dir, nodes, &[])
    }

    /// [`start`](Self::start), each node also given `extra` arguments after the tuning (the
    /// scale-out benchmark, `benches/scale_out/`, retunes the nodes this way).
    pub(crate) fn start_with(
        bin: &Path,
        store: &str,
        log: &Path,
        dir: &Path,
        nodes: usize,
        extra: &[String],
    ) -> std::io::Result<Self> {
        let mut cluster = Self {
            bin: bin.to_owned(),
            store: store.to_owned(),
            log: log.to_owned(),
            dir: dir.to_owned(),
            children: (0..nodes).map(|_| None).collect(),
            live: Arc::new(Mutex::new(vec![None; nodes])),
            extra: extra.to_vec(),
            started: 0,
            kills: Vec::new(),
        };
        for slot in 0..nodes {
            cluster.spawn(slot)?;
        }
        Ok(cluster)
    }

    /// The nodes that serve, shared with the senders.
    pub(crate) fn live(&self) -> Live {
        Arc::clone(&self.live)
    }

    /// How many slots there are.
    pub(crate) fn len(&self) -> usize {
        self.children.len()
    }

    /// Starts a node in `slot` and waits for its `READY` line.
    pub(crate) fn spawn(&mut self, slot: usize) -> std::io::Result<()> {
        self.started += 1;
        let stderr_path = self
            .dir
            .join(format!("node-{slot}-{}.stderr", self.started));
        let mut child = Command::new(&self.bin)
            .arg("--store")
            .arg(&self.store)
            .arg("--log")
            .arg(&self.log)
            .arg("--exit-with-stdin")
            .args(TUNING)
            .args(&self.extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path)?)
            .spawn()?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut ready = String::new();
        stdout.read_line(&mut ready)?;
        let port = ready
            .strip_prefix("READY port=")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|port| port.parse::<u16>().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            return Err(std::io::Error::other(format!(
                "node {slot} did not start: {ready:?}; stderr: {stderr}"
            )));
        };
        // Nothing else is printed, but keep the pipe drained all the same.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        let node = Node {
            pid: child.id(),
            base: format!("http://127.0.0.1:{port}"),
        };
        self.live.lock().unwrap_or_else(PoisonError::into_inner)[slot] = Some(node);
        self.children[slot] = Some((child, stdin));
        Ok(())
    }

    /// Kills the node in `slot` with SIGKILL (taken out of the live list first) and records it.
    pub(crate) fn kill(&mut self, slot: usize) -> Option<Kill> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)[slot] = None;
        let (mut child, stdin) = self.children[slot].take()?;
        let pid = child.id();
        let issued_us = unix_micros();
        let _ = child.kill();
        let _ = child.wait();
        drop(stdin);
        let kill = Kill {
            pid,
            issued_us,
            dead_us: unix_micros(),
        };
        self.kills.push(kill);
        Some(kill)
    }

    /// Stops every node (SIGKILL; not recorded as kills: the history is over).
    pub(crate) fn shutdown(&mut self) {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter_mut()
            .for_each(|node| *node = None);
        for (mut child, stdin) in self.children.iter_mut().filter_map(Option::take) {
            let _ = child.kill();
            let _ = child.wait();
            drop(stdin);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Waits `pause`, kills a node, waits `down`, restarts it: `kills` times (fewer if `stop` is set
/// on the way), on this thread. Returns the cluster with its kills recorded.
pub(crate) fn kill_and_restart(
    mut cluster: Cluster,
    kills: usize,
    mut plan: impl FnMut(usize) -> (Duration, usize, Duration),
    stop: &std::sync::atomic::AtomicBool,
) -> Cluster {
    for index in 0..kills {
        let (pause, slot, down) = plan(index);
        std::thread::sleep(pause);
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        let slot = slot % cluster.len();
        cluster.kill(slot);
        std::thread::sleep(down);
        if let Err(error) = cluster.spawn(slot) {
            eprintln!("restarting node {slot}: {error}");
        }
    }
    cluster
}
