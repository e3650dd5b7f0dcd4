//! Error types of the runtime. Each says what went wrong and what to do about it.

use std::error::Error;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::hook::HookId;
use crate::journal::JournalError;
use crate::site::SiteKind;

/// Why [`inject_hook`](crate::inject_hook) refused a payload.
///
/// ```
/// let error = awaitly::inject_hook(&awaitly::ResumeState::new(), &"h1".into(), &1).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "no hook `h1` is waiting in this resume state; check the hook id, or load the state of the run that created it"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InjectError {
    /// The state has no entry for this hook.
    #[error(
        "no hook `{hook_id}` is waiting in this resume state; check the hook id, or load the state of the run that created it"
    )]
    UnknownHook {
        /// The hook that was asked for.
        hook_id: HookId,
    },
    /// The hook already holds a different payload.
    #[error(
        "hook `{hook_id}` was already resolved with a different payload; a hook takes one payload, deliver to a new hook instead"
    )]
    AlreadyResolved {
        /// The resolved hook.
        hook_id: HookId,
    },
    /// The state waits for no approval under this key.
    #[error(
        "no approval `{key}` is waiting in this resume state; check the key, or load the state of the run that requested it"
    )]
    UnknownApproval {
        /// The key that was asked for.
        key: String,
    },
    /// The run was cancelled: nothing will read the payload.
    #[error("the run waiting at hook `{hook_id}` was cancelled; it takes no more payloads")]
    Cancelled {
        /// The hook.
        hook_id: HookId,
    },
    /// The approval was already decided differently.
    #[error("approval `{key}` was already decided differently; a decision is final")]
    ApprovalAlreadyDecided {
        /// The approval.
        key: String,
    },
    /// The approval's deadline has passed.
    #[error("approval `{key}` has expired; it no longer accepts decisions")]
    ApprovalExpired {
        /// The approval.
        key: String,
    },
    /// A decision's value could not be serialised to JSON.
    #[error("the value for approval `{key}` cannot be written as JSON: {source}")]
    EncodeApproval {
        /// The approval.
        key: String,
        /// What `serde_json` reported.
        source: serde_json::Error,
    },
    /// The hook's deadline has passed (or its timeout is already recorded).
    #[error("hook `{hook_id}` has expired; it no longer accepts payloads")]
    Expired {
        /// The hook that was asked for.
        hook_id: HookId,
    },
    /// The entry under the hook's key is a recorded failure, not a pending hook.
    #[error(
        "hook `{hook_id}` is recorded as failed, not pending; clear its step (`clear_step`) before delivering to it"
    )]
    NotPending {
        /// The hook that was asked for.
        hook_id: HookId,
    },
    /// The payload could not be serialised to JSON.
    #[error("the payload for hook `{hook_id}` cannot be written as JSON: {source}")]
    Encode {
        /// The hook that was asked for.
        hook_id: HookId,
        /// What `serde_json` reported.
        source: serde_json::Error,
    },
}

