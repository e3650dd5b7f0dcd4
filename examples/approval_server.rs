//! A refund that needs a manager's approval, decided over real HTTP, durably.
//!
//! Starts the approval endpoints on 127.0.0.1 (a free port) with a SQLite store in a temp file,
//! starts a refund over the automatic limit (it suspends waiting for approval), lists what waits
//! for whom (the administration router, `GET /admin/approvals`), prints the approval URL, then
//! plays the manager: POSTs an approval with a lowered amount (the decision router,
//! `POST /approvals/{run_id}/{key}`) and prints the refund's result. Both routers belong behind
//! the application's authentication; this example has none, so it listens on 127.0.0.1 only.
//!
//! `cargo run --example approval_server --features sqlite,http`

use std::sync::Arc;
use std::time::Duration;

use awaitly::durable::Engine;
use awaitly::http::axum::Router;
use awaitly::http::{ServeConfig, admin_router, approvals_router, not_found};
use awaitly::store::{RunOutcome, SqliteStore};
use awaitly::{ApprovalError, await_approval, step, workflow};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct RefundRequest {
    order_id: String,
    cents: u32,
}

async fn pay_out(order_id: &str, cents: u32) -> Result<String, String> {
    tokio::task::yield_now().await; // stands in for the call to the payment provider
    Ok(format!("refunded {cents} cents on {order_id}"))
}

#[workflow]
async fn refund(request: RefundRequest) -> Result<String, String> {
    let cents = if request.cents > 10_000 {
        let decision: Result<u32, ApprovalError> = await_approval!(
            format!("approve:refund:{}", request.order_id),
            reason = "refund over 100 EUR",
            metadata = serde_json::json!({ "order_id": request.order_id, "cents": request.cents }),
            timeout = Duration::from_hours(48)
        );
        match decision {
            Ok(cents) => cents,
            Err(ApprovalError::Rejected { reason, .. }) => return Ok(format!("refused: {reason}")),
            Err(ApprovalError::Expired { .. }) => return Ok("expired: escalated".to_owned()),
        }
    } else {
        request.cents
    };
    step!("pay-out", pay_out(&request.order_id, cents).await)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let database =
        std::env::temp_dir().join(format!("awaitly-approvals-{}.db", std::process::id()));
    let store = SqliteStore::open(&database).await?;
    let engine = Arc::new(Engine::new(store).register("refund", 1, refund));

    // In a real application, `.layer(your_auth)` on both, and `actor` from the signed-in user.
    let app: Router = Router::new()
        .merge(approvals_router(Arc::clone(&engine)))
        .nest("/admin", admin_router(Arc::clone(&engine)))
        .fallback(not_found);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(error) = awaitly::http::serve(listener, app, &ServeConfig::default()).await {
            eprintln!("the approval server stopped: {error}");
        }
    });
    println!("approval server on {base} (runs in {})", database.display());

    let request = RefundRequest {
        order_id: "ord_42".to_owned(),
        cents: 15_000,
    };
    let started = engine.start("refund-42", "refund", &request).await?;
    let RunOutcome::AwaitingApproval { approval } = &started.outcome else {
        return Err(format!(
            "expected the refund to wait for approval, got {:?}",
            started.outcome
        )
        .into());
    };
    println!(
        "refund requested, waiting for approval `{}`",
        approval.step_key
    );

    let client = reqwest::Client::new();
    let listing: serde_json::Value = client
        .get(format!("{base}/admin/approvals"))
        .send()
        .await?
        .json()
        .await?;
    println!("waiting for a decision: {listing}");
    let url = format!(
        "{base}{}",
        listing["approvals"][0]["url"]
            .as_str()
            .ok_or("the refund is not listed")?
    );
    println!("approval URL: {url}");

    let decision = serde_json::json!({ "decision": "edit", "value": 12_000, "actor": "manager" });
    println!("manager: POST {url} {decision}");
    let response = client.post(&url).json(&decision).send().await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    println!("approval answered {status}: {body}");
    if status != reqwest::StatusCode::OK {
        return Err(format!("the approval was not accepted: {status}").into());
    }
    println!("result: {}", body["outcome"]["result"]);
    drop(engine);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
    Ok(())
}
