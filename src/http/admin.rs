//! The administration listings: what waits for whom (`GET /hooks`, `GET /approvals`). They hand
//! out live hook ids and approval URLs, so they are for operators only.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::HooksConfig;
use super::errors::{Edge, engine_error, error};
use crate::durable::Engine;
use crate::store::now_ms;

struct Shared {
    engine: Arc<Engine>,
    hooks: HooksConfig,
    edge: Edge,
}

/// The administration router with hook URLs under the default `/hooks`:
/// see [`admin_router_with`].
///
/// ```
/// use std::sync::Arc;
/// let engine = Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
/// // Wrap it in your authentication layer: it lists live hook ids.
/// let admin = awaitly::http::axum::Router::new().nest("/admin", awaitly::http::admin_router(engine));
/// # drop(admin);
/// ```
pub fn admin_router(engine: Arc<Engine>) -> Router {
    admin_router_with(engine, &HooksConfig::default())
}

/// What waits for whom, for operators, as JSON: `GET /hooks` (pending hooks) and
/// `GET /approvals` (pending approvals), relative to where it is mounted.
///
/// **It is off until you mount it, and it must sit behind your application's own
/// authentication**, like the [dashboard](crate::dashboard): a hook id is the capability to
/// resume a run, and the listings show every live one with its run's metadata. The router
/// checks no credentials itself: wrap it in your auth middleware, or bind it to an internal
/// listener. `hooks` is the configuration the [`hooks_router_with`](super::hooks_router_with)
/// was given, so the listed URLs are the ones callbacks go to.
///
/// | request | status | body |
/// | --- | --- | --- |
/// | `GET /hooks` | 200 | `{"hooks": [{"hook_id", "run_id", "metadata", "suspended_at_ms", "age_ms", "url"}]}` |
/// | `GET /approvals` | 200 | `{"approvals": [{"run_id", "workflow", "key", "reason", "metadata", "requested_at_ms", "deadline_ms", "age_ms", "url"}]}`, oldest first; `url` is the decision's on [`approvals_router`](super::approvals_router) |
/// | `POST /runs/{run_id}/cancel`, body `{"reason": "…"}` (or empty) | 200 | `{"run_id", "status": "cancelled", "reason"}`: stopped where it stood, compensations run ([`Engine::cancel`](crate::durable::Engine::cancel)) |
/// | the run already ended | 409 | `finished` |
/// | another executor advances it | 503, with `Retry-After` | `busy` |
/// | another method | 405, with `Allow` | `method_not_allowed` |
/// | the store failed | 503 | `unavailable` |
///
/// ```
/// use std::sync::Arc;
/// use awaitly::http::{HooksConfig, admin_router_with, hooks_router_with};
/// use awaitly::http::axum::Router;
///
/// let engine = Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
/// let hooks = HooksConfig::default().path("/webhooks");
/// let app: Router = Router::new()
///     .merge(hooks_router_with(Arc::clone(&engine), hooks.clone()))
///     // + your authentication layer on this one
///     .nest("/admin", admin_router_with(engine, &hooks));
/// # drop(app);
/// ```
pub fn admin_router_with(engine: Arc<Engine>, hooks: &HooksConfig) -> Router {
    let edge = hooks.edge();
    let shared = Arc::new(Shared {
        engine,
        hooks: hooks.clone(),
        edge,
    });
    let router = Router::new()
        .route("/hooks", get(list_hooks))
        .route("/approvals", get(list_approvals))
        .route("/runs/{run_id}/cancel", post(cancel_run));
    edge.apply(router).with_state(shared)
}

/// What a cancellation may say.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelRequest {
    reason: Option<String>,
}

async fn cancel_run(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let Ok(Path(run_id)) = path else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_run",
            "no run has this id: it is not valid UTF-8 once percent-decoded",
        );
    };
    let body = match shared.edge.read(request, "cancellation").await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<CancelRequest>(&body) {
            Ok(request) => request.reason,
            Err(shape) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_cancellation",
                    format_args!("expected {{\"reason\": \"…\"}} or an empty body: {shape}"),
                );
            }
        }
    };
    let reason = reason.unwrap_or_default();
    match shared.engine.cancel(&run_id, &reason).await {
        Ok(outcome) => {
            let reason = match &outcome {
                crate::store::RunOutcome::Cancelled { reason } => reason.clone(),
                _ => None,
            };
            axum::Json(json!({ "run_id": run_id, "status": "cancelled", "reason": reason }))
                .into_response()
        }
        Err(failure) => engine_error(&failure),
    }
}

async fn list_hooks(State(shared): State<Arc<Shared>>) -> Response {
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
                        "url": shared.hooks.hook_url(hook.hook_id.as_str()),
                    })
                })
                .collect();
            axum::Json(json!({ "hooks": hooks })).into_response()
        }
        Err(failure) => engine_error(&failure),
    }
}

async fn list_approvals(State(shared): State<Arc<Shared>>) -> Response {
    let engine = &shared.engine;
    match engine.pending_approvals().await {
        Ok(pending) => {
            let now = engine.now_ms();
            let approvals: Vec<Value> = pending
                .iter()
                .map(|record| {
                    let approval = &record.approval;
                    json!({
                        "run_id": record.run_id,
                        "workflow": record.workflow,
                        "key": approval.step_key,
                        "reason": approval.reason,
                        "metadata": approval.metadata,
                        "requested_at_ms": approval.requested_at_ms,
                        "deadline_ms": approval.deadline_ms,
                        "age_ms": u64::try_from(record.age(now).as_millis()).unwrap_or(u64::MAX),
                        "url": format!(
                            "/approvals/{}/{}",
                            super::segment(&record.run_id),
                            super::segment(&approval.step_key)
                        ),
                    })
                })
                .collect();
            axum::Json(json!({ "approvals": approvals })).into_response()
        }
        Err(failure) => engine_error(&failure),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn segments_keep_keys_whole() {
        assert_eq!(
            crate::http::segment("approve:refund:42"),
            "approve:refund:42"
        );
        assert_eq!(crate::http::segment("a/b?c d"), "a%2Fb%3Fc%20d");
        assert_eq!(crate::http::segment("é"), "%C3%A9");
    }
}
