//! The per-run context generated code talks to: it decides, site by site, whether to replay a
//! recorded outcome, execute and record, or halt the run (suspended at a hook, or stopped because
//! the state does not fit the code).

use std::borrow::Cow;
use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::clock::{Clock, SystemClock};
use crate::entry::StepEntry;
use crate::error::{Cause, RunError};
use crate::event::{Event, EventSink};
use crate::hook::{HookId, MaybePendingHook};
use crate::journal::Journal;
use crate::key::{item_key, with_occurrence};
use crate::outcome::Suspension;
use crate::policy::RecordedFailures;
use crate::site::{SiteKind, WorkflowDescription};
use crate::state::ResumeState;

/// Shared between a [`Workflow`](crate::Workflow) and its body; cloned into the body future.
#[derive(Clone, Debug)]
pub struct Context {
    pub(crate) description: &'static WorkflowDescription,
    run: Arc<Mutex<RunProgress>>,
}

#[derive(Default)]
pub(crate) struct RunProgress {
    pub(crate) state: ResumeState,
    pub(crate) options: RunOptions,
    site_occurrences: Vec<u32>,
    /// Which entries of the installed state this run has reached through a per-item key
    /// (entries appended by this run are reached by definition). Replaces a per-run map of item
    /// keys: the common first occurrence costs the one state lookup replay needs anyway.
    reached: Vec<bool>,
    /// Where the last per-item key from `next_key` stands in the state, so `begin_step` does not
    /// look it up a second time.
    found: Lookup,
    /// The approval keys this run has reached: an approval key reached twice stops the run.
    approval_keys: HashSet<String>,
    pub(crate) halt: Option<Halt>,
}

/// A state lookup `next_key` already did for the key it returned.
#[derive(Clone, Copy, Debug, Default)]
enum Lookup {
    /// Not looked up (a key without an item part).
    #[default]
    NotLooked,
    /// Looked up: its position, or `None` when absent.
    Found(Option<usize>),
}

/// Why the body stopped making progress.
#[derive(Debug)]
pub(crate) enum Halt {
    Suspended(Suspension),
    Stopped(RunError),
}

/// What generated code does at a `step!` site.
#[derive(Debug)]
pub enum StepStart<T, E> {
    /// The outcome is recorded: use it, do not run the step.
    Replayed(Result<T, E>),
    /// Nothing is recorded: run the step, then hand its outcome to [`Context::finish_step`].
    Execute(StepTicket),
    /// The run cannot go on; await [`halt`].
    Halt,
}

/// The key a step about to execute will be recorded under.
#[derive(Debug)]
pub struct StepTicket {
    pub(crate) key: Cow<'static, str>,
    pub(crate) attempts: u32,
}

/// A future that never completes: what the body awaits once the context has recorded a halt, so
/// the [`Workflow`](crate::Workflow) runner can drop it and report the halt.
pub async fn halt() -> Infallible {
    std::future::pending().await
}

impl Context {
    /// A context for one run of the workflow described by `description`.
    #[must_use]
    pub fn new(description: &'static WorkflowDescription) -> Self {
        Self {
            description,
            run: Arc::new(Mutex::new(RunProgress {
                site_occurrences: vec![0; description.sites.len()],
                ..RunProgress::default()
            })),
        }
    }

