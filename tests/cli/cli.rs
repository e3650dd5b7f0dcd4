//! Golden tests of the `awaitly` binary: its output over a seeded SQLite file, a resume state
//! JSON file, and (when `AWAITLY_TEST_POSTGRES_URL` is set) a seeded PostgreSQL schema, which
//! must print exactly what SQLite prints. Ages and the current time are normalised; regenerate
//! the files under tests/golden/cli/ with `AWAITLY_BLESS=1 cargo test --features cli --test cli`.
#![cfg(feature = "cli")]

use crate::common;
use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use awaitly::store::{PostgresStore, SqliteStore, Store};
use serde_json::Value;
use support::SeededSqlite;

const STATE_FILE: &str = "tests/fixtures/cli/checkout-state.json";

/// What one invocation printed, with its exit code.
pub(crate) struct Transcript {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

pub(crate) fn awaitly(arguments: &[&str]) -> Transcript {
    let output = Command::new(env!("CARGO_BIN_EXE_awaitly"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("AWAITLY_STORE")
        .output()
        .expect("run the awaitly binary");
    // Stored text is hostile (evil-1): whatever the tool prints, no ESC reaches the terminal.
    assert!(
        !output.stdout.contains(&0x1b) && !output.stderr.contains(&0x1b),
        "raw ESC in the output of {arguments:?}"
    );
    Transcript {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

/// Replaces what changes from one run of the test to the next: ages (`42s`, `3d`), times within
/// a day of now, and JSON's `created_at_ms` / `updated_at_ms` / `age_ms`. Runs of spaces are
/// collapsed, as the widths of normalised columns vary (alignment is unit-tested in cli/table.rs).
fn normalise(text: &str, json: bool) -> String {
    if json && let Ok(mut value) = serde_json::from_str::<Value>(text) {
        normalise_json(&mut value);
        return serde_json::to_string_pretty(&value).unwrap() + "\n";
    }
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(&collapse_spaces(&replace_ages(&replace_recent_times(line))));
        out.push('\n');
    }
    out
}

/// Replaces times of this year, give or take one (the store's own timestamps, written during the
/// test), `YYYY-MM-DD HH:MM:SSZ`, by `<now>`; the fixed times of the fixtures (2023, 2100) stay.
fn replace_recent_times(line: &str) -> String {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // An average Gregorian year: off by a day at most near New Year, hence the years either side.
    let year = 1970 + now_s / 31_556_952;
    let is_recent_time = |candidate: &str| {
        let shape = candidate.bytes().zip("0000-00-00 00:00:00Z".bytes());
        candidate.len() == 20
            && shape.into_iter().all(|(byte, pattern)| {
                if pattern == b'0' {
                    byte.is_ascii_digit()
                } else {
                    byte == pattern
                }
            })
            && candidate[..4]
                .parse::<u64>()
                .is_ok_and(|written| written.abs_diff(year) <= 1)
    };
    let mut line = line.to_owned();
    let mut start = 0;
    while start + 20 <= line.len() {
        if line.is_char_boundary(start)
            && line.is_char_boundary(start + 20)
            && is_recent_time(&line[start..start + 20])
        {
            line.replace_range(start..start + 20, "<now>");
        }
        start += 1;
    }
    line
}

fn replace_ages(line: &str) -> String {
    let characters: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut index = 0;
    while index < characters.len() {
        let at_boundary = index == 0 || matches!(characters[index - 1], ' ' | '(');
        if at_boundary && characters[index].is_ascii_digit() {
            let mut end = index;
            while end < characters.len() && characters[end].is_ascii_digit() {
                end += 1;
            }
            let unit = characters.get(end).is_some_and(|c| "smhd".contains(*c));
            let closed = characters
                .get(end + 1)
                .is_none_or(|c| matches!(c, ' ' | ')' | ','));
            if unit && closed {
                out.push_str("<age>");
                index = end + 1;
                continue;
            }
        }
        out.push(characters[index]);
        index += 1;
    }
    out
}

fn collapse_spaces(line: &str) -> String {
    let mut out = String::new();
    let mut spaces = 0;
    for character in line.chars() {
        if character == ' ' {
            spaces += 1;
            continue;
        }
        out.push_str(if spaces >= 2 { "  " } else { &" "[..spaces] });
        spaces = 0;
        out.push(character);
    }
    out
}

fn normalise_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if matches!(key.as_str(), "created_at_ms" | "updated_at_ms" | "age_ms")
                    && !field.is_null()
                {
                    *field = Value::String("<normalised>".into());
                } else {
                    normalise_json(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise_json),
        _ => {}
    }
}

/// Compares with tests/golden/cli/`name`.txt, or writes it under `AWAITLY_BLESS=1`.
fn assert_golden(name: &str, arguments: &[&str], transcript: &Transcript) {
    let json = arguments.contains(&"--json");
    let actual = format!(
        "$ awaitly {}\nexit code: {}\n--- stdout\n{}--- stderr\n{}",
        arguments.join(" "),
        transcript.code,
        normalise(&transcript.stdout, json),
        normalise(&transcript.stderr, false),
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/cli")
        .join(format!("{name}.txt"));
    if std::env::var_os("AWAITLY_BLESS").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no golden file {}: run with AWAITLY_BLESS=1",
            path.display()
        )
    });
    // The command line in the file is the SQLite one; compare what the tool printed.
    let body = |text: &str| text.split_once('\n').map(|(_, rest)| rest.to_owned());
    assert_eq!(
        body(&actual),
        body(&expected),
        "output of `{}` differs from {} (AWAITLY_BLESS=1 regenerates it)\n{actual}",
        arguments.join(" "),
        path.display()
    );
}

/// The store commands whose output is compared on SQLite and on Postgres.
const STORE_CASES: &[(&str, &[&str])] = &[
    ("runs", &["runs"]),
    ("runs_json", &["--json", "runs"]),
    (
        "runs_filtered",
        &["runs", "--status", "suspended", "--workflow", "checkout"],
    ),
    ("run_suspended", &["run", "order-1"]),
    ("run_suspended_json", &["--json", "run", "order-1"]),
    ("run_completed", &["run", "order-2"]),
    ("run_failed", &["run", "import-9"]),
    ("run_hostile", &["run", "evil-1"]),
    ("hooks", &["hooks"]),
    ("hooks_json", &["--json", "hooks"]),
    ("stuck", &["stuck"]),
    ("stuck_json", &["--json", "stuck"]),
    ("unknown_run", &["run", "no-such-run"]),
    ("unknown_status", &["runs", "--status", "sleeping"]),
];

fn with_store<'a>(store: &[&'a str], case: &[&'a str]) -> Vec<&'a str> {
    store.iter().chain(case).copied().collect()
}

#[tokio::test]
async fn sqlite_store_output_matches_the_golden_files() {
    let seeded = SeededSqlite::new("cli-golden").await;
    let url = format!("sqlite://{}", seeded.path.display());
    for (name, case) in STORE_CASES {
        let store_arguments = ["--store", url.as_str()];
        let arguments = with_store(&store_arguments, case);
        let transcript = awaitly(&arguments);
        let shown = with_store(&["--store", "sqlite://runs.db"], case);
        assert_golden(name, &shown, &transcript);
    }
}

#[tokio::test]
async fn postgres_store_prints_what_sqlite_prints() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = format!("cli_golden_{}", std::process::id());
    let store = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .expect("connect to PostgreSQL");
    store.drop_schema().await.unwrap();
    let store = PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    support::seed(&store).await;
    for (name, case) in STORE_CASES {
        let store_arguments = [
            "--store",
            url.as_str(),
            "--postgres-schema",
            schema.as_str(),
        ];
        let arguments = with_store(&store_arguments, case);
        let transcript = awaitly(&arguments);
        let shown = with_store(&["--store", "sqlite://runs.db"], case);
        assert_golden(name, &shown, &transcript);
    }
    store.drop_schema().await.unwrap();
}

