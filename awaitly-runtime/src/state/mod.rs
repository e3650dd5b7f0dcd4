//! The resume state: every recorded step outcome of a run, by key, in the order they were recorded.

use std::fmt;
use std::hash::BuildHasher as _;
use std::sync::Arc;

use hashbrown::HashTable;

/// Step keys are short strings hashed on every step: foldhash (per-process random seed) instead of
/// `SipHash`.
type KeyHasher = foldhash::fast::RandomState;

use crate::clock::{Clock, SystemClock};
use crate::entry::StepEntry;
use crate::error::StateFormatError;
use crate::site::WorkflowStamp;
use crate::surrogate;

mod chunk;
mod json;

use chunk::{CHUNK, CHUNK_SHIFT, Chunk, Entries, Index, key_of};

/// Recorded step outcomes by key, in recording order. What a suspended run needs to resume.
///
/// Its JSON form is awaitly's `{"kind":"ResumeState","steps":[[key, result], …]}` plus a
/// `"version"` field (see [`KEY_RECIPE_VERSION`](crate::KEY_RECIPE_VERSION)), so states can be exchanged with the TypeScript
/// library in both directions.
///
/// ```
/// use awaitly::{ResumeState, StepEntry};
/// let mut state = ResumeState::new();
/// state.insert("create-order", StepEntry::ok(&serde_json::json!({ "id": "ord_1" })).unwrap());
/// let json = state.to_json();
/// assert_eq!(
///     json,
///     r#"{"kind":"ResumeState","version":1,"steps":[["create-order",{"ok":true,"value":{"id":"ord_1"}}]]}"#
/// );
/// let back = ResumeState::from_json(&json).unwrap();
/// assert_eq!(back.len(), 1);
/// ```
///
/// # Time
///
/// Deliveries and decisions ([`inject_hook`](Self::inject_hook),
/// [`grant_approval`](Self::grant_approval), [`edit_approval`](Self::edit_approval),
/// [`reject_approval`](Self::reject_approval), [`inject_approval`](crate::inject_approval)) check
/// deadlines against the state's [`clock`](Self::clock): the clock of the run that returned the
/// state ([`Workflow::clock`](crate::Workflow::clock), [`SystemClock`] by default), so a test that
/// runs with a [`ManualClock`](crate::ManualClock) decides on that clock without a special call. A
/// state read from JSON or built by hand reads the [`SystemClock`] until
/// [`with_clock`](Self::with_clock) says otherwise. [`inject_hook_at`](Self::inject_hook_at) and
/// [`decide_approval`](Self::decide_approval) take the time explicitly (what the durable engine
/// does with its own clock). The clock is not part of the JSON form.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use awaitly::{InjectError, ManualClock, await_hook, workflow};
///
/// #[workflow]
/// async fn pay() -> Result<u32, String> {
///     let paid: Result<u32, awaitly::HookTimeout> = await_hook!("pay", timeout = Duration::from_secs(60));
///     paid.map_err(|timeout| timeout.to_string())
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let clock = Arc::new(ManualClock::new(0));
/// let run = pay().clock(clock.clone()).start().await;
/// let hook_id = run.outcome.pending_hook().unwrap().hook_id.clone();
/// clock.advance(Duration::from_secs(60));
/// let mut state = run.state;
/// assert!(matches!(state.inject_hook(&hook_id, &7), Err(InjectError::Expired { .. })));
/// # });
/// ```
#[derive(Clone, Default)]
pub struct ResumeState {
    /// The entries in recording order, in chunks of [`CHUNK`]. Both levels are shared by
    /// clones (copy on write): cloning a state is O(1), replacing one entry of a shared state copies
    /// the list of chunks (one pointer per [`CHUNK`] entries) and the one chunk it lands in, and
    /// the index is copied only when a key is added or removed. This is what keeps the immutable
    /// [`inject_hook`](crate::inject_hook) from copying every entry of a long run.
    chunks: Arc<Vec<Arc<Chunk>>>,
    len: usize,
    /// Positions of entries, found by the hash of their key: each key is stored once.
    index: Arc<Index>,
    workflow: Option<WorkflowStamp>,
    /// The clock deliveries and decisions read; `None`: the system clock.
    clock: Option<Arc<dyn Clock>>,
}

