//! The HTTP edge of every router, on a real server (`awaitly::http::serve` on 127.0.0.1) with a
//! real client and raw TCP where a client has to misbehave: the JSON error shape on every status
//! (unmatched paths, 405 with `Allow`, 408, 413, 415), 413 decided by `Content-Length` before a
//! byte of the body is read, a stalled or trickled body cut off with 408, and headers that never
//! finish closed by the header read timeout.
#![cfg(feature = "http")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use awaitly::durable::Engine;
use awaitly::http::axum::Router;
use awaitly::http::{
    ApprovalsConfig, HooksConfig, ServeConfig, admin_router, approvals_router_with,
    hooks_router_with, not_found, serve,
};
use awaitly::store::MemoryStore;
use awaitly::{await_hook, workflow};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BODY_LIMIT: usize = 1024;
const BODY_TIMEOUT: Duration = Duration::from_secs(1);
const HEADER_TIMEOUT: Duration = Duration::from_millis(800);

#[workflow]
async fn wait_for_it(run: String) -> Result<Value, String> {
    let event: Value = await_hook!("event", metadata = run);
    Ok(event)
}

struct Server {
    address: std::net::SocketAddr,
    base: String,
    engine: Arc<Engine>,
    client: reqwest::Client,
}

impl Server {
    /// The public hooks router, the approvals decision router and the admin router, with the
    /// JSON fallback, as a server of awaitly's routers only would mount them.
    async fn start() -> Self {
        let engine = Arc::new(Engine::new(MemoryStore::new()).register("wait", 1, wait_for_it));
        let config = HooksConfig::default()
            .body_limit(BODY_LIMIT)
            .body_timeout(BODY_TIMEOUT);
        let app: Router = Router::new()
            .merge(hooks_router_with(Arc::clone(&engine), config))
            .merge(approvals_router_with(
                Arc::clone(&engine),
                ApprovalsConfig::default()
                    .body_limit(BODY_LIMIT)
                    .body_timeout(BODY_TIMEOUT),
            ))
            .nest("/admin", admin_router(Arc::clone(&engine)))
            .fallback(not_found);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let serving = ServeConfig::default().header_timeout(HEADER_TIMEOUT);
        tokio::spawn(async move { serve(listener, app, &serving).await.unwrap() });
        Self {
            address,
            base: format!("http://{address}"),
            engine,
            client: reqwest::Client::new(),
        }
    }

    async fn hook(&self, run: &str) -> String {
        let started = self.engine.start(run, "wait", &run).await.unwrap();
        started
            .outcome
            .pending_hook()
            .unwrap()
            .hook_id
            .as_str()
            .to_owned()
    }

    async fn send(&self, method: Method, path: &str, body: &str) -> Reply {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        Reply::from_response(response).await
    }

    /// Writes `request` on a fresh connection, then reads the answer until the server closes
    /// the connection or `wait` passes; how long that took, counted from before connecting
    /// (the server's timers cannot have started earlier).
    async fn raw(&self, request: &[u8], wait: Duration) -> (Duration, String) {
        let since = Instant::now();
        let mut stream = TcpStream::connect(self.address).await.unwrap();
        stream.write_all(request).await.unwrap();
        read_until_closed(&mut stream, since, wait).await
    }
}

async fn read_until_closed(
    stream: &mut TcpStream,
    since: Instant,
    wait: Duration,
) -> (Duration, String) {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    while let Ok(read) = tokio::time::timeout_at(
        tokio::time::Instant::from_std(since + wait),
        stream.read(&mut buffer),
    )
    .await
    {
        match read {
            Ok(0) | Err(_) => break,
            Ok(count) => received.extend_from_slice(&buffer[..count]),
        }
    }
    (
        since.elapsed(),
        String::from_utf8_lossy(&received).into_owned(),
    )
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    async fn from_response(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self {
            status,
            headers,
            body,
        }
    }

    /// The JSON error shape with this status and code, a non-empty message, as
    /// `application/json`.
    fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body["error"]["code"], code, "{self:?}");
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|message| !message.is_empty()),
            "{self:?}"
        );
        assert_eq!(
            self.body.as_object().map(serde_json::Map::len),
            Some(1),
            "{self:?}"
        );
        assert_eq!(self.headers["content-type"], "application/json", "{self:?}");
    }
}

