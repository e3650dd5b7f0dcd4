//! The `awaitly` command-line tool: what each run of a store waits on, from a shell.
//!
//! ```text
//! awaitly --store sqlite://runs.db runs                # status, workflow, age, what it waits on
//! awaitly --store sqlite://runs.db run order-1         # one run's steps
//! awaitly --store postgres://app@db/app hooks          # pending hooks and approvals
//! awaitly --store postgres://app@db/app stuck          # past a deadline, or a sleep that is due
//! awaitly --store state.json --json runs               # a resume state file, JSON for scripts
//! awaitly --store sqlite://runs.db delete-run order-1 --yes
//! awaitly --store sqlite://runs.db cancel order-1 --reason "customer left"
//! ```
//!
//! Read-only by default: the only commands that change a store are `delete-run`, which refuses
//! without `--yes`, and `cancel`, which records a cancellation for a worker to carry out. Stored text is attacker-controlled: everything the tool prints (tables,
//! errors, `--json`) shows control characters, DEL, C1 controls and bidi overrides as escapes
//! such as `\u001b`, so no stored value can drive the terminal. A SQLite file must exist and
//! hold awaitly's tables (the tool never creates one); PostgreSQL gets `--connect-timeout`
//! seconds (default 5) to answer.
//!
//! Build it with `cargo install awaitly --features cli` (binary `awaitly`), or call [`run`] from a
//! binary of your own.

mod cancel;
mod commands;
mod console;
mod constructs;
mod error;
mod escape;
mod source;
mod table;

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

pub use error::CliError;

/// `awaitly`: inspect the runs of a store.
#[derive(Debug, Parser)]
#[command(
    name = "awaitly",
    version,
    about = "Inspect awaitly runs: what each one waits on"
)]
struct Arguments {
    /// Where the runs are (also read from `AWAITLY_STORE`).
    #[arg(
        long,
        env = "AWAITLY_STORE",
        value_name = "URL",
        help = "The store: sqlite://PATH, postgres://USER@HOST:PORT/DATABASE, or a resume state JSON file (file://PATH or PATH.json)"
    )]
    store: String,
    /// Print JSON instead of tables, for scripts.
    #[arg(long, global = true)]
    json: bool,
    /// Seconds to wait for PostgreSQL to answer before giving up.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    connect_timeout: u64,
    /// The PostgreSQL schema the application's store uses.
    #[arg(long, default_value = "awaitly", value_name = "SCHEMA")]
    postgres_schema: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every run: status, workflow, age and what it waits on.
    Runs {
        /// Only runs with this status (running, suspended, completed, failed, stopped).
        #[arg(long)]
        status: Option<String>,
        /// Only runs of this workflow.
        #[arg(long)]
        workflow: Option<String>,
    },
    /// One run's steps (key, status, recorded at, value size, error), its fan-outs' progress,
    /// children, compensations and cancellation.
    Run {
        /// The run id.
        run_id: String,
    },
    /// Pending hooks and approvals: age, deadline, reason and metadata.
    Hooks,
    /// Runs past a hook's or approval's deadline, or whose sleep is due: nothing resumed them.
    Stuck,
    /// Deletes a run with its steps and hooks (refuses without --yes).
    DeleteRun {
        /// The run id.
        run_id: String,
        /// Confirms the deletion, which cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// Records a run's cancellation and makes it due; the next worker (or `Engine::recover`)
    /// stops it where it stands and runs its compensations. Needs no workflow code.
    #[command(
        long_about = "Records a run's cancellation in the store and makes the run due. This tool \
                      runs no workflow code: the next worker that claims due runs (or \
                      Engine::recover in the application) replays the run, stops it where it \
                      stands, runs its compensations in reverse order and stores it as \
                      cancelled. A run a worker is advancing right now is refused: retry \
                      shortly."
    )]
    Cancel {
        /// The run id.
        run_id: String,
        /// Why the run is cancelled (recorded with the cancellation).
        #[arg(long)]
        reason: Option<String>,
    },
}

