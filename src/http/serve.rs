//! [`serve`]: axum's `serve`, plus hyper's header read timeout.

use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;

/// How [`serve`] treats connections.
///
/// ```
/// use std::time::Duration;
/// let config = awaitly::http::ServeConfig::default().header_timeout(Duration::from_secs(5));
/// assert!(format!("{config:?}").contains("5s"));
/// ```
#[derive(Clone, Debug)]
pub struct ServeConfig {
    header_timeout: Option<Duration>,
}

impl Default for ServeConfig {
    /// Headers must arrive within 10 s.
    fn default() -> Self {
        Self {
            header_timeout: Some(Duration::from_secs(10)),
        }
    }
}

impl ServeConfig {
    /// How long a request's headers may take to arrive, counted from when the server starts
    /// waiting for them (so an idle kept-alive connection is closed after it too). Past it, the
    /// connection is closed without an answer: there is no request to answer yet. `None` waits
    /// forever (not for a server on the public internet). Default 10 s. How long the body may
    /// take is the router's setting: [`HooksConfig::body_timeout`](super::HooksConfig::body_timeout).
    ///
    /// ```
    /// let config = awaitly::http::ServeConfig::default().header_timeout(None);
    /// assert!(format!("{config:?}").contains("None"));
    /// ```
    #[must_use]
    pub fn header_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.header_timeout = timeout.into();
        self
    }
}

/// Serves `router` on `listener` (HTTP/1.1) until the task is dropped, like `axum::serve`, with
/// a header read timeout ([`ServeConfig::header_timeout`]), which `axum::serve` does not set:
/// without one, a client that opens connections and sends half a request, or nothing, holds
/// them forever. Built on hyper's HTTP/1 connection builder and hyper-util's tokio timer.
/// Errors accepting a connection are retried (axum's [`Listener`] for `TcpListener` waits a
/// second on running out of file descriptors), so this future does not end on its own.
///
/// # Errors
///
/// None so far: the `Result` leaves room for errors a future version may report (binding is the
/// caller's, before this is called).
///
/// ```no_run
/// use std::sync::Arc;
/// use awaitly::http::{ServeConfig, hooks_router, not_found, serve};
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     let engine = Arc::new(awaitly::durable::Engine::new(awaitly::store::MemoryStore::new()));
///     let app = hooks_router(engine).fallback(not_found);
///     let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
///     serve(listener, app, &ServeConfig::default()).await
/// }
/// ```
pub async fn serve<L: Listener>(
    mut listener: L,
    router: Router,
    config: &ServeConfig,
) -> std::io::Result<()> {
    // hyper's own HTTP/1 builder, not hyper-util's `auto` one: `auto` first waits for the
    // bytes that tell HTTP/1 from HTTP/2, with no timer, so a connection that sends nothing
    // would be held forever.
    let mut builder = Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    loop {
        let (io, _address) = listener.accept().await;
        let service = TowerToHyperService::new(router.clone());
        let connection = builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        // A connection's own failure (reset, timed out, not HTTP) ends that connection only.
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}
