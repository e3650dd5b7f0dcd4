//! Why a store operation failed.

/// A store operation failed.
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
    #[error("the store's database failed: {0}")]
    Backend(String),
}

impl StoreError {
    /// A [`StoreError::Backend`] from any displayable error.
    ///
    /// ```
    /// let error = awaitly::store::StoreError::backend("disk I/O error");
    /// assert_eq!(error.to_string(), "the store's database failed: disk I/O error");
    /// ```
    pub fn backend(error: impl std::fmt::Display) -> Self {
        Self::Backend(error.to_string())
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
