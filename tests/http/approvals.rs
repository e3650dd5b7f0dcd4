//! The approval endpoints end to end over real HTTP (SQLite): listing what waits for whom (on
//! the admin router), deciding (on the approvals router), and every documented refusal.
#![cfg(all(feature = "sqlite", feature = "http"))]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use awaitly::durable::Engine;
use awaitly::http::{admin_router, approvals_router};
use awaitly::store::{Lease, SqliteStore};
use awaitly::{ApprovalError, ManualClock, await_approval, workflow};
use reqwest::StatusCode;
use serde_json::{Value, json};

const T0: u64 = 1_700_000_000_000;

#[workflow]
async fn refund(order: String, cents: u32) -> Result<String, String> {
    let decision: Result<u32, ApprovalError> = await_approval!(
        format!("approve/refund:{order}"),
        reason = "refund over 100 EUR",
        metadata = json!({ "order": order, "cents": cents }),
        timeout = Duration::from_hours(24)
    );
    match decision {
        Ok(cents) => Ok(format!("refunded {cents}")),
        Err(ApprovalError::Rejected { reason, .. }) => Ok(format!("refused: {reason}")),
        Err(ApprovalError::Expired { .. }) => Ok("expired".to_owned()),
    }
}

struct Server {
    base: String,
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    client: reqwest::Client,
    _file: common::ScratchFile,
}

impl Server {
    async fn start() -> Self {
        Self::answering_within(Duration::from_secs(10)).await
    }

