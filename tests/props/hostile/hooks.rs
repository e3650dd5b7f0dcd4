//! The public callback router's fixture for the property tests (`tests/props/http_router.rs`): one engine
//! with a pending, a resolved and an expired hook; hostile targets for them; and what the router
//! must answer to a request, predicted from the request alone where it decides the answer.

use std::sync::Arc;

use awaitly::durable::Engine;
use awaitly::http::axum::Router;
use awaitly::http::axum::http::{Method, StatusCode};
use awaitly::http::{HooksConfig, hooks_router_with, not_found};
use awaitly::store::{Changes, MemoryStore, NewRun, RunOutcome};
use awaitly::{HookId, PendingHookOptions, StepEntry, await_hook, pending_hook, workflow};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::http::{
    Answer, Driver, Length, Segment, announces_json, check_shape, declared, encode, segments,
    segments_after,
};

pub const LIMIT: usize = 2 * 1024;
pub const PREFIX: &str = "/hooks/";

/// The one payload the hooks take: random input never spells it.
#[derive(Debug, Serialize, Deserialize)]
pub enum Capture {
    #[serde(rename = "Capture-1")]
    Capture,
}

#[workflow]
async fn capture(run: String) -> Result<String, String> {
    let _: Capture = await_hook!("capture", metadata = run);
    Ok(run)
}

/// The state of a hook that requests name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// Waits for a `Capture`.
    Pending,
    /// Resolved with `"Capture-1"`.
    Resolved,
    /// Past its deadline.
    Expired,
    /// No hook has the id.
    Unknown,
}

/// One engine with a pending, a resolved and an expired hook, and its routers.
pub struct Fixture {
    pub driver: Driver,
    pub ids: [(HookId, Hook); 3],
    /// The uniform router's answer to an unknown hook: every 404 of it must be this.
    pub uniform_404: Answer,
}

impl Fixture {
    pub fn new() -> (Self, Arc<Engine>) {
        let driver = Driver::default();
        let engine = Arc::new(Engine::new(MemoryStore::new()).register("capture", 1, capture));
        let ids = driver.block_on(async {
            let mut hooks = Vec::new();
            for run in ["pending", "resolved"] {
                let started = engine.start(run, "capture", &run.to_owned()).await;
                hooks.push(
                    started
                        .unwrap()
                        .outcome
                        .pending_hook()
                        .unwrap()
                        .hook_id
                        .clone(),
                );
            }
            engine
                .resume_hook(&hooks[1], json!("Capture-1"))
                .await
                .unwrap();
            let expired = HookId::from("expired-hook");
            let store = engine.store();
            store
                .create_run(NewRun::new("expired", "capture", 1, json!("expired")))
                .await
                .unwrap();
            let options = PendingHookOptions {
                deadline_ms: Some(1),
                ..PendingHookOptions::default()
            };
            let hook = pending_hook(expired.clone(), options);
            let changes = Changes {
                entries: vec![(hook.step_key.clone(), StepEntry::pending(&hook))],
                outcome: Some(RunOutcome::Suspended { hook: hook.clone() }),
                suspend_at: Some(hook),
                ..Changes::default()
            };
            store.save("expired", 0, changes).await.unwrap();
            [
                (hooks[0].clone(), Hook::Pending),
                (hooks[1].clone(), Hook::Resolved),
                (expired, Hook::Expired),
            ]
        });
        let uniform = router(&engine, HooksConfig::default().uniform_rejections(true));
        let probe = super::http::request(
            &Method::POST,
            "/hooks/no-such-hook",
            None,
            &Length::True,
            &[],
            b"{}".to_vec(),
        )
        .unwrap();
        let uniform_404 = driver.send(&uniform, probe).unwrap();
        assert_eq!(uniform_404.status, StatusCode::NOT_FOUND);
        let fixture = Self {
            driver,
            ids,
            uniform_404,
        };
        (fixture, engine)
    }

    /// The state of the hook `id` names.
    pub fn hook(&self, id: &str) -> Hook {
        self.ids
            .iter()
            .find(|(hook, _)| hook.as_str() == id)
            .map_or(Hook::Unknown, |(_, state)| *state)
    }
}

pub fn router(engine: &Arc<Engine>, config: HooksConfig) -> Router {
    hooks_router_with(Arc::clone(engine), config.body_limit(LIMIT)).fallback(not_found)
}

/// An id segment: one of the fixture's hooks (some of its characters percent-encoded, which
/// names the same hook), or hostile text for one or more segments.
pub fn id_segment() -> impl Strategy<Value = (Option<usize>, Vec<bool>, String)> {
    prop_oneof![
        3 => (0..3_usize, prop::collection::vec(any::<bool>(), 48))
            .prop_map(|(index, encoded)| (Some(index), encoded, String::new())),
        3 => segments().prop_map(|text| (None, Vec::new(), text)),
    ]
}

