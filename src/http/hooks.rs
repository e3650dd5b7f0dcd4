//! `POST {path}/{hook_id}`: one callback delivered to the engine.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::HooksConfig;
use super::errors::{engine_error, error, no_hook_here, refuse_non_json};
use crate::durable::{Delivery, Engine, EngineError};
use crate::store::RunOutcome;

pub(super) struct Shared {
    pub(super) engine: Arc<Engine>,
    pub(super) config: HooksConfig,
}

pub(super) async fn deliver(
    State(shared): State<Arc<Shared>>,
    hook_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let uniform = shared.config.uniform_rejections;
    // An id that does not even decode (invalid percent-encoding or UTF-8) names no hook: answered
    // like any unknown hook, as JSON, not with axum's plain-text rejection.
    let Ok(Path(hook_id)) = hook_id else {
        if uniform {
            return no_hook_here();
        }
        return error(
            StatusCode::NOT_FOUND,
            "unknown_hook",
            "no hook has this id: it is not valid UTF-8 once percent-decoded",
        );
    };
    // Nothing below depends on whether the hook exists until the engine looks it up, last.
    if let Some(refused) = refuse_non_json(&headers) {
        return refused;
    }
    let body = match shared.config.edge().read(request, "callback").await {
        Ok(body) => body,
        Err(refused) => return refused,
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
    let dedupe_key: Option<String> = None;
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
            if uniform && hides {
                no_hook_here()
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
        // Several branches wait: how many of each, not their hook ids — whoever delivered one
        // payload holds no capability to resume the run's other waits.
        RunOutcome::Waiting {
            hooks,
            approvals,
            sleeps,
        } => (
            StatusCode::ACCEPTED,
            json!({
                "run_id": run_id,
                "status": "waiting",
                "waiting": { "hooks": hooks.len(), "approvals": approvals.len(), "sleeps": sleeps.len() },
            }),
        ),
        // The run was cancelled: nothing will read this payload.
        RunOutcome::Cancelled { reason } => (
            StatusCode::GONE,
            json!({ "run_id": run_id, "status": "cancelled", "reason": reason }),
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
