//! [`MemoryStore`]: runs kept in the process, for tests and single-process tools.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use awaitly_runtime::{HookId, PendingHook, ResumeState};
use serde_json::Value;

use super::{
    Changes, Claim, ClaimedRuns, Created, HookRecord, Lease, NewRun, QueueLimit, RunLease,
    RunOutcome, RunRecord, Saved, Store, StoreError, StoreFuture, StoredRun, due_param, now_ms,
};

/// A [`Store`] in memory: everything is lost when it is dropped. Same semantics as the durable
/// backends (it passes the same conformance suite), so it is what unit tests use.
///
/// ```
/// use awaitly::store::{MemoryStore, NewRun, Store};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// store.create_run(NewRun::new("r1", "w", 1, serde_json::Value::Null)).await.unwrap();
/// assert_eq!(store.list_runs().await.unwrap().len(), 1);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    runs: HashMap<String, MemoryRun>,
    hooks: HashMap<HookId, HookRecord>,
    /// Each suspended hook's deadline, recorded with its suspension.
    deadlines: HashMap<HookId, u64>,
    /// The dedupe key of each claim made with one, and the hook it claimed.
    dedupe: HashMap<String, HookId>,
    /// Creation order, so listings are oldest first like the SQL backends.
    next_sequence: u64,
}

#[derive(Debug)]
struct MemoryRun {
    record: RunRecord,
    state: ResumeState,
    sequence: u64,
    /// When the run needs an executor (as the SQL stores index it).
    due_at: Option<u64>,
}

impl MemoryRun {
    /// Is the run's lease held, at `now`, by someone other than `owner`?
    fn leased_to_other(&self, owner: Option<&str>, now: u64) -> Option<&RunLease> {
        self.record
            .lease
            .as_ref()
            .filter(|lease| lease.is_live(now) && Some(lease.owner.as_str()) != owner)
    }
}

impl MemoryStore {
    /// An empty store.
    ///
    /// ```
    /// let _store = awaitly::store::MemoryStore::new();
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every critical section below leaves the maps consistent before any call that could panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for MemoryStore {
    fn create_run(&self, run: NewRun) -> StoreFuture<'_, Created> {
        Box::pin(async move {
            let mut inner = self.lock();
            if let Some(existing) = inner.runs.get(&run.run_id) {
                return Ok(Created::Existing(existing.record.clone()));
            }
            if let Some(taken) = run
                .hooks
                .iter()
                .find_map(|hook_id| inner.hooks.get(hook_id))
            {
                return Err(StoreError::HookOwnedElsewhere {
                    hook_id: taken.hook_id.to_string(),
                    owner: taken.run_id.clone(),
                });
            }
            let now = now_ms();
            let ready_at = run.ready_at_ms;
            let record = RunRecord {
                run_id: run.run_id.clone(),
                workflow: run.workflow,
                version: run.version,
                input: run.input,
                outcome: RunOutcome::Running,
                revision: 0,
                created_at_ms: now,
                updated_at_ms: now,
                lease: run.lease.map(|lease| RunLease {
                    expires_at_ms: lease.expires_at(now),
                    owner: lease.owner,
                }),
                queue: run.queue,
                priority: run.priority,
            };
            for hook_id in run.hooks {
                inner.hooks.insert(
                    hook_id.clone(),
                    HookRecord {
                        hook_id,
                        run_id: run.run_id.clone(),
                        metadata: None,
                        registered_at_ms: now,
                        suspended_at_ms: None,
                        payload: None,
                    },
                );
            }
            let sequence = inner.next_sequence;
            inner.next_sequence += 1;
            inner.runs.insert(
                run.run_id,
                MemoryRun {
                    record: record.clone(),
                    state: ResumeState::new(),
                    sequence,
                    due_at: Some(ready_at),
                },
            );
            Ok(Created::New(record))
        })
    }

    fn load_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, Option<StoredRun>> {
        Box::pin(async move {
            Ok(self.lock().runs.get(run_id).map(|run| StoredRun {
                record: run.record.clone(),
                state: run.state.clone(),
            }))
        })
    }

