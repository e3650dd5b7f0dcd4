//! The approval decision endpoint: `POST /approvals/{run_id}/{key}`. The listing of what waits
//! for whom is on the [administration router](super::admin_router).

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::{Edge, engine_error, error, refuse_non_json};
use super::{DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT};
use crate::durable::{Decision, Engine};

/// How the decision endpoint reads requests.
///
/// ```
/// use std::time::Duration;
/// let config = awaitly::http::ApprovalsConfig::default()
///     .body_limit(8 * 1024)
///     .body_timeout(Duration::from_secs(5));
/// assert!(format!("{config:?}").contains("8192"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ApprovalsConfig {
    edge: Edge,
}

impl Default for ApprovalsConfig {
    /// Bodies up to 64 KiB, arriving within 10 s.
    fn default() -> Self {
        Self {
            edge: Edge {
                body_limit: DEFAULT_BODY_LIMIT,
                body_timeout: DEFAULT_BODY_TIMEOUT,
            },
        }
    }
}

impl ApprovalsConfig {
    /// The largest decision body accepted, in bytes; larger ones get 413 — at once when the
    /// request's `Content-Length` says so.
    ///
    /// ```
    /// let _ = awaitly::http::ApprovalsConfig::default().body_limit(4096);
    /// ```
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.edge.body_limit = bytes;
        self
    }

    /// How long a decision's body may take to arrive once its headers have; past it, 408.
    ///
    /// ```
    /// let _ = awaitly::http::ApprovalsConfig::default().body_timeout(std::time::Duration::from_secs(2));
    /// ```
    #[must_use]
    pub fn body_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.edge.body_timeout = timeout;
        self
    }
}

/// Deciding the approvals of `engine`: `POST /approvals/{run_id}/{key}`, and JSON answers to
/// every other request under `/approvals/`.
///
/// **Whoever reaches it can decide, and the `actor` of a decision is recorded as given**: mount
/// it behind your own authentication (and set `actor` from the authenticated user, not from the
/// body, if you forward decisions to it), unless your application really wants decisions to be
/// public — a link mailed to an approver, say, whose `run_id` and `key` are then the only secret.
/// The listing of pending approvals is on [`admin_router`](super::admin_router).
///
/// | request | status | body |
/// | --- | --- | --- |
/// | `POST /approvals/{run_id}/{key}` with `{"decision": "approve" \| "edit" \| "reject", "value": …, "reason": "…", "actor": "…"}` | 200 | `{"run_id", "key", "outcome": {"status", …}}`: the run's next outcome |
/// | the same decision again | 200 | the run's current outcome |
/// | malformed JSON | 400 | `malformed_json` |
/// | unknown run or approval, or another path under `/approvals/` | 404 | `unknown_run`, `unknown_approval`, `not_found` |
/// | another method | 405, with `Allow: POST` | `method_not_allowed` |
/// | the body did not arrive within 10 s ([`ApprovalsConfig::body_timeout`]) | 408 | `request_timeout` |
/// | already decided differently | 409 | `already_decided` |
/// | past its deadline | 410 | `approval_expired` |
/// | `Content-Length` or the body over 64 KiB ([`ApprovalsConfig::body_limit`]) | 413 | `payload_too_large` |
/// | a `Content-Type` that is not JSON | 415 | `unsupported_media_type` |
/// | an unknown `decision`, no `actor`, `approve`/`edit` without `value`, `reject` without `reason` | 422 | `invalid_decision` |
/// | a value of the wrong type (the approval waits again) | 422 | `value_type` |
///
/// ```
/// use std::sync::Arc;
/// let engine = Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
/// // + your authentication layer on this router
/// let app = awaitly::http::axum::Router::new().merge(awaitly::http::approvals_router(engine));
/// # drop(app);
/// ```
pub fn approvals_router(engine: Arc<Engine>) -> Router {
    approvals_router_with(engine, ApprovalsConfig::default())
}

/// [`approvals_router`] with another body limit or body timeout.
///
/// ```
/// use std::sync::Arc;
/// use awaitly::http::{ApprovalsConfig, approvals_router_with};
/// let engine = Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
/// let router = approvals_router_with(engine, ApprovalsConfig::default().body_limit(4096));
/// # drop(router);
/// ```
pub fn approvals_router_with(engine: Arc<Engine>, config: ApprovalsConfig) -> Router {
    let edge = config.edge;
    let decisions = Router::new()
        .route("/{run_id}/{key}", post(decide))
        // Only under `/approvals/`: the application keeps its own fallback.
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                "decisions go to /approvals/{run_id}/{key}",
            )
        });
    let state = Arc::new(Decider { engine, edge });
    // `/approvals/` (empty run id and key) is outside the nested router's reach.
    let empty = Router::new().route(
        "/approvals/",
        axum::routing::any(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                "decisions go to /approvals/{run_id}/{key}",
            )
        }),
    );
    edge.apply(empty)
        .nest("/approvals", edge.apply(decisions).with_state(state))
}

/// A decision as posted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Posted {
    decision: String,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    actor: Option<String>,
}

fn invalid(message: &str) -> Response {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_decision",
        message,
    )
}

struct Decider {
    engine: Arc<Engine>,
    edge: Edge,
}

async fn decide(
    State(decider): State<Arc<Decider>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    // A run id or key that does not decode (invalid percent-encoding or UTF-8) names nothing.
    let Ok(Path((run_id, key))) = path else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_approval",
            "no approval has this run id and key: they are not valid UTF-8 once percent-decoded",
        );
    };
    if let Some(refused) = refuse_non_json(&headers) {
        return refused;
    }
    let body = match decider.edge.read(request, "decision").await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(parse) => {
            return error(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format_args!("the decision body is not JSON: {parse}"),
            );
        }
    };
    let posted: Posted = match serde_json::from_value(value) {
        Ok(posted) => posted,
        Err(shape) => {
            return invalid(&format!(
                "expected {{\"decision\": \"approve\"|\"edit\"|\"reject\", \"value\", \"reason\", \"actor\"}}: {shape}"
            ));
        }
    };
    let Some(actor) = posted.actor.filter(|actor| !actor.trim().is_empty()) else {
        return invalid("`actor` is required: who decides is recorded with the decision");
    };
    let decision = match (posted.decision.as_str(), posted.value, posted.reason) {
        ("approve", Some(value), _) => Decision::Grant(value),
        ("edit", Some(value), _) => Decision::Edit(value),
        ("approve" | "edit", None, _) => {
            return invalid("`approve` and `edit` need a `value`: what the workflow receives");
        }
        ("reject", _, Some(reason)) if !reason.trim().is_empty() => Decision::Reject(reason),
        ("reject", _, _) => return invalid("`reject` needs a `reason`"),
        (other, ..) => {
            return invalid(&format!(
                "unknown decision {other:?}: use \"approve\", \"edit\" or \"reject\""
            ));
        }
    };
    match decider
        .engine
        .decide_approval(&run_id, &key, decision, &actor)
        .await
    {
        Ok(outcome) => {
            axum::Json(json!({ "run_id": run_id, "key": key, "outcome": outcome })).into_response()
        }
        Err(failure) => engine_error(&failure),
    }
}
