//! A store that times every `save` of the store it wraps: the checkpoint latency the 1-in-flight
//! goal compares with one bare commit.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use awaitly::HookId;
use awaitly::store::{
    Changes, Claim, ClaimedRuns, Created, HookRecord, Lease, NewRun, QueueLimit, RunRecord, Saved,
    Store, StoreFuture, StoredRun,
};
use serde_json::Value;

/// Times every save of `inner`.
pub(crate) struct Timed {
    inner: Arc<dyn Store>,
    saves: Arc<Mutex<Vec<Duration>>>,
}

impl Timed {
    /// `inner`, timed; the latencies land in the returned list.
    pub(crate) fn new(inner: Arc<dyn Store>) -> (Self, Arc<Mutex<Vec<Duration>>>) {
        let saves = Arc::new(Mutex::new(Vec::new()));
        (
            Self {
                inner,
                saves: Arc::clone(&saves),
            },
            saves,
        )
    }
}

/// The median of `latencies`.
pub(crate) fn median(latencies: &Mutex<Vec<Duration>>) -> Duration {
    let mut latencies = latencies
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    latencies.sort();
    latencies
        .get(latencies.len() / 2)
        .copied()
        .unwrap_or_default()
}

impl Store for Timed {
    fn save<'a>(
        &'a self,
        run_id: &'a str,
        revision: u64,
        changes: Changes,
    ) -> StoreFuture<'a, Saved> {
        Box::pin(async move {
            let started = Instant::now();
            let saved = self.inner.save(run_id, revision, changes).await;
            self.saves
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(started.elapsed());
            saved
        })
    }
    fn create_run(&self, run: NewRun) -> StoreFuture<'_, Created> {
        self.inner.create_run(run)
    }
    fn load_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, Option<StoredRun>> {
        self.inner.load_run(run_id)
    }
    fn claim_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a Value,
        now_ms: u64,
        dedupe_key: Option<&'a str>,
        lease: Option<&'a Lease>,
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
        lease: &'a Lease,
        queues: &'a [QueueLimit],
    ) -> StoreFuture<'a, ClaimedRuns> {
        self.inner.claim_runs(now_ms, limit, lease, queues)
    }
    fn renew_lease<'a>(&'a self, run_id: &'a str, lease: &'a Lease) -> StoreFuture<'a, bool> {
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