impl ResumeState {
    /// An empty state: a run from it executes every step.
    ///
    /// ```
    /// assert!(awaitly::ResumeState::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels the run this state belongs to: its next run stops at the first site that would
    /// execute or wait, runs its compensations and ends
    /// [`Outcome::Cancelled`](crate::Outcome::Cancelled). Recorded under [`CANCEL_KEY`](crate::CANCEL_KEY);
    /// a state cancelled already keeps its first reason.
    ///
    /// ```
    /// use awaitly::{Outcome, await_hook, step, workflow};
    ///
    /// #[workflow]
    /// async fn order() -> Result<String, String> {
    ///     step!("reserve", Ok::<u8, String>(1))?;
    ///     let paid: String = await_hook!("payment");
    ///     Ok(paid)
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let run = order().start().await;
    /// let mut state = run.state;
    /// state.cancel("customer left");
    /// let cancelled = order().run(state).await;
    /// assert!(matches!(cancelled.outcome, Outcome::Cancelled(ref why) if why.reason.as_deref() == Some("customer left")));
    /// # });
    /// ```
    pub fn cancel(&mut self, reason: impl Into<String>) {
        if self.contains_key(crate::cancel::CANCEL_KEY) {
            return;
        }
        if let Ok(entry) = StepEntry::ok(&crate::cancel::Cancellation::new(reason)) {
            self.insert(crate::cancel::CANCEL_KEY, entry);
        }
    }

    /// Which workflow (and which shape of it) last ran this state; `None` for a state no run has
    /// touched (or one written by awaitly).
    ///
    /// ```
    /// assert!(awaitly::ResumeState::new().workflow().is_none());
    /// ```
    #[must_use]
    pub fn workflow(&self) -> Option<&WorkflowStamp> {
        self.workflow.as_ref()
    }

    pub(crate) fn set_workflow(&mut self, stamp: WorkflowStamp) {
        self.workflow = Some(stamp);
    }

