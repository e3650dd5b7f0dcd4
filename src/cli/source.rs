//! Opening `--store`: a SQLite file, a PostgreSQL database, or one resume state JSON file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use awaitly_runtime::{MaybePendingHook, ResumeState};
use rusqlite::{Connection, OpenFlags};
use url::Url;

use super::CliError;
use crate::store::{
    Changes, MemoryStore, NewRun, PostgresStore, RunOutcome, SqliteStore, Store, StoreError,
};

/// Where `--store` points, parsed but not opened yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StoreUrl {
    Sqlite(PathBuf),
    Postgres(String),
    StateFile(PathBuf),
}

impl StoreUrl {
    /// Picks the backend by the scheme prefix. The rest is deliberately not parsed as a URL:
    /// `sqlite://data/runs.db` means the relative path `data/runs.db` (a URL parser reads `data`
    /// as a host), and a PostgreSQL URL goes to the client as given, which parses it itself.
    pub(crate) fn parse(url: &str) -> Result<Self, CliError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if !path.is_empty() {
                return Ok(Self::Sqlite(PathBuf::from(path)));
            }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        } else if let Some(path) = url.strip_prefix("file://") {
            if !path.is_empty() {
                return Ok(Self::StateFile(PathBuf::from(path)));
            }
        } else if !url.contains("://")
            && Path::new(url)
                .extension()
                .is_some_and(|extension| extension.eq_ignore_ascii_case("json"))
        {
            return Ok(Self::StateFile(PathBuf::from(url)));
        }
        Err(CliError::UnsupportedUrl {
            url: redact_password(url),
        })
    }
}

/// `text` with every password in it replaced by `***`: the URL's own (`user:PASSWORD@host`) and
/// a `password=` query parameter (libpq reads one: `postgresql://db/app?password=…`).
///
/// The URL is parsed by the `url` crate, so a password holding `@`, `:` or percent-escapes is
/// found whole. Text that names a scheme but is not a valid URL (an unescaped `/` in the
/// password makes the authority end early) cannot be split safely and shows only its scheme;
/// text without a scheme (a path, a libpq `key=value` string) keeps everything but the value of
/// a `password=` word.
pub(crate) fn redact_password(text: &str) -> String {
    const HIDDEN: &str = "***";
    match Url::parse(text) {
        Ok(mut url) => {
            if url.password().is_some() {
                // Only URLs that cannot have credentials (`mailto:`) refuse a password.
                let _ = url.set_password(Some(HIDDEN));
            }
            if url.query_pairs().any(|(name, _)| name == "password") {
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(name, value)| {
                        let value = if name == "password" {
                            HIDDEN.into()
                        } else {
                            value
                        };
                        (name.into_owned(), value.into_owned())
                    })
                    .collect();
                url.query_pairs_mut().clear().extend_pairs(pairs);
            }
            url.into()
        }
        Err(_) => match text.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://{HIDDEN}"),
            None => text
                .split(' ')
                .map(|word| match word.split_once('=') {
                    Some(("password", _)) => format!("password={HIDDEN}"),
                    _ => word.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" "),
        },
    }
}

/// An opened `--store`.
pub(crate) struct Source {
    pub(crate) store: Arc<dyn Store>,
    /// The state file, when the source is one (read-only).
    pub(crate) state_file: Option<PathBuf>,
}

/// Options that shape how a source is opened.
pub(crate) struct OpenOptions<'a> {
    pub(crate) connect_timeout: Duration,
    pub(crate) postgres_schema: &'a str,
}

pub(crate) async fn open(url: &str, options: &OpenOptions<'_>) -> Result<Source, CliError> {
    let open_error = |source: StoreError| CliError::Open {
        url: redact_password(url),
        source,
    };
    match StoreUrl::parse(url)? {
        StoreUrl::Sqlite(path) => {
            check_sqlite_store(&path)?;
            let store = SqliteStore::open(&path).await.map_err(open_error)?;
            Ok(Source {
                store: Arc::new(store),
                state_file: None,
            })
        }
        StoreUrl::Postgres(postgres_url) => {
            let connecting =
                PostgresStore::connect_with_schema(&postgres_url, options.postgres_schema);
            let store = tokio::time::timeout(options.connect_timeout, connecting)
                .await
                .map_err(|_| CliError::ConnectTimeout {
                    url: redact_password(url),
                    seconds: options.connect_timeout.as_secs(),
                })?
                .map_err(open_error)?;
            Ok(Source {
                store: Arc::new(store),
                state_file: None,
            })
        }
        StoreUrl::StateFile(path) => {
            let store = load_state_file(&path).await?;
            Ok(Source {
                store: Arc::new(store),
                state_file: Some(path),
            })
        }
    }
}