/// Why a run stopped without an outcome of the workflow's own: the resume state does not fit the
/// code, or a value could not be written. The state is left as it was before the run (plus the
/// steps that completed before the stop).
///
/// ```
/// let error = awaitly::RunError::DecodeValue {
///     key: "load".into(),
///     expected: "u32",
///     message: "invalid type: string \"x\"".into(),
///     source: awaitly::Cause::new(std::io::Error::other("invalid type: string \"x\"")),
/// };
/// assert!(error.to_string().starts_with("the value recorded for step `load` no longer decodes as `u32`"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The state recorded one kind of site under this key and the code reached another.
    #[error(
        "the resume state recorded a {recorded} under `{key}` but the workflow reached a {reached} there; \
         the code changed since the state was written: migrate the state or clear that key"
    )]
    KindMismatch {
        /// The key both share.
        key: String,
        /// What the state holds.
        recorded: SiteKind,
        /// What the code reached.
        reached: SiteKind,
    },
    /// A recorded success value does not decode into the step's output type.
    #[error(
        "the value recorded for step `{key}` no longer decodes as `{expected}` ({message}); \
         the step's type changed since the state was written: migrate the state or clear the step"
    )]
    DecodeValue {
        /// The step.
        key: String,
        /// The Rust type the step returns now.
        expected: &'static str,
        /// What `serde_json` reported.
        message: String,
        /// `serde_json`'s error.
        #[source]
        source: Cause,
    },
    /// A recorded failure does not decode into the step's error type.
    #[error(
        "the error recorded for step `{key}` no longer decodes as `{expected}` ({message}); \
         the step's error type changed since the state was written: clear the step to run it again"
    )]
    DecodeError {
        /// The step.
        key: String,
        /// The Rust error type the step returns now.
        expected: &'static str,
        /// What `serde_json` reported.
        message: String,
        /// `serde_json`'s error.
        #[source]
        source: Cause,
    },
    /// An injected hook payload does not decode into the type the workflow awaits.
    #[error(
        "the payload delivered to hook `{hook_id}` does not decode as `{expected}` ({message}); \
         the hook is pending again: deliver a payload of the expected shape"
    )]
    DecodePayload {
        /// The hook.
        hook_id: HookId,
        /// The Rust type `await_hook!` expects.
        expected: &'static str,
        /// What `serde_json` reported.
        message: String,
        /// `serde_json`'s error.
        #[source]
        source: Cause,
    },
    /// The entry under a hook's key is a recorded failure, not a payload or a pending hook.
    #[error(
        "hook `{hook_id}` is recorded as failed; clear its step (`clear_step`) to wait for it again"
    )]
    HookFailed {
        /// The hook.
        hook_id: HookId,
    },
    /// The run's [`Journal`](crate::Journal) could not persist a step; the step's outcome is in the
    /// returned state but not in the journal's store.
    #[error(
        "the checkpoint of step `{key}` failed ({message}); the run stopped before its next step"
    )]
    Journal {
        /// The step.
        key: String,
        /// What the journal reported.
        message: String,
        /// The journal's error.
        #[source]
        source: JournalError,
    },
    /// Two items of one `fan_out!` have the same key: their entries would be one. Nothing of the
    /// fan-out ran.
    #[error(
        "two items of fan-out `{key}` have the same key `{item}`; give each item a distinct `key = …`"
    )]
    DuplicateItemKey {
        /// The fan-out's key.
        key: String,
        /// The key both items have.
        item: String,
    },
    /// The stored state holds keys this build's workflow can never reach (checked before anything
    /// ran).
    #[error(
        "{0}; migrate the state (rename or clear those keys) or run it with the build that wrote it"
    )]
    Incompatible(Incompatibility),
    /// An `await_approval!` key that a step, created hook or sleep of the workflow also produces
    /// (or a `hook:` key): the two would read each other's entries. Nothing was read or recorded
    /// under it.
    ///
    /// ```
    /// let error = awaitly::RunError::ApprovalKeyTaken { key: "charge".into(), site: awaitly::SiteKind::Step };
    /// assert!(error.to_string().starts_with("approval key `charge` is also the key of a step"));
    /// ```
    #[error(
        "approval key `{key}` is also the key of a {site} of this workflow, so they would read each \
         other's entries; give the approval a key of its own, e.g. `format!(\"approve:{key}\")`"
    )]
    ApprovalKeyTaken {
        /// The approval's key.
        key: String,
        /// What else uses it.
        site: SiteKind,
    },
    /// Two `await_approval!` executions of one run reached the same key (typically a fixed key in a
    /// loop): the second would read the first one's decision. Nothing was read or recorded for the
    /// second.
    ///
    /// ```
    /// let error = awaitly::RunError::RepeatedApprovalKey { key: "approve".into() };
    /// assert!(error.to_string().starts_with("approval key `approve` was reached twice in this run"));
    /// ```
    #[error(
        "approval key `{key}` was reached twice in this run, so the second approval would read the \
         first one's decision; give each approval a key of its own, e.g. built from the loop item: \
         `format!(\"{key}:{{id}}\")`"
    )]
    RepeatedApprovalKey {
        /// The repeated key.
        key: String,
    },
    /// A step's output or error holds a value JSON cannot represent faithfully (a NaN or infinite
    /// float, which `serde_json` writes as `null`): recorded, it would replay as another value.
    /// Nothing was recorded; the step's outcome is lost, so it executes again on the next run.
    ///
    /// ```
    /// let error = awaitly::RunError::Unrecordable {
    ///     key: "ratio".into(),
    ///     reason: "it holds the float `NaN`, which JSON cannot represent".into(),
    /// };
    /// assert!(error.to_string().starts_with("the outcome of `ratio` cannot be recorded faithfully"));
    /// ```
    #[error(
        "the outcome of `{key}` cannot be recorded faithfully: {reason}; nothing was recorded: \
         return a value JSON holds (a finite number, `None`, a string)"
    )]
    Unrecordable {
        /// The step.
        key: String,
        /// What in the value JSON cannot hold.
        reason: String,
    },
    /// A step's output or error, or a hook's metadata, could not be serialised to JSON.
    #[error(
        "the outcome of `{key}` cannot be written as JSON ({message}); make its `Serialize` \
         produce JSON (for instance, maps need string keys)"
    )]
    Encode {
        /// The step or hook key.
        key: String,
        /// What `serde_json` reported.
        message: String,
        /// `serde_json`'s error.
        #[source]
        source: Cause,
    },
}

