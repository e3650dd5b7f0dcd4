//! The `awaitly` binary never writes a raw control character: a table of hostile strings (ESC
//! sequences, an OSC title sequence, BEL, the one-byte CSI U+009B, DEL, NUL, CR, LF, bidi
//! overrides and isolates) stored as run ids, workflows, step keys, errors, hook ids, approval
//! reasons and metadata, checked on every output path of the real binary: the `runs`, `run`,
//! `hooks` and `stuck` tables, `--json` (which must stay JSON and decode to the stored strings),
//! the error for an entry that no longer decodes (naming the run and the key), `delete-run`
//! without `--yes`, `run` of an unknown id, and usage errors that echo an argument. Plain
//! Unicode text passes through unchanged.
#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::Command;

use awaitly::store::{Changes, NewRun, RunOutcome, SqliteStore, Store};
use awaitly::{MaybePendingHook, ResumeState};
use serde_json::{Value, json};

/// 2023-11-14 22:13:20Z: when the hooks and approvals were requested (their deadlines passed).
const REQUESTED_AT: u64 = 1_700_000_000_000;

/// Hostile text, and how the tool shows it (the same escapes in text and, for `--json`, in JSON).
const HOSTILE: &[(&str, &str)] = &[
    ("\u{1b}[31mred\u{1b}[0m", "\\u001b[31mred\\u001b[0m"),
    ("\u{1b}]0;pwned\u{7}", "\\u001b]0;pwned\\u0007"),
    ("\u{1b}[2J\u{1b}[H", "\\u001b[2J\\u001b[H"),
    ("bell\u{7}", "bell\\u0007"),
    ("csi\u{9b}2J", "csi\\u009b2J"),
    ("del\u{7f}x", "del\\u007fx"),
    ("nul\u{0}x", "nul\\u0000x"),
    ("cr\rspoof", "cr\\rspoof"),
    ("fake\nrow", "fake\\nrow"),
    ("bidi\u{202e}fdp.exe", "bidi\\u202efdp.exe"),
    ("iso\u{2066}x\u{2069}", "iso\\u2066x\\u2069"),
    ("ünïcødé ✓", "ünïcødé ✓"),
];

/// What one invocation wrote, as bytes, with its exit code.
struct Transcript {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Transcript {
    fn stdout(&self) -> String {
        text_of(&self.stdout)
    }

