//! [`MemoryStore`]: runs kept in the process, for tests and single-process tools.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use awaitly_runtime::{HookId, ResumeState};
use serde_json::Value;

use super::{
    Changes, Claim, Created, HookRecord, NewRun, RunOutcome, RunRecord, Saved, Store, StoreError,
    StoreFuture, StoredRun, now_ms,
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
            let record = RunRecord {
                run_id: run.run_id.clone(),
                workflow: run.workflow,
                version: run.version,
                input: run.input,
                outcome: RunOutcome::Running,
                revision: 0,
                created_at_ms: now,
                updated_at_ms: now,
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
            if run.record.revision != expected_revision {
                return Err(StoreError::Conflict {
                    run_id: run_id.to_owned(),
                    expected: expected_revision,
                });
            }
            // Check everything that can fail before changing anything: a save is all or nothing.
            if let Some(hook) = &changes.suspend_at
                && let Some(existing) = inner.hooks.get(&hook.hook_id)
                && existing.run_id != run_id
            {
                return Err(StoreError::HookOwnedElsewhere {
                    hook_id: hook.hook_id.to_string(),
                    owner: existing.run_id.clone(),
                });
            }
            let now = now_ms();
            for key in &changes.removed {
                run.state.remove(key);
            }
            for (key, entry) in changes.entries {
                run.state.insert(key, entry);
            }
            if let Some(outcome) = changes.outcome {
                run.record.outcome = outcome;
            }
            if let Some(version) = changes.version {
                run.record.version = version;
            }
            run.record.revision += 1;
            run.record.updated_at_ms = now;
            let revision = run.record.revision;
            let delivered = changes.suspend_at.map(|hook| {
                match hook.deadline_millis {
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
            });
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
    ) -> StoreFuture<'a, Claim> {
        Box::pin(async move {
            let mut guard = self.lock();
            let inner = &mut *guard;
            if let Some(seen) = dedupe_key.and_then(|key| inner.dedupe.get(key))
                && let Some(hook) = inner.hooks.get(seen)
            {
                return Ok(Claim::Seen {
                    run_id: hook.run_id.clone(),
                    hook_id: seen.clone(),
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
            if let Some(key) = dedupe_key {
                inner.dedupe.insert(key.to_owned(), hook_id.clone());
            }
            Ok(Claim::Claimed {
                run_id: hook.run_id.clone(),
                suspended: hook.suspended_at_ms.is_some(),
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
            let mut due: Vec<(u64, u64, &RunRecord)> = inner
                .runs
                .values()
                .filter_map(|run| {
                    let at = run.record.outcome.due_at_ms()?;
                    (at <= now_ms).then_some((at, run.sequence, &run.record))
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
