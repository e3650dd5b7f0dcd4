//! A seeded store for the CLI, dashboard and browser tests: runs in every status, waiting on
//! hooks, approvals and sleeps, some past their deadline, and one full of hostile text.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use awaitly::store::{Changes, NewRun, RunOutcome, Store};
use awaitly::{MaybePendingHook, ResumeState};
use serde_json::{Value, json};

/// 2023-11-14 22:13:20Z: when the seeded hooks and approvals were requested.
pub const REQUESTED_AT: u64 = 1_700_000_000_000;
/// 2100-01-01 00:00:00Z: a deadline that has not passed.
pub const FAR_FUTURE: u64 = 4_102_444_800_000;

/// Text a hostile caller would put in a payload: markup, quotes, a `</pre>` that would close the
/// dashboard's diagram source, a terminal escape sequence, and non-ASCII text.
pub const HOSTILE: &str = "\u{1b}[31m</pre><script>document.title='pwned'</script><img src=x onerror=\"alert(1)\"> \"quoted\" &amp; ünïcødé ✓";

/// A run to seed: its record's fields and its resume state.
pub struct SeedRun {
    pub run_id: &'static str,
    pub workflow: &'static str,
    pub version: u32,
    pub outcome: RunOutcome,
    pub state: Value,
}

fn pending_hook(hook_id: &str, metadata: &Value, deadline: u64) -> Value {
    json!({ "ok": false, "error": {
        "type": "PENDING_HOOK", "hookId": hook_id, "stepKey": format!("hook:{hook_id}"),
        "metadata": metadata, "deadline": deadline, "requestedAt": REQUESTED_AT,
    }})
}

fn hook_outcome(state: &Value, hook_id: &str) -> RunOutcome {
    let state = ResumeState::from_json(&state.to_string()).expect("seed state");
    let hook = state
        .get(&format!("hook:{hook_id}"))
        .and_then(MaybePendingHook::pending_hook)
        .expect("seeded pending hook");
    RunOutcome::Suspended { hook }
}

fn approval_outcome(state: &Value, key: &str) -> RunOutcome {
    let state = ResumeState::from_json(&state.to_string()).expect("seed state");
    let approval = awaitly::get_pending_approvals(&state)
        .into_iter()
        .find(|approval| approval.step_key == key)
        .expect("seeded pending approval");
    RunOutcome::AwaitingApproval { approval }
}

/// A run whose step key, error and hook metadata are hostile text.
fn hostile_run() -> SeedRun {
    let state = json!({ "kind": "ResumeState", "version": 1, "steps": [
        [HOSTILE, { "ok": false, "error": { "message": HOSTILE } }],
        ["hook:h-evil", pending_hook("h-evil", &json!({ "note": HOSTILE, "quote": "\"'`" }), FAR_FUTURE)],
    ]});
    SeedRun {
        run_id: "evil-1",
        workflow: "checkout",
        version: 1,
        outcome: hook_outcome(&state, "h-evil"),
        state,
    }
}

