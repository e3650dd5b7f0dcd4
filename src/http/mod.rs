//! The HTTP side of the engine (feature `http`): [axum](https://docs.rs/axum) routers for the
//! callers of each endpoint, and [`serve`] to run them with header and body read timeouts.
//!
//! | router | endpoints | who calls it | mount it |
//! | --- | --- | --- | --- |
//! | [`hooks_router`] | `POST {path}/{hook_id}` | the provider (Stripe, GitHub, any service you gave a hook URL) | on the public internet if need be |
//! | [`approvals_router`] | `POST /approvals/{run_id}/{key}` | the people who decide, through your application | behind your authentication, unless your application wants it public |
//! | [`admin_router`] | `GET /hooks`, `GET /approvals` | operators | **behind your authentication**, next to the [dashboard](crate::dashboard) |
//!
//! The public router serves what a provider needs and nothing else: it lists nothing, and with
//! [`HooksConfig::uniform_rejections`] every way of probing a hook id that takes no delivery
//! (unknown, expired, already resolved, an event already used elsewhere, an id that does not
//! decode, a path with more segments) gets the same status, body and headers. The listings, which
//! hand out live hook ids (the capability to resume a run), are on [`admin_router`] only.
//!
//! Answers to `POST {path}/{hook_id}`:
//!
//! | delivery | status | body |
//! | --- | --- | --- |
//! | the run completed (or failed: the workflow returned `Err`) | 200 | `{"run_id", "status": "completed", "result"}` / `{"run_id", "status": "failed", "error"}` |
//! | the run suspended at its next hook | 202 | `{"run_id", "status": "suspended", "hook": {"hook_id", "metadata", "url"}}` |
//! | the run waits for an approval, or sleeps | 202 | `{"run_id", "status": "awaiting_approval", "approval"}` / `{"run_id", "status": "sleeping", "key", "wake_at_ms"}` |
//! | stored for a run that has not reached the hook yet | 202 | `{"run_id", "status": "queued"}` |
//! | the same payload again | 200 if the run completed, else 202 | the run's current outcome plus `"duplicate": true` |
//! | a [verifier](HooksConfig::verifier) refused the signature (before any decoding or lookup) | 401 (500 for a bad secret, 400 for an unusable event id) | the [`SignatureError::code`](crate::signature::SignatureError::code) |
//! | the same verified provider event (or, for GitHub, the same signed body) again | 200 if the run completed, else 202 | the run's current outcome plus `"duplicate": true`; nothing runs |
//! | malformed JSON | 400 | `malformed_json` |
//! | unknown hook, or a path under `{path}` that is not `{path}/{hook_id}` | 404 | `unknown_hook` |
//! | another method than `POST` | 405, with `Allow: POST` | `method_not_allowed` |
//! | the body did not arrive within [`HooksConfig::body_timeout`] | 408 | `request_timeout` |
//! | another payload already resolved the hook | 409 | `already_resolved` |
//! | a verified event already delivered to another hook | 409 | `event_reused` |
//! | the hook's deadline passed | 410 | `hook_expired` |
//! | `Content-Length` or the body over [`HooksConfig::body_limit`] (refused before any byte is read when declared) | 413 | `payload_too_large` |
//! | a `Content-Type` that is not JSON | 415 | `unsupported_media_type` |
//! | payload of the wrong type (the hook waits again) | 422 | `payload_type` |
//! | the store failed, or another executor holds the run | 503 | `unavailable`, `busy` (with `Retry-After`) |
//! | the engine cannot run this run (version, registration) | 500 | `engine` |
//!
//! Every error body, on every router and every status, is
//! `{"error": {"code": "…", "message": "…"}}`. Requests that are not HTTP at all (a malformed
//! request line or header, headers over hyper's size limit) are refused by hyper before any
//! router sees them, with a status and no body; headers that do not arrive within
//! [`ServeConfig::header_timeout`] close the connection (there is no request to answer yet).
//!
//! With [`HooksConfig::uniform_rejections`], unknown, expired and already-used hooks (the 404,
//! 409 and 410 rows) all get the same 404 body, so an outside caller cannot tell a hook id that
//! never existed from one that did; the Rust API ([`Engine::resume_hook`]) still returns the
//! precise error to the application.
//!
//! ```
//! use std::sync::Arc;
//! use awaitly::http::axum::Router;
//! use awaitly::http::{
//!     HooksConfig, ServeConfig, admin_router, approvals_router, hooks_router_with, not_found, serve,
//! };
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let engine = Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
//! let config = HooksConfig::default().uniform_rejections(true);
//! let app: Router = Router::new()
//!     // Public: what the provider needs.
//!     .merge(hooks_router_with(Arc::clone(&engine), config))
//!     // Behind your authentication layer (`.layer(…)` on these two).
//!     .merge(approvals_router(Arc::clone(&engine)))
//!     .nest("/admin", admin_router(engine))
//!     .fallback(not_found);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let base = format!("http://{}", listener.local_addr().unwrap());
//! tokio::spawn(async move { serve(listener, app, &ServeConfig::default()).await });
//!
//! let client = reqwest::Client::new();
//! let answer = client.post(format!("{base}/hooks/no-such-hook")).body("{}").send().await.unwrap();
//! assert_eq!(answer.status(), 404);
//! let body: serde_json::Value = answer.json().await.unwrap();
//! assert_eq!(body["error"]["code"], "unknown_hook");
//! # });
//! ```