    fn save<'a>(
        &'a self,
        run_id: &'a str,
        expected_revision: u64,
        changes: Changes,
    ) -> StoreFuture<'a, Saved> {
        Box::pin(async move {
            let mut guard = self.lock();
            let inner = &mut *guard;
            let run = inner
                .runs
                .get_mut(run_id)
                .ok_or_else(|| StoreError::UnknownRun {
                    run_id: run_id.to_owned(),
                })?;
            let now = now_ms();
            let owner = changes.lease.as_ref().map(|lease| lease.owner.as_str());
            if let Some(lease) = run.leased_to_other(owner, now) {
                return Err(StoreError::Leased {
                    run_id: run_id.to_owned(),
                    owner: lease.owner.clone(),
                });
            }
            if run.record.revision != expected_revision {
                return Err(StoreError::Conflict {
                    run_id: run_id.to_owned(),
                    expected: expected_revision,
                });
            }
            // Check everything that can fail before changing anything: a save is all or nothing.
            for hook in changes.suspend_at.iter().chain(&changes.waiting_at) {
                if let Some(existing) = inner.hooks.get(&hook.hook_id)
                    && existing.run_id != run_id
                {
                    return Err(StoreError::HookOwnedElsewhere {
                        hook_id: hook.hook_id.to_string(),
                        owner: existing.run_id.clone(),
                    });
                }
            }
            for key in &changes.removed {
                run.state.remove(key);
            }
            for (key, entry) in changes.entries {
                run.state.insert(key, entry);
            }
            if let Some(lease) = changes.lease {
                let running = changes
                    .outcome
                    .as_ref()
                    .is_none_or(|outcome| matches!(outcome, RunOutcome::Running));
                run.record.lease = running.then(|| RunLease {
                    expires_at_ms: lease.expires_at(now),
                    owner: lease.owner,
                });
            }
            if let Some(outcome) = changes.outcome {
                run.due_at = due_param(&outcome);
                run.record.outcome = outcome;
            }
            if let Some(version) = changes.version {
                run.record.version = version;
            }
            run.record.revision += 1;
            run.record.updated_at_ms = now;
            let revision = run.record.revision;
            let mut suspend = |hook: PendingHook| {
                match hook.deadline_ms {
                    Some(deadline) => inner.deadlines.insert(hook.hook_id.clone(), deadline),
                    None => inner.deadlines.remove(&hook.hook_id),
                };
                let record =
                    inner
                        .hooks
                        .entry(hook.hook_id.clone())
                        .or_insert_with(|| HookRecord {
                            hook_id: hook.hook_id.clone(),
                            run_id: run_id.to_owned(),
                            metadata: None,
                            registered_at_ms: now,
                            suspended_at_ms: None,
                            payload: None,
                        });
                record.metadata = hook.metadata;
                record.suspended_at_ms = Some(now);
                record.payload.clone()
            };
            let delivered = changes.suspend_at.map(&mut suspend);
            for hook in changes.waiting_at {
                suspend(hook);
            }
            Ok(Saved {
                revision,
                delivered: delivered.flatten(),
            })
        })
    }

    fn claim_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a Value,
        now_ms: u64,
        dedupe_key: Option<&'a str>,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Claim> {
        Box::pin(async move {
            let mut guard = self.lock();
            let inner = &mut *guard;
            if let Some(seen) = dedupe_key.and_then(|key| inner.dedupe.get(key))
                && let Some(hook) = inner.hooks.get(seen)
            {
                return Ok(Claim::Seen {
                    run_id: hook.run_id.clone(),
                    same_hook: seen == hook_id,
                });
            }
            let Some(hook) = inner.hooks.get_mut(hook_id) else {
                return Ok(Claim::Unknown);
            };
            if let Some(existing) = &hook.payload {
                return Ok(Claim::Taken {
                    run_id: hook.run_id.clone(),
                    payload: existing.clone(),
                });
            }
            if inner
                .deadlines
                .get(hook_id)
                .is_some_and(|deadline| *deadline <= now_ms)
            {
                return Ok(Claim::Expired {
                    run_id: hook.run_id.clone(),
                });
            }
            hook.payload = Some(payload.clone());
            let run_id = hook.run_id.clone();
            let suspended = hook.suspended_at_ms.is_some();
            if let Some(key) = dedupe_key {
                inner.dedupe.insert(key.to_owned(), hook_id.clone());
            }
            let mut leased = false;
            if suspended
                && let Some(run) = inner.runs.get_mut(&run_id)
                && run.record.status() == super::RunStatus::Suspended
            {
                // The payload waits to be applied: the run needs an executor now.
                run.due_at = Some(0);
                let now = super::now_ms();
                if let Some(lease) = lease
                    && run.leased_to_other(None, now).is_none()
                {
                    run.record.lease = Some(RunLease {
                        owner: lease.owner.clone(),
                        expires_at_ms: lease.expires_at(now),
                    });
                    leased = true;
                }
            }
            Ok(Claim::Claimed {
                run_id,
                suspended,
                leased,
            })
        })
    }

    fn release_hook<'a>(
        &'a self,
        hook_id: &'a HookId,
        payload: &'a Value,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut inner = self.lock();
            let released = match inner.hooks.get_mut(hook_id) {
                Some(hook) if hook.payload.as_ref() == Some(payload) => {
                    hook.payload = None;
                    true
                }
                _ => false,
            };
            if released {
                inner.dedupe.retain(|_, claimed| claimed != hook_id);
            }
            Ok(released)
        })
    }

    fn find_hook<'a>(&'a self, hook_id: &'a HookId) -> StoreFuture<'a, Option<HookRecord>> {
        Box::pin(async move { Ok(self.lock().hooks.get(hook_id).cloned()) })
    }

    fn pending_hooks(&self) -> StoreFuture<'_, Vec<HookRecord>> {
        Box::pin(async move {
            let mut pending: Vec<HookRecord> = self
                .lock()
                .hooks
                .values()
                .filter(|hook| hook.is_pending())
                .cloned()
                .collect();
            pending.sort_by(|a, b| {
                (a.suspended_at_ms, &a.hook_id).cmp(&(b.suspended_at_ms, &b.hook_id))
            });
            Ok(pending)
        })
    }

    fn due_runs(&self, now_ms: u64, limit: usize) -> StoreFuture<'_, Vec<RunRecord>> {
        Box::pin(async move {
            let inner = self.lock();
            let due_by = now_ms;
            let mut due: Vec<(u64, u64, &RunRecord)> = inner
                .runs
                .values()
                .filter(|run| run.record.status() == super::RunStatus::Suspended)
                .filter_map(|run| {
                    let at = run.due_at?;
                    (at <= due_by).then_some((at, run.sequence, &run.record))
                })
                .collect();
            due.sort_by_key(|(at, sequence, _)| (*at, *sequence));
            Ok(due
                .into_iter()
                .take(limit)
                .map(|(.., record)| record.clone())
                .collect())
        })
    }

    fn claim_runs<'a>(
        &'a self,
        now_ms: u64,
        limit: usize,
        lease: &'a Lease,
        queues: &'a [QueueLimit],
    ) -> StoreFuture<'a, ClaimedRuns> {
        Box::pin(async move {
            let mut inner = self.lock();
            let now = super::now_ms();
            let due_limit = now_ms;
            let mut free: HashMap<&str, usize> = HashMap::new();
            for queue in queues {
                if let Some(concurrency) = queue.concurrency {
                    let busy = inner
                        .runs
                        .values()
                        .filter(|run| {
                            run.record.queue == queue.queue
                                && run.leased_to_other(None, now).is_some()
                        })
                        .count();
                    free.insert(queue.queue.as_str(), concurrency.saturating_sub(busy));
                }
            }
            let served = |queue: &str| queues.is_empty() || queues.iter().any(|q| q.queue == queue);
            let mut candidates: Vec<(i32, u64, u64, String)> = Vec::new();
            let mut next_due_at: Option<u64> = None;
            for run in inner.runs.values() {
                let Some(due_at) = run.due_at else { continue };
                if run.leased_to_other(None, now).is_some() || !served(&run.record.queue) {
                    continue;
                }
                if due_at <= due_limit {
                    candidates.push((
                        run.record.priority,
                        due_at,
                        run.sequence,
                        run.record.run_id.clone(),
                    ));
                } else {
                    next_due_at = Some(next_due_at.map_or(due_at, |next| next.min(due_at)));
                }
            }
            candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            let mut runs = Vec::new();
            for (.., run_id) in candidates {
                if runs.len() >= limit {
                    break;
                }
                let Some(run) = inner.runs.get_mut(&run_id) else {
                    continue;
                };
                if let Some(slots) = free.get_mut(run.record.queue.as_str()) {
                    if *slots == 0 {
                        continue;
                    }
                    *slots -= 1;
                }
                run.record.lease = Some(RunLease {
                    owner: lease.owner.clone(),
                    expires_at_ms: lease.expires_at(now),
                });
                runs.push(run.record.clone());
            }
            Ok(ClaimedRuns {
                runs,
                next_due_at_ms: next_due_at,
            })
        })
    }

    fn renew_lease<'a>(&'a self, run_id: &'a str, lease: &'a Lease) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut inner = self.lock();
            let Some(run) = inner.runs.get_mut(run_id) else {
                return Ok(false);
            };
            match &mut run.record.lease {
                Some(held) if held.owner == lease.owner => {
                    held.expires_at_ms = lease.expires_at(now_ms());
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
    }

    fn list_runs(&self) -> StoreFuture<'_, Vec<RunRecord>> {
        Box::pin(async move {
            let inner = self.lock();
            let mut runs: Vec<&MemoryRun> = inner.runs.values().collect();
            runs.sort_by_key(|run| run.sequence);
            Ok(runs.into_iter().map(|run| run.record.clone()).collect())
        })
    }

    fn delete_run<'a>(&'a self, run_id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut inner = self.lock();
            let existed = inner.runs.remove(run_id).is_some();
            let Inner {
                hooks,
                deadlines,
                dedupe,
                ..
            } = &mut *inner;
            hooks.retain(|hook_id, hook| {
                let keep = hook.run_id != run_id;
                if !keep {
                    deadlines.remove(hook_id);
                    dedupe.retain(|_, claimed| claimed != hook_id);
                }
                keep
            });
            Ok(existed)
        })
    }
}
