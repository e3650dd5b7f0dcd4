//! The approval endpoint: what waits for whom (`GET /approvals`) and deciding
//! (`POST /approvals/{run_id}/{key}`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{engine_error, error};
use crate::durable::{Decision, Engine};

/// The largest decision body accepted, in bytes.
const BODY_LIMIT: usize = 64 * 1024;

/// The approvals of `engine`, for the people who decide them. Mount it behind your own
/// authentication: whoever reaches it can decide; the `actor` of a decision is recorded as given.
///
/// | request | status | body |
/// | --- | --- | --- |
/// | `GET /approvals` | 200 | `{"approvals": [{"run_id", "workflow", "key", "reason", "metadata", "requested_at_ms", "deadline_ms", "age_ms", "url"}]}`, oldest first |
/// | `POST /approvals/{run_id}/{key}` with `{"decision": "approve" \| "edit" \| "reject", "value": …, "reason": "…", "actor": "…"}` | 200 | `{"run_id", "key", "outcome": {"status", …}}`: the run's next outcome |
/// | the same decision again | 200 | the run's current outcome |
/// | malformed JSON, body over 64 KiB | 400, 413 | `malformed_json`, `payload_too_large` |
/// | an unknown `decision`, no `actor`, `approve`/`edit` without `value`, `reject` without `reason` | 422 | `invalid_decision` |
/// | unknown run or approval | 404 | `unknown_run`, `unknown_approval` |
/// | already decided differently | 409 | `already_decided` |
/// | past its deadline | 410 | `approval_expired` |
/// | a value of the wrong type (the approval waits again) | 422 | `value_type` |
///
/// ```
/// use std::sync::Arc;
/// let engine = Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
/// let app = awaitly::http::axum::Router::new().merge(awaitly::http::approvals_router(engine));
/// # drop(app);
/// ```
pub fn approvals_router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/approvals", get(list))
        .route("/approvals/{run_id}/{key}", post(decide))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(engine)
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

async fn decide(
    State(engine): State<Arc<Engine>>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // A run id or key that does not decode (invalid percent-encoding or UTF-8) names nothing.
    let Ok(Path((run_id, key))) = path else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_approval",
            "no approval has this run id and key: they are not valid UTF-8 once percent-decoded",
        );
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format_args!("the decision body is larger than {BODY_LIMIT} bytes"),
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
    match engine
        .decide_approval(&run_id, &key, decision, &actor)
        .await
    {
        Ok(outcome) => {
            axum::Json(json!({ "run_id": run_id, "key": key, "outcome": outcome })).into_response()
        }
        Err(failure) => engine_error(&failure),
    }
}

async fn list(State(engine): State<Arc<Engine>>) -> Response {
    match engine.pending_approvals().await {
        Ok(pending) => {
            let now = engine.now_millis();
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
                        "requested_at_ms": approval.requested_at_millis,
                        "deadline_ms": approval.deadline_millis,
                        "age_ms": u64::try_from(record.age(now).as_millis()).unwrap_or(u64::MAX),
                        "url": format!(
                            "/approvals/{}/{}",
                            segment(&record.run_id),
                            segment(&approval.step_key)
                        ),
                    })
                })
                .collect();
            axum::Json(json!({ "approvals": approvals })).into_response()
        }
        Err(failure) => engine_error(&failure),
    }
}

/// `text` as one URL path segment: unreserved characters and `:` as they are, every other byte
/// percent-encoded (so a key with `/` or `?` still names one approval).
fn segment(text: &str) -> String {
    use std::fmt::Write;
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    #[test]
    fn segments_keep_keys_whole() {
        assert_eq!(super::segment("approve:refund:42"), "approve:refund:42");
        assert_eq!(super::segment("a/b?c d"), "a%2Fb%3Fc%20d");
        assert_eq!(super::segment("é"), "%C3%A9");
    }
}
