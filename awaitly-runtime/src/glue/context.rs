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

use super::checkpoint::{Checkpoint, Writes};
use super::compensate::Compensation;
use super::scope::Scope;
use crate::cancel::{CANCEL_KEY, Cancellation};
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
    /// The branch or item this context's sites run in; `None` in the body itself.
    pub(crate) scope: Option<Arc<Scope>>,
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
    /// Lanes of the body that can make progress on their own (see `lanes`).
    pub(crate) lanes: usize,
    /// Parked sites and what each waits for, in the order they parked.
    pub(crate) parked: Vec<(u64, Suspension)>,
    pub(crate) next_park: u64,
    /// Entries on their way to the journal.
    pub(crate) writes: Writes,
    /// The step last replayed or finished: what a `compensate = …` registers for.
    pub(crate) last_step: Option<LastStep>,
    /// Where `begin_step` builds a per-item key: a replayed step allocates no key.
    key_buffer: String,
    /// Undos of the succeeded steps with `compensate = …`, in the order they succeeded.
    pub(crate) compensations: Vec<Compensation>,
    /// The run is cancelled: the next site that would execute or wait stops it.
    pub(crate) cancelled: Option<Cancellation>,
    /// The runner is dropping the body (the run suspends, stops or ended): parked sites keep
    /// their waits. Before that, a parked site dropped belongs to a branch a construct let go.
    pub(crate) ending: bool,
}