/// Refuses a missing file (opening would create one) and a file without awaitly's tables
/// (opening would add them), reading it with a read-only connection.
fn check_sqlite_store(path: &Path) -> Result<(), CliError> {
    if !path.is_file() {
        return Err(CliError::MissingSqliteFile {
            path: path.to_path_buf(),
        });
    }
    let not_awaitly = |detail: String| CliError::NotAnAwaitlyDatabase {
        path: path.to_path_buf(),
        detail,
    };
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| not_awaitly(error.to_string()))?;
    let tables: i64 = connection
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
             AND name IN ('awaitly_runs', 'awaitly_entries', 'awaitly_hooks')",
            [],
            |row| row.get(0),
        )
        .map_err(|error| not_awaitly(error.to_string()))?;
    if tables == 3 {
        Ok(())
    } else {
        Err(not_awaitly(
            "it has no awaitly_runs, awaitly_entries and awaitly_hooks tables".to_owned(),
        ))
    }
}

/// One state file as a store holding one run: its id is the file's stem, its workflow the name
/// the state was stamped with. A state does not say whether its run finished, so the run shows
/// as suspended when it waits (hook, approval, or a sleep last recorded), failed when its last
/// entry is a failure, and running otherwise.
async fn load_state_file(path: &Path) -> Result<MemoryStore, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let state = ResumeState::from_json(&text).map_err(|source| CliError::NotAResumeState {
        path: path.to_path_buf(),
        source,
    })?;
    let run_id = path.file_stem().map_or_else(
        || "state".to_owned(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    let workflow = state
        .workflow()
        .map_or_else(|| "(unknown)".to_owned(), |stamp| stamp.name.clone());
    let outcome = file_outcome(&state);
    let store = MemoryStore::new();
    store
        .create_run(NewRun::new(
            run_id.clone(),
            workflow,
            0,
            serde_json::Value::Null,
        ))
        .await?;
    let changes = Changes {
        entries: state
            .iter()
            .map(|(key, entry)| (key.to_owned(), entry.clone()))
            .collect(),
        outcome: Some(outcome),
        ..Changes::default()
    };
    store.save(&run_id, 0, changes).await?;
    Ok(store)
}

/// The outcome a state file's run most likely has: see [`load_state_file`].
fn file_outcome(state: &ResumeState) -> RunOutcome {
    if let Some(hook) = awaitly_runtime::get_pending_hooks(state).into_iter().next() {
        return RunOutcome::Suspended { hook };
    }
    if let Some(approval) = awaitly_runtime::get_pending_approvals(state)
        .into_iter()
        .next()
    {
        return RunOutcome::AwaitingApproval { approval };
    }
    match state.iter().last() {
        Some((key, entry)) => {
            if let Some(wake_at_ms) = entry.sleep_until() {
                RunOutcome::Sleeping {
                    key: key.to_owned(),
                    wake_at_ms,
                }
            } else if let Some(error) = entry.error().filter(|_| entry.pending_hook().is_none()) {
                RunOutcome::Failed {
                    error: error.clone(),
                }
            } else {
                RunOutcome::Running
            }
        }
        None => RunOutcome::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_their_backend() {
        assert_eq!(
            StoreUrl::parse("sqlite://runs.db").unwrap(),
            StoreUrl::Sqlite("runs.db".into())
        );
        assert_eq!(
            StoreUrl::parse("sqlite:///var/lib/runs.db").unwrap(),
            StoreUrl::Sqlite("/var/lib/runs.db".into())
        );
        assert!(matches!(
            StoreUrl::parse("postgresql://u@h/db").unwrap(),
            StoreUrl::Postgres(_)
        ));
        assert_eq!(
            StoreUrl::parse("file:///tmp/state").unwrap(),
            StoreUrl::StateFile("/tmp/state".into())
        );
        assert_eq!(
            StoreUrl::parse("dumps/run.JSON").unwrap(),
            StoreUrl::StateFile("dumps/run.JSON".into())
        );
        for wrong in [
            "mysql://db",
            "runs.db",
            "sqlite://",
            "https://x/state.json",
            "",
        ] {
            assert!(
                matches!(StoreUrl::parse(wrong), Err(CliError::UnsupportedUrl { .. })),
                "{wrong}"
            );
        }
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_password("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            redact_password("postgres://app@db/x"),
            "postgres://app@db/x"
        );
        let error = StoreUrl::parse("mysql://root:hunter2@db/x").unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
        for (given, shown) in [
            // `@` and `:` inside the password, escaped or not.
            ("postgres://app:p@ss:w@db/x", "postgres://app:***@db/x"),
            ("postgres://app:p%40ss@db/x", "postgres://app:***@db/x"),
            // libpq's password parameter; the other parameters stay.
            (
                "postgresql://app@db/x?sslmode=require&password=hunter2",
                "postgresql://app@db/x?sslmode=require&password=***",
            ),
            // An unescaped `/` ends the authority early: not a URL, nothing but the scheme.
            ("postgres://app:pa/ss@db/x", "postgres://***"),
            // A libpq key=value string, and a plain path.
            (
                "host=db user=app password=hunter2",
                "host=db user=app password=***",
            ),
            ("runs.db", "runs.db"),
            ("sqlite://data/runs.db", "sqlite://data/runs.db"),
        ] {
            assert_eq!(redact_password(given), shown, "{given}");
        }
    }
}
