//! The callback path's security over real HTTP: uniform rejections, and provider signatures
//! checked before anything is decoded or looked up, with the verified event id deduplicating
//! deliveries (Stripe, GitHub and Standard Webhooks, with real signed requests).
#![cfg(all(feature = "sqlite", feature = "http", feature = "signatures"))]

mod common;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use awaitly::durable::Engine;
use awaitly::http::{HooksConfig, hooks_router_with};
use awaitly::signature::{
    GitHubVerifier, StandardWebhooksVerifier, StripeVerifier, WebhookVerifier,
};
use awaitly::store::{RunOutcome, SqliteStore, Store};
use awaitly::{HookId, await_hook, workflow};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[workflow]
async fn any_event(run: String) -> Result<Value, String> {
    let event: Value = await_hook!("event", metadata = run);
    Ok(event)
}

struct Server {
    base: String,
    engine: Arc<Engine>,
    client: reqwest::Client,
    _file: common::ScratchFile,
}

impl Server {
    async fn start(config: HooksConfig) -> Self {
        let file = common::ScratchFile::new("http-security");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&file.0).await.unwrap());
        let engine = Arc::new(Engine::with_store(store).register("event", 1, any_event));
        let app = hooks_router_with(Arc::clone(&engine), config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { awaitly::http::axum::serve(listener, app).await.unwrap() });
        Self {
            base,
            engine,
            client: reqwest::Client::new(),
            _file: file,
        }
    }

    async fn hook(&self, run: &str) -> HookId {
        let started = self.engine.start(run, "event", &run).await.unwrap();
        started.outcome.pending_hook().unwrap().hook_id.clone()
    }

    async fn post(
        &self,
        hook: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("{}/hooks/{hook}", self.base))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }
}

