//! The HTTP callback path (feature `http`): an [axum](https://docs.rs/axum) router that delivers
//! `POST {path}/{hook_id}` callbacks to an [`Engine`] and lists pending hooks at `GET {path}`.
//!
//! | delivery | status | body |
//! | --- | --- | --- |
//! | the run completed (or failed: the workflow returned `Err`) | 200 | `{"run_id", "status": "completed", "result"}` / `{"run_id", "status": "failed", "error"}` |
//! | the run suspended at its next hook | 202 | `{"run_id", "status": "suspended", "hook": {"hook_id", "metadata", "url"}}` |
//! | the run waits for an approval, or sleeps | 202 | `{"run_id", "status": "awaiting_approval", "approval"}` / `{"run_id", "status": "sleeping", "key", "wake_at_ms"}` |
//! | stored for a run that has not reached the hook yet | 202 | `{"run_id", "status": "queued"}` |
//! | the same payload again | 200 if the run completed, else 202 | the run's current outcome plus `"duplicate": true` |
//! | a [verifier](HooksConfig::verifier) refused the signature (before any decoding or lookup) | 401 (500 for a bad secret, 400 for an unusable event id) | the [`SignatureError::code`](crate::signature::SignatureError::code) |
//! | the same verified provider event again | 200 if the run completed, else 202 | the run's current outcome plus `"duplicate": true`; nothing runs |
//! | malformed JSON | 400 | `malformed_json` |
//! | unknown hook | 404 | `unknown_hook` |
//! | another payload already resolved the hook | 409 | `already_resolved` |
//! | a verified event already delivered to another hook | 409 | `event_reused` |
//! | the hook's deadline passed | 410 | `hook_expired` |
//! | body over the limit | 413 | `payload_too_large` |
//! | payload of the wrong type (the hook waits again) | 422 | `payload_type` |
//! | the store failed, or another executor holds the run | 503 | `unavailable` (retry later) |
//! | the engine cannot run this run (version, registration) | 500 | `engine` |
//!
//! Every error body is `{"error": {"code": "…", "message": "…"}}`.
//!
//! With [`HooksConfig::uniform_rejections`], unknown, expired and already-used hooks (the 404,
//! 409 and 410 rows) all get the same 404 body, so an outside caller cannot tell a hook id that
//! never existed from one that did; the Rust API ([`Engine::resume_hook`]) still returns the
//! precise error to the application.
//!
//! [`approvals_router`] serves the approvals of the same engine to the people who decide them.

mod approvals;

pub use approvals::approvals_router;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::durable::{Delivery, Engine, EngineError};
use crate::store::{RunOutcome, now_ms};

pub use axum;

/// Where the router listens and how much it reads.
///
/// ```
/// let config = awaitly::http::HooksConfig::default().path("/webhooks/payment").body_limit(16 * 1024);
/// assert_eq!(config.hook_url("h1"), "/webhooks/payment/h1");
/// ```
#[derive(Clone)]
pub struct HooksConfig {
    path: String,
    body_limit: usize,
    uniform_rejections: bool,
    #[cfg(feature = "signatures")]
    verifier: Option<Arc<dyn crate::signature::WebhookVerifier>>,
}

impl std::fmt::Debug for HooksConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = formatter.debug_struct("HooksConfig");
        debug
            .field("path", &self.path)
            .field("body_limit", &self.body_limit)
            .field("uniform_rejections", &self.uniform_rejections);
        #[cfg(feature = "signatures")]
        debug.field(
            "verifier",
            &self.verifier.as_ref().map(|verifier| verifier.provider()),
        );
        debug.finish()
    }
}

impl Default for HooksConfig {
    /// `/hooks`, bodies up to 64 KiB, distinct statuses for unknown, used and expired hooks, no
    /// signature check.
    fn default() -> Self {
        Self {
            path: "/hooks".to_owned(),
            body_limit: 64 * 1024,
            uniform_rejections: false,
            #[cfg(feature = "signatures")]
            verifier: None,
        }
    }
}

