//! Run ownership: the lease an executor holds while it advances a run, and the heartbeat that
//! keeps it while a long step runs between checkpoints.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::Engine;
use crate::store::{Lease, Store};

impl Engine {
    /// A lease for one drive of one run: owners are unique per engine and drive, so two drives
    /// in one process never mistake each other's lease for their own.
    pub(super) fn lease(&self) -> Lease {
        let drive = self.drives.fetch_add(1, Ordering::Relaxed);
        Lease::new(format!("{}/{drive}", self.executor), self.stale_after)
    }
}

/// Renews a drive's lease every third of its duration until dropped, so a step that runs longer
/// than the lease between two checkpoints does not lose the run.
#[derive(Debug)]
pub(super) struct Heartbeat(JoinHandle<()>);

impl Heartbeat {
    pub(super) fn start(store: Arc<dyn Store>, run_id: &str, lease: &Lease) -> Self {
        let run_id = run_id.to_owned();
        let lease = lease.clone();
        let every = (lease.duration / 3).max(Duration::from_millis(10));
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                // A failed renewal needs no action here: the next checkpoint carries the lease
                // and is refused if another executor took the run over.
                if !matches!(store.renew_lease(&run_id, &lease).await, Ok(true)) {
                    break;
                }
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}