/// Runs the tool with these command-line arguments (the first is the program name), prints to
/// standard output (results) and standard error (errors), and returns the exit code: 0 on
/// success, 1 when the store fails, 2 for a usage error (a wrong flag or URL, a missing `--yes`).
/// Control characters, DEL, C1 controls and bidi overrides in anything printed (stored values,
/// arguments echoed in errors, `--json` strings) are written as escapes (`\u001b`), never raw.
///
/// ```
/// let code = awaitly::cli::run(["awaitly", "--store", "mysql://db", "runs"]);
/// assert_eq!(code, std::process::ExitCode::from(2));
/// ```
pub fn run<I, T>(arguments: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut console = console::Console::stdio();
    let arguments: Vec<OsString> = arguments.into_iter().map(Into::into).collect();
    let arguments = match Arguments::try_parse_from(&arguments) {
        Ok(arguments) => arguments,
        Err(error) => {
            // Help and version go to stdout with code 0; usage errors to stderr with code 2.
            let text = usage_text(&error, &arguments);
            if error.use_stderr() {
                console.usage(&text);
            } else {
                console.print(&text);
            }
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::from(CliError::Runtime(error)))
        .and_then(|runtime| runtime.block_on(execute(&arguments)));
    match outcome {
        Ok(text) => {
            console.print(&text);
            ExitCode::SUCCESS
        }
        Err(Failure { error, output }) => {
            console.print(&output);
            console.error(&error);
            ExitCode::from(error.exit_code())
        }
    }
}

/// clap's message for `error`. A usage error quotes the argument it refuses, inside a message of
/// several lines, where the console cannot tell a line feed of the argument from one of the
/// layout; so the message is rendered from the arguments escaped by [`escape::for_terminal`]
/// (the same error, the refused argument shown escaped).
fn usage_text(error: &clap::Error, arguments: &[OsString]) -> String {
    let escaped: Vec<OsString> = arguments
        .iter()
        .map(|argument| match argument.to_str() {
            Some(text) => escape::for_terminal(text).into_owned().into(),
            None => argument.clone(),
        })
        .collect();
    if escaped != arguments
        && let Err(shown) = Arguments::try_parse_from(escaped)
        && shown.kind() == error.kind()
    {
        return shown.render().to_string();
    }
    error.render().to_string()
}

/// An error, and what was printed before it (the run a refused deletion would delete).
struct Failure {
    error: CliError,
    output: String,
}

impl From<CliError> for Failure {
    fn from(error: CliError) -> Self {
        Self {
            error,
            output: String::new(),
        }
    }
}

async fn execute(arguments: &Arguments) -> Result<String, Failure> {
    let options = source::OpenOptions {
        connect_timeout: Duration::from_secs(arguments.connect_timeout),
        postgres_schema: &arguments.postgres_schema,
    };
    // Flags are checked before the store is opened: a wrong one is a usage error either way.
    let filter = match &arguments.command {
        Command::Runs { status, workflow } => Some(commands::RunFilter::parse(
            status.as_deref(),
            workflow.as_deref(),
        )?),
        _ => None,
    };
    let source = source::open(&arguments.store, &options).await?;
    let now_ms = crate::store::now_ms();
    let json = arguments.json;
    let store = &*source.store;
    let output = match &arguments.command {
        Command::Runs { .. } => {
            let filter = filter.unwrap_or_default();
            commands::runs(store, &filter, now_ms, json).await?
        }
        Command::Run { run_id } => commands::run(store, run_id, now_ms, json).await?,
        Command::Hooks => commands::hooks(store, now_ms, json).await?,
        Command::Stuck => commands::stuck(store, now_ms, json).await?,
        Command::DeleteRun { run_id, yes } => {
            if let Some(path) = source.state_file {
                return Err(CliError::ReadOnlySource { path }.into());
            }
            let preview = commands::run(store, run_id, now_ms, json).await?;
            if !yes {
                return Err(Failure {
                    error: CliError::ConfirmationRequired {
                        run_id: run_id.clone(),
                    },
                    output: preview,
                });
            }
            commands::delete_run(store, run_id, json).await?
        }
        Command::Cancel { run_id, reason } => {
            if source.state_file.is_some() {
                return Err(CliError::CancelStateFile.into());
            }
            cancel::cancel(store, run_id, reason.as_deref(), now_ms, json).await?
        }
    };
    Ok(output)
}