/// A raw HTTP answer: its status, headers (lower-case names) and JSON body.
fn parse_raw(answer: &str) -> (u16, Vec<(String, String)>, Value) {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()));
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmatched_paths_and_methods_answer_in_the_json_shape() {
    let server = Server::start().await;
    let hook = server.hook("paths").await;

    // Unmatched paths under the hooks prefix: the unknown-hook 404, whatever the method — the
    // old listing `GET /hooks` included.
    for path in [
        "/hooks/a/b".to_owned(),
        "/hooks//x".to_owned(),
        format!("/hooks/{hook}/x"),
        "/hooks/".to_owned(),
        "/hooks".to_owned(),
    ] {
        server
            .send(Method::POST, &path, "1")
            .await
            .assert_error(StatusCode::NOT_FOUND, "unknown_hook");
    }
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        for path in ["/hooks/a/b", "/hooks", "/hooks/"] {
            let reply = server.send(method.clone(), path, "").await;
            reply.assert_error(StatusCode::NOT_FOUND, "unknown_hook");
            assert!(!reply.body.to_string().contains(&hook), "{reply:?}");
        }
    }
    // Anywhere else: the application's fallback (here awaitly's `not_found`).
    for path in ["/nope", "/approvals", "/admin/nope", "/admin"] {
        server
            .send(Method::GET, path, "")
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    for path in ["/approvals/a", "/approvals/a/b/c"] {
        server
            .send(Method::POST, path, "{}")
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    }

    // Another method on a route: 405 with `Allow`, as JSON.
    for (method, path, allow) in [
        (Method::GET, format!("/hooks/{hook}"), "POST"),
        (Method::PUT, "/hooks/no-such-hook".to_owned(), "POST"),
        (Method::DELETE, format!("/hooks/{hook}"), "POST"),
        (Method::GET, "/approvals/run/key".to_owned(), "POST"),
        (Method::POST, "/admin/hooks".to_owned(), "GET,HEAD"),
        (Method::DELETE, "/admin/approvals".to_owned(), "GET,HEAD"),
    ] {
        let reply = server.send(method.clone(), &path, "").await;
        reply.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        assert_eq!(reply.headers["allow"], allow, "{method} {path}: {reply:?}");
    }
    // None of it touched the hook.
    assert!(
        server
            .engine
            .record("paths")
            .await
            .unwrap()
            .outcome
            .pending_hook()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_oversized_body_is_refused_before_it_is_read() {
    let server = Server::start().await;
    let hook = server.hook("big").await;
    for path in [
        format!("/hooks/{hook}"),
        "/hooks/no-such-hook".to_owned(),
        "/approvals/big/key".to_owned(),
    ] {
        // 10^12 bytes declared, none sent: the answer comes at once, not after 64 KiB or a
        // timeout, and the connection is closed.
        let request = format!(
            "POST {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
             content-length: 1000000000000\r\n\r\n"
        );
        let (elapsed, answer) = server.raw(request.as_bytes(), Duration::from_secs(5)).await;
        let (status, headers, body) = parse_raw(&answer);
        assert_eq!(status, 413, "{path}: {answer}");
        assert_eq!(body["error"]["code"], "payload_too_large", "{answer}");
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        assert_eq!(header(&headers, "connection"), Some("close"), "{answer}");
        assert!(
            elapsed < BODY_TIMEOUT,
            "{path}: answered and closed after {elapsed:?}"
        );
    }
    // Declared within the limit, then more sent as chunks than the limit: 413 as JSON too.
    let chunk = "x".repeat(BODY_LIMIT + 1);
    let request = format!(
        "POST /hooks/{hook} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let (_, answer) = server.raw(request.as_bytes(), Duration::from_secs(5)).await;
    let (status, _, body) = parse_raw(&answer);
    assert_eq!(
        (status, &body["error"]["code"]),
        (413, &json!("payload_too_large")),
        "{answer}"
    );
    // Through a real client as well.
    server
        .send(
            Method::POST,
            &format!("/hooks/{hook}"),
            &format!("[{}1]", "1,".repeat(BODY_LIMIT)),
        )
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(
        server
            .engine
            .record("big")
            .await
            .unwrap()
            .outcome
            .pending_hook()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_or_trickled_body_gets_408_within_the_body_timeout() {
    let server = Server::start().await;
    let hook = server.hook("slow").await;
    let limit = BODY_TIMEOUT + Duration::from_secs(2);
    for path in [format!("/hooks/{hook}"), "/approvals/slow/key".to_owned()] {
        // Declares 100 bytes, sends 10, stalls.
        let request = format!(
            "POST {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
             content-length: 100\r\n\r\n{{\"paid\": 1"
        );
        let (elapsed, answer) = server.raw(request.as_bytes(), limit).await;
        let (status, headers, body) = parse_raw(&answer);
        assert_eq!(status, 408, "{path}: {answer}");
        assert_eq!(body["error"]["code"], "request_timeout", "{answer}");
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        assert_eq!(header(&headers, "connection"), Some("close"));
        assert!(
            elapsed >= BODY_TIMEOUT && elapsed < limit,
            "{path}: 408 after {elapsed:?}"
        );
    }

    // A byte every 100 ms restarts a per-read timer each time; the whole body still has to
    // arrive within the body timeout.
    let since = Instant::now();
    let stream = TcpStream::connect(server.address).await.unwrap();
    let (mut reading, mut writing) = stream.into_split();
    let head = format!(
        "POST /hooks/{hook} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
         content-length: 200\r\n\r\n"
    );
    writing.write_all(head.as_bytes()).await.unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..200 {
            if writing.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut received = Vec::new();
    let _ = tokio::time::timeout(limit, reading.read_to_end(&mut received)).await;
    let elapsed = since.elapsed();
    trickle.abort();
    let answer = String::from_utf8_lossy(&received);
    let (status, _, body) = parse_raw(&answer);
    assert_eq!(
        (status, &body["error"]["code"]),
        (408, &json!("request_timeout")),
        "{answer}"
    );
    assert!(
        elapsed >= BODY_TIMEOUT && elapsed < limit,
        "the trickle was cut off after {elapsed:?}"
    );

    // The hook still takes its payload.
    let reply = server
        .send(Method::POST, &format!("/hooks/{hook}"), "7")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_that_never_finish_are_cut_off_by_the_header_timeout() {
    let server = Server::start().await;
    let limit = HEADER_TIMEOUT + Duration::from_secs(2);
    // Half a request, then silence: the connection is closed (there is no request to answer).
    let (elapsed, answer) = server
        .raw(b"POST /hooks/x HTTP/1.1\r\nhost: test\r\n", limit)
        .await;
    assert!(answer.is_empty(), "{answer}");
    assert!(
        elapsed >= HEADER_TIMEOUT && elapsed < limit,
        "closed after {elapsed:?}"
    );
    // A connection that sends nothing is closed too.
    let (elapsed, _) = server.raw(b"", limit).await;
    assert!(elapsed < limit, "closed after {elapsed:?}");
    // A complete request on time is served.
    let reply = server.send(Method::GET, "/admin/hooks", "").await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_are_not_json_by_content_type_get_415() {
    let server = Server::start().await;
    let hook = server.hook("types").await;
    let url = format!("{}/hooks/{hook}", server.base);
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
    ] {
        let response = server
            .client
            .post(&url)
            .header("content-type", content_type)
            .body("payload=%7B%7D")
            .send()
            .await
            .unwrap();
        Reply::from_response(response)
            .await
            .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    let decision = format!("{}/approvals/types/key", server.base);
    let response = server
        .client
        .post(&decision)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    Reply::from_response(response)
        .await
        .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // JSON with parameters, a `+json` type, and no type at all are read as JSON.
    for content_type in [
        "application/json; charset=utf-8",
        "application/vnd.api+json",
    ] {
        let response = server
            .client
            .post(&url)
            .header("content-type", content_type)
            .body("{not json")
            .send()
            .await
            .unwrap();
        Reply::from_response(response)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "malformed_json");
    }
    let response = server.client.post(&url).body("5").send().await.unwrap();
    let reply = Reply::from_response(response).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["result"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hooks_router_at_the_root_takes_callbacks_at_the_root() {
    let engine = Arc::new(Engine::new(MemoryStore::new()).register("wait", 1, wait_for_it));
    let config = HooksConfig::default().path("/");
    let app = hooks_router_with(Arc::clone(&engine), config.clone()).fallback(not_found);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { serve(listener, app, &ServeConfig::default()).await });
    let started = engine.start("root", "wait", &"root").await.unwrap();
    let hook = started.outcome.pending_hook().unwrap().hook_id.clone();
    assert_eq!(config.hook_url(hook.as_str()), format!("/{hook}"));
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/{hook}"))
        .body("1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let reply = Reply::from_response(
        client
            .post(format!("{base}/a/b"))
            .body("1")
            .send()
            .await
            .unwrap(),
    )
    .await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[workflow]
async fn by_id(hook: awaitly::HookId) -> Result<u32, String> {
    let cents: u32 = await_hook!(hook);
    Ok(cents)
}

/// Sends one request to `app` in-process; the status and the JSON body.
async fn oneshot(app: Router, method: &str, path: &str, body: &str) -> (u16, Value) {
    use tower::ServiceExt as _;
    let request = awaitly::http::axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(awaitly::http::axum::body::Body::from(body.to_owned()))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = awaitly::http::axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_approvals_router_alone_answers_its_bare_prefix_in_json() {
    let engine = Arc::new(Engine::new(MemoryStore::new()));
    let app: Router = awaitly::http::approvals_router(engine);
    let (status, body) = oneshot(app, "POST", "/approvals/", "{}").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found", "{body}");
}

#[tokio::test]
async fn a_listed_hook_url_reaches_a_hook_whose_id_needs_escaping() {
    let engine = Arc::new(Engine::new(MemoryStore::new()).register("by-id", 1, by_id));
    let hook = awaitly::HookId::from("order/7?paid#now%");
    engine
        .start_with_hooks("escaped", "by-id", &hook, std::slice::from_ref(&hook))
        .await
        .unwrap();
    let app: Router = Router::new()
        .merge(awaitly::http::hooks_router(Arc::clone(&engine)))
        .nest("/admin", admin_router(Arc::clone(&engine)));
    let (status, listing) = oneshot(app.clone(), "GET", "/admin/hooks", "").await;
    assert_eq!(status, 200, "{listing}");
    let url = listing["hooks"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(url, "/hooks/order%2F7%3Fpaid%23now%25");
    let (status, delivered) = oneshot(app, "POST", &url, "42").await;
    assert_eq!(status, 200, "{delivered}");
    assert_eq!(delivered["result"], 42);
}
