//! Properties of the public callback router, driven in-process: hostile hook ids (percent-encoded
//! garbage, invalid UTF-8, raw Unicode, control characters, extra segments, 40 KB ids), methods,
//! `Content-Type` and `Content-Length` headers, bodies, and (feature `signatures`) arbitrary
//! `Stripe-Signature`, `X-Hub-Signature-256` and `webhook-*` headers, forged or validly signed.
//!
//! Every answer is the one the router documents for that request — predicted exactly where the
//! request decides it (413 by `Content-Length`, 404 for another path, 405, 415, 413, 401, 400,
//! then the hook's state), or one of the allowed answers where earlier deliveries in the run
//! may decide it (the dedupe keys of signed deliveries) — in the JSON error shape, within 5 s,
//! without a panic; with `uniform_rejections` every 404 is byte for byte the same answer.
//! Cases per property: `AWAITLY_PROPTEST_CASES` (see `tests/props/hostile/mod.rs`), printed with
//! `-- --nocapture`.
#![cfg(feature = "http")]

use crate::hostile;

use awaitly::http::HooksConfig;
use awaitly::http::axum::http::{Method, StatusCode};
use hostile::hooks::{
    Fixture, LIMIT, PREFIX, before_the_body, check, id_segment, router, target, unsigned_delivery,
};
use hostile::http::{Length, Tally, length, method, payload, request, suffix};
use proptest::prelude::*;
use serde_json::json;

#[test]
fn hostile_ids_methods_headers_and_bodies_get_the_documented_answer() {
    let cases = hostile::cases(1_000);
    let (fixture, engine) = Fixture::new();
    let routers = [
        router(&engine, HooksConfig::default()),
        router(&engine, HooksConfig::default().uniform_rejections(true)),
    ];
    let strategy = (
        any::<bool>(),
        method(Method::POST),
        id_segment(),
        suffix(),
        hostile::http::content_type(),
        length(LIMIT),
        payload(LIMIT),
    );
    let tally = Tally::default();
    hostile::runner(cases)
        .run(
            &strategy,
            |(uniform, method, id, suffix, content_type, length, payload)| {
                let target = format!("{}{suffix}", target(&fixture, &id));
                let mut body = payload.bytes();
                if id.0 == Some(0) && body == b"\"Capture-1\"" {
                    body.clear(); // it would complete the pending hook's run
                }
                let content_type = content_type.as_deref();
                let expected = match before_the_body(&method, &target, content_type, &length, &body)
                {
                    Err(answer) => answer,
                    Ok(id) => unsigned_delivery(fixture.hook(&id), &body),
                };
                let request = request(&method, &target, content_type, &length, &[], body)?;
                let answer = fixture
                    .driver
                    .send(&routers[usize::from(uniform)], request)?;
                tally.record(&answer);
                check(&fixture, uniform, &method, &answer, expected)
            },
        )
        .unwrap();
    // The resolved hook's own payload again: the duplicate answer, on both routers.
    for router in &routers {
        let target = format!("{PREFIX}{}", fixture.ids[1].0.as_str());
        let again = b"\"Capture-1\"".to_vec();
        let again = request(&Method::POST, &target, None, &Length::True, &[], again).unwrap();
        let answer = fixture.driver.send(router, again).unwrap();
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        assert_eq!(answer.json().unwrap()["duplicate"], json!(true));
    }
    println!(
        "public hook router: {cases} hostile requests: {}",
        tally.summary()
    );
}

/// Signature headers on the public router (feature `signatures`).
#[cfg(feature = "signatures")]
mod signed {
    use std::sync::Arc;
    use std::time::{SystemTime, UNIX_EPOCH};

    use awaitly::http::axum::Router;
    use awaitly::signature::{GitHubVerifier, StandardWebhooksVerifier, StripeVerifier};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use serde_json::Value;

    use super::hostile::hooks::{Expected, Hook};
    use super::hostile::http::Payload;
    use super::*;

    /// Every provider's header names: each endpoint gets the others' headers too.
    const NAMES: &[&str] = &[
        "Stripe-Signature",
        "X-Hub-Signature-256",
        "X-GitHub-Delivery",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "svix-id",
        "svix-timestamp",
        "svix-signature",
    ];

