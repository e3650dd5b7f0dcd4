//! Why a store operation failed.

use std::error::Error;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A store operation failed.
///
/// Errors compare by kind and message: a [`StoreError::Backend`] compares its [`Cause`] by the
/// cause's message (see [`Cause`]).
///
/// ```
/// let error = awaitly::store::StoreError::Conflict { run_id: "r".into(), expected: 3 };
/// assert!(error.to_string().contains("revision 3"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The run's revision is not the one the save expected: another executor saved in between,
    /// so this one's writes are rejected (it is fenced out).
    #[error(
        "run `{run_id}` is no longer at revision {expected}: another executor advanced it; reload the run instead of writing"
    )]
    Conflict {
        /// The run.
        run_id: String,
        /// The revision the writer expected.
        expected: u64,
    },
    /// Another executor holds a live lease on the run: it is advancing it right now. Nothing was
    /// written; wait for its lease to be released or to expire.
    #[error(
        "run `{run_id}` is being advanced by executor `{owner}` (its lease is live): nothing was written; try again once it is released or expired"
    )]
    Leased {
        /// The run.
        run_id: String,
        /// The executor holding the lease.
        owner: String,
    },
    /// No run has this id.
    #[error("no run `{run_id}` in the store")]
    UnknownRun {
        /// The run asked for.
        run_id: String,
    },
    /// The hook id already belongs to another run.
    #[error(
        "hook `{hook_id}` already belongs to run `{owner}`; hook ids must be unique across runs"
    )]
    HookOwnedElsewhere {
        /// The hook.
        hook_id: String,
        /// The run that owns it.
        owner: String,
    },
    /// Something stored cannot be read back (edited by hand, or written by a newer version).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The database (or its driver) failed.
    ///
    /// `message` says what failed (it is what the error displays, so one line tells the whole
    /// story); `source` is the driver's own error when there is one (`rusqlite::Error`,
    /// `tokio_postgres::Error`, a pool error, …), which
    /// [`Error::source`](std::error::Error::source) returns for inspection:
    ///
    /// ```
    /// use std::error::Error as _;
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "read-only file");
    /// let error = awaitly::store::StoreError::from_backend(io);
    /// assert_eq!(error.to_string(), "the store's database failed: read-only file");
    /// let source = error.source().and_then(|source| source.downcast_ref::<std::io::Error>());
    /// assert_eq!(source.map(std::io::Error::kind), Some(std::io::ErrorKind::PermissionDenied));
    /// ```
    #[error("the store's database failed: {message}")]
    Backend {
        /// What failed.
        message: String,
        /// The driver's error, if the failure came with one.
        #[source]
        source: Option<Cause>,
    },
}

impl StoreError {
    /// A [`StoreError::Backend`] with a message and no underlying error (for a failure the store
    /// detects itself). When the driver returned an error, use [`StoreError::from_backend`], which
    /// keeps it as the [`source`](std::error::Error::source).
    ///
    /// ```
    /// use std::error::Error as _;
    ///
    /// let error = awaitly::store::StoreError::backend("the run just inserted is missing");
    /// assert_eq!(error.to_string(), "the store's database failed: the run just inserted is missing");
    /// assert!(error.source().is_none());
    /// ```
    pub fn backend(message: impl fmt::Display) -> Self {
        Self::Backend {
            message: message.to_string(),
            source: None,
        }
    }

    /// A [`StoreError::Backend`] from the driver's error, kept as the
    /// [`source`](std::error::Error::source) (its message is the error's message).
    ///
    /// ```
    /// use std::error::Error as _;
    ///
    /// let io = std::io::Error::other("disk I/O error");
    /// let error = awaitly::store::StoreError::from_backend(io);
    /// assert_eq!(error.to_string(), "the store's database failed: disk I/O error");
    /// assert!(error.source().is_some_and(|source| source.is::<std::io::Error>()));
    /// ```
    pub fn from_backend(error: impl Error + Send + Sync + 'static) -> Self {
        Self::Backend {
            message: error.to_string(),
            source: Some(Cause::new(error)),
        }
    }

    /// A [`StoreError::Corrupt`] from any displayable error.
    ///
    /// ```
    /// assert!(awaitly::store::StoreError::corrupt("bad json").to_string().contains("bad json"));
    /// ```
    pub fn corrupt(error: impl std::fmt::Display) -> Self {
        Self::Corrupt(error.to_string())
    }
}

/// The error underneath a [`StoreError`] or an engine error (`awaitly::durable::EngineError`):
/// the driver's or decoder's own error, kept so that callers can inspect it.
///
/// The error that holds a cause returns the underlying error itself from
/// [`Error::source`](std::error::Error::source) (a `Cause` is deliberately not an `Error` of its
/// own), so `downcast_ref::<rusqlite::Error>()` and the like work on it. Holding one keeps the
/// error `Clone` (clones share the cause) and comparable: two causes are equal when their
/// messages are, since driver errors rarely implement `PartialEq` — so errors that hold causes
/// compare by kind and message.
///
/// ```
/// use awaitly::store::Cause;
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