mod admin;
mod approvals;
mod errors;
mod hooks;
mod serve;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, post};

pub use admin::{admin_router, admin_router_with};
pub use approvals::{ApprovalsConfig, approvals_router, approvals_router_with};
pub use errors::not_found;
pub use serve::{ServeConfig, serve};

use crate::durable::Engine;
use errors::Edge;

pub use axum;

/// Where the router listens and how much it reads, for how long.
///
/// ```
/// use std::time::Duration;
/// let config = awaitly::http::HooksConfig::default()
///     .path("/webhooks/payment")
///     .body_limit(16 * 1024)
///     .body_timeout(Duration::from_secs(5));
/// assert_eq!(config.hook_url("h1"), "/webhooks/payment/h1");
/// ```
#[derive(Clone)]
pub struct HooksConfig {
    path: String,
    body_limit: usize,
    body_timeout: Duration,
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
            .field("body_timeout", &self.body_timeout)
            .field("uniform_rejections", &self.uniform_rejections);
        #[cfg(feature = "signatures")]
        debug.field(
            "verifier",
            &self.verifier.as_ref().map(|verifier| verifier.provider()),
        );
        debug.finish()
    }
}

/// The largest body the routers read unless told otherwise: 64 KiB.
const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// How long a body may take to arrive unless told otherwise: 10 s.
const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for HooksConfig {
    /// `/hooks`, bodies up to 64 KiB arriving within 10 s, distinct statuses for unknown, used
    /// and expired hooks, no signature check.
    fn default() -> Self {
        Self {
            path: "/hooks".to_owned(),
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            uniform_rejections: false,
            #[cfg(feature = "signatures")]
            verifier: None,
        }
    }
}

