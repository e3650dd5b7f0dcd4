//! The HTTP callback path end to end: a real server on 127.0.0.1, a real HTTP client, every
//! documented status, the listing on the admin router only, and 100 concurrent deliveries to one
//! hook (SQLite, and Postgres when `AWAITLY_TEST_POSTGRES_URL` is set).
#![cfg(all(feature = "sqlite", feature = "http"))]

use crate::common;

use std::sync::Arc;

use awaitly::durable::Engine;
use awaitly::http::{HooksConfig, admin_router_with, hooks_router_with};
use awaitly::store::{RunStatus, SqliteStore, Store};
use awaitly::{await_hook, step, workflow};
use common::flows::{self, OrderInput, executions};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[workflow]
async fn two_hooks(run: String) -> Result<u32, String> {
    let first: u32 = await_hook!("first", metadata = json!({ "run": run }));
    let second: u32 = await_hook!("second");
    step!("sum", Ok::<u32, String>(first + second))
}

struct Server {
    base: String,
    engine: Arc<Engine>,
    client: reqwest::Client,
}

impl Server {
    async fn start(store: Arc<dyn Store>, config: HooksConfig) -> Self {
        let engine = Arc::new(flows::engine(store).register("two-hooks", 1, two_hooks));
        let app = hooks_router_with(Arc::clone(&engine), config.clone())
            .nest("/admin", admin_router_with(Arc::clone(&engine), &config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { awaitly::http::axum::serve(listener, app).await.unwrap() });
        Self {
            base,
            engine,
            client: reqwest::Client::new(),
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
}

fn assert_error(reply: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(reply.0, status, "{reply:?}");
    assert_eq!(reply.1["error"]["code"], code, "{reply:?}");
    assert!(
        reply.1["error"]["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty())
    );
}

/// The admin router lists the pending hook with its run, metadata, age and URL; the public
/// router lists nothing.
async fn assert_listed(server: &Server, hook_id: &str) {
    let public = server
        .client
        .get(format!("{}/callbacks", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let public = public.text().await.unwrap();
    assert!(!public.contains(hook_id), "{public}");
    let listing: Value = server
        .client
        .get(format!("{}/admin/hooks", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = listing["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|hook| hook["hook_id"] == hook_id)
        .expect("listed");
    assert_eq!(listed["run_id"], "http-two");
    assert_eq!(listed["metadata"], json!({ "run": "http-two" }));
    assert_eq!(listed["url"], format!("/callbacks/{hook_id}"));
    assert!(listed["age_ms"].as_u64().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_status_over_real_http() {
    let file = common::ScratchFile::new("http");
    let store = Arc::new(SqliteStore::open(&file.0).await.unwrap());
    let config = HooksConfig::default().path("/callbacks").body_limit(1024);
    let server = Server::start(store, config).await;

    let started = server
        .engine
        .start("http-two", "two-hooks", &"http-two")
        .await
        .unwrap();
    let first = started.outcome.pending_hook().unwrap().hook_id.clone();

    assert_listed(&server, first.as_str()).await;

    let first_url = format!("/callbacks/{first}");
    assert_error(
        &server.post(&first_url, "{not json").await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    assert_error(
        &server.post(&first_url, "\"a string\"").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "payload_type",
    );
    assert_error(
        &server
            .post(&first_url, format!("[{}1]", "1,".repeat(600)))
            .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    assert_error(
        &server.post("/callbacks/no-such-hook", "1").await,
        StatusCode::NOT_FOUND,
        "unknown_hook",
    );

    // Suspended again at the next hook: 202 with that hook.
    let (status, body) = server.post(&first_url, "2").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "suspended");
    let second = body["hook"]["hook_id"].as_str().unwrap().to_owned();
    assert_eq!(body["hook"]["url"], format!("/callbacks/{second}"));
    assert_error(
        &server.post(&first_url, "3").await,
        StatusCode::CONFLICT,
        "already_resolved",
    );
    let (status, body) = server.post(&first_url, "2").await;
    assert_eq!(
        (status, &body["duplicate"]),
        (StatusCode::ACCEPTED, &json!(true)),
        "{body}"
    );

    // Completed: 200 with the result.
    let second_url = format!("/callbacks/{second}");
    let (status, body) = server.post(&second_url, "40").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "run_id": "http-two", "status": "completed", "result": 42 })
    );
    let (status, body) = server.post(&second_url, "40").await;
    assert_eq!(
        (status, &body["duplicate"], &body["result"]),
        (StatusCode::OK, &json!(true), &json!(42))
    );
    assert_error(
        &server.post(&second_url, "41").await,
        StatusCode::CONFLICT,
        "already_resolved",
    );

    let expired = common::flows::expired_hook_run(server.engine.store(), "http-expired").await;
    assert_error(
        &server.post(&format!("/callbacks/{expired}"), "5").await,
        StatusCode::GONE,
        "hook_expired",
    );

    let record = server.engine.record("http-two").await.unwrap();
    assert_eq!(record.status(), RunStatus::Completed);
    let state = server
        .engine
        .store()
        .load_run("http-two")
        .await
        .unwrap()
        .unwrap()
        .state;
    assert_eq!(
        state.get(&first.step_key()).unwrap().value_json(),
        Some("2"),
        "the 422 left no trace"
    );
}

async fn hundred_deliveries(store: Arc<dyn Store>, run: &str) {
    let server = Arc::new(Server::start(Arc::clone(&store), HooksConfig::default()).await);
    let input = OrderInput {
        run: run.to_owned(),
        cents: 7,
    };
    let started = server.engine.start(run, "order", &input).await.unwrap();
    let hook = started.outcome.pending_hook().unwrap().hook_id.clone();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..100u32 {
        let server = Arc::clone(&server);
        let url = format!("/hooks/{hook}");
        tasks.spawn(async move {
            server
                .post(&url, json!({ "paid_cents": index }).to_string())
                .await
        });
    }
    let replies = tasks.join_all().await;
    let ok: Vec<&(StatusCode, Value)> = replies
        .iter()
        .filter(|reply| reply.0 == StatusCode::OK)
        .collect();
    assert_eq!(ok.len(), 1, "exactly one winner: {replies:?}");
    assert_eq!(ok[0].1["run_id"], run);
    for reply in &replies {
        if reply.0 != StatusCode::OK {
            assert_error(reply, StatusCode::CONFLICT, "already_resolved");
        }
    }
    // Consistent afterwards: the run ended once, with the winner's payload; nothing pending.
    assert_eq!(executions(run, "fulfil"), 1);
    let stored = store.load_run(run).await.unwrap().unwrap();
    assert!(stored.record.status().is_terminal(), "{:?}", stored.record);
    let winner_paid = stored
        .state
        .get(&hook.step_key())
        .unwrap()
        .value_json()
        .unwrap()
        .to_owned();
    let winner: Value = serde_json::from_str(&winner_paid).unwrap();
    let expected_status = if winner["paid_cents"] == 7 {
        "completed"
    } else {
        "failed"
    };
    assert_eq!(ok[0].1["status"], expected_status, "{:?}", ok[0]);
    assert!(
        store
            .pending_hooks()
            .await
            .unwrap()
            .iter()
            .all(|pending| pending.hook_id != hook)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_concurrent_http_deliveries_on_sqlite() {
    let file = common::ScratchFile::new("http-race");
    let store = Arc::new(SqliteStore::open(&file.0).await.unwrap());
    hundred_deliveries(store, "http-race-sqlite").await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_concurrent_http_deliveries_on_postgres() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let store =
        awaitly::store::PostgresStore::connect_with_schema(&url, &common::unique("http_race"))
            .await
            .unwrap();
    hundred_deliveries(Arc::new(store.clone()), "http-race-postgres").await;
    store.drop_schema().await.unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_routers_on_one_postgres_take_each_others_callbacks() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = common::unique("two_routers");
    let connect = || awaitly::store::PostgresStore::connect_with_schema(&url, &schema);
    let first_store = connect().await.unwrap();
    let first = Server::start(Arc::new(first_store.clone()), HooksConfig::default()).await;
    let second = Server::start(Arc::new(connect().await.unwrap()), HooksConfig::default()).await;
    for index in 0..6u32 {
        let run = format!("{schema}-{index}");
        let (starting, receiving) = if index % 2 == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        let input = OrderInput {
            run: run.clone(),
            cents: index,
        };
        let started = starting.engine.start(&run, "order", &input).await.unwrap();
        let hook = started.outcome.pending_hook().unwrap().hook_id.clone();
        let payment = json!({ "paid_cents": index }).to_string();
        let (status, body) = receiving.post(&format!("/hooks/{hook}"), payment).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body,
            json!({ "run_id": run, "status": "completed", "result": format!("ord-{run} fulfilled") })
        );
        assert_eq!(executions(&run, "create-order"), 1);
        assert_eq!(executions(&run, "fulfil"), 1);
    }
    first_store.drop_schema().await.unwrap();
}