impl HooksConfig {
    /// The path prefix: callbacks go to `{path}/{hook_id}`, the listing is `GET {path}`.
    ///
    /// ```
    /// let config = awaitly::http::HooksConfig::default().path("/callbacks/");
    /// assert_eq!(config.hook_url("h1"), "/callbacks/h1");
    /// ```
    #[must_use]
    pub fn path(mut self, path: &str) -> Self {
        let trimmed = path.trim_end_matches('/');
        self.path = if trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// The largest callback body accepted, in bytes; larger ones get 413.
    ///
    /// ```
    /// let _ = awaitly::http::HooksConfig::default().body_limit(1024);
    /// ```
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// When `true`, unknown, expired and already-used hooks all answer the same 404
    /// `{"error": {"code": "unknown_hook", "message": "no hook takes deliveries at this URL"}}`,
    /// so a caller guessing hook ids learns nothing. Default `false`: distinct 404, 409 and 410.
    ///
    /// ```
    /// let _ = awaitly::http::HooksConfig::default().uniform_rejections(true);
    /// ```
    #[must_use]
    pub fn uniform_rejections(mut self, uniform: bool) -> Self {
        self.uniform_rejections = uniform;
        self
    }

    /// Checks every delivery's provider signature on the raw body, after the size limit and
    /// before JSON decoding or any hook lookup ([`verify_request`](crate::signature::verify_request));
    /// a refused one gets the error's status and code. The verified event id becomes the
    /// delivery's dedupe key ([`Engine::resume_hook_once`]): the same event again gets the
    /// duplicate answer and runs nothing.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let verifier = awaitly::signature::GitHubVerifier::new("It's a Secret to Everybody").unwrap();
    /// let config = awaitly::http::HooksConfig::default().verifier(Arc::new(verifier));
    /// assert!(format!("{config:?}").contains("GitHub"));
    /// ```
    #[cfg(feature = "signatures")]
    #[must_use]
    pub fn verifier(mut self, verifier: Arc<dyn crate::signature::WebhookVerifier>) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// The path a callback for `hook_id` is posted to.
    ///
    /// ```
    /// assert_eq!(awaitly::http::HooksConfig::default().hook_url("h1"), "/hooks/h1");
    /// ```
    #[must_use]
    pub fn hook_url(&self, hook_id: &str) -> String {
        format!("{}/{hook_id}", self.path)
    }
}

struct Shared {
    engine: Arc<Engine>,
    config: HooksConfig,
}

/// The router with [`HooksConfig::default`]: `POST /hooks/{hook_id}` and `GET /hooks`.
///
/// ```
/// use std::sync::Arc;
/// let engine = Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
/// let router: awaitly::http::axum::Router = awaitly::http::hooks_router(engine);
/// # drop(router);
/// ```
pub fn hooks_router(engine: Arc<Engine>) -> Router {
    hooks_router_with(engine, HooksConfig::default())
}

/// The router with a custom path and body limit. Merge it into your app's router, or serve it
/// alone with `axum::serve`.
///
/// ```
/// use std::sync::Arc;
/// let engine = Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
/// let config = awaitly::http::HooksConfig::default().path("/webhooks");
/// let app = awaitly::http::axum::Router::new().merge(awaitly::http::hooks_router_with(engine, config));
/// # drop(app);
/// ```
pub fn hooks_router_with(engine: Arc<Engine>, config: HooksConfig) -> Router {
    let limit = config.body_limit;
    let path = config.path.clone();
    let shared = Arc::new(Shared { engine, config });
    Router::new()
        .route(&format!("{path}/{{hook_id}}"), post(deliver))
        // `POST {path}/` (an empty id) gets the unknown-hook answer too, as JSON.
        .route(&format!("{path}/"), post(empty_hook_id))
        .route(&path, get(list_pending))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(shared)
}

pub(crate) fn error(status: StatusCode, code: &str, message: impl std::fmt::Display) -> Response {
    let body = json!({ "error": { "code": code, "message": message.to_string() } });
    (status, axum::Json(body)).into_response()
}

async fn empty_hook_id() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "unknown_hook",
        "no hook takes deliveries at this URL",
    )
}

async fn deliver(
    State(shared): State<Arc<Shared>>,
    hook_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // An id that does not even decode (invalid percent-encoding or UTF-8) names no hook: answered
    // like any unknown hook, as JSON, not with axum's plain-text rejection.
    let Ok(Path(hook_id)) = hook_id else {
        let message = if shared.config.uniform_rejections {
            "no hook takes deliveries at this URL"
        } else {
            "no hook has this id: it is not valid UTF-8 once percent-decoded"
        };
        return error(StatusCode::NOT_FOUND, "unknown_hook", message);
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format_args!(
                    "the callback body is larger than {} bytes",
                    shared.config.body_limit
                ),
            );
        }
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                rejection.body_text(),
            );
        }
    };
    #[cfg(feature = "signatures")]
    let dedupe_key = match &shared.config.verifier {
        Some(check) => match crate::signature::verify_request(
            &**check,
            &headers,
            &body,
            std::time::SystemTime::now(),
        ) {
            Ok(verified) => Some(verified.dedupe_key()),
            Err(refused) => {
                let status =
                    StatusCode::from_u16(refused.http_status()).unwrap_or(StatusCode::UNAUTHORIZED);
                return error(status, refused.code(), refused);
            }
        },
        None => None,
    };
    #[cfg(not(feature = "signatures"))]
    let dedupe_key: Option<String> = {
        let _ = &headers;
        None
    };
    let payload: Value = match serde_json::from_slice(&body) {
        Ok(payload) => payload,
        Err(parse) => {
            return error(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format_args!("the callback body is not JSON: {parse}"),
            );
        }
    };
    let hook_id = hook_id.into();
    let delivered = match &dedupe_key {
        Some(key) => shared.engine.resume_hook_once(&hook_id, payload, key).await,
        None => shared.engine.resume_hook(&hook_id, payload).await,
    };
    match delivered {
        Ok(Delivery::Applied { run_id, outcome }) => {
            outcome_response(&shared.config, &run_id, &outcome, false)
        }
        Ok(Delivery::Duplicate { run_id, outcome }) => {
            outcome_response(&shared.config, &run_id, &outcome, true)
        }
        Ok(Delivery::Queued { run_id }) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({ "run_id": run_id, "status": "queued" })),
        )
            .into_response(),
        Err(failure) => {
            let hides = matches!(
                failure,
                EngineError::UnknownHook { .. }
                    | EngineError::HookExpired { .. }
                    | EngineError::AlreadyResolved { .. }
                    | EngineError::EventReused { .. }
            );
            if shared.config.uniform_rejections && hides {
                error(
                    StatusCode::NOT_FOUND,
                    "unknown_hook",
                    "no hook takes deliveries at this URL",
                )
            } else {
                engine_error(&failure)
            }
        }
    }
}