    fn stderr(&self) -> String {
        text_of(&self.stderr)
    }
}

fn awaitly(arguments: &[&str]) -> Transcript {
    let output = Command::new(env!("CARGO_BIN_EXE_awaitly"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("AWAITLY_STORE")
        .output()
        .expect("run the awaitly binary");
    let transcript = Transcript {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: output.stderr,
    };
    assert_clean(&transcript.stdout, arguments, "stdout");
    assert_clean(&transcript.stderr, arguments, "stderr");
    transcript
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// Nothing a terminal acts on: no ESC byte at all, no other byte in 0x00–0x1F but the line feeds
/// between lines, no DEL, no C1 control (U+0080–U+009F), no bidi override or isolate.
fn assert_clean(bytes: &[u8], arguments: &[&str], stream: &str) {
    assert!(
        !bytes.contains(&0x1b),
        "raw ESC on {stream} of {arguments:?}"
    );
    let text = text_of(bytes);
    let raw: Vec<char> = text
        .chars()
        .filter(|&character| {
            (character.is_control() && character != '\n')
                || ('\u{202a}'..='\u{202e}').contains(&character)
                || ('\u{2066}'..='\u{2069}').contains(&character)
        })
        .collect();
    assert!(
        raw.is_empty(),
        "raw {raw:?} on {stream} of {arguments:?}:\n{text}"
    );
}

/// The strings that can be command-line arguments (an argument cannot hold NUL).
fn arguable() -> impl Iterator<Item = (usize, &'static str, &'static str)> {
    HOSTILE
        .iter()
        .enumerate()
        .filter(|(_, (raw, _))| !raw.contains('\0'))
        .map(|(index, (raw, shown))| (index, *raw, *shown))
}

fn run_id(index: usize, text: &str) -> String {
    format!("r{index}-{text}")
}

fn step_key(index: usize, text: &str) -> String {
    format!("k{index}-{text}")
}

fn hook_id(index: usize, text: &str) -> String {
    format!("h{index}-{text}")
}

fn approval_key(index: usize, text: &str) -> String {
    format!("a{index}-{text}")
}

/// A scratch SQLite file, removed (with its WAL files) when dropped.
struct ScratchDb(PathBuf);

impl ScratchDb {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Self(std::env::temp_dir().join(format!(
            "awaitly-escaping-{name}-{}-{nanos}.db",
            std::process::id()
        )))
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

/// For each hostile string, a run suspended at a hook, with the string as its workflow, in its
/// id, its failed step's key and error, its hook's id and metadata, its approval's key, reason
/// and metadata. The deadlines have passed, so `stuck` lists them as well.
async fn seed_hostile(store: &dyn Store) {
    for (index, (raw, _)) in HOSTILE.iter().enumerate() {
        let id = run_id(index, raw);
        let hook = hook_id(index, raw);
        let approval = approval_key(index, raw);
        let state = json!({ "kind": "ResumeState", "version": 1, "steps": [
            [step_key(index, raw), { "ok": false, "error": { "message": raw } }],
            [format!("hook:{hook}"), { "ok": false, "error": {
                "type": "PENDING_HOOK", "hookId": hook, "stepKey": format!("hook:{hook}"),
                "metadata": { "note": raw }, "deadline": REQUESTED_AT + 1_000,
                "requestedAt": REQUESTED_AT,
            }}],
            [approval, { "ok": false, "error": {
                "type": "PENDING_APPROVAL", "stepKey": approval, "reason": raw,
                "metadata": { "note": raw }, "deadline": REQUESTED_AT + 1_000,
                "requestedAt": REQUESTED_AT,
            }}],
        ]});
        let state = ResumeState::from_json(&state.to_string()).expect("hostile state");
        let pending = state
            .get(&format!("hook:{hook}"))
            .and_then(MaybePendingHook::pending_hook)
            .expect("pending hook");
        store
            .create_run(NewRun::new(id.clone(), *raw, 1, json!({ "input": raw })))
            .await
            .expect("create hostile run");
        let changes = Changes {
            entries: state
                .iter()
                .map(|(key, entry)| (key.to_owned(), entry.clone()))
                .collect(),
            suspend_at: Some(pending.clone()),
            outcome: Some(RunOutcome::Suspended { hook: pending }),
            ..Changes::default()
        };
        store.save(&id, 0, changes).await.expect("save hostile run");
    }
}

async fn seeded(name: &str) -> ScratchDb {
    let db = ScratchDb::new(name);
    let store = SqliteStore::open(&db.0).await.expect("open scratch SQLite");
    seed_hostile(&store).await;
    db
}

fn assert_shows(text: &str, expected: &str, what: &str) {
    assert!(
        text.contains(expected),
        "{what}: `{expected}` not in\n{text}"
    );
}

#[tokio::test]
async fn tables_show_every_hostile_string_escaped() {
    let db = seeded("tables").await;
    let url = db.url();

    let runs = awaitly(&["--store", &url, "runs"]);
    assert_eq!(runs.code, 0, "{}", runs.stderr());
    let stdout = runs.stdout();
    assert_eq!(
        stdout.lines().count(),
        HOSTILE.len() + 1,
        "one line per run"
    );
    for (index, (_, shown)) in HOSTILE.iter().enumerate() {
        assert_shows(&stdout, &run_id(index, shown), "runs: run id");
        assert_shows(&stdout, &format!("  {shown}  "), "runs: workflow");
    }

    let hooks = awaitly(&["--store", &url, "hooks"]);
    assert_eq!(hooks.code, 0, "{}", hooks.stderr());
    let stdout = hooks.stdout();
    assert_eq!(stdout.lines().count(), 2 * HOSTILE.len() + 1, "{stdout}");
    for (index, (_, shown)) in HOSTILE.iter().enumerate() {
        assert_shows(&stdout, &run_id(index, shown), "hooks: run id");
        assert_shows(&stdout, &hook_id(index, shown), "hooks: hook id");
        assert_shows(&stdout, &approval_key(index, shown), "hooks: approval");
        assert_shows(&stdout, &format!("  {shown}  "), "hooks: reason");
        assert_shows(
            &stdout,
            &format!("{{\"note\":\"{shown}\"}}"),
            "hooks: metadata",
        );
    }

    let stuck = awaitly(&["--store", &url, "stuck"]);
    assert_eq!(stuck.code, 0, "{}", stuck.stderr());
    let stdout = stuck.stdout();
    for (index, (_, shown)) in HOSTILE.iter().enumerate() {
        assert_shows(&stdout, &hook_id(index, shown), "stuck: hook id");
        assert_shows(&stdout, &approval_key(index, shown), "stuck: approval");
    }

    for (index, raw, shown) in arguable() {
        let id = run_id(index, raw);
        let detail = awaitly(&["--store", &url, "run", &id]);
        assert_eq!(detail.code, 0, "{}", detail.stderr());
        let stdout = detail.stdout();
        assert_shows(
            &stdout,
            &format!("run       {}\n", run_id(index, shown)),
            "run",
        );
        assert_shows(&stdout, &format!("workflow  {shown} v1\n"), "run: workflow");
        assert_shows(&stdout, &hook_id(index, shown), "run: waits on");
        assert_shows(&stdout, &step_key(index, shown), "run: step key");
        assert_shows(
            &stdout,
            &format!("{{\"message\":\"{shown}\"}}"),
            "run: step error",
        );
        assert_eq!(stdout.lines().count(), 11, "no forged lines:\n{stdout}");
    }
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

/// Parses `--json` output (whose text [`awaitly`] checked for raw controls); in a listing of
/// every hostile run, DEL, C1 and bidi characters must be there as JSON escapes.
fn json_of(transcript: &Transcript, arguments: &str) -> Value {
    assert_eq!(transcript.code, 0, "{arguments}: {}", transcript.stderr());
    let text = transcript.stdout();
    if arguments != "run" {
        for escape in ["\\u007f", "\\u009b", "\\u202e", "\\u2066", "\\u001b"] {
            assert_shows(&text, escape, arguments);
        }
    }
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{arguments}: {error}\n{text}"))
}

#[tokio::test]
async fn json_output_is_json_and_decodes_to_the_stored_strings() {
    let db = seeded("json").await;
    let url = db.url();
    let store = ["--store", url.as_str(), "--json"];

    let runs = json_of(&awaitly(&[&store[..], &["runs"]].concat()), "runs");
    let ids: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["run_id"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = HOSTILE
        .iter()
        .enumerate()
        .map(|(index, (raw, _))| run_id(index, raw))
        .collect();
    assert_eq!(ids, expected, "every id decodes to the stored string");
    for (run, (raw, _)) in runs.as_array().unwrap().iter().zip(HOSTILE) {
        assert_eq!(run["workflow"], *raw);
    }

    let hooks = json_of(&awaitly(&[&store[..], &["hooks"]].concat()), "hooks");
    let stuck = json_of(&awaitly(&[&store[..], &["stuck"]].concat()), "stuck");
    for listing in [&hooks, &stuck] {
        let mut strings = Vec::new();
        strings_in(listing, &mut strings);
        for (index, (raw, _)) in HOSTILE.iter().enumerate() {
            for expected in [
                run_id(index, raw),
                hook_id(index, raw),
                approval_key(index, raw),
                (*raw).to_owned(),
            ] {
                assert!(strings.contains(&expected), "{expected:?} not in {listing}");
            }
        }
    }
    for hook in hooks.as_array().unwrap() {
        let index = HOSTILE
            .iter()
            .position(|(raw, _)| hook["workflow"] == *raw)
            .unwrap();
        assert_eq!(hook["metadata"]["note"], HOSTILE[index].0);
    }

    for (index, raw, _) in arguable() {
        let id = run_id(index, raw);
        let run = json_of(&awaitly(&[&store[..], &["run", &id]].concat()), "run");
        assert_eq!(run["run_id"], id.as_str());
        assert_eq!(run["steps"][0]["key"], step_key(index, raw).as_str());
        assert_eq!(run["steps"][0]["error"]["message"], raw);
        assert_eq!(run["input"], Value::Null, "the input is not shown");
    }
}

#[tokio::test]
async fn an_entry_that_no_longer_decodes_is_named_escaped_on_one_line() {
    for (index, (raw, shown)) in HOSTILE.iter().enumerate() {
        let db = ScratchDb::new("corrupt");
        let id = format!("c{index}-{raw}");
        let key = step_key(index, raw);
        {
            let store = SqliteStore::open(&db.0).await.unwrap();
            store
                .create_run(NewRun::new(id.clone(), "w", 1, Value::Null))
                .await
                .unwrap();
            let changes = Changes {
                entries: vec![(key.clone(), awaitly::StepEntry::ok(&1).unwrap())],
                ..Changes::default()
            };
            store.save(&id, 0, changes).await.unwrap();
        }
        let connection = rusqlite::Connection::open(&db.0).unwrap();
        let changed = connection
            .execute(
                "UPDATE awaitly_entries SET entry = ?1 WHERE run_id = ?2 AND key = ?3",
                [
                    "{\"ok\": tru\u{1b}e, \u{9b}garbage",
                    id.as_str(),
                    key.as_str(),
                ],
            )
            .unwrap();
        assert_eq!(changed, 1, "{raw:?}");
        drop(connection);

        let url = db.url();
        let mut commands = vec![vec!["runs"], vec!["hooks"], vec!["stuck"]];
        if !raw.contains('\0') {
            commands.push(vec!["run", id.as_str()]);
        }
        for command in commands {
            for json in [false, true] {
                let mut arguments = vec!["--store", url.as_str()];
                if json {
                    arguments.push("--json");
                }
                arguments.extend(&command);
                let transcript = awaitly(&arguments);
                assert_eq!(transcript.code, 1, "{arguments:?}");
                let stderr = transcript.stderr();
                assert_shows(
                    &stderr,
                    &format!("run `c{index}-{shown}`"),
                    "corrupt: run id",
                );
                assert_shows(
                    &stderr,
                    &format!("entry `{}`", step_key(index, shown)),
                    "key",
                );
                assert!(
                    stderr.starts_with("error: ") && stderr.lines().count() == 1,
                    "{stderr}"
                );
            }
        }
    }
}

#[tokio::test]
async fn refused_deletions_and_unknown_ids_echo_the_id_escaped() {
    let db = seeded("delete").await;
    let url = db.url();
    for (index, raw, shown) in arguable() {
        let id = run_id(index, raw);
        let refused = awaitly(&["--store", &url, "delete-run", &id]);
        assert_eq!(refused.code, 2, "{}", refused.stderr());
        assert_shows(
            &refused.stdout(),
            &format!("run       {}\n", run_id(index, shown)),
            "preview",
        );
        assert_eq!(
            refused.stderr(),
            format!(
                "error: nothing was deleted: deleting run `{}` cannot be undone; run the same \
                 command with --yes to delete it\n",
                run_id(index, shown)
            )
        );

        let missing = format!("missing-{raw}");
        for command in [
            &["run", missing.as_str()][..],
            &["delete-run", &missing, "--yes"],
        ] {
            let unknown = awaitly(&[&["--store", url.as_str()][..], command].concat());
            assert_eq!(unknown.code, 1);
            assert_eq!(
                unknown.stderr(),
                format!(
                    "error: no run `missing-{shown}` in the store; `awaitly --store URL runs` \
                     lists the run ids\n"
                )
            );
        }
    }
    let store = SqliteStore::open(&db.0).await.unwrap();
    assert_eq!(
        store.list_runs().await.unwrap().len(),
        HOSTILE.len(),
        "nothing deleted"
    );
}

#[test]
fn usage_errors_echo_arguments_escaped() {
    for (_, raw, shown) in arguable() {
        let status = awaitly(&["--store", "sqlite://x.db", "runs", "--status", raw]);
        assert_eq!(status.code, 2);
        assert_shows(
            &status.stderr(),
            &format!("`{shown}` is not a run status"),
            "status",
        );

        let url = awaitly(&["--store", raw, "runs"]);
        assert_eq!(url.code, 2);
        assert_shows(
            &url.stderr(),
            &format!("`{shown}` is not a store URL"),
            "url",
        );

        let path = format!("no/such/{raw}.json");
        let missing = awaitly(&["--store", &path, "runs"]);
        assert_eq!(missing.code, 1);
        assert_shows(&missing.stderr(), &format!("no/such/{shown}.json"), "path");

        // clap's own messages quote the argument they refuse.
        let subcommand = format!("x{raw}");
        let clap = awaitly(&["--store", "sqlite://x.db", &subcommand]);
        assert_eq!(clap.code, 2);
        assert_shows(&clap.stderr(), &format!("x{shown}"), "clap");
        let flag = format!("--x{raw}");
        assert_eq!(
            awaitly(&["--store", "sqlite://x.db", &flag, "runs"]).code,
            2
        );
    }
}

/// No code of the tool writes to the terminal but the console, which escapes everything.
#[test]
fn only_the_console_writes_to_the_terminal() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("src/bin/awaitly.rs")];
    for entry in std::fs::read_dir(root.join("src/cli")).unwrap() {
        files.push(entry.unwrap().path());
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let console = file.ends_with("console.rs");
        for forbidden in [
            "print!(",
            "println!(",
            "eprint!(",
            "eprintln!(",
            "dbg!(",
            ".print()",
            "io::stdout",
            "io::stderr",
            "Stdout",
            "Stderr",
        ] {
            let allowed =
                console && matches!(forbidden, "io::stdout" | "io::stderr" | "Stdout" | "Stderr");
            assert!(
                allowed || !code.contains(forbidden),
                "{} uses `{forbidden}`: write through cli::console::Console",
                file.display()
            );
        }
    }
}