#[test]
fn state_file_output_matches_the_golden_files() {
    let cases: &[(&str, &[&str])] = &[
        ("state_runs", &["--store", STATE_FILE, "runs"]),
        (
            "state_run",
            &["--store", STATE_FILE, "run", "checkout-state"],
        ),
        (
            "state_run_file_url",
            &[
                "--store",
                "file://tests/fixtures/cli/checkout-state.json",
                "run",
                "checkout-state",
            ],
        ),
        ("state_hooks", &["--store", STATE_FILE, "hooks"]),
        (
            "state_stuck_json",
            &["--store", STATE_FILE, "--json", "stuck"],
        ),
        (
            "state_delete_refused",
            &[
                "--store",
                STATE_FILE,
                "delete-run",
                "checkout-state",
                "--yes",
            ],
        ),
    ];
    for (name, arguments) in cases {
        assert_golden(name, arguments, &awaitly(arguments));
    }
}

#[test]
fn bad_stores_get_errors_that_say_what_to_do() {
    let cases: &[(&str, &[&str])] = &[
        (
            "error_wrong_scheme",
            &["--store", "mysql://root:hunter2@db/app", "runs"],
        ),
        ("error_plain_path", &["--store", "runs.db", "runs"]),
        (
            "error_missing_sqlite",
            &["--store", "sqlite://no/such/runs.db", "runs"],
        ),
        (
            "error_not_a_database",
            &[
                "--store",
                "sqlite://tests/fixtures/cli/not-a-database.db",
                "runs",
            ],
        ),
        (
            "error_not_a_state",
            &["--store", "tests/fixtures/cli/not-a-state.json", "runs"],
        ),
        (
            "error_missing_state",
            &["--store", "no/such/state.json", "runs"],
        ),
        (
            "error_unreachable_postgres",
            &["--store", "postgres://app:s3cret@127.0.0.1:1/app", "runs"],
        ),
        ("error_no_command", &["--store", "sqlite://runs.db"]),
    ];
    for (name, arguments) in cases {
        let transcript = awaitly(arguments);
        assert_ne!(transcript.code, 0, "{name} must fail");
        assert!(!transcript.stderr.contains("s3cret") && !transcript.stderr.contains("hunter2"));
        assert!(
            !transcript.stderr.contains("panicked"),
            "{}",
            transcript.stderr
        );
        assert_golden(name, arguments, &transcript);
    }
}