    /// Refused by a verifier: 401 with one of these codes.
    const FORGED: Expected = &[
        "missing_header",
        "malformed_header",
        "bad_signature",
        "timestamp_outside_tolerance",
    ];

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Provider {
        Stripe,
        GitHub,
        Standard,
    }

    impl Provider {
        /// The headers this provider's verifier reads.
        fn names(self) -> &'static [&'static str] {
            match self {
                Provider::Stripe => &NAMES[..1],
                Provider::GitHub => &NAMES[1..3],
                Provider::Standard => &NAMES[3..],
            }
        }
    }

    /// How a delivery is signed.
    #[derive(Clone, Debug)]
    enum Signing {
        /// Made-up headers: any of every provider's names, with structured or garbage values.
        Forged(Vec<(&'static str, Vec<u8>)>),
        /// What the provider would send for the body, `skew` seconds from now, with `id` as
        /// the delivery's id (`X-GitHub-Delivery`, `webhook-id`, or Stripe's body `id`), and
        /// other providers' headers as noise.
        Signed {
            id: Option<Vec<u8>>,
            skew: i64,
            noise: Vec<(&'static str, Vec<u8>)>,
        },
    }

    fn now() -> i64 {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        i64::try_from(since.as_secs()).unwrap()
    }

    fn hex_text() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => prop::collection::vec(any::<u8>(), 32).prop_map(|bytes| hostile::http::hex(&bytes)),
            1 => "[0-9a-fA-F]{0,70}",
        ]
    }

    fn base64_text() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => prop::collection::vec(any::<u8>(), 32).prop_map(|bytes| BASE64.encode(bytes)),
            1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(|bytes| BASE64.encode(bytes)),
            1 => "[A-Za-z0-9+/=_-]{0,50}",
        ]
    }

    fn timestamp() -> impl Strategy<Value = String> {
        let now = now();
        prop_oneof![
            2 => (now - 1_000..now + 1_000).prop_map(|seconds| seconds.to_string()),
            1 => any::<i64>().prop_map(|seconds| seconds.to_string()),
            1 => "[0-9]{0,30}",
            1 => "[-+ 0-9.eE]{0,12}",
        ]
    }

    /// A value shaped like the header `name` takes, mostly wrong.
    fn structured(name: &'static str) -> BoxedStrategy<String> {
        match name {
            "Stripe-Signature" => prop::collection::vec(
                prop_oneof![
                    timestamp().prop_map(|t| format!("t={t}")),
                    hex_text().prop_map(|v| format!("v1={v}")),
                    hex_text().prop_map(|v| format!("v0={v}")),
                    "[a-z0-9=]{0,10}",
                ],
                0..5,
            )
            .prop_map(|parts| parts.join(","))
            .boxed(),
            "X-Hub-Signature-256" => prop_oneof![
                3 => hex_text().prop_map(|hex| format!("sha256={hex}")),
                1 => hex_text().prop_map(|hex| format!("sha1={hex}")),
            ]
            .boxed(),
            "webhook-signature" | "svix-signature" => prop::collection::vec(
                prop_oneof![
                    3 => base64_text().prop_map(|text| format!("v1,{text}")),
                    1 => base64_text().prop_map(|text| format!("v1a,{text}")),
                    1 => "[ ,a-z0-9]{0,8}",
                ],
                0..4,
            )
            .prop_map(|parts| parts.join(" "))
            .boxed(),
            "webhook-timestamp" | "svix-timestamp" => timestamp().boxed(),
            _ => "[ -~]{0,40}".boxed(),
        }
    }

    fn forged_header() -> impl Strategy<Value = (&'static str, Vec<u8>)> {
        prop::sample::select(NAMES).prop_flat_map(|name| {
            let value = prop_oneof![
                3 => structured(name).prop_map(String::into_bytes),
                1 => hostile::http::header_bytes(120),
            ];
            (Just(name), value)
        })
    }

    fn signing() -> impl Strategy<Value = Signing> {
        let id = prop_oneof![
            3 => "[A-Za-z0-9_:-]{1,40}".prop_map(String::into_bytes),
            // A few ids again and again: the same event to the same hook, or to another.
            2 => prop::sample::select(&["evt_1", "evt_2", "msg_3"][..])
                .prop_map(|id| id.as_bytes().to_vec()),
            1 => hostile::http::header_bytes(300),
        ];
        let skew = prop_oneof![
            4 => -60..60_i64,
            1 => (301..10_000_000_i64, any::<bool>())
                .prop_map(|(skew, past)| if past { -skew } else { skew }),
        ];
        prop_oneof![
            1 => prop::collection::vec(forged_header(), 0..7).prop_map(Signing::Forged),
            2 => (prop::option::weighted(0.9, id), skew, prop::collection::vec(forged_header(), 0..3))
                .prop_map(|(id, skew, noise)| Signing::Signed { id, skew, noise }),
        ]
    }

    /// The id a verifier reads from a header: ASCII, trimmed of spaces and tabs, 1 to 255
    /// printable bytes; `None` if it refuses it.
    fn header_id(value: &[u8]) -> Option<&str> {
        let text = std::str::from_utf8(value)
            .ok()
            .filter(|text| text.is_ascii())?;
        let text = text.trim_matches([' ', '\t']);
        let printable = text.bytes().all(|byte| byte.is_ascii_graphic());
        (!text.is_empty() && text.len() <= 255 && printable).then_some(text)
    }

    /// Whether Stripe reads an event id from `body`: a JSON object with a string `id` of 1 to
    /// 255 printable ASCII bytes.
    fn stripe_event(body: &[u8]) -> bool {
        if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
            return false;
        }
        let Ok(Value::Object(event)) = serde_json::from_slice::<Value>(body) else {
            return false;
        };
        event.get("id").and_then(Value::as_str).is_some_and(|id| {
            !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_graphic())
        })
    }

    struct Signers {
        stripe: Arc<StripeVerifier>,
        github: Arc<GitHubVerifier>,
        standard: Arc<StandardWebhooksVerifier>,
    }

    impl Signers {
        fn new() -> Self {
            Self {
                stripe: Arc::new(StripeVerifier::new("whsec_test_secret").unwrap()),
                github: Arc::new(GitHubVerifier::new("It's a Secret to Everybody").unwrap()),
                standard: Arc::new(
                    StandardWebhooksVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                        .unwrap(),
                ),
            }
        }

        fn config(&self, provider: Provider) -> HooksConfig {
            let config = HooksConfig::default();
            match provider {
                Provider::Stripe => config.verifier(self.stripe.clone()),
                Provider::GitHub => config.verifier(self.github.clone()),
                Provider::Standard => config.verifier(self.standard.clone()),
            }
        }

        /// The headers of `signing` for `body`, and what verifying them must answer (`None`:
        /// the delivery is authentic and its id usable).
        fn headers(
            &self,
            provider: Provider,
            signing: &Signing,
            body: &[u8],
        ) -> (Vec<(String, Vec<u8>)>, Option<Expected>) {
            let own = |(name, value): &(&str, Vec<u8>)| (name.to_string(), value.clone());
            let (id, skew, noise) = match signing {
                Signing::Forged(headers) => {
                    return (headers.iter().map(own).collect(), Some(FORGED));
                }
                Signing::Signed { id, skew, noise } => (id.as_deref(), *skew, noise),
            };
            let mut headers: Vec<(String, Vec<u8>)> = noise
                .iter()
                .filter(|(name, _)| !provider.names().contains(name))
                .map(own)
                .collect();
            let mut add =
                |name: &str, value: &[u8]| headers.push((name.to_owned(), value.to_vec()));
            let timestamp = now() + skew;
            let stale = skew.abs() > 300;
            let id_text = id.and_then(header_id);
            let refusal: Option<Expected> = match provider {
                Provider::Stripe => {
                    add(
                        "Stripe-Signature",
                        self.stripe.sign_header(timestamp, body).as_bytes(),
                    );
                    if stale {
                        Some(&["timestamp_outside_tolerance"])
                    } else if stripe_event(body) {
                        None
                    } else {
                        Some(&["invalid_event_id"])
                    }
                }
                Provider::GitHub => {
                    add(
                        "X-Hub-Signature-256",
                        self.github.sign_header(body).as_bytes(),
                    );
                    if let Some(id) = id {
                        add("X-GitHub-Delivery", id);
                    }
                    match (id, id_text) {
                        (None, _) => Some(&["missing_header"]),
                        (Some(_), None) => Some(&["malformed_header"]),
                        (Some(_), Some(_)) => None,
                    }
                }
                Provider::Standard => {
                    let signed_id = id_text.unwrap_or("unusable");
                    let signature = self.standard.sign_header(signed_id, timestamp, body);
                    if let Some(id) = id {
                        add("webhook-id", id);
                    }
                    add("webhook-timestamp", timestamp.to_string().as_bytes());
                    add("webhook-signature", signature.as_bytes());
                    match (id, id_text) {
                        (None, _) => Some(&["missing_header"]),
                        (Some(_), None) => Some(&["malformed_header"]),
                        (Some(_), Some(text)) if text.contains('.') => Some(&["malformed_header"]),
                        _ if stale => Some(&["timestamp_outside_tolerance"]),
                        _ => None,
                    }
                }
            };
            (headers, refusal)
        }
    }

    /// The answer to an authentic delivery once its body is read: earlier cases may have bound
    /// its dedupe key (the same Standard Webhooks id, the same GitHub body) to a hook.
    fn verified_delivery(hook: Hook, body: &[u8]) -> Expected {
        if serde_json::from_slice::<Value>(body).is_err() {
            return &["malformed_json"];
        }
        match hook {
            Hook::Pending => &["payload_type", "duplicate", "event_reused"],
            Hook::Resolved => &["already_resolved", "duplicate", "event_reused"],
            Hook::Expired => &["hook_expired", "event_reused"],
            Hook::Unknown => &["unknown_hook", "event_reused"],
        }
    }

    #[test]
    fn arbitrary_signature_headers_are_checked_before_anything_else() {
        let cases = hostile::cases(1_000);
        let (fixture, engine) = Fixture::new();
        let signers = Signers::new();
        let providers = [Provider::Stripe, Provider::GitHub, Provider::Standard];
        let routers: Vec<Vec<Router>> = providers
            .iter()
            .map(|provider| {
                [false, true]
                    .iter()
                    .map(|uniform| {
                        let config = signers.config(*provider).uniform_rejections(*uniform);
                        router(&engine, config)
                    })
                    .collect()
            })
            .collect();
        let strategy = (
            0..providers.len(),
            any::<bool>(),
            method(Method::POST),
            id_segment(),
            hostile::http::content_type(),
            length(LIMIT),
            (payload(LIMIT), any::<bool>()),
            signing(),
        );
        let tally = Tally::default();
        hostile::runner(cases)
            .run(
                &strategy,
                |(provider, uniform, method, id, content_type, length, body, signing)| {
                    let target = target(&fixture, &id);
                    let (payload, event) = body;
                    let body = match (&signing, event, payload) {
                        (Signing::Signed { id, .. }, true, Payload::Json(data)) => {
                            let id = id.as_deref().map(String::from_utf8_lossy);
                            json!({ "id": id, "data": data }).to_string().into_bytes()
                        }
                        (_, _, payload) => payload.bytes(),
                    };
                    let (headers, refusal) = signers.headers(providers[provider], &signing, &body);
                    let content_type = content_type.as_deref();
                    let expected =
                        match before_the_body(&method, &target, content_type, &length, &body) {
                            Err(answer) => answer,
                            Ok(_) if refusal.is_some() => refusal.unwrap(),
                            Ok(id) => verified_delivery(fixture.hook(&id), &body),
                        };
                    let request = request(&method, &target, content_type, &length, &headers, body)?;
                    let answer = fixture
                        .driver
                        .send(&routers[provider][usize::from(uniform)], request)?;
                    tally.record(&answer);
                    check(&fixture, uniform, &method, &answer, expected)
                },
            )
            .unwrap();
        println!(
            "signature headers: {cases} forged and signed deliveries: {}",
            tally.summary()
        );
    }
}