/// A text that is not a resume state (or not one this build can read).
///
/// ```
/// let error = awaitly::ResumeState::from_json("not json").unwrap_err();
/// assert!(error.to_string().starts_with("invalid resume state JSON"));
/// ```
#[derive(Debug, thiserror::Error)]
#[error("invalid resume state JSON: {source}")]
pub struct StateFormatError {
    #[source]
    source: serde_json::Error,
}

impl StateFormatError {
    pub(crate) fn from_json(source: serde_json::Error) -> Self {
        Self { source }
    }

    /// Line of the input where reading stopped.
    ///
    /// ```
    /// let error = awaitly::ResumeState::from_json("{\n  oops").unwrap_err();
    /// assert_eq!(error.line(), 2);
    /// ```
    #[must_use]
    pub fn line(&self) -> usize {
        self.source.line()
    }
}

/// Why a stored state does not fit this build: every key that no site of the code can reach, by
/// name.
///
/// ```
/// let problem = awaitly::Incompatibility {
///     workflow: "checkout".into(),
///     unknown_keys: vec!["charge".into()],
///     undeliverable_hooks: vec![],
/// };
/// assert_eq!(
///     problem.to_string(),
///     "the stored state of workflow `checkout` does not fit this build: recorded keys no site reaches: `charge`"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incompatibility {
    /// The workflow the state was checked against.
    pub workflow: String,
    /// Recorded keys that no site of this build produces (a removed or renamed step, a changed
    /// per-item key), in state order.
    pub unknown_keys: Vec<String>,
    /// Pending hooks no site of this build can ever receive: their runs could never finish.
    pub undeliverable_hooks: Vec<HookId>,
}

impl fmt::Display for Incompatibility {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "the stored state of workflow `{}` does not fit this build:",
            self.workflow
        )?;
        let quoted = |items: &mut dyn Iterator<Item = &str>| {
            items
                .map(|item| format!("`{item}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut separator = "";
        if !self.unknown_keys.is_empty() {
            write!(
                formatter,
                " recorded keys no site reaches: {}",
                quoted(&mut self.unknown_keys.iter().map(String::as_str))
            )?;
            separator = ";";
        }
        if !self.undeliverable_hooks.is_empty() {
            write!(
                formatter,
                "{separator} pending hooks no site awaits: {}",
                quoted(&mut self.undeliverable_hooks.iter().map(HookId::as_str))
            )?;
        }
        Ok(())
    }
}

/// The error underneath a [`RunError`] or a [`JournalError`] (and, in the `awaitly` crate, under a
/// store or engine error): the decoder's or driver's own error, kept so that callers can inspect
/// it.
///
/// The error that holds a cause returns the underlying error itself from
/// [`Error::source`](std::error::Error::source) (a `Cause` is deliberately not an `Error` of its
/// own), so `downcast_ref::<serde_json::Error>()` and the like work on it. Holding one keeps the
/// error `Clone` (clones share the cause) and comparable: two causes are equal when their
/// messages are, since most errors do not implement `PartialEq` — so errors that hold causes
/// compare by kind and message.
///
/// ```
/// use awaitly::Cause;
///
/// let cause = Cause::new(std::io::Error::other("disk full"));
/// assert_eq!(cause.to_string(), "disk full");
/// assert!(cause.is::<std::io::Error>());
/// // Compared by message: the same message from another error type is an equal cause.
/// let same_message = Cause::new(std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full"));
/// assert_eq!(cause, same_message);
/// ```
#[derive(Clone)]
pub struct Cause(Arc<dyn Error + Send + Sync>);

impl Cause {
    /// Keeps `error` as a cause.
    pub fn new(error: impl Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }

    /// The underlying error.
    #[must_use]
    pub fn get_ref(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.0
    }
}

/// The underlying error, so that `cause.is::<T>()`, `cause.downcast_ref::<T>()` and the error
/// that holds it (its `source()`) reach the underlying error directly.
impl Deref for Cause {
    type Target = dyn Error + Send + Sync + 'static;

    fn deref(&self) -> &Self::Target {
        self.get_ref()
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, formatter)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, formatter)
    }
}

/// By message: see the type's documentation.
impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for Cause {}