fn outcome_response(
    config: &HooksConfig,
    run_id: &str,
    outcome: &RunOutcome,
    duplicate: bool,
) -> Response {
    let (status, mut body) = match outcome {
        RunOutcome::Completed { result } => (
            StatusCode::OK,
            json!({ "run_id": run_id, "status": "completed", "result": result }),
        ),
        RunOutcome::Failed { error } => (
            StatusCode::OK,
            json!({ "run_id": run_id, "status": "failed", "error": error }),
        ),
        RunOutcome::Suspended { hook } => (
            StatusCode::ACCEPTED,
            json!({
                "run_id": run_id,
                "status": "suspended",
                "hook": {
                    "hook_id": hook.hook_id,
                    "metadata": hook.metadata,
                    "url": config.hook_url(hook.hook_id.as_str()),
                },
            }),
        ),
        RunOutcome::AwaitingApproval { approval } => (
            StatusCode::ACCEPTED,
            json!({ "run_id": run_id, "status": "awaiting_approval", "approval": approval }),
        ),
        RunOutcome::Sleeping { key, wake_at_ms } => (
            StatusCode::ACCEPTED,
            json!({ "run_id": run_id, "status": "sleeping", "key": key, "wake_at_ms": wake_at_ms }),
        ),
        RunOutcome::Running => (
            StatusCode::ACCEPTED,
            json!({ "run_id": run_id, "status": "running" }),
        ),
        RunOutcome::Stopped { message } => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "run_stopped",
                format_args!("the payload is stored but run `{run_id}` stopped: {message}"),
            );
        }
    };
    if duplicate {
        body["duplicate"] = Value::Bool(true);
    }
    (status, axum::Json(body)).into_response()
}

pub(crate) fn engine_error(failure: &EngineError) -> Response {
    let (status, code) = match failure {
        EngineError::UnknownHook { .. } => (StatusCode::NOT_FOUND, "unknown_hook"),
        EngineError::AlreadyResolved { .. } => (StatusCode::CONFLICT, "already_resolved"),
        EngineError::EventReused { .. } => (StatusCode::CONFLICT, "event_reused"),
        EngineError::UnknownRun { .. } => (StatusCode::NOT_FOUND, "unknown_run"),
        EngineError::UnknownApproval { .. } => (StatusCode::NOT_FOUND, "unknown_approval"),
        EngineError::ApprovalAlreadyDecided { .. } => (StatusCode::CONFLICT, "already_decided"),
        EngineError::ApprovalExpired { .. } => (StatusCode::GONE, "approval_expired"),
        EngineError::ApprovalValueType { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "value_type"),
        EngineError::PayloadType { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "payload_type"),
        EngineError::HookExpired { .. } => (StatusCode::GONE, "hook_expired"),
        EngineError::Busy { .. } => {
            // Nothing was decided or changed: a retry (providers retry 5xx answers) gets the
            // final answer once the executor holding the run lets go.
            let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "busy", failure);
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
            return response;
        }
        EngineError::Fenced { .. } | EngineError::Store(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "engine"),
    };
    error(status, code, failure)
}

async fn list_pending(State(shared): State<Arc<Shared>>) -> Response {
    match shared.engine.pending_hooks().await {
        Ok(hooks) => {
            let now = now_ms();
            let hooks: Vec<Value> = hooks
                .iter()
                .map(|hook| {
                    json!({
                        "hook_id": hook.hook_id,
                        "run_id": hook.run_id,
                        "metadata": hook.metadata,
                        "suspended_at_ms": hook.suspended_at_ms,
                        "age_ms": u64::try_from(hook.age(now).as_millis()).unwrap_or(u64::MAX),
                        "url": shared.config.hook_url(hook.hook_id.as_str()),
                    })
                })
                .collect();
            axum::Json(json!({ "hooks": hooks })).into_response()
        }
        Err(failure) => engine_error(&failure),
    }
}
