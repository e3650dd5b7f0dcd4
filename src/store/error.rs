//! Why a store operation failed.

use std::error::Error;
use std::fmt;

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
/// the runtime's [`awaitly::Cause`](crate::Cause), the one type every awaitly error uses to keep
/// its underlying error.
pub use awaitly_runtime::Cause;
