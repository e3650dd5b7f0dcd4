//! The callback path's security over real HTTP: uniform rejections for every way of probing an
//! id, a public router that hands out no hook id, and provider signatures checked before anything
//! is decoded or looked up, with what each signature binds deduplicating deliveries across hooks
//! (Stripe, GitHub and Standard Webhooks, with real signed requests).
#![cfg(all(feature = "sqlite", feature = "http", feature = "signatures"))]

use crate::common;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use awaitly::durable::Engine;
use awaitly::http::{HooksConfig, ServeConfig, hooks_router_with, not_found, serve};
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
        let app = hooks_router_with(Arc::clone(&engine), config).fallback(not_found);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            serve(listener, app, &ServeConfig::default()).await.unwrap();
        });
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

/// Everything that identifies an answer: status, headers (but `date`) and body.
type Answer = (StatusCode, Vec<(String, String)>, String);

async fn answer(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Answer {
    let mut request = server
        .client
        .request(method, format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != "date")
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("?").to_owned(),
            )
        })
        .collect();
    headers.sort();
    (status, headers, response.text().await.unwrap())
}

/// A GitHub delivery of `body` under a delivery id never used before.
fn github_headers(github: &GitHubVerifier, body: &[u8]) -> Vec<(String, String)> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let delivery = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    vec![
        ("X-Hub-Signature-256".into(), github.sign_header(body)),
        ("X-GitHub-Delivery".into(), format!("delivery-{delivery}")),
    ]
}

