//! The HTTP callback path (feature `http`): an [axum](https://docs.rs/axum) router that delivers
//! `POST {path}/{hook_id}` callbacks to an [`Engine`] and lists pending hooks at `GET {path}`.
//!
//! | delivery | status | body |
//! | --- | --- | --- |
//! | the run completed (or failed: the workflow returned `Err`) | 200 | `{"run_id", "status": "completed", "result"}` / `{"run_id", "status": "failed", "error"}` |
//! | the run suspended at its next hook | 202 | `{"run_id", "status": "suspended", "hook": {"hook_id", "metadata", "url"}}` |
//! | stored for a run that has not reached the hook yet | 202 | `{"run_id", "status": "queued"}` |
//! | the same payload again | 200 if the run completed, else 202 | the run's current outcome plus `"duplicate": true` |
//! | malformed JSON | 400 | `malformed_json` |
//! | unknown hook | 404 | `unknown_hook` |
//! | another payload already resolved the hook | 409 | `already_resolved` |
//! | the hook's deadline passed | 410 | `hook_expired` |
//! | body over the limit | 413 | `payload_too_large` |
//! | payload of the wrong type (the hook waits again) | 422 | `payload_type` |
//! | the store failed, or another executor holds the run | 503 | `unavailable` (retry later) |
//! | the engine cannot run this run (version, registration) | 500 | `engine` |
//!
//! Every error body is `{"error": {"code": "…", "message": "…"}}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
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
#[derive(Clone, Debug)]
pub struct HooksConfig {
    path: String,
    body_limit: usize,
}

impl Default for HooksConfig {
    /// `/hooks`, bodies up to 64 KiB.
    fn default() -> Self {
        Self {
            path: "/hooks".to_owned(),
            body_limit: 64 * 1024,
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
        .route(&path, get(list_pending))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(shared)
}

fn error(status: StatusCode, code: &str, message: impl std::fmt::Display) -> Response {
    let body = json!({ "error": { "code": code, "message": message.to_string() } });
    (status, axum::Json(body)).into_response()
}

async fn deliver(
    State(shared): State<Arc<Shared>>,
    Path(hook_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
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
    match shared.engine.resume_hook(&hook_id.into(), payload).await {
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
        Err(failure) => engine_error(&failure),
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

fn engine_error(failure: &EngineError) -> Response {
    let (status, code) = match failure {
        EngineError::UnknownHook { .. } => (StatusCode::NOT_FOUND, "unknown_hook"),
        EngineError::AlreadyResolved { .. } => (StatusCode::CONFLICT, "already_resolved"),
        EngineError::PayloadType { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "payload_type"),
        EngineError::HookExpired { .. } => (StatusCode::GONE, "hook_expired"),
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