    /// A server whose engine waits `patience` for another executor holding a run
    /// ([`Engine::answer_within`]).
    async fn answering_within(patience: Duration) -> Self {
        let file = common::ScratchFile::new("http-approvals");
        let store = SqliteStore::open(&file.0).await.unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        let engine = Arc::new(
            Engine::new(store)
                .clock(clock.clone())
                .answer_within(patience)
                .register("refund", 1, |(order, cents): (String, u32)| {
                    refund(order, cents)
                }),
        );
        let app =
            approvals_router(Arc::clone(&engine)).nest("/admin", admin_router(Arc::clone(&engine)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { awaitly::http::axum::serve(listener, app).await.unwrap() });
        Self {
            base,
            engine,
            clock,
            client: reqwest::Client::new(),
            _file: file,
        }
    }

    async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn list(&self) -> Vec<Value> {
        let listing: Value = self
            .client
            .get(format!("{}/admin/approvals", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        listing["approvals"].as_array().unwrap().clone()
    }
}

fn assert_error(reply: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(reply.0, status, "{reply:?}");
    assert_eq!(reply.1["error"]["code"], code, "{reply:?}");
}

/// Every malformed decision is refused with its documented status.
async fn assert_bad_bodies_decide_nothing(server: &Server, url: &str) {
    // Bad bodies.
    assert_error(
        &server.post(url, "{nope").await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    for body in [
        json!({ "decision": "approve", "value": 150 }),
        json!({ "decision": "approve", "actor": "grace" }),
        json!({ "decision": "reject", "actor": "grace" }),
        json!({ "decision": "maybe", "actor": "grace" }),
        json!({ "decision": "approve", "value": 1, "actor": "grace", "extra": true }),
        json!([1, 2]),
    ] {
        let reply = server.post(url, body.to_string()).await;
        assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_decision");
    }
    let wrong_type = json!({ "decision": "approve", "value": "lots", "actor": "grace" });
    assert_error(
        &server.post(url, wrong_type.to_string()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "value_type",
    );
    let huge = format!(
        r#"{{"decision":"approve","actor":"grace","value":"{}"}}"#,
        "x".repeat(70_000)
    );
    assert_error(
        &server.post(url, huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_are_listed_and_decided_over_http() {
    let server = Server::start().await;
    for order in ["o1", "o2", "o3"] {
        server
            .engine
            .start(order, "refund", &(order, 150))
            .await
            .unwrap();
    }
    server.clock.advance(Duration::from_mins(3));
    let listed = server.list().await;
    assert_eq!(listed.len(), 3);
    // The decision router lists nothing.
    let public = server
        .client
        .get(format!("{}/approvals", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let public: Value = public.json().await.unwrap();
    assert_eq!(public["error"]["code"], "not_found", "{public}");
    assert!(!public.to_string().contains("o1"), "{public}");
    let first = &listed[0];
    assert_eq!(first["run_id"], "o1");
    assert_eq!(first["workflow"], "refund");
    assert_eq!(first["key"], "approve/refund:o1");
    assert_eq!(first["reason"], "refund over 100 EUR");
    assert_eq!(first["metadata"], json!({ "order": "o1", "cents": 150 }));
    assert_eq!(first["requested_at_ms"], T0);
    assert_eq!(first["deadline_ms"], T0 + 86_400_000);
    assert_eq!(first["age_ms"], 180_000);
    let url = first["url"].as_str().unwrap().to_owned();
    assert_eq!(
        url, "/approvals/o1/approve%2Frefund:o1",
        "the key stays one path segment"
    );

    assert_bad_bodies_decide_nothing(&server, &url).await;
    assert_eq!(server.list().await.len(), 3, "nothing was decided");

    // Approve (edited), then the same again, then something else.
    let edit = json!({ "decision": "edit", "value": 120, "actor": "grace" }).to_string();
    let reply = server.post(&url, edit.clone()).await;
    assert_eq!(reply.0, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.1["outcome"],
        json!({ "status": "completed", "result": "refunded 120" })
    );
    let again = server.post(&url, edit).await;
    assert_eq!(
        (again.0, &again.1["outcome"]),
        (StatusCode::OK, &reply.1["outcome"])
    );
    let other = json!({ "decision": "reject", "reason": "no", "actor": "ada" }).to_string();
    assert_error(
        &server.post(&url, other).await,
        StatusCode::CONFLICT,
        "already_decided",
    );

    // Reject.
    let reject = json!({ "decision": "reject", "reason": "duplicate claim", "actor": "grace" });
    let reply = server
        .post("/approvals/o2/approve%2Frefund:o2", reject.to_string())
        .await;
    assert_eq!(
        reply.1["outcome"]["result"], "refused: duplicate claim",
        "{reply:?}"
    );

    // Unknown run and key; expired.
    let approve = json!({ "decision": "approve", "value": 1, "actor": "grace" }).to_string();
    assert_error(
        &server.post("/approvals/nope/k", approve.clone()).await,
        StatusCode::NOT_FOUND,
        "unknown_run",
    );
    assert_error(
        &server.post("/approvals/o3/k", approve.clone()).await,
        StatusCode::NOT_FOUND,
        "unknown_approval",
    );
    server.clock.advance(Duration::from_hours(24));
    assert_error(
        &server
            .post("/approvals/o3/approve%2Frefund:o3", approve)
            .await,
        StatusCode::GONE,
        "approval_expired",
    );
    let remaining: Vec<Value> = server.list().await;
    assert_eq!(
        remaining.len(),
        1,
        "o3 waits until a sweeper records the expiry"
    );
    server.engine.resume_due().await.unwrap();
    assert!(server.list().await.is_empty());
}

/// `EngineError::Busy` (another executor holds the run's live lease, and did not let go within
/// `answer_within`) is `503 Service Unavailable` with `Retry-After`, and decides nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_on_a_run_another_executor_holds_is_503_with_retry_after_and_changes_nothing() {
    let server = Server::answering_within(Duration::from_millis(100)).await;
    server
        .engine
        .start("o-busy", "refund", &("o-busy", 150))
        .await
        .unwrap();
    let url = server.list().await[0]["url"].as_str().unwrap().to_owned();
    // Another executor claims the run (its deadline passed by that executor's clock) and sits on it.
    let store = server.engine.store();
    let other = Lease::new("another-executor", Duration::from_secs(30));
    let claimed = store.claim_runs(u64::MAX, 10, &other, &[]).await.unwrap();
    assert!(claimed.runs.iter().any(|run| run.run_id == "o-busy"));
    let before = store.load_run("o-busy").await.unwrap().unwrap();

    let decision = json!({ "decision": "approve", "value": 120, "actor": "grace" });
    let response = server
        .client
        .post(format!("{}{url}", server.base))
        .header("content-type", "application/json")
        .body(decision.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .map(|value| value.to_str().unwrap()),
        Some("1")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "busy", "{body}");

    let after = store.load_run("o-busy").await.unwrap().unwrap();
    assert_eq!(
        after.record.revision, before.record.revision,
        "nothing written"
    );
    assert_eq!(after.record.outcome, before.record.outcome);
    assert_eq!(after.state.to_json(), before.state.to_json());
    assert_eq!(
        after.record.lease.map(|lease| lease.owner).as_deref(),
        Some("another-executor"),
        "the other executor still holds the run"
    );
    let listed = server.list().await;
    assert_eq!(listed.len(), 1, "the approval still waits: {listed:?}");
    assert_eq!(listed[0]["run_id"], "o-busy");
}