#[test]
fn an_unanswering_database_fails_within_the_connect_timeout() {
    // 10.255.255.1 is unroutable: packets go nowhere, so only the timeout ends the attempt
    // (or the OS reports the network unreachable at once).
    let started = Instant::now();
    let transcript = awaitly(&[
        "--store",
        "postgres://app@10.255.255.1:5432/app",
        "--connect-timeout",
        "1",
        "runs",
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(transcript.code, 1);
    assert!(
        transcript.stderr.contains("did not answer within 1s")
            || transcript.stderr.contains("cannot open the store"),
        "{}",
        transcript.stderr
    );
}

#[tokio::test]
async fn delete_run_refuses_without_yes_and_keeps_every_run() {
    let seeded = SeededSqlite::new("cli-delete").await;
    let url = format!("sqlite://{}", seeded.path.display());
    let refused = awaitly(&["--store", &url, "delete-run", "order-2"]);
    assert_golden(
        "delete_refused",
        &["--store", "sqlite://runs.db", "delete-run", "order-2"],
        &refused,
    );
    assert_eq!(refused.code, 2);
    assert_eq!(
        runs_in(&seeded.path).await,
        support::runs().len(),
        "nothing deleted without --yes"
    );

    let deleted = awaitly(&["--store", &url, "delete-run", "order-2", "--yes"]);
    assert_eq!(
        (deleted.code, deleted.stdout.as_str()),
        (0, "deleted run order-2\n"),
        "{}",
        deleted.stderr
    );
    assert_eq!(runs_in(&seeded.path).await, support::runs().len() - 1);
    let store = SqliteStore::open(&seeded.path).await.unwrap();
    assert!(store.load_run("order-2").await.unwrap().is_none());
    assert!(
        store.load_run("order-1").await.unwrap().is_some(),
        "other runs are kept"
    );

    let again = awaitly(&["--store", &url, "delete-run", "order-2", "--yes"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("no run `order-2`"),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn reading_never_creates_or_changes_a_store() {
    let missing: PathBuf =
        std::env::temp_dir().join(format!("awaitly-cli-absent-{}.db", std::process::id()));
    let transcript = awaitly(&[
        "--store",
        &format!("sqlite://{}", missing.display()),
        "runs",
    ]);
    assert_eq!(transcript.code, 1);
    assert!(!missing.exists(), "the tool must not create a database");

    let seeded = SeededSqlite::new("cli-readonly").await;
    let url = format!("sqlite://{}", seeded.path.display());
    let before = SqliteStore::open(&seeded.path)
        .await
        .unwrap()
        .list_runs()
        .await
        .unwrap();
    for command in [&["runs"][..], &["hooks"], &["stuck"], &["run", "order-1"]] {
        assert_eq!(awaitly(&with_store(&["--store", &url], command)).code, 0);
    }
    let after = SqliteStore::open(&seeded.path)
        .await
        .unwrap()
        .list_runs()
        .await
        .unwrap();
    assert_eq!(before, after, "revisions and timestamps untouched");
}

async fn runs_in(path: &Path) -> usize {
    SqliteStore::open(path)
        .await
        .unwrap()
        .list_runs()
        .await
        .unwrap()
        .len()
}