fn code(reply: &(StatusCode, Value)) -> &str {
    reply.1["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_statuses_by_default_and_one_404_when_uniform() {
    for uniform in [false, true] {
        let server = Server::start(HooksConfig::default().uniform_rejections(uniform)).await;
        let used = server.hook(&format!("used-{uniform}")).await;
        let reply = server.post(used.as_str(), &[], b"1").await;
        assert_eq!(reply.0, StatusCode::OK, "{reply:?}");
        let unknown = server.post("no-such-hook", &[], b"1").await;
        let reused = server.post(used.as_str(), &[], b"2").await;
        // An expired hook: a run waiting at a hook whose deadline passed long ago.
        let expired =
            common::flows::expired_hook_run(server.engine.store(), &format!("exp-{uniform}")).await;
        let late = server.post(expired.as_str(), &[], b"1").await;
        if uniform {
            for reply in [&unknown, &reused, &late] {
                assert_eq!(reply.0, StatusCode::NOT_FOUND, "{reply:?}");
                assert_eq!(reply.1, unknown.1, "the same body whatever the reason");
            }
            assert_eq!(code(&unknown), "unknown_hook");
        } else {
            assert_eq!(
                (unknown.0, code(&unknown)),
                (StatusCode::NOT_FOUND, "unknown_hook")
            );
            assert_eq!(
                (reused.0, code(&reused)),
                (StatusCode::CONFLICT, "already_resolved")
            );
            assert_eq!((late.0, code(&late)), (StatusCode::GONE, "hook_expired"));
        }
        // The Rust API still tells the application why.
        let precise = server
            .engine
            .resume_hook(&expired, json!(1))
            .await
            .unwrap_err();
        assert!(
            matches!(precise, awaitly::durable::EngineError::HookExpired { .. }),
            "{precise:?}"
        );
    }
}

/// Signs a delivery: the event id and body in, the headers out.
type Sign = Box<dyn Fn(&str, &[u8]) -> Vec<(String, String)>>;

/// One provider: its verifier and how it signs a delivery of `body` with event id `id`.
struct Provider {
    name: &'static str,
    verifier: Arc<dyn WebhookVerifier>,
    sign: Sign,
    /// A body for event `id` (Stripe takes the id from the body).
    body: fn(&str, u32) -> Vec<u8>,
}

fn now_seconds() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn providers() -> Vec<Provider> {
    let stripe = StripeVerifier::new("whsec_stripe_test_secret").unwrap();
    let github = GitHubVerifier::new("It's a Secret to Everybody").unwrap();
    let standard = StandardWebhooksVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    vec![
        Provider {
            name: "stripe",
            verifier: Arc::new(stripe.clone()),
            sign: Box::new(move |_, body| {
                vec![(
                    "Stripe-Signature".into(),
                    stripe.sign_header(now_seconds(), body),
                )]
            }),
            body: |id, cents| {
                format!(r#"{{"id":"{id}","type":"payment","cents":{cents}}}"#).into_bytes()
            },
        },
        Provider {
            name: "github",
            verifier: Arc::new(github.clone()),
            sign: Box::new(move |id, body| {
                vec![
                    ("X-Hub-Signature-256".into(), github.sign_header(body)),
                    ("X-GitHub-Delivery".into(), id.to_owned()),
                ]
            }),
            body: |_, cents| format!(r#"{{"action":"paid","cents":{cents}}}"#).into_bytes(),
        },
        Provider {
            name: "standard",
            verifier: Arc::new(standard.clone()),
            sign: Box::new(move |id, body| {
                let timestamp = now_seconds();
                vec![
                    ("webhook-id".into(), id.to_owned()),
                    ("webhook-timestamp".into(), timestamp.to_string()),
                    (
                        "webhook-signature".into(),
                        standard.sign_header(id, timestamp, body),
                    ),
                ]
            }),
            body: |_, cents| format!(r#"{{"type":"paid","cents":{cents}}}"#).into_bytes(),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_deliveries_are_verified_before_lookup_and_deduplicated_by_event_id() {
    for provider in providers() {
        let name = provider.name;
        let server =
            Server::start(HooksConfig::default().verifier(Arc::clone(&provider.verifier))).await;
        let hook = server.hook(&format!("{name}-1")).await;
        let other = server.hook(&format!("{name}-2")).await;
        let body = (provider.body)("evt_1", 4200);

        // Unsigned: refused before anything is looked up — an unknown hook gets 401 too.
        for target in [hook.as_str(), "no-such-hook"] {
            let reply = server.post(target, &[], &body).await;
            assert_eq!(
                (reply.0, code(&reply)),
                (StatusCode::UNAUTHORIZED, "missing_header"),
                "{name}: {reply:?}"
            );
        }
        // Signed for another body: refused; the hook still waits.
        let tampered = (provider.body)("evt_1", 1);
        let reply = server
            .post(hook.as_str(), &(provider.sign)("evt_1", &body), &tampered)
            .await;
        assert_eq!(
            (reply.0, code(&reply)),
            (StatusCode::UNAUTHORIZED, "bad_signature"),
            "{name}: {reply:?}"
        );
        // Signed but not JSON: the signature passes, then decoding refuses (Stripe's verifier
        // already needs the event id from the body).
        let reply = server
            .post(
                hook.as_str(),
                &(provider.sign)("evt_x", b"{not json"),
                b"{not json",
            )
            .await;
        let expected = if name == "stripe" {
            "invalid_event_id"
        } else {
            "malformed_json"
        };
        assert_eq!(
            (reply.0, code(&reply)),
            (StatusCode::BAD_REQUEST, expected),
            "{name}: {reply:?}"
        );
        assert!(
            server
                .engine
                .record(&format!("{name}-1"))
                .await
                .unwrap()
                .outcome
                .pending_hook()
                .is_some()
        );

        let delivered = server
            .post(hook.as_str(), &(provider.sign)("evt_1", &body), &body)
            .await;
        assert_eq!(delivered.0, StatusCode::OK, "{name}: {delivered:?}");
        let payload: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(delivered.1["result"], payload, "{name}");

        // The provider retries the same event (a fresh signature): the duplicate answer.
        let again = server
            .post(hook.as_str(), &(provider.sign)("evt_1", &body), &body)
            .await;
        assert_eq!(again.0, StatusCode::OK, "{name}: {again:?}");
        assert_eq!(again.1["duplicate"], true, "{name}: {again:?}");
        // The same event to another hook resolves nothing there.
        let reused = server
            .post(other.as_str(), &(provider.sign)("evt_1", &body), &body)
            .await;
        assert_eq!(
            (reused.0, code(&reused)),
            (StatusCode::CONFLICT, "event_reused"),
            "{name}: {reused:?}"
        );
        assert!(matches!(
            server
                .engine
                .record(&format!("{name}-2"))
                .await
                .unwrap()
                .outcome,
            RunOutcome::Suspended { .. }
        ));
        // A new event to the other hook is delivered.
        let fresh = (provider.body)("evt_2", 7);
        let reply = server
            .post(other.as_str(), &(provider.sign)("evt_2", &fresh), &fresh)
            .await;
        assert_eq!(reply.0, StatusCode::OK, "{name}: {reply:?}");
    }
}