/// The request target for a generated id segment.
pub fn target(
    fixture: &Fixture,
    (live, encoded, text): &(Option<usize>, Vec<bool>, String),
) -> String {
    let Some(index) = live else {
        return format!("{PREFIX}{text}");
    };
    let id = fixture.ids[*index].0.as_str();
    let segment: String = id
        .chars()
        .zip(encoded.iter().chain(std::iter::repeat(&false)))
        .map(|(character, encode_it)| {
            if *encode_it {
                encode(character)
            } else {
                character.to_string()
            }
        })
        .collect();
    format!("{PREFIX}{segment}")
}

/// What the router may answer: error codes (each has one status, [`status_of`]) or
/// `"duplicate"` (200 or 202, `"duplicate": true`). One code where the request alone decides.
pub type Expected = &'static [&'static str];

/// The status of each error code the router answers with.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "malformed_json" | "invalid_event_id" => StatusCode::BAD_REQUEST,
        "missing_header" | "malformed_header" | "bad_signature" | "timestamp_outside_tolerance" => {
            StatusCode::UNAUTHORIZED
        }
        "unknown_hook" => StatusCode::NOT_FOUND,
        "method_not_allowed" => StatusCode::METHOD_NOT_ALLOWED,
        "already_resolved" | "event_reused" => StatusCode::CONFLICT,
        "hook_expired" => StatusCode::GONE,
        "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "unsupported_media_type" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "payload_type" => StatusCode::UNPROCESSABLE_ENTITY,
        other => panic!("no status for {other}"),
    }
}

/// The answers that come before the body is looked at: the declared length, the path, the
/// method, the id's encoding, the `Content-Type`, the body's size. `Ok`: the id, decoded.
pub fn before_the_body(
    method: &Method,
    target: &str,
    content_type: Option<&[u8]>,
    length: &Length,
    body: &[u8],
) -> Result<String, Expected> {
    if declared(length, body.len()).is_some_and(|declared| declared > LIMIT as u64) {
        return Err(&["payload_too_large"]);
    }
    let segment = segments_after(target, PREFIX, 1).remove(0);
    if segment == Segment::NotOne {
        return Err(&["unknown_hook"]);
    }
    if *method != Method::POST {
        return Err(&["method_not_allowed"]);
    }
    let Segment::Text(id) = segment else {
        return Err(&["unknown_hook"]); // not UTF-8 once decoded
    };
    if !announces_json(content_type) {
        return Err(&["unsupported_media_type"]);
    }
    if body.len() > LIMIT {
        return Err(&["payload_too_large"]);
    }
    Ok(id)
}

/// The answer of an unsigned delivery of `body` to `hook`.
pub fn unsigned_delivery(hook: Hook, body: &[u8]) -> Expected {
    let Ok(payload) = serde_json::from_slice::<Value>(body) else {
        return &["malformed_json"];
    };
    match hook {
        Hook::Pending => &["payload_type"],
        Hook::Resolved if payload == json!("Capture-1") => &["duplicate"],
        Hook::Resolved => &["already_resolved"],
        Hook::Expired => &["hook_expired"],
        Hook::Unknown => &["unknown_hook"],
    }
}

/// Checks `answer` against `expected` (with `uniform`, every 404, 409 and 410 is the one
/// unknown-hook 404, byte for byte), and the JSON shape.
pub fn check(
    fixture: &Fixture,
    uniform: bool,
    method: &Method,
    answer: &Answer,
    expected: Expected,
) -> Result<(), TestCaseError> {
    check_shape(answer, method)?;
    let code = answer.code();
    let duplicate = answer
        .json()
        .is_some_and(|body| body["duplicate"] == json!(true) && body["run_id"].is_string());
    let allowed = expected.iter().any(|allowed| {
        if *allowed == "duplicate" {
            return duplicate && matches!(answer.status.as_u16(), 200 | 202);
        }
        let status = status_of(allowed);
        let hidden = uniform && [404, 409, 410].contains(&status.as_u16());
        let (status, allowed) = if hidden {
            (StatusCode::NOT_FOUND, "unknown_hook")
        } else {
            (status, *allowed)
        };
        // A `HEAD` answer has no body, so no code.
        answer.status == status && (*method == Method::HEAD || code == allowed)
    });
    prop_assert!(allowed, "{:?} is not one of {:?}", answer, expected);
    if uniform && answer.status == StatusCode::NOT_FOUND && *method != Method::HEAD {
        let reference = &fixture.uniform_404;
        prop_assert_eq!(&answer.headers, &reference.headers);
        prop_assert_eq!(&answer.body, &reference.body);
    }
    Ok(())
}
