//! Hostile input on the HTTP body path: random bytes, random JSON, oversized bodies and random
//! hook ids sent to a real server over real HTTP. Every answer is one of the documented statuses
//! with a JSON error body, the server never panics, and the pending hook is still deliverable
//! afterwards. Cases: 300, or `AWAITLY_PROPTEST_CASES` in the long mode (`tests/props/hostile/mod.rs`);
//! printed with `-- --nocapture`. (`tests/props/http_router.rs` drives the router in-process with far
//! more kinds of hostile request; this one keeps a real socket and hyper in the loop.)
#![cfg(feature = "http")]

use crate::hostile;

use std::sync::Arc;

use awaitly::durable::Engine;
use awaitly::http::{HooksConfig, hooks_router_with};
use awaitly::store::MemoryStore;
use awaitly::{await_hook, workflow};
use proptest::prelude::*;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Cases in the short mode (CI).
const SHORT: u32 = 300;
const BODY_LIMIT: usize = 4 * 1024;

#[derive(Debug, Serialize, Deserialize)]
struct Payment {
    amount: u32,
    currency: String,
}

#[workflow]
async fn pay(order: String) -> Result<String, String> {
    let payment: Payment = await_hook!("payment", metadata = order);
    Ok(format!("{} {}", payment.amount, payment.currency))
}

/// A JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{0,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Body {
    Bytes(Vec<u8>),
    Json(Value),
    Oversized(usize),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256).prop_map(Body::Bytes),
        json_value().prop_map(Body::Json),
        (BODY_LIMIT + 1..BODY_LIMIT * 4).prop_map(Body::Oversized),
    ]
}

#[test]
fn random_bodies_and_ids_get_documented_answers_and_the_hook_survives() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (base, hook_id, engine) = runtime.block_on(async {
        let engine = Arc::new(Engine::new(MemoryStore::new()).register("pay", 1, pay));
        let started = engine
            .start("run-1", "pay", &"ord_1".to_owned())
            .await
            .unwrap();
        let hook_id = started
            .outcome
            .pending_hook()
            .expect("suspended at the payment hook")
            .hook_id
            .clone();
        let app = hooks_router_with(
            Arc::clone(&engine),
            HooksConfig::default().body_limit(BODY_LIMIT),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        runtime_spawn(listener, app);
        (base, hook_id, engine)
    });
    let client = reqwest::Client::new();
    let allowed = [
        StatusCode::BAD_REQUEST,
        StatusCode::NOT_FOUND,
        StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::UNPROCESSABLE_ENTITY,
    ];
    let cases = hostile::cases(SHORT);
    let mut runner = hostile::runner(cases);
    let strategy = (body(), prop::option::of("[A-Za-z0-9_%.-]{0,40}"));
    runner
        .run(&strategy, |(body, random_id)| {
            let mut id = random_id.unwrap_or_else(|| hook_id.as_str().to_owned());
            // `.` and `..` are resolved away by the URL parser before the request leaves.
            if id == "." || id == ".." {
                id.insert(0, '_');
            }
            let bytes = match &body {
                Body::Bytes(bytes) => bytes.clone(),
                Body::Json(value) => value.to_string().into_bytes(),
                Body::Oversized(size) => vec![b' '; *size],
            };
            let (status, reply) = runtime.block_on(async {
                let response = client
                    .post(format!("{base}/hooks/{id}"))
                    .header("content-type", "application/json")
                    .body(bytes)
                    .send()
                    .await
                    .expect("the server answers");
                let status = response.status();
                let text = response.text().await.expect("a body");
                (
                    status,
                    serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)),
                )
            });
            prop_assert!(
                reply.is_object(),
                "id {id:?}, body {body:?}: {status} answered with a non-JSON body {reply}"
            );
            // Random bodies never decode as a `Payment`, so the hook is never resolved by them.
            prop_assert!(
                allowed.contains(&status),
                "status {status} for {body:?}: {reply}"
            );
            prop_assert!(
                reply["error"]["code"]
                    .as_str()
                    .is_some_and(|code| !code.is_empty()),
                "{reply}"
            );
            prop_assert!(
                reply["error"]["message"]
                    .as_str()
                    .is_some_and(|message| !message.is_empty()),
                "{reply}"
            );
            Ok(())
        })
        .unwrap();
    println!("HTTP body path: {cases} random bodies and hook ids");

    // After all that, the right payload still completes the run.
    runtime.block_on(async {
        let response = client
            .post(format!("{base}/hooks/{hook_id}"))
            .json(&serde_json::json!({ "amount": 42, "currency": "EUR" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let record = engine.record("run-1").await.unwrap();
        assert!(
            format!("{:?}", record.outcome).contains("42 EUR"),
            "{:?}",
            record.outcome
        );
    });
}

fn runtime_spawn(listener: tokio::net::TcpListener, app: awaitly::http::axum::Router) {
    tokio::spawn(async move { awaitly::http::axum::serve(listener, app).await.unwrap() });
}
