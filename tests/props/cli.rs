//! The `awaitly` binary's output over stores of random hostile text (a property; the table of
//! known-bad strings is `tests/cli_escaping.rs`): run ids, workflows, step keys and errors, hook
//! ids and metadata, approval keys and reasons drawn from C0 and C1 controls, DEL, bidi
//! controls, separators, astral characters, quotes and backslashes. On every path — the `runs`
//! and `hooks` tables, `run <id>`, `--json`, and the error for an entry that no longer decodes —
//! nothing a terminal acts on is written raw, a table has one line per row, `--json` decodes to
//! exactly the stored strings, and a run id is shown with the documented escapes.
//!
//! A case is one store and several runs of the binary, so the case count is small: 6, or
//! `AWAITLY_PROPTEST_CASES / 1000` in the long mode (`tests/props/hostile/mod.rs`).
#![cfg(feature = "cli")]

use crate::hostile;

use std::path::PathBuf;
use std::process::Command;

use awaitly::store::{Changes, NewRun, RunOutcome, SqliteStore, Store};
use awaitly::{MaybePendingHook, ResumeState};
use hostile::hostile_text;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

/// A hostile run: its id, workflow, failed step's key and error, hook id and metadata, and
/// approval key and reason all hostile (each made unique by a prefix).
#[derive(Clone, Debug)]
struct Hostile {
    run_id: String,
    workflow: String,
    step_key: String,
    error: String,
    hook_id: String,
    approval_key: String,
}

fn hostile_runs() -> impl Strategy<Value = Vec<Hostile>> {
    let text = || hostile_text(24);
    prop::collection::vec((text(), text(), text(), text(), text(), text()), 1..5).prop_map(|runs| {
        runs.into_iter()
            .enumerate()
            .map(
                |(i, (run_id, workflow, step_key, error, hook_id, key))| Hostile {
                    run_id: format!("r{i}-{run_id}"),
                    workflow,
                    step_key: format!("k{i}-{step_key}"),
                    error,
                    hook_id: format!("h{i}-{hook_id}"),
                    approval_key: format!("a{i}-{key}"),
                },
            )
            .collect()
    })
}

/// `text` as the tool shows it (`src/cli/escape.rs`): line feed, carriage return and tab as
/// `\n`, `\r`, `\t`; the other C0 controls, DEL, C1, the bidi marks, separators, embeddings,
/// overrides and isolates as `\uXXXX`; everything else as it is.
fn shown(text: &str) -> String {
    text.chars()
        .map(|character| match character {
            '\n' => "\\n".to_owned(),
            '\r' => "\\r".to_owned(),
            '\t' => "\\t".to_owned(),
            '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' => format!("\\u{:04x}", u32::from(character)),
            other => other.to_string(),
        })
        .collect()
}

/// A scratch SQLite file, removed (with its WAL files) when dropped.
struct ScratchDb(PathBuf);

impl ScratchDb {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("awaitly-cli-props-{}-{nanos}.db", std::process::id());
        Self(std::env::temp_dir().join(name))
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

async fn seed(store: &dyn Store, runs: &[Hostile]) {
    for run in runs {
        let hook_key = format!("hook:{}", run.hook_id);
        let state = json!({ "kind": "ResumeState", "version": 1, "steps": [
            [run.step_key, { "ok": false, "error": { "message": run.error } }],
            [hook_key, { "ok": false, "error": {
                "type": "PENDING_HOOK", "hookId": run.hook_id, "stepKey": hook_key,
                "metadata": { "note": run.error },
            }}],
            [run.approval_key, { "ok": false, "error": {
                "type": "PENDING_APPROVAL", "stepKey": run.approval_key, "reason": run.error,
            }}],
        ]});
        let state = ResumeState::from_json(&state.to_string()).expect("a hostile state");
        let pending = state
            .get(&hook_key)
            .and_then(MaybePendingHook::pending_hook)
            .expect("a pending hook");
        let new = NewRun::new(
            run.run_id.clone(),
            run.workflow.clone(),
            1,
            json!(run.error),
        );
        store.create_run(new).await.expect("create a hostile run");
        let changes = Changes {
            entries: state
                .iter()
                .map(|(key, entry)| (key.to_owned(), entry.clone()))
                .collect(),
            suspend_at: Some(pending.clone()),
            outcome: Some(RunOutcome::Suspended { hook: pending }),
            ..Changes::default()
        };
        store.save(&run.run_id, 0, changes).await.expect("save");
    }
}

/// One run of the binary: exit code, stdout, stderr, after checking both streams are clean.
fn awaitly(arguments: &[&str]) -> Result<(i32, String, String), TestCaseError> {
    let output = Command::new(env!("CARGO_BIN_EXE_awaitly"))
        .args(arguments)
        .env_remove("AWAITLY_STORE")
        .output()
        .expect("run the awaitly binary");
    let mut streams = Vec::new();
    for (name, bytes) in [("stdout", output.stdout), ("stderr", output.stderr)] {
        let text = String::from_utf8(bytes)
            .map_err(|_| TestCaseError::fail(format!("{name} of {arguments:?}: not UTF-8")))?;
        // Nothing a terminal acts on: no control character but the line feeds between lines,
        // no bidi embedding, override or isolate.
        let raw: Vec<char> = text
            .chars()
            .filter(|&c| {
                (c.is_control() && c != '\n')
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)
            })
            .collect();
        prop_assert!(
            raw.is_empty(),
            "raw {:?} on {} of {:?}",
            raw,
            name,
            arguments
        );
        streams.push(text);
    }
    let stderr = streams.pop().unwrap_or_default();
    let stdout = streams.pop().unwrap_or_default();
    Ok((output.status.code().unwrap_or(-1), stdout, stderr))
}