impl HooksConfig {
    /// The path prefix: callbacks go to `{path}/{hook_id}`. `"/"` puts them at `/{hook_id}`.
    ///
    /// ```
    /// let config = awaitly::http::HooksConfig::default().path("/callbacks/");
    /// assert_eq!(config.hook_url("h1"), "/callbacks/h1");
    /// assert_eq!(awaitly::http::HooksConfig::default().path("/").hook_url("h1"), "/h1");
    /// ```
    #[must_use]
    pub fn path(mut self, path: &str) -> Self {
        let trimmed = path.trim_end_matches('/');
        self.path = if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// The largest callback body accepted, in bytes; larger ones get 413 — at once when the
    /// request's `Content-Length` says so, before any of the body is read.
    ///
    /// ```
    /// let _ = awaitly::http::HooksConfig::default().body_limit(1024);
    /// ```
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How long a callback's body may take to arrive once its headers have: a body that stalls
    /// (tower-http's `RequestBodyTimeoutLayer`) or trickles in for longer gets 408 and the
    /// connection is closed. Default 10 s. How long the headers may take is a server setting:
    /// [`ServeConfig::header_timeout`].
    ///
    /// ```
    /// let _ = awaitly::http::HooksConfig::default().body_timeout(std::time::Duration::from_secs(3));
    /// ```
    #[must_use]
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// When `true`, unknown, expired and already-used hooks (and hooks an event was already
    /// delivered to another of) all answer the same 404
    /// `{"error": {"code": "unknown_hook", "message": "no hook takes deliveries at this URL"}}`
    /// with the same headers, as do ids that do not decode and longer paths under
    /// [`path`](Self::path), so a caller guessing hook ids learns nothing. Default `false`:
    /// distinct 404, 409 and 410.
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
    /// a refused one gets the error's status and code. The verified delivery's
    /// [`dedupe_key`](crate::signature::Verified::dedupe_key) (the signed event id, or a digest
    /// of the signed body where the provider does not sign its id) is stored with the claim
    /// ([`Engine::resume_hook_once`]): the same event again gets the duplicate answer and runs
    /// nothing, and on another hook it is refused (409 `event_reused`).
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

    /// The path a callback for `hook_id` is posted to, the id percent-encoded as one path
    /// segment (a custom id with `/`, `?`, `#` or `%` still reaches its hook).
    ///
    /// ```
    /// assert_eq!(awaitly::http::HooksConfig::default().hook_url("h1"), "/hooks/h1");
    /// assert_eq!(awaitly::http::HooksConfig::default().hook_url("a/b?c"), "/hooks/a%2Fb%3Fc");
    /// ```
    #[must_use]
    pub fn hook_url(&self, hook_id: &str) -> String {
        format!("{}/{}", self.path, segment(hook_id))
    }

    fn edge(&self) -> Edge {
        Edge {
            body_limit: self.body_limit,
            body_timeout: self.body_timeout,
        }
    }
}

/// The public callback router with [`HooksConfig::default`]: `POST /hooks/{hook_id}`, and JSON
/// answers to every other request under `/hooks/`.
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

/// The public callback router with a custom path, limits and checks: `POST {path}/{hook_id}`
/// and nothing else — every other request under `{path}/` is answered in the JSON error shape
/// (405 with `Allow: POST` for another method on `{path}/{hook_id}`, the unknown-hook 404 for
/// other paths). It lists nothing: the listings are on [`admin_router`].
///
/// It sets no fallback, so it merges into an application that has one; give a server that
/// serves only awaitly's routers [`not_found`] as its fallback. Serve it with [`serve`] for the
/// header read timeout.
///
/// ```
/// use std::sync::Arc;
/// let engine = Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
/// let config = awaitly::http::HooksConfig::default().path("/webhooks");
/// let app = awaitly::http::axum::Router::new().merge(awaitly::http::hooks_router_with(engine, config));
/// # drop(app);
/// ```
pub fn hooks_router_with(engine: Arc<Engine>, config: HooksConfig) -> Router {
    let path = config.path.clone();
    let edge = config.edge();
    let shared = Arc::new(hooks::Shared { engine, config });
    let deliveries = Router::new().route("/{hook_id}", post(hooks::deliver));
    if path.is_empty() {
        // At the root, every other path is the application's.
        return edge.apply(deliveries).with_state(shared);
    }
    // Under a prefix, the rest of it is the router's: `{path}/a/b`, `{path}//x`, `{path}` get
    // the unknown-hook answer, as JSON, whatever the method. A nested router's fallback answers
    // only under its prefix, and leaves the application free to set its own.
    let deliveries = deliveries.fallback(|| async { errors::no_hook_here() });
    // `{path}/` (an empty id) is outside the nested router's reach.
    let empty_id = Router::new().route(
        &format!("{path}/"),
        any(|| async { errors::no_hook_here() }),
    );
    edge.apply(empty_id)
        .nest(&path, edge.apply(deliveries).with_state(shared))
}

/// `text` as one URL path segment: unreserved characters and `:` as they are, every other byte
/// percent-encoded (so a key with `/` or `?` still names one approval or hook).
pub(crate) fn segment(text: &str) -> String {
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