/// The step last replayed or finished.
#[derive(Debug)]
pub(crate) enum LastStep {
    /// Its entry's position in the state (positions do not move during a run).
    At(usize),
    /// Its key (a step started, not recorded yet).
    Key(Cow<'static, str>),
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
    /// The run is cancelled and reached a site that would execute or wait.
    Cancelled,
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

/// A future that never completes: what a stand-in for a mistaken site awaits (its error is already
/// reported, so it never runs).
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
                lanes: 1,
                ..RunProgress::default()
            })),
            scope: None,
        }
    }

    /// A context for the sites of `branch` of the construct recorded under `construct_key`: they
    /// record under this scope's prefix and count their own occurrences.
    pub(crate) fn scoped(&self, construct_key: &str, branch: &dyn std::fmt::Display) -> Self {
        Self {
            description: self.description,
            run: Arc::clone(&self.run),
            scope: Some(Arc::new(Scope::new(
                self.scope.as_deref(),
                construct_key,
                branch,
            ))),
        }
    }

    /// A context for a scope whose prefix is built already.
    pub(crate) fn with_scope(&self, prefix: String) -> Self {
        Self {
            description: self.description,
            run: Arc::clone(&self.run),
            scope: Some(Arc::new(Scope::with_prefix(prefix))),
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
        run.lanes = 1;
        run.parked.clear();
        run.writes = Writes::default();
        run.last_step = None;
        run.compensations.clear();
        run.ending = false;
        run.cancelled = run
            .state
            .get(CANCEL_KEY)
            .and_then(StepEntry::value_json)
            .map(|value| serde_json::from_str(value).unwrap_or_default());
    }

    /// The stop a site reported, if any (a suspension only counts once the body is blocked).
    pub(crate) fn take_stop(&self) -> Option<Halt> {
        let mut run = self.lock();
        match run.halt.take() {
            stop @ Some(Halt::Stopped(_) | Halt::Cancelled) => stop,
            other => {
                run.halt = other;
                None
            }
        }
    }

    pub(crate) fn take_state(&self) -> ResumeState {
        std::mem::take(&mut self.lock().state)
    }

    /// Starts the step at site `site`: replay it, or hand out the ticket to execute it.
    #[must_use]
    pub fn begin_step<T: StepValue, E: StepValue>(
        &self,
        site: usize,
        item: Option<&dyn std::fmt::Display>,
        failures: RecordedFailures,
    ) -> StepStart<T, E> {
        let mut run = self.lock();
        let owned = run.next_step_key(self.description, self.scope.as_deref(), site, item);
        // A key built in the buffer: borrowed from it while the step starts, then given back.
        let buffer = if owned.is_none() {
            std::mem::take(&mut run.key_buffer)
        } else {
            String::new()
        };
        let start = run.start_step(owned, &buffer, failures);
        if !buffer.is_empty() {
            run.key_buffer = buffer;
        }
        start
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
            let (position, _) = run.state.insert_full(&ticket.key, entry);
            run.last_step = Some(LastStep::At(position));
            return Checkpoint(None, true);
        };
        let (position, _) = run.state.insert_full(&ticket.key, entry.clone());
        run.last_step = Some(LastStep::At(position));
        Checkpoint(Some((journal, ticket.key, entry)), true)
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

    /// [`Context::begin_step`] once the key is known: `owned`, or `buffered` when `None`.
    fn start_step<T: StepValue, E: StepValue>(
        &mut self,
        owned: Option<Cow<'static, str>>,
        buffered: &str,
        failures: RecordedFailures,
    ) -> StepStart<T, E> {
        let key: &str = owned.as_deref().unwrap_or(buffered);
        let position = match std::mem::take(&mut self.found) {
            Lookup::Found(position) => position,
            Lookup::NotLooked => self.state.position(key),
        };
        let entry = position
            .map(|position| self.state.entry_at(position))
            .filter(|entry| {
                // A failure recorded by an earlier run is executed again when the step asks for it.
                failures == RecordedFailures::Replay
                    || entry.is_ok()
                    || entry.pending_hook().is_some()
            });
        let Some(entry) = entry else {
            if self.cancelled.is_some() {
                self.halt = Some(Halt::Cancelled);
                return StepStart::Halt;
            }
            let key = owned.unwrap_or_else(|| Cow::Owned(buffered.to_owned()));
            self.last_step = Some(LastStep::Key(key.clone()));
            self.emit(|| Event::StepStarted {
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
            Err(mismatch(key, SiteKind::CreatedHook, SiteKind::Step))
        } else if entry.pending_hook().is_some() {
            Err(mismatch(key, SiteKind::HookById, SiteKind::Step))
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
                // Replayed, so it has an entry.
                self.last_step = position.map(LastStep::At);
                self.emit(|| Event::StepReplayed {
                    key: key.to_string(),
                    ok: outcome.is_ok(),
                });
                StepStart::Replayed(outcome)
            }
            Err(error) => {
                self.halt = Some(Halt::Stopped(error));
                StepStart::Halt
            }
        }
    }

    /// The key of the step last replayed or finished.
    pub(crate) fn last_step_key(&self) -> Option<String> {
        match self.last_step.as_ref()? {
            LastStep::At(position) => Some(self.state.key_at(*position).to_owned()),
            LastStep::Key(key) => Some(key.to_string()),
        }
    }

    /// [`next_key`](Self::next_key) for a step: a per-item key outside any scope is built in
    /// `key_buffer` (returns `None`) unless it needs an occurrence suffix.
    fn next_step_key(
        &mut self,
        description: &WorkflowDescription,
        scope: Option<&Scope>,
        site: usize,
        item: Option<&dyn std::fmt::Display>,
    ) -> Option<Cow<'static, str>> {
        if let (Some(scope), None) = (scope, item) {
            // A site in a branch or a fan-out item: `prefix` + label (+ `#n`) in the buffer too.
            self.found = Lookup::NotLooked;
            let mut buffer = std::mem::take(&mut self.key_buffer);
            buffer.clear();
            push_scoped_key(
                &mut buffer,
                &scope.prefix,
                description.sites[site].key,
                scope.occurrence(site),
            );
            self.key_buffer = buffer;
            return None;
        }
        let (None, Some(item)) = (scope, item) else {
            return Some(self.next_key(description, scope, site, item));
        };
        self.found = Lookup::NotLooked;
        let mut buffer = std::mem::take(&mut self.key_buffer);
        buffer.clear();
        crate::key::push_item_key(&mut buffer, description.sites[site].key, item);
        let repeated = self.next_repeated_key(&buffer);
        self.key_buffer = buffer;
        repeated.map(Cow::Owned)
    }

    /// The key of the next execution of `site`: its static key or `label[item]`, plus an
    /// occurrence suffix from the second execution in this run on.
    pub(crate) fn next_key(
        &mut self,
        description: &WorkflowDescription,
        scope: Option<&Scope>,
        site: usize,
        item: Option<&dyn std::fmt::Display>,
    ) -> Cow<'static, str> {
        self.found = Lookup::NotLooked;
        let label = description.sites[site].key;
        if let Some(scope) = scope {
            return Cow::Owned(match item {
                None => scoped_key(&scope.prefix, label, scope.occurrence(site)),
                Some(item) => {
                    let mut base = scope.prefix.clone();
                    crate::key::push_item_key(&mut base, label, item);
                    self.next_item_key(base)
                }
            });
        }
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
            Some(item) => Cow::Owned(self.next_item_key(item_key(label, item))),
        }
    }

    /// The key of the next execution of a per-item site whose key is `base`: `base`, or for a
    /// repeated item the first of `base#2`, `base#3`, … not reached yet (occurrences are reached
    /// in order).
    fn next_item_key(&mut self, base: String) -> String {
        self.next_repeated_key(&base).unwrap_or(base)
    }

    /// [`next_item_key`](Self::next_item_key) without owning `base`: `None` when `base` is the key.
    fn next_repeated_key(&mut self, base: &str) -> Option<String> {
        if !self.reach(base) {
            return None;
        }
        let mut occurrence = 2;
        loop {
            let key = with_occurrence(base, occurrence);
            if !self.reach(&key) {
                return Some(key);
            }
            occurrence += 1;
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

/// `prefix` + `label`, with an occurrence suffix from the second execution on, built in one
/// allocation (it is made once per site execution in a scope).
fn scoped_key(prefix: &str, label: &str, occurrence: u32) -> String {
    let mut key = String::with_capacity(prefix.len() + label.len() + 4);
    push_scoped_key(&mut key, prefix, label, occurrence);
    key
}

/// Appends [`scoped_key`]`(prefix, label, occurrence)` to `out`.
fn push_scoped_key(out: &mut String, prefix: &str, label: &str, occurrence: u32) {
    out.push_str(prefix);
    out.push_str(label);
    if occurrence > 1 {
        use std::fmt::Write as _;
        // Writing into a String cannot fail.
        let _ = write!(out, "{}{occurrence}", crate::key::OCCURRENCE_SEPARATOR);
    }
}