/// The seeded runs, in creation order.
pub fn runs() -> Vec<SeedRun> {
    let order_1 = json!({ "kind": "ResumeState", "version": 1, "steps": [
        ["load-order", { "ok": true, "value": { "id": "ord_1", "cents": 4200 } }],
        ["hook:h-pay-1", pending_hook("h-pay-1", &json!({ "order": "ord_1" }), FAR_FUTURE)],
    ]});
    let order_2 = json!({ "kind": "ResumeState", "version": 1, "steps": [
        ["load-order", { "ok": true, "value": { "id": "ord_2", "cents": 990 } }],
        ["hook:h-pay-2", { "ok": true, "value": { "paid": true } }],
        ["ship", { "ok": true, "value": "tracking-77" }],
    ]});
    let order_3 = json!({ "kind": "ResumeState", "version": 1, "steps": [
        ["load-order", { "ok": true, "value": { "id": "ord_3", "cents": 100 } }],
        ["hook:h-pay-3", pending_hook("h-pay-3", &json!({ "order": "ord_3" }), REQUESTED_AT + 3_600_000)],
    ]});
    let refund = json!({ "kind": "ResumeState", "version": 1, "steps": [
        ["approve:refund:7", { "ok": false, "error": {
            "type": "PENDING_APPROVAL", "stepKey": "approve:refund:7",
            "reason": "refund over the limit", "metadata": { "cents": 15000 },
            "deadline": REQUESTED_AT + 86_400_000, "requestedAt": REQUESTED_AT,
        }}],
    ]});
    let reminder = json!({ "kind": "ResumeState", "version": 1, "steps": [
        ["welcome", { "ok": true, "value": null }],
        ["cool-off", { "ok": true, "value": { "wakeAt": REQUESTED_AT + 60_000 }, "sleep": true }],
    ]});
    let import = json!({ "kind": "ResumeState", "version": 1, "steps": [
        ["fetch", { "ok": true, "value": "a,b\n1,2" }],
        ["parse", { "ok": false, "error": { "code": "BAD_CSV", "line": 2 } }],
    ]});
    vec![
        SeedRun {
            run_id: "order-1",
            workflow: "checkout",
            version: 1,
            outcome: hook_outcome(&order_1, "h-pay-1"),
            state: order_1,
        },
        SeedRun {
            run_id: "order-2",
            workflow: "checkout",
            version: 1,
            outcome: RunOutcome::Completed {
                result: json!("tracking-77"),
            },
            state: order_2,
        },
        SeedRun {
            run_id: "order-3",
            workflow: "checkout",
            version: 1,
            outcome: hook_outcome(&order_3, "h-pay-3"),
            state: order_3,
        },
        SeedRun {
            run_id: "refund-7",
            workflow: "refund",
            version: 2,
            outcome: approval_outcome(&refund, "approve:refund:7"),
            state: refund,
        },
        SeedRun {
            run_id: "reminder-3",
            workflow: "reminder",
            version: 1,
            outcome: RunOutcome::Sleeping {
                key: "cool-off".into(),
                wake_at_ms: REQUESTED_AT + 60_000,
            },
            state: reminder,
        },
        SeedRun {
            run_id: "import-9",
            workflow: "import",
            version: 1,
            outcome: RunOutcome::Failed {
                error: json!({ "code": "BAD_CSV" }),
            },
            state: import,
        },
        SeedRun {
            run_id: "legacy-4",
            workflow: "checkout",
            version: 0,
            outcome: RunOutcome::Stopped {
                message: "the stored state holds keys this build's workflow can never reach".into(),
            },
            state: json!({ "kind": "ResumeState", "version": 1, "steps": [
                ["load-order-v0", { "ok": true, "value": { "id": "ord_4" } }],
            ]}),
        },
        hostile_run(),
    ]
}

/// Creates every seeded run in `store` through the public `Store` API.
pub async fn seed(store: &dyn Store) {
    for run in runs() {
        store
            .create_run(NewRun::new(
                run.run_id,
                run.workflow,
                run.version,
                json!({ "seeded": true }),
            ))
            .await
            .expect("create seeded run");
        let state = ResumeState::from_json(&run.state.to_string()).expect("seed state");
        let changes = Changes {
            entries: state
                .iter()
                .map(|(key, entry)| (key.to_owned(), entry.clone()))
                .collect(),
            suspend_at: run.outcome.pending_hook().cloned(),
            outcome: Some(run.outcome),
            ..Changes::default()
        };
        store
            .save(run.run_id, 0, changes)
            .await
            .expect("save seeded run");
    }
}

/// A scratch SQLite file seeded with [`runs`]; removed (with its WAL files) when dropped.
#[cfg(feature = "sqlite")]
pub struct SeededSqlite {
    pub path: std::path::PathBuf,
}

#[cfg(feature = "sqlite")]
impl SeededSqlite {
    pub async fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("awaitly-{name}-{}-{nanos}.db", std::process::id()));
        let store = awaitly::store::SqliteStore::open(&path)
            .await
            .expect("open scratch SQLite");
        seed(&store).await;
        Self { path }
    }
}

#[cfg(feature = "sqlite")]
impl Drop for SeededSqlite {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}
