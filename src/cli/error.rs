//! Why the command-line tool stopped, each error saying what to do about it.

use std::path::PathBuf;

use awaitly_runtime::StateFormatError;

use crate::store::StoreError;

/// What went wrong in the `awaitly` command-line tool.
///
/// Messages quote what they were given (a run id, a path) as it is; the tool escapes control
/// characters when it prints them, and so should anything else that writes one to a terminal.
///
/// ```
/// let error = awaitly::cli::CliError::UnsupportedUrl { url: "mysql://db".into() };
/// assert!(error.to_string().contains("sqlite://PATH"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// `--store` names neither a SQLite file, a PostgreSQL database nor a state JSON file.
    #[error(
        "`{url}` is not a store URL: use sqlite://PATH, postgres://USER@HOST:PORT/DATABASE, \
         or a resume state JSON file (file://PATH or PATH.json)"
    )]
    UnsupportedUrl {
        /// The URL as given (password hidden).
        url: String,
    },
    /// The SQLite file does not exist; the tool never creates a store.
    #[error(
        "no SQLite database at `{}`: the awaitly tool only opens existing stores and never \
         creates one; check the path (sqlite://relative/path or sqlite:///absolute/path)",
        path.display()
    )]
    MissingSqliteFile {
        /// The path looked at.
        path: PathBuf,
    },
    /// The file is not a SQLite database, or holds no awaitly tables.
    #[error(
        "`{}` is not an awaitly SQLite store ({detail}); point --store at the file your \
         application opens with SqliteStore::open",
        path.display()
    )]
    NotAnAwaitlyDatabase {
        /// The file.
        path: PathBuf,
        /// What SQLite reported, or which table is missing.
        detail: String,
    },
    /// PostgreSQL did not answer within the connect timeout.
    #[error(
        "PostgreSQL at `{url}` did not answer within {seconds}s: check that the server is \
         running and reachable from here (host, port, firewall), or wait longer with \
         --connect-timeout SECONDS"
    )]
    ConnectTimeout {
        /// The URL (password hidden).
        url: String,
        /// The timeout that passed.
        seconds: u64,
    },
    /// The store could not be opened.
    #[error(
        "cannot open the store at `{url}`: {source}; check the URL, the credentials and that \
         the database server is running"
    )]
    Open {
        /// The URL (password hidden).
        url: String,
        /// What the store reported.
        source: StoreError,
    },
    /// The state file could not be read.
    #[error("cannot read `{}`: {source}; check the path and its permissions", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// What the OS reported.
        source: std::io::Error,
    },
    /// The file's text is not a resume state.
    #[error(
        "`{}` is not a resume state: {source}; pass a file written by ResumeState::to_json \
         (or awaitly's serializeResumeState)",
        path.display()
    )]
    NotAResumeState {
        /// The file.
        path: PathBuf,
        /// The decode error, with the line where reading stopped.
        source: StateFormatError,
    },
    /// No run has this id.
    #[error("no run `{run_id}` in the store; `awaitly --store URL runs` lists the run ids")]
    UnknownRun {
        /// The id asked for.
        run_id: String,
    },
    /// `--status` names no run status.
    #[error("`{status}` is not a run status: use running, suspended, completed, failed or stopped")]
    UnknownStatus {
        /// The status as given.
        status: String,
    },
    /// A mutating command was given without its confirmation flag.
    #[error(
        "nothing was deleted: deleting run `{run_id}` cannot be undone; run the same command \
         with --yes to delete it"
    )]
    ConfirmationRequired {
        /// The run that would be deleted.
        run_id: String,
    },
    /// The source cannot be changed (a state file holds one run and no store).
    #[error(
        "a resume state file is opened read-only; to drop its run, delete the file `{}` itself",
        path.display()
    )]
    ReadOnlySource {
        /// The state file.
        path: PathBuf,
    },
    /// `cancel` was given a resume state file, which has no worker to finish the run.
    #[error(
        "a resume state file is opened read-only; cancel its run in the application that runs \
         it (ResumeState::cancel, then run the workflow on the state)"
    )]
    CancelStateFile,
    /// The run cannot be cancelled: it has finished.
    #[error(
        "run `{run_id}` is {status}: only a running, suspended or stopped run can be cancelled"
    )]
    RunFinished {
        /// The run.
        run_id: String,
        /// Its status.
        status: String,
    },
    /// Another executor holds the run's lease, or changed the run meanwhile.
    #[error(
        "run `{run_id}` is being advanced by a worker right now, so nothing was recorded; retry \
         the cancel in a few seconds"
    )]
    RunBusy {
        /// The run.
        run_id: String,
    },
    /// The store failed while reading or deleting.
    #[error("the store failed: {0}; check that the database is reachable and retry")]
    Store(#[from] StoreError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl CliError {
    /// The process exit code for this error: 2 when the command itself must change (a missing
    /// confirmation flag, a wrong URL), 1 otherwise.
    ///
    /// ```
    /// let error = awaitly::cli::CliError::ConfirmationRequired { run_id: "r".into() };
    /// assert_eq!(error.exit_code(), 2);
    /// ```
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::ConfirmationRequired { .. }
            | Self::UnsupportedUrl { .. }
            | Self::UnknownStatus { .. } => 2,
            _ => 1,
        }
    }
}