    pub(crate) fn description(&self) -> &'static WorkflowDescription {
        self.description
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, RunProgress> {
        // The lock is never held across user code that could leave the progress half-written.
        self.run.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn install(&self, state: ResumeState, options: RunOptions) {
        let mut run = self.lock();
        run.state = state;
        run.options = options;
        run.site_occurrences.fill(0);
        let installed = run.state.len();
        run.reached.clear();
        run.reached.resize(installed, false);
        run.approval_keys.clear();
        run.halt = None;
    }

    pub(crate) fn take_halt(&self) -> Option<Halt> {
        self.lock().halt.take()
    }

    pub(crate) fn take_state(&self) -> ResumeState {
        std::mem::take(&mut self.lock().state)
    }

    /// Starts the step at site `site`: replay it, or hand out the ticket to execute it.
    pub fn begin_step<T: StepValue, E: StepValue>(
        &self,
        site: usize,
        item: Option<&dyn std::fmt::Display>,
        failures: RecordedFailures,
    ) -> StepStart<T, E> {
        let mut run = self.lock();
        let key = run.next_key(self.description, site, item);
        let position = match std::mem::take(&mut run.found) {
            Lookup::Found(position) => position,
            Lookup::NotLooked => run.state.position(&key),
        };
        let entry = position
            .map(|position| run.state.entry_at(position))
            .filter(|entry| {
                // A failure recorded by an earlier run is executed again when the step asks for it.
                failures == RecordedFailures::Replay
                    || entry.is_ok()
                    || entry.pending_hook().is_some()
            });
        let Some(entry) = entry else {
            run.emit(|| Event::StepStarted {
                key: key.to_string(),
            });
            return StepStart::Execute(StepTicket { key, attempts: 1 });
        };
        let replayed = if let Some(value) = entry.value_json() {
            serde_json::from_str(value)
                .map(Ok)
                .map_err(|error| RunError::DecodeValue {
                    key: key.to_string(),
                    expected: std::any::type_name::<T>(),
                    message: error.to_string(),
                    source: Cause::new(error),
                })
        } else if entry.created_hook_id().is_some() {
            Err(mismatch(&key, SiteKind::CreatedHook, SiteKind::Step))
        } else if entry.pending_hook().is_some() {
            Err(mismatch(&key, SiteKind::HookById, SiteKind::Step))
        } else {
            let error = entry.error().unwrap_or(&Value::Null);
            E::deserialize(error)
                .map(Err)
                .map_err(|error| RunError::DecodeError {
                    key: key.to_string(),
                    expected: std::any::type_name::<E>(),
                    message: error.to_string(),
                    source: Cause::new(error),
                })
        };
        match replayed {
            Ok(outcome) => {
                run.emit(|| Event::StepReplayed {
                    key: key.to_string(),
                    ok: outcome.is_ok(),
                });
                StepStart::Replayed(outcome)
            }
            Err(error) => {
                run.halt = Some(Halt::Stopped(error));
                StepStart::Halt
            }
        }
    }

    /// Records the outcome of an executed step. The returned [`Checkpoint`] owns what the journal
    /// still has to persist (it borrows nothing from the outcome, so the body's future stays `Send`
    /// for outputs that are not `Sync`); await it with [`checkpoint`](Self::checkpoint).
    pub fn finish_step<T: StepValue, E: StepValue>(
        &self,
        ticket: StepTicket,
        outcome: &Result<T, E>,
    ) -> Checkpoint {
        let entry = match outcome {
            Ok(value) => StepEntry::ok(value),
            Err(error) => StepEntry::err(error),
        };
        let mut run = self.lock();
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                let key = ticket.key.into_owned();
                run.halt = Some(Halt::Stopped(
                    match crate::finite::is_unrecordable(&error) {
                        Some(reason) => RunError::Unrecordable { key, reason },
                        None => RunError::Encode {
                            key,
                            message: error.to_string(),
                            source: Cause::new(error),
                        },
                    },
                ));
                return Checkpoint(None, false);
            }
        };
        let ok = entry.is_ok();
        run.emit(|| Event::StepCompleted {
            key: ticket.key.to_string(),
            ok,
            attempts: ticket.attempts,
        });
        let Some(journal) = run.options.journal.clone() else {
            run.state.insert(ticket.key, entry);
            return Checkpoint(None, true);
        };
        run.state.insert(ticket.key.clone(), entry.clone());
        Checkpoint(Some((journal, ticket.key, entry)), true)
    }

    /// Hands a recorded step to the journal (if any). `false` means the run must halt.
    pub async fn checkpoint(&self, checkpoint: Checkpoint) -> bool {
        let Checkpoint(pending, recorded) = checkpoint;
        let Some((journal, key, entry)) = pending else {
            return recorded;
        };
        if let Err(error) = journal.record(&key, &entry).await {
            self.lock().halt = Some(Halt::Stopped(RunError::Journal {
                key: key.into_owned(),
                message: error.to_string(),
                source: error,
            }));
            return false;
        }
        true
    }
}

/// What [`Context::finish_step`] leaves for the journal: the entry to persist (if a journal is
/// attached) and whether the step was recorded at all.
pub struct Checkpoint(
    Option<(Arc<dyn Journal>, Cow<'static, str>, StepEntry)>,
    bool,
);

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_tuple("Checkpoint")
            .field(&self.0.as_ref().map(|(_, key, _)| key))
            .finish()
    }
}