    /// The clock [`inject_hook`](Self::inject_hook) and the approval decisions compare deadlines
    /// against: the one of the run that returned this state, or one set with
    /// [`with_clock`](Self::with_clock); [`SystemClock`] otherwise (see [Time](Self#time)).
    ///
    /// ```
    /// let state = awaitly::ResumeState::new().with_clock(std::sync::Arc::new(awaitly::ManualClock::new(5)));
    /// assert_eq!(state.clock().now_ms(), 5);
    /// assert!(awaitly::ResumeState::new().clock().now_ms() > 1_700_000_000_000);
    /// ```
    #[must_use]
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_deref().unwrap_or(&SystemClock)
    }

    /// This state, deciding and delivering on `clock` from now on (e.g. a state read from JSON in
    /// a test that runs on a [`ManualClock`](crate::ManualClock)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use awaitly::{InjectError, ManualClock, PendingHookOptions, ResumeState, StepEntry, pending_hook};
    ///
    /// let options = PendingHookOptions { deadline_ms: Some(1_000), ..Default::default() };
    /// let json = ResumeState::new().to_json(); // e.g. loaded from a store
    /// let mut state = ResumeState::from_json(&json).unwrap().with_clock(Arc::new(ManualClock::new(1_000)));
    /// state.insert("hook:h1", StepEntry::pending(&pending_hook("h1".into(), options)));
    /// assert!(matches!(state.inject_hook(&"h1".into(), &1), Err(InjectError::Expired { .. })));
    /// ```
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    pub(crate) fn set_clock(&mut self, clock: Option<Arc<dyn Clock>>) {
        self.clock = clock;
    }

    /// The number of recorded entries.
    ///
    /// ```
    /// assert_eq!(awaitly::ResumeState::new().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Is nothing recorded?
    ///
    /// ```
    /// assert!(awaitly::ResumeState::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry recorded under `key`.
    ///
    /// ```
    /// let mut state = awaitly::ResumeState::new();
    /// state.insert("a", awaitly::StepEntry::ok(&1).unwrap());
    /// assert!(state.get("a").is_some());
    /// assert!(state.get("b").is_none());
    /// ```
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&StepEntry> {
        self.position(key).map(|position| self.entry_at(position))
    }

    /// The entry at `position` in recording order.
    pub(crate) fn entry_at(&self, position: usize) -> &StepEntry {
        &self.chunks[position >> CHUNK_SHIFT].entries[position & (CHUNK - 1)].1
    }

    /// The key at `position` in recording order.
    pub(crate) fn key_at(&self, position: usize) -> &str {
        key_of(&self.chunks, position)
    }

    /// Where `key` stands in recording order.
    pub(crate) fn position(&self, key: &str) -> Option<usize> {
        let hash = self.index.hasher.hash_one(key);
        let chunks = &**self.chunks;
        self.index
            .table
            .find(hash, |&position| key_of(chunks, position as usize) == key)
            .map(|&position| position as usize)
    }

    /// The entries in recording order.
    fn entries(&self) -> Entries<'_> {
        Entries {
            chunks: self.chunks.iter(),
            current: None,
            at: 0,
            remaining: self.len,
        }
    }

    /// Is an entry recorded under `key`?
    ///
    /// ```
    /// assert!(!awaitly::ResumeState::new().contains_key("a"));
    /// ```
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Records `entry` under `key`: an existing entry is replaced where it stands, a new one is
    /// appended. Returns the entry it replaced.
    ///
    /// ```
    /// let mut state = awaitly::ResumeState::new();
    /// assert!(state.insert("a", awaitly::StepEntry::ok(&1).unwrap()).is_none());
    /// assert!(state.insert("a", awaitly::StepEntry::ok(&2).unwrap()).is_some());
    /// assert_eq!(state.len(), 1);
    /// ```
    ///
    /// # Panics
    ///
    /// If the state would hold more than 2³² entries (positions are 32-bit to keep the index small).
    // The key is copied into the chunk's key string; the owned bound is kept so callers' code stays
    // as it was (`Into<Box<str>>` was the storage of keys before chunks).
    #[allow(clippy::needless_pass_by_value)]
    pub fn insert(
        &mut self,
        key: impl AsRef<str> + Into<Box<str>>,
        entry: StepEntry,
    ) -> Option<StepEntry> {
        self.insert_full(key.as_ref(), entry).1
    }

    /// [`insert`](Self::insert), also returning where the entry stands.
    pub(crate) fn insert_full(
        &mut self,
        key: &str,
        entry: StepEntry,
    ) -> (usize, Option<StepEntry>) {
        let hash = self.index.hasher.hash_one(key);
        let chunks = &**self.chunks;
        if let Some(&position) = self
            .index
            .table
            .find(hash, |&position| key_of(chunks, position as usize) == key)
        {
            let position = position as usize;
            let chunk = &mut Arc::make_mut(&mut self.chunks)[position >> CHUNK_SHIFT];
            let replaced = std::mem::replace(
                &mut Arc::make_mut(chunk).entries[position & (CHUNK - 1)].1,
                entry,
            );
            return (position, Some(replaced));
        }
        let position = u32::try_from(self.len).expect("fewer than 2^32 steps");
        let chunks = Arc::make_mut(&mut self.chunks);
        let index = Arc::make_mut(&mut self.index);
        let hasher = &index.hasher;
        index.table.insert_unique(hash, position, |&position| {
            hasher.hash_one(key_of(chunks, position as usize))
        });
        match chunks.last_mut() {
            Some(last) if last.len() < CHUNK => Arc::make_mut(last).push(key, entry),
            _ => {
                let mut chunk = Chunk::with_capacity(CHUNK);
                chunk.push(key, entry);
                chunks.push(Arc::new(chunk));
            }
        }
        self.len += 1;
        (position as usize, None)
    }

    /// Removes the entry under `key` (the order of the others is kept) and returns it.
    ///
    /// ```
    /// let mut state = awaitly::ResumeState::new();
    /// state.insert("a", awaitly::StepEntry::ok(&1).unwrap());
    /// assert!(state.remove("a").is_some());
    /// assert!(state.is_empty());
    /// ```
    pub fn remove(&mut self, key: &str) -> Option<StepEntry> {
        let position = self.position(key)?;
        // Rare (clearing a step): rebuild the chunks and the index without it.
        let mut entries: Vec<(String, StepEntry)> = Vec::with_capacity(self.len);
        for chunk in std::mem::take(Arc::make_mut(&mut self.chunks)) {
            let chunk = Arc::unwrap_or_clone(chunk);
            for at in 0..chunk.len() {
                entries.push((chunk.key(at).to_owned(), chunk.entries[at].1.clone()));
            }
        }
        let (_, removed) = entries.remove(position);
        let mut rebuilt = Self {
            index: Arc::new(Index {
                table: HashTable::with_capacity(entries.len()),
                hasher: self.index.hasher,
            }),
            ..Self::default()
        };
        for (key, entry) in entries {
            rebuilt.insert(key, entry);
        }
        self.chunks = rebuilt.chunks;
        self.index = rebuilt.index;
        self.len = rebuilt.len;
        Some(removed)
    }

    /// Entries in recording order.
    ///
    /// ```
    /// let mut state = awaitly::ResumeState::new();
    /// state.insert("b", awaitly::StepEntry::ok(&1).unwrap());
    /// state.insert("a", awaitly::StepEntry::ok(&2).unwrap());
    /// let keys: Vec<&str> = state.iter().map(|(key, _)| key).collect();
    /// assert_eq!(keys, ["b", "a"]);
    /// ```
    #[must_use]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &StepEntry)> + '_ {
        self.entries()
    }

    /// The keys, in recording order.
    ///
    /// ```
    /// let mut state = awaitly::ResumeState::new();
    /// state.insert("a", awaitly::StepEntry::ok(&1).unwrap());
    /// assert_eq!(state.keys().collect::<Vec<_>>(), ["a"]);
    /// ```
    #[must_use]
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries().map(|(key, _)| key)
    }

    /// The JSON form (awaitly-compatible, plus `"version"`).
    ///
    /// Lone surrogates read by [`from_json`](Self::from_json) are written back as the escapes
    /// they were read from (`"\ud83d"`); other serialisers write their private form (see
    /// [`from_json`](Self::from_json)). Hand awaitly this text.
    ///
    /// ```
    /// assert_eq!(
    ///     awaitly::ResumeState::new().to_json(),
    ///     r#"{"kind":"ResumeState","version":1,"steps":[]}"#
    /// );
    /// ```
    #[must_use]
    pub fn to_json(&self) -> String {
        // Every entry already holds valid JSON, so writing the state cannot fail.
        surrogate::decode(serde_json::to_string(self).unwrap_or_default())
    }

    /// [`to_json`](Self::to_json), indented by two spaces (as `JSON.stringify(state, null, 2)`).
    ///
    /// ```
    /// let state = awaitly::ResumeState::from_json(
    ///     r#"{"kind":"ResumeState","steps":[["a",{"ok":true,"value":1}]]}"#,
    /// ).unwrap();
    /// assert!(state.to_json_pretty().starts_with("{\n  \"kind\": \"ResumeState\""));
    /// ```
    #[must_use]
    pub fn to_json_pretty(&self) -> String {
        surrogate::decode(serde_json::to_string_pretty(self).unwrap_or_default())
    }

    /// Reads a state from its JSON form — ours or one written by awaitly's `serializeResumeState`.
    ///
    /// ```
    /// let state = awaitly::ResumeState::from_json(
    ///     r#"{"kind":"ResumeState","steps":[["op:1",{"ok":true,"value":999}]]}"#,
    /// ).unwrap();
    /// assert_eq!(state.get("op:1").unwrap().value_json(), Some("999"));
    ///
    /// let error = awaitly::ResumeState::from_json(r#"{"steps":{}}"#).unwrap_err();
    /// assert!(error.to_string().contains("not a resume state"), "{error}");
    /// ```
    ///
    /// A lone surrogate (`JSON.stringify` writes a string cut inside an emoji as `"\ud83d"`) is
    /// accepted anywhere — key, value, error, cause, metadata — and [`to_json`](Self::to_json)
    /// writes it back unchanged. A Rust `String` cannot hold it: in between, the state holds it as
    /// two private-use characters, `U+F0800` then `U+F0000 + (unit − 0xD800)`, which is what code
    /// reading that text (an error message, a hook's metadata, a value decoded as `String`) sees.
    ///
    /// ```
    /// let text = r#"{"kind":"ResumeState","steps":[["cut\ud83d",{"ok":false,"error":{"message":"\ud83d"},"cause":{"type":"thrown","originalType":"undefined","stringRepresentation":"undefined"}}]]}"#;
    /// let state = awaitly::ResumeState::from_json(text).unwrap();
    /// assert_eq!(state.len(), 1);
    /// assert!(state.to_json().contains(r#"["cut\ud83d",{"ok":false,"error":{"message":"\ud83d"}"#));
    /// ```
    ///
    /// # Errors
    ///
    /// [`StateFormatError`] when the text is not JSON, is not a resume state, repeats a key, or
    /// comes from a newer key recipe.
    pub fn from_json(json: &str) -> Result<Self, StateFormatError> {
        let json = surrogate::encode(json);
        // An entry takes at least ~28 bytes (`["a",{"ok":true,"value":1}]`): room for the entries
        // the text can hold at ~48 bytes each saves growing the index step by step.
        let visitor = json::StateVisitor {
            capacity: json.len() / 48,
        };
        let mut deserializer = serde_json::Deserializer::from_str(&json);
        serde::Deserializer::deserialize_map(&mut deserializer, visitor)
            .and_then(|state| deserializer.end().map(|()| state))
            .map_err(StateFormatError::from_json)
    }
}

