//! The [`Journal`] a durable run checkpoints through: every executed step becomes one
//! compare-and-swap save of one entry, so a checkpoint costs the same at step 10 and step 10,000.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use awaitly_runtime::{Journal, JournalError, JournalFuture, StepEntry};

use crate::store::{Changes, Lease, Store, StoreError, entry_text};

/// Writes each executed step to the store, fenced by the run's revision.
pub(crate) struct StoreJournal {
    store: Arc<dyn Store>,
    run_id: String,
    /// Every checkpoint carries the drive's lease: it renews it, and is refused once another
    /// executor has taken the run over.
    lease: Lease,
    progress: Mutex<Progress>,
}

/// What the journal wrote during one run of the workflow.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// The revision the next save must name.
    pub(crate) revision: u64,
    /// The text of every entry saved by this journal, by key: the engine saves what differs.
    pub(crate) saved: HashMap<String, String>,
    /// Entries to write with the next checkpoint (an injected hook payload).
    carry: Vec<(String, StepEntry)>,
    /// Why a checkpoint failed: the run stopped there.
    pub(crate) failure: Option<StoreError>,
    /// The checkpoint that was not written because the state would have grown past the limit:
    /// `(bytes, limit)`.
    pub(crate) too_large: Option<(usize, usize)>,
    /// The size limit and each stored entry's size, by key.
    budget: Option<Budget>,
}

/// What a run's stored state may weigh, and what it weighs.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    pub(crate) limit: usize,
    pub(crate) sizes: HashMap<String, usize>,
}

impl Budget {
    /// The total size once `entries` are written.
    fn after(&self, entries: &[(String, String)]) -> usize {
        let mut total: usize = self.sizes.values().sum();
        for (key, text) in entries {
            total = total - self.sizes.get(key).copied().unwrap_or(0) + key.len() + text.len();
        }
        total
    }
}

impl StoreJournal {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        run_id: String,
        revision: u64,
        carry: Vec<(String, StepEntry)>,
        budget: Option<Budget>,
        lease: Lease,
    ) -> Self {
        Self {
            store,
            run_id,
            lease,
            progress: Mutex::new(Progress {
                revision,
                carry,
                budget,
                ..Progress::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Progress> {
        // Never held across an await or user code.
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What was written, once the run is over.
    pub(crate) fn finish(&self) -> Progress {
        std::mem::take(&mut *self.lock())
    }
}

impl std::fmt::Debug for StoreJournal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("StoreJournal")
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

impl Journal for StoreJournal {
    fn record<'a>(&'a self, key: &'a str, entry: &'a StepEntry) -> JournalFuture<'a> {
        Box::pin(self.write(vec![(key.to_owned(), entry.clone())]))
    }

    /// The steps concurrent branches finished while the last write was in flight: one save.
    fn record_all<'a>(
        &'a self,
        entries: &'a [(std::borrow::Cow<'static, str>, StepEntry)],
    ) -> JournalFuture<'a> {
        let entries = entries
            .iter()
            .map(|(key, entry)| (key.clone().into_owned(), entry.clone()))
            .collect();
        Box::pin(self.write(entries))
    }
}

impl StoreJournal {
    /// Saves `recorded` (after any carried entries) in one compare-and-swap write.
    async fn write(&self, recorded: Vec<(String, StepEntry)>) -> Result<(), JournalError> {
        // The runtime never has two writes of one run in flight, so these never overlap.
        let (revision, mut entries) = {
            let mut progress = self.lock();
            (progress.revision, std::mem::take(&mut progress.carry))
        };
        entries.extend(recorded);
        let texts: Vec<(String, String)> = entries
            .iter()
            .map(|(key, entry)| (key.clone(), entry_text(entry)))
            .collect();
        {
            let mut progress = self.lock();
            let over = progress.budget.as_ref().and_then(|budget| {
                let bytes = budget.after(&texts);
                (bytes > budget.limit).then_some((bytes, budget.limit))
            });
            if let Some((bytes, limit)) = over {
                progress.too_large = Some((bytes, limit));
                return Err(JournalError::new(format!(
                    "the run's state would grow to {bytes} bytes, over the limit of {limit}"
                )));
            }
        }
        let changes = Changes {
            entries,
            lease: Some(self.lease.clone()),
            ..Changes::default()
        };
        match self.store.save(&self.run_id, revision, changes).await {
            Ok(saved) => {
                let mut progress = self.lock();
                progress.revision = saved.revision;
                if let Some(budget) = &mut progress.budget {
                    for (key, text) in &texts {
                        budget.sizes.insert(key.clone(), key.len() + text.len());
                    }
                }
                progress.saved.extend(texts);
                Ok(())
            }
            Err(error) => {
                self.lock().failure = Some(error.clone());
                Err(JournalError::from_error(error))
            }
        }
    }
}