/// Every string in a JSON value, object keys included.
fn strings_in(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(text) => found.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| strings_in(item, found)),
        Value::Object(map) => {
            for (key, field) in map {
                found.push(key.clone());
                strings_in(field, found);
            }
        }
        _ => {}
    }
}

fn json_of(text: &str) -> Result<Value, TestCaseError> {
    serde_json::from_str(text).map_err(|error| TestCaseError::fail(format!("{error}: {text}")))
}

fn check_store(url: &str, runs: &[Hostile]) -> Result<(), TestCaseError> {
    let (code, table, errors) = awaitly(&["--store", url, "runs"])?;
    prop_assert_eq!(code, 0, "{}", errors);
    prop_assert_eq!(
        table.lines().count(),
        runs.len() + 1,
        "one line a run:\n{}",
        table
    );
    let (code, table, errors) = awaitly(&["--store", url, "hooks"])?;
    prop_assert_eq!(code, 0, "{}", errors);
    // A hook and an approval a run.
    prop_assert_eq!(table.lines().count(), 2 * runs.len() + 1, "{}", table);

    let (code, listing, errors) = awaitly(&["--store", url, "--json", "runs"])?;
    prop_assert_eq!(code, 0, "{}", errors);
    let listing: Value = json_of(&listing)?;
    let mut ids: Vec<&str> = listing
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|run| run["run_id"].as_str())
        .collect();
    ids.sort_unstable();
    let mut stored: Vec<&str> = runs.iter().map(|run| run.run_id.as_str()).collect();
    stored.sort_unstable();
    prop_assert_eq!(ids, stored);

    let (code, hooks, errors) = awaitly(&["--store", url, "--json", "hooks"])?;
    prop_assert_eq!(code, 0, "{}", errors);
    let hooks: Value = json_of(&hooks)?;
    let mut strings = Vec::new();
    strings_in(&hooks, &mut strings);
    for run in runs {
        for expected in [&run.run_id, &run.hook_id, &run.approval_key, &run.error] {
            prop_assert!(
                strings.contains(expected),
                "{:?} not in {}",
                expected,
                hooks
            );
        }
    }

    // `run <id>`, for an id that can be an argument.
    for run in runs.iter().filter(|run| !run.run_id.contains('\0')).take(1) {
        let (code, detail, errors) = awaitly(&["--store", url, "run", &run.run_id])?;
        prop_assert_eq!(code, 0, "{}", errors);
        let first = detail.lines().next().unwrap_or_default();
        prop_assert_eq!(first, format!("run       {}", shown(&run.run_id)));
        let (code, detail, errors) = awaitly(&["--store", url, "--json", "run", &run.run_id])?;
        prop_assert_eq!(code, 0, "{}", errors);
        let detail: Value = json_of(&detail)?;
        prop_assert_eq!(&detail["run_id"], &json!(run.run_id));
        prop_assert_eq!(&detail["workflow"], &json!(run.workflow));
    }
    Ok(())
}

/// With the first run's step entry overwritten by `garbage`, every listing fails with one line
/// on stderr that names the run and the key, escaped.
fn check_corrupt(db: &ScratchDb, runs: &[Hostile], garbage: &str) -> Result<(), TestCaseError> {
    let run = &runs[0];
    let connection = rusqlite::Connection::open(&db.0).expect("open the store");
    let changed = connection
        .execute(
            "UPDATE awaitly_entries SET entry = ?1 WHERE run_id = ?2 AND key = ?3",
            [garbage, run.run_id.as_str(), run.step_key.as_str()],
        )
        .expect("overwrite an entry");
    prop_assert_eq!(changed, 1);
    drop(connection);
    let url = db.url();
    for command in ["runs", "hooks"] {
        let (code, _, errors) = awaitly(&["--store", &url, command])?;
        prop_assert_eq!(code, 1, "{}", errors);
        prop_assert!(
            errors.starts_with("error: ") && errors.lines().count() == 1,
            "{}",
            errors
        );
        prop_assert!(
            errors.contains(&format!("run `{}`", shown(&run.run_id))),
            "{}",
            errors
        );
        prop_assert!(
            errors.contains(&format!("entry `{}`", shown(&run.step_key))),
            "{}",
            errors
        );
    }
    Ok(())
}

#[test]
fn any_hostile_store_is_shown_escaped_on_every_output_path() {
    let cases = hostile::scaled_cases(6, 1_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let corrupt = prop::option::weighted(0.3, hostile_text(24));
    hostile::runner(cases)
        .run(&(hostile_runs(), corrupt), |(runs, corrupt)| {
            let db = ScratchDb::new();
            runtime.block_on(async {
                let store = SqliteStore::open(&db.0).await.expect("a scratch store");
                seed(&store, &runs).await;
            });
            match corrupt {
                // Not a valid entry: a `{` that is never closed.
                Some(garbage) => check_corrupt(&db, &runs, &format!("{{\"ok\": {garbage}")),
                None => check_store(&db.url(), &runs),
            }
        })
        .unwrap();
    println!("CLI output: {cases} stores of hostile runs");
}

#[test]
fn shown_follows_the_documented_escapes() {
    assert_eq!(
        shown("a\u{1b}[2J\n\u{9b}\u{202e}é"),
        "a\\u001b[2J\\n\\u009b\\u202eé"
    );
}
