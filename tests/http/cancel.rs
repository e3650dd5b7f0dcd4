//! Cancellation over real HTTP (SQLite, issue 14): `POST /runs/{id}/cancel` on the admin router
//! stops a run where it waits, runs its compensation and answers the cancelled run; the callback
//! that arrives afterwards on the public router is answered `410 Gone` with status `cancelled`;
//! a finished run is `409`, an unknown one `404`, a malformed body `400`.
#![cfg(all(feature = "sqlite", feature = "http"))]

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use awaitly::durable::Engine;
use awaitly::http::{admin_router, hooks_router};
use awaitly::store::{RunOutcome, SqliteStore};
use awaitly::{await_hook, step, workflow};
use reqwest::StatusCode;
use serde_json::{Value, json};

static RELEASED: AtomicU32 = AtomicU32::new(0);

#[workflow]
async fn order(seats: u32) -> Result<String, String> {
    let undo = |seats: u32| async move {
        RELEASED.fetch_add(seats, Ordering::SeqCst);
        Ok::<(), String>(())
    };
    step!("reserve", compensate = undo, Ok::<u32, String>(seats))?;
    let paid: bool = await_hook!("payment");
    Ok(if paid { "paid".into() } else { "unpaid".into() })
}

async fn post(client: &reqwest::Client, url: String, body: &str) -> (StatusCode, Value) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn cancelling_over_http_compensates_and_a_late_callback_is_gone() {
    let file = common::ScratchFile::new("http-cancel");
    let store = SqliteStore::open(&file.0).await.unwrap();
    let engine = Arc::new(Engine::new(store).register("order", 1, order));
    let app = hooks_router(Arc::clone(&engine)).nest("/admin", admin_router(Arc::clone(&engine)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { awaitly::http::axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();

    let started = engine.start("o-1", "order", &3).await.unwrap();
    let hook = started.outcome.pending_hook().unwrap().hook_id.clone();
    let before = RELEASED.load(Ordering::SeqCst);

    let (status, body) = post(
        &client,
        format!("{base}/admin/runs/o-1/cancel"),
        r#"{"reason": "customer left"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "run_id": "o-1", "status": "cancelled", "reason": "customer left" })
    );
    assert_eq!(RELEASED.load(Ordering::SeqCst) - before, 3);
    assert_eq!(
        engine.record("o-1").await.unwrap().outcome,
        RunOutcome::Cancelled {
            reason: Some("customer left".into())
        }
    );

    // The payment provider's callback arrives late: gone, and nothing changes.
    let (status, body) = post(&client, format!("{base}/hooks/{}", hook.as_str()), "true").await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert_eq!(body["error"]["code"], "cancelled");
    // The claim was freed: the hook holds no payload.
    let record = engine.store().find_hook(&hook).await.unwrap().unwrap();
    assert!(record.payload.is_none());
    assert_eq!(RELEASED.load(Ordering::SeqCst) - before, 3);

    // Cancelling again answers the same; an empty body is fine.
    let (status, body) = post(&client, format!("{base}/admin/runs/o-1/cancel"), "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reason"], "customer left");

    // A finished run cannot be cancelled; an unknown one is not found; a body of another shape
    // is refused before anything happens.
    engine.start("o-2", "order", &1).await.unwrap();
    let hook = engine
        .record("o-2")
        .await
        .unwrap()
        .outcome
        .pending_hook()
        .unwrap()
        .hook_id
        .clone();
    engine.resume_hook(&hook, json!(true)).await.unwrap();
    let (status, body) = post(&client, format!("{base}/admin/runs/o-2/cancel"), "").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "finished");
    let (status, body) = post(&client, format!("{base}/admin/runs/nope/cancel"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = post(
        &client,
        format!("{base}/admin/runs/o-2/cancel"),
        r#"{"why": 1}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_cancellation");
}