impl fmt::Debug for ResumeState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_map().entries(self.iter()).finish()
    }
}

/// Returns a new state without the entry under `key`, so the step runs again on the next run (the
/// way to retry a recorded failure, or to ask an approval again).
///
/// The label of a hook created inside the workflow (`await_hook!("label")`) records the hook's id;
/// clearing it makes the next run create a **new** hook, so the old hook's `hook:<id>` entry
/// (pending, delivered or timed out) is cleared with it: left behind, it would belong to no site
/// and the state would no longer fit the workflow ([`RunError::Incompatible`](crate::RunError)).
/// To wait for the **same** hook again (its id is in a callback URL already), clear
/// `hook:<id>` instead and keep the label.
///
/// ```
/// let mut state = awaitly::ResumeState::new();
/// state.insert("charge", awaitly::StepEntry::err(&"GATEWAY_DOWN").unwrap());
/// let cleared = awaitly::clear_step(&state, "charge");
/// assert!(cleared.is_empty());
/// assert_eq!(state.len(), 1, "the input state is untouched");
/// ```
#[must_use]
pub fn clear_step(state: &ResumeState, key: &str) -> ResumeState {
    let mut next = state.clone();
    if let Some(hook_id) = next
        .remove(key)
        .as_ref()
        .and_then(StepEntry::created_hook_id)
    {
        next.remove(&crate::hook::hook_step_key(hook_id));
    }
    next
}

