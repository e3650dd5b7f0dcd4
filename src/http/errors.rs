//! The HTTP edge shared by every router of this module: the JSON error shape, the answers to
//! unmatched paths and methods, `Content-Type` and body reading with a size limit and a deadline,
//! and the tower-http layers that refuse oversized and stalled bodies.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutError};

use crate::durable::EngineError;

/// The one JSON error shape: `{"error": {"code": "…", "message": "…"}}`.
pub(crate) fn error(status: StatusCode, code: &str, message: impl std::fmt::Display) -> Response {
    let body = json!({ "error": { "code": code, "message": message.to_string() } });
    let mut response = (status, axum::Json(body)).into_response();
    if matches!(
        status,
        StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE
    ) {
        // The body was not read to its end: the connection cannot carry another request.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// The engine's refusals as statuses and codes.
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
        EngineError::Finished { .. } => (StatusCode::CONFLICT, "finished"),
        EngineError::Cancelled { .. } => (StatusCode::GONE, "cancelled"),
        EngineError::HookAbandoned { .. } => (StatusCode::CONFLICT, "not_waiting"),
        EngineError::Busy { .. } => {
            // Nothing was decided or changed: a retry (providers retry 5xx answers) gets the
            // final answer once the executor holding the run lets go.
            let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "busy", failure);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        }
        EngineError::Fenced { .. } | EngineError::Store(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "engine"),
    };
    error(status, code, failure)
}

/// The answer to any request for a path no route of a router serves.
///
/// Give it to a server that serves only awaitly's routers as its fallback, so that every path
/// (`/nope` too) is answered in the JSON error shape. The routers themselves set no fallback, so
/// that they merge into an application that has its own.
///
/// ```
/// use std::sync::Arc;
/// let engine = Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
/// let app = awaitly::http::hooks_router(engine).fallback(awaitly::http::not_found);
/// # drop(app);
/// ```
pub async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "nothing is served at this path",
    )
}

/// The answer under the hooks prefix to a path that is not `{path}/{hook_id}` (`/hooks/a/b`,
/// `/hooks//x`): the same as an unknown hook, whatever the method, so nothing about hook ids can
/// be learnt from it.
pub(crate) fn no_hook_here() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "unknown_hook",
        "no hook takes deliveries at this URL",
    )
}

async fn method_not_allowed() -> Response {
    // axum adds the `Allow` header (the route's methods) to whatever this returns.
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this URL does not take this method: the `Allow` header lists those it takes",
    )
}

/// Every error answer a layer below produced without the JSON shape (tower-http's 413 when
/// `Content-Length` is over the limit, anything else) gets it, keeping its status and headers.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "the request body is larger than this endpoint accepts",
        ),
        StatusCode::REQUEST_TIMEOUT => {
            ("request_timeout", "the request body did not arrive in time")
        }
        StatusCode::NOT_FOUND => ("not_found", "nothing is served at this path"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this URL does not take this method: the `Allow` header lists those it takes",
        ),
        _ => (
            "http_error",
            status.canonical_reason().unwrap_or("the request failed"),
        ),
    };
    let (mut parts, _) = response.into_parts();
    let shaped = error(status, code, message);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let (shaped_parts, body) = shaped.into_parts();
    parts.headers.extend(shaped_parts.headers);
    Response::from_parts(parts, body)
}

/// How a router's requests are read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Edge {
    /// The largest body, in bytes.
    pub(crate) body_limit: usize,
    /// How long the whole body may take to arrive.
    pub(crate) body_timeout: Duration,
}

impl Edge {
    /// The edge of every router: 405 in the JSON shape (with `Allow`), bodies refused by
    /// `Content-Length` before a byte is read (tower-http `RequestBodyLimitLayer`), a stall in a
    /// body cut off (tower-http `RequestBodyTimeoutLayer`), and every error answer in the JSON
    /// shape. Call it once all routes are added.
    pub(crate) fn apply<S: Clone + Send + Sync + 'static>(self, router: Router<S>) -> Router<S> {
        router
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(self.body_limit))
            // The limit wraps the body last, outside the timeout, so that its error is the one
            // axum's body extractor recognises (413), as when it is the only layer.
            .layer(RequestBodyLimitLayer::new(self.body_limit))
            .layer(RequestBodyTimeoutLayer::new(self.body_timeout))
            .layer(axum::middleware::map_response(json_errors))
    }

    /// The body, whole, within the size limit and the deadline; otherwise the JSON answer (413,
    /// 408, or 400 for a body that broke off). `what` names the body in messages.
    pub(crate) async fn read(self, request: Request, what: &str) -> Result<Bytes, Response> {
        let too_slow = || {
            error(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format_args!(
                    "the {what} body did not arrive within {} ms",
                    self.body_timeout.as_millis()
                ),
            )
        };
        // The tower-http layer cuts a stall between two reads; this deadline also bounds a body
        // trickled a byte at a time, which restarts the layer's timer with every byte.
        let read = Bytes::from_request(request, &());
        match tokio::time::timeout(self.body_timeout, read).await {
            Err(_elapsed) => Err(too_slow()),
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(rejection)) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format_args!("the {what} body is larger than {} bytes", self.body_limit),
                ))
            }
            Ok(Err(rejection)) if stalled(&rejection) => Err(too_slow()),
            Ok(Err(rejection)) => Err(error(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                format_args!(
                    "the {what} body could not be read: {}",
                    rejection.body_text()
                ),
            )),
        }
    }
}

/// Whether reading the body failed because tower-http's body timeout fired.
fn stalled(rejection: &BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = cause {
        if error.is::<TimeoutError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// The 415 answer, unless the request's `Content-Type` announces JSON: absent (the body is
/// decoded as JSON all the same), `application/json`, or any `application/…+json`, parameters
/// aside.
pub(crate) fn refuse_non_json(headers: &HeaderMap) -> Option<Response> {
    let value = headers.get(header::CONTENT_TYPE)?;
    let media_type = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"));
    if json {
        return None;
    }
    Some(error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "send the body as JSON with `Content-Type: application/json` (on GitHub: the webhook's \
         Content type setting, not application/x-www-form-urlencoded)",
    ))
}
