//! A store that forwards every call to another and lets a test or a benchmark stand in for its
//! saves — count them, time them, fail the n-th — without writing the other dozen methods again.

use std::sync::Arc;

use awaitly_runtime::HookId;
use serde_json::Value;

use super::{
    Changes, Claim, ClaimedRuns, Created, HookRecord, Lease, NewRun, QueueLimit, RunRecord, Saved,
    Store, StoreFuture, StoredRun,
};

/// What [`Intercepted`] does instead of a save: usually something around `inner.save(…)`.
pub trait SaveHook: Send + Sync + 'static {
    /// Saves `changes` of `run_id` at `revision` — through `inner`, or not.
    fn save<'a>(
        &'a self,
        inner: &'a dyn Store,
        run_id: &'a str,
        revision: u64,
        changes: Changes,
    ) -> StoreFuture<'a, Saved>;
}

/// `inner` with its saves going through `hook`.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use awaitly::store::{Changes, Intercepted, MemoryStore, NewRun, SaveHook, Saved, Store, StoreFuture};
///
/// #[derive(Default)]
/// struct Count(AtomicUsize);
/// impl SaveHook for Count {
///     fn save<'a>(&'a self, inner: &'a dyn Store, run_id: &'a str, revision: u64, changes: Changes) -> StoreFuture<'a, Saved> {
///         self.0.fetch_add(1, Ordering::SeqCst);
///         inner.save(run_id, revision, changes)
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = Intercepted::new(Arc::new(MemoryStore::new()), Count::default());
/// store.create_run(NewRun::new("r1", "w", 1, serde_json::Value::Null)).await.unwrap();
/// store.save("r1", 0, Changes::default()).await.unwrap();
/// assert_eq!(store.hook().0.load(Ordering::SeqCst), 1);
/// # });
/// ```
pub struct Intercepted<H> {
    inner: Arc<dyn Store>,
    hook: H,
}

impl<H: SaveHook> Intercepted<H> {
    /// `inner`, saving through `hook`.
    ///
    /// ```
    /// # struct Forward;
    /// # impl awaitly::store::SaveHook for Forward {
    /// #     fn save<'a>(&'a self, inner: &'a dyn awaitly::store::Store, run_id: &'a str, revision: u64, changes: awaitly::store::Changes) -> awaitly::store::StoreFuture<'a, awaitly::store::Saved> {
    /// #         inner.save(run_id, revision, changes)
    /// #     }
    /// # }
    /// let store = awaitly::store::Intercepted::new(std::sync::Arc::new(awaitly::store::MemoryStore::new()), Forward);
    /// # drop(store);
    /// ```
    pub fn new(inner: Arc<dyn Store>, hook: H) -> Self {
        Self { inner, hook }
    }

    /// The hook, to read what it recorded.
    ///
    /// ```
    /// # struct Forward;
    /// # impl awaitly::store::SaveHook for Forward {
    /// #     fn save<'a>(&'a self, inner: &'a dyn awaitly::store::Store, run_id: &'a str, revision: u64, changes: awaitly::store::Changes) -> awaitly::store::StoreFuture<'a, awaitly::store::Saved> {
    /// #         inner.save(run_id, revision, changes)
    /// #     }
    /// # }
    /// let store = awaitly::store::Intercepted::new(std::sync::Arc::new(awaitly::store::MemoryStore::new()), Forward);
    /// let _: &Forward = store.hook();
    /// ```
    pub fn hook(&self) -> &H {
        &self.hook
    }
}

impl<H> std::fmt::Debug for Intercepted<H> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Intercepted")
            .finish_non_exhaustive()
    }
}

impl<H: SaveHook> Store for Intercepted<H> {
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
        self.hook.save(&*self.inner, run_id, revision, changes)
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
    fn find_hook<'a>(&'a self, hook_id: &'a HookId) -> StoreFuture<'a, Option<HookRecord>> {
        self.inner.find_hook(hook_id)
    }
    fn pending_hooks(&self) -> StoreFuture<'_, Vec<HookRecord>> {
        self.inner.pending_hooks()
    }
    fn due_runs(&self, now_ms: u64, limit: usize) -> StoreFuture<'_, Vec<RunRecord>> {
        self.inner.due_runs(now_ms, limit)
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
    fn wait_for_work(&self, timeout: std::time::Duration) -> StoreFuture<'_, ()> {
        self.inner.wait_for_work(timeout)
    }
    fn list_runs(&self) -> StoreFuture<'_, Vec<RunRecord>> {
        self.inner.list_runs()
    }
    fn delete_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, bool> {
        self.inner.delete_run(run_id)
    }
}