/// A step's output or error: recorded as JSON and decoded on replay.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded by `step!`: it must implement `serde::Serialize` and `serde::Deserialize`",
    label = "the output and error of a step are recorded as JSON",
    note = "derive both: `#[derive(serde::Serialize, serde::Deserialize)]`"
)]
pub trait StepValue: Serialize + DeserializeOwned {}

impl<T: Serialize + DeserializeOwned> StepValue for T {}

/// A hook's or an approval's payload: decoded from the injected JSON.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a hook payload: it must implement `serde::Deserialize`",
    label = "the payload is decoded from the injected JSON",
    note = "derive it: `#[derive(serde::Deserialize)]`"
)]
pub trait Payload: DeserializeOwned {}

impl<T: DeserializeOwned> Payload for T {}

impl std::fmt::Debug for RunProgress {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RunProgress")
            .field("state", &self.state)
            .field("journaled", &self.options.journal.is_some())
            .finish_non_exhaustive()
    }
}

/// What a run is given besides its state: where to checkpoint, where to report, what time it is.
#[derive(Clone, Default)]
pub(crate) struct RunOptions {
    pub(crate) journal: Option<Arc<dyn Journal>>,
    pub(crate) events: Option<Arc<dyn EventSink>>,
    pub(crate) clock: Option<Arc<dyn Clock>>,
}

impl RunOptions {
    pub(crate) fn clock(&self) -> &dyn Clock {
        self.clock.as_deref().unwrap_or(&SystemClock)
    }
}

impl RunProgress {
    /// Emits an event built only when someone listens.
    pub(crate) fn emit(&self, event: impl FnOnce() -> Event) {
        if let Some(events) = &self.options.events {
            events.emit(&event());
        }
    }

    /// The key of the next execution of `site`: its static key or `label[item]`, plus an
    /// occurrence suffix from the second execution in this run on.
    pub(crate) fn next_key(
        &mut self,
        description: &WorkflowDescription,
        site: usize,
        item: Option<&dyn std::fmt::Display>,
    ) -> Cow<'static, str> {
        self.found = Lookup::NotLooked;
        let label = description.sites[site].key;
        match item {
            None => {
                let occurrence = &mut self.site_occurrences[site];
                *occurrence += 1;
                if *occurrence == 1 {
                    Cow::Borrowed(label)
                } else {
                    Cow::Owned(with_occurrence(label, *occurrence))
                }
            }
            Some(item) => {
                let base = item_key(label, item);
                if !self.reach(&base) {
                    return Cow::Owned(base);
                }
                // A repeated item in this run: the k-th occurrence is the first of `base#2`,
                // `base#3`, … not reached yet (occurrences are reached in order).
                let mut occurrence = 2;
                loop {
                    let key = with_occurrence(&base, occurrence);
                    if !self.reach(&key) {
                        return Cow::Owned(key);
                    }
                    occurrence += 1;
                }
            }
        }
    }

    /// Marks `key` reached by this run; returns whether it already was.
    fn reach(&mut self, key: &str) -> bool {
        let position = self.state.position(key);
        self.found = Lookup::Found(position);
        match position {
            None => false,
            Some(position) => match self.reached.get_mut(position) {
                // Appended by this run.
                None => true,
                Some(reached) => std::mem::replace(reached, true),
            },
        }
    }

    /// Marks the approval key `key` reached by this run; `false` when it already was.
    pub(crate) fn reach_approval(&mut self, key: &str) -> bool {
        if self.approval_keys.contains(key) {
            return false;
        }
        self.approval_keys.insert(key.to_owned());
        true
    }

    /// The id of the hook created at `key`, minting and recording one on first execution.
    pub(crate) fn created_hook(&mut self, key: &str) -> Result<HookId, RunError> {
        match self.state.get(key) {
            None => {
                let hook_id = HookId::random();
                self.state
                    .insert(key, StepEntry::created_hook(hook_id.clone()));
                Ok(hook_id)
            }
            Some(entry) => match entry.created_hook_id() {
                Some(hook_id) => Ok(hook_id.clone()),
                None => Err(mismatch(key, SiteKind::Step, SiteKind::CreatedHook)),
            },
        }
    }
}

fn mismatch(key: &str, recorded: SiteKind, reached: SiteKind) -> RunError {
    RunError::KindMismatch {
        key: key.to_owned(),
        recorded,
        reached,
    }
}