fn still_waiting(outcome: &RunOutcome) -> bool {
    matches!(outcome, RunOutcome::Suspended { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uniform_rejections_hold_for_every_way_of_probing_an_id() {
    use reqwest::Method;
    let github = GitHubVerifier::new("It's a Secret to Everybody").unwrap();
    let server = Server::start(
        HooksConfig::default()
            .uniform_rejections(true)
            .verifier(Arc::new(github.clone())),
    )
    .await;
    let live = server.hook("probe-live").await;
    let resolved = server.hook("probe-resolved").await;
    let first = server.hook("probe-first").await;
    let reused = server.hook("probe-reused").await;
    let expired = common::flows::expired_hook_run(server.engine.store(), "probe-expired").await;
    let signed = |body: &[u8]| github_headers(&github, body);

    // Hooks that take no delivery any more: resolved with another payload, and one whose event
    // (the same signed body) already went to another hook.
    let used = br#"{"n":1}"#;
    let reply = server.post(resolved.as_str(), &signed(used), used).await;
    assert_eq!(reply.0, StatusCode::OK, "{reply:?}");
    let event = br#"{"n":2}"#;
    let reply = server.post(first.as_str(), &signed(event), event).await;
    assert_eq!(reply.0, StatusCode::OK, "{reply:?}");

    // Every probe with a valid, signed payload: the unknown id's answer, to the byte.
    let body = br#"{"n":3}"#;
    let reference = answer(
        &server,
        Method::POST,
        "/hooks/no-such-hook",
        &signed(body),
        body,
    )
    .await;
    assert_eq!(reference.0, StatusCode::NOT_FOUND, "{reference:?}");
    let mut probes: Vec<(String, Vec<u8>)> = vec![
        (format!("/hooks/{expired}"), body.to_vec()),
        (format!("/hooks/{resolved}"), body.to_vec()),
        (format!("/hooks/{reused}"), event.to_vec()),
        ("/hooks/%FF".to_owned(), body.to_vec()),
        ("/hooks/%C3%28".to_owned(), body.to_vec()),
        ("/hooks/".to_owned(), body.to_vec()),
        ("/hooks".to_owned(), body.to_vec()),
        (format!("/hooks/{live}/x"), body.to_vec()),
        (format!("/hooks//{live}"), body.to_vec()),
        ("/hooks/no-such-hook/x".to_owned(), body.to_vec()),
    ];
    // Percent-encoding the live id's bytes names the same hook, so it is left out; encoding a
    // `/` into it names another (unknown) one.
    probes.push((format!("/hooks/{live}%2Fx"), body.to_vec()));
    for (path, body) in &probes {
        let probe = answer(&server, Method::POST, path, &signed(body), body).await;
        assert_eq!(probe, reference, "POST {path}");
    }
    // Other methods: the same 405 (with `Allow: POST`) for live and dead ids alike; under the
    // prefix but off the route, the unknown-hook 404.
    for method in [Method::GET, Method::PUT, Method::DELETE, Method::PATCH] {
        let on_live = answer(&server, method.clone(), &format!("/hooks/{live}"), &[], b"").await;
        assert_eq!(on_live.0, StatusCode::METHOD_NOT_ALLOWED, "{on_live:?}");
        assert!(on_live.1.contains(&("allow".to_owned(), "POST".to_owned())));
        for dead in [
            "no-such-hook",
            expired.as_str(),
            resolved.as_str(),
            reused.as_str(),
        ] {
            let probe = answer(&server, method.clone(), &format!("/hooks/{dead}"), &[], b"").await;
            assert_eq!(probe, on_live, "{method} /hooks/{dead}");
        }
        let off_route = answer(
            &server,
            method.clone(),
            &format!("/hooks/{live}/x"),
            &[],
            b"",
        )
        .await;
        assert_eq!(
            (off_route.0, &off_route.2),
            (reference.0, &reference.2),
            "{method}"
        );
    }
    // An unsigned probe is refused before any lookup, the same for every id.
    let unsigned = answer(&server, Method::POST, "/hooks/no-such-hook", &[], body).await;
    for id in [live.as_str(), expired.as_str(), resolved.as_str()] {
        let probe = answer(&server, Method::POST, &format!("/hooks/{id}"), &[], body).await;
        assert_eq!(probe, unsigned, "unsigned POST /hooks/{id}");
    }
    // No answer handed out a hook id, and the live hook still waits.
    for run in ["probe-live", "probe-reused"] {
        let outcome = server.engine.record(run).await.unwrap().outcome;
        assert!(still_waiting(&outcome), "{run}: {outcome:?}");
    }
    let listing = answer(&server, Method::GET, "/hooks", &[], b"").await;
    assert!(!listing.2.contains(live.as_str()), "{listing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_github_body_is_single_use_across_hooks() {
    let github = GitHubVerifier::new("It's a Secret to Everybody").unwrap();
    let server = Server::start(HooksConfig::default().verifier(Arc::new(github.clone()))).await;
    let hook_a = server.hook("github-a").await;
    let hook_b = server.hook("github-b").await;
    let body = br#"{"action":"completed","check_run":{"id":4}}"#;
    let signature = github.sign_header(body);
    let delivery = |id: &str| {
        vec![
            ("X-Hub-Signature-256".to_owned(), signature.clone()),
            ("X-GitHub-Delivery".to_owned(), id.to_owned()),
        ]
    };

    let delivered = server.post(hook_a.as_str(), &delivery("d-1"), body).await;
    assert_eq!(delivered.0, StatusCode::OK, "{delivered:?}");
    // Replayed to hook B under a new delivery id: the same signed body, the same event.
    let replayed = server.post(hook_b.as_str(), &delivery("d-2"), body).await;
    assert_eq!(
        (replayed.0, code(&replayed)),
        (StatusCode::CONFLICT, "event_reused"),
        "{replayed:?}"
    );
    let outcome = server.engine.record("github-b").await.unwrap().outcome;
    assert!(
        still_waiting(&outcome),
        "run B took run A's payload: {outcome:?}"
    );
    // Replayed to hook A under yet another id: a duplicate, nothing runs.
    let again = server.post(hook_a.as_str(), &delivery("d-3"), body).await;
    assert_eq!(again.0, StatusCode::OK, "{again:?}");
    assert_eq!(again.1["duplicate"], true, "{again:?}");
    assert_eq!(again.1["result"], delivered.1["result"]);
    // Another body (another event) still resolves hook B.
    let other = br#"{"action":"completed","check_run":{"id":5}}"#;
    let headers = vec![
        ("X-Hub-Signature-256".to_owned(), github.sign_header(other)),
        ("X-GitHub-Delivery".to_owned(), "d-4".to_owned()),
    ];
    let reply = server.post(hook_b.as_str(), &headers, other).await;
    assert_eq!(reply.0, StatusCode::OK, "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_and_standard_webhooks_bind_their_event_id_in_the_signature() {
    // Standard Webhooks signs `webhook-id`: a replay under another id does not verify.
    let standard = StandardWebhooksVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let server = Server::start(HooksConfig::default().verifier(Arc::new(standard.clone()))).await;
    let hook_a = server.hook("standard-a").await;
    let hook_b = server.hook("standard-b").await;
    let body = br#"{"type":"paid"}"#;
    let timestamp = now_seconds();
    let signed = |id: &str, signed_id: &str| {
        vec![
            ("webhook-id".to_owned(), id.to_owned()),
            ("webhook-timestamp".to_owned(), timestamp.to_string()),
            (
                "webhook-signature".to_owned(),
                standard.sign_header(signed_id, timestamp, body),
            ),
        ]
    };
    let first = server
        .post(hook_a.as_str(), &signed("msg_1", "msg_1"), body)
        .await;
    assert_eq!(first.0, StatusCode::OK, "{first:?}");
    let again = server
        .post(hook_b.as_str(), &signed("msg_2", "msg_1"), body)
        .await;
    assert_eq!(
        (again.0, code(&again)),
        (StatusCode::UNAUTHORIZED, "bad_signature"),
        "{again:?}"
    );
    let again = server
        .post(hook_b.as_str(), &signed("msg_1", "msg_1"), body)
        .await;
    assert_eq!(
        (again.0, code(&again)),
        (StatusCode::CONFLICT, "event_reused"),
        "{again:?}"
    );
    let outcome = server.engine.record("standard-b").await.unwrap().outcome;
    assert!(still_waiting(&outcome), "{outcome:?}");

    // Stripe's event id is in the signed body: the same event elsewhere is the same key.
    let stripe = StripeVerifier::new("whsec_stripe_test_secret").unwrap();
    let server = Server::start(HooksConfig::default().verifier(Arc::new(stripe.clone()))).await;
    let hook_a = server.hook("stripe-a").await;
    let hook_b = server.hook("stripe-b").await;
    let body = br#"{"id":"evt_1","type":"payment"}"#;
    let headers = vec![(
        "Stripe-Signature".to_owned(),
        stripe.sign_header(now_seconds(), body),
    )];
    let first = server.post(hook_a.as_str(), &headers, body).await;
    assert_eq!(first.0, StatusCode::OK, "{first:?}");
    let again = server.post(hook_b.as_str(), &headers, body).await;
    assert_eq!(
        (again.0, code(&again)),
        (StatusCode::CONFLICT, "event_reused"),
        "{again:?}"
    );
    // Changing the id in the body breaks the signature.
    let forged = br#"{"id":"evt_2","type":"payment"}"#;
    let again = server.post(hook_b.as_str(), &headers, forged).await;
    assert_eq!(
        (again.0, code(&again)),
        (StatusCode::UNAUTHORIZED, "bad_signature"),
        "{again:?}"
    );
    let outcome = server.engine.record("stripe-b").await.unwrap().outcome;
    assert!(still_waiting(&outcome), "{outcome:?}");
}