/// Returns a new state without any recorded failure, so every failed step runs again; pending hooks
/// stay (they are waiting, not failed).
///
/// ```
/// use awaitly::{ResumeState, StepEntry, pending_hook};
/// let mut state = ResumeState::new();
/// state.insert("load", StepEntry::ok(&1).unwrap());
/// state.insert("charge", StepEntry::err(&"GATEWAY_DOWN").unwrap());
/// state.insert("hook:h1", StepEntry::pending(&pending_hook("h1".into(), Default::default())));
/// let retried = awaitly::clear_failed_steps(&state);
/// assert_eq!(retried.keys().collect::<Vec<_>>(), ["load", "hook:h1"]);
/// ```
#[must_use]
pub fn clear_failed_steps(state: &ResumeState) -> ResumeState {
    let mut next = ResumeState::new();
    next.workflow.clone_from(&state.workflow);
    next.clock.clone_from(&state.clock);
    for (key, entry) in state.entries() {
        if entry.is_ok() || crate::is_pending_hook(entry) {
            next.insert(key, entry.clone());
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn state_of(n: u32) -> ResumeState {
        let mut state = ResumeState::new();
        for i in 0..n {
            state.insert(format!("step[{i}]"), StepEntry::ok(&i).unwrap());
        }
        state
    }

    #[test]
    fn a_clone_shares_until_written_and_writes_stay_in_the_copy() {
        let original = state_of(100);
        let before = original.to_json();
        let mut copy = original.clone();
        assert!(
            copy.insert("step[50]", StepEntry::ok(&"x").unwrap())
                .is_some()
        );
        copy.insert("step[100]", StepEntry::ok(&100).unwrap());
        assert_eq!(original.to_json(), before, "the original is untouched");
        assert_eq!(copy.len(), 101);
        assert_eq!(copy.get("step[50]").unwrap().value_json(), Some(r#""x""#));
        assert_eq!(copy.get("step[100]").unwrap().value_json(), Some("100"));
        assert_eq!(original.get("step[50]").unwrap().value_json(), Some("50"));
        assert!(original.get("step[100]").is_none());
    }

    #[test]
    fn entries_keep_their_order_and_keys_across_chunks() {
        let mut state = state_of(70);
        let keys: Vec<String> = (0..70).map(|i| format!("step[{i}]")).collect();
        assert_eq!(state.keys().collect::<Vec<_>>(), keys);
        assert_eq!(state.iter().len(), 70);
        assert!(state.remove("step[33]").is_some());
        let mut expected = keys.clone();
        expected.remove(33);
        assert_eq!(state.keys().collect::<Vec<_>>(), expected);
        for (position, key) in expected.iter().enumerate() {
            assert_eq!(state.position(key), Some(position));
        }
        let back = ResumeState::from_json(&state.to_json()).unwrap();
        assert_eq!(back.to_json(), state.to_json());
        assert_eq!(back.position("step[69]"), Some(68));
    }

    #[test]
    fn a_key_repeated_in_another_chunk_is_refused() {
        let mut text = String::from(r#"{"kind":"ResumeState","steps":["#);
        for i in 0..40 {
            let _ = write!(text, r#"["k{i}",{{"ok":true,"value":1}}],"#);
        }
        text.push_str(r#"["k3",{"ok":true,"value":2}]]}"#);
        let error = ResumeState::from_json(&text).unwrap_err();
        assert!(error.to_string().contains("appears twice"), "{error}");
        let short = r#"{"kind":"ResumeState","steps":[["a"]]}"#;
        assert!(ResumeState::from_json(short).is_err());
        let long = r#"{"kind":"ResumeState","steps":[["a",{"ok":true},3]]}"#;
        assert!(ResumeState::from_json(long).is_err());
    }
}
