//! Hostile requests for the routers, driven in-process (`tower::ServiceExt::oneshot`: no
//! socket, so a case costs microseconds), and what every answer must be.

use std::fmt::Write as _;
use std::time::Duration;

use awaitly::http::axum::Router;
use awaitly::http::axum::body::{Body, Bytes, to_bytes};
use awaitly::http::axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

use super::hostile_char;

/// How long an answer may take before the case counts as a hang.
pub const HANG: Duration = Duration::from_secs(5);

/// One answer, its body read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// How long the router took.
    pub elapsed: Duration,
}

impl Answer {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The error code, or `""`.
    pub fn code(&self) -> String {
        self.json()
            .and_then(|body| body["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// A current-thread runtime that drives routers.
pub struct Driver {
    runtime: tokio::runtime::Runtime,
}

impl Default for Driver {
    fn default() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        Self { runtime }
    }
}

impl Driver {
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// `request` answered by `router`, or a failed case if the answer takes over [`HANG`]. A
    /// panic in the router propagates, and proptest reports it as a failed case.
    pub fn send(&self, router: &Router, request: Request<Body>) -> Result<Answer, TestCaseError> {
        let started = std::time::Instant::now();
        let answer = async {
            let Ok(response) = router.clone().oneshot(request).await;
            let (parts, body) = response.into_parts();
            let body = to_bytes(body, usize::MAX).await.expect("a readable answer");
            Answer {
                status: parts.status,
                headers: parts.headers,
                body,
                elapsed: started.elapsed(),
            }
        };
        self.runtime
            .block_on(async { tokio::time::timeout(HANG, answer).await })
            .map_err(|_| TestCaseError::fail(format!("no answer within {HANG:?}: a hang")))
    }
}

/// What every answer must be: an error status (4xx, 5xx) is `application/json` with exactly
/// `{"error": {"code", "message"}}`, both non-empty strings; a success is a JSON object; 405
/// names the methods the URL takes in `Allow`; 408 and 413 close the connection (the body was
/// not read to its end); 503 `busy` says when to retry. A `HEAD` answer has no body to check.
pub fn check_shape(answer: &Answer, method: &Method) -> Result<(), TestCaseError> {
    let status = answer.status;
    let context = || format!("{status} {:?}: {:?}", answer.headers, answer.body);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        prop_assert!(answer.headers.contains_key(header::ALLOW), "{}", context());
    }
    if matches!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT
    ) {
        prop_assert_eq!(
            answer
                .headers
                .get(header::CONNECTION)
                .map(HeaderValue::as_bytes),
            Some(&b"close"[..]),
            "{}",
            context()
        );
    }
    if *method == Method::HEAD {
        return Ok(());
    }
    let body = answer.json();
    if !(status.is_client_error() || status.is_server_error()) {
        prop_assert!(body.as_ref().is_some_and(Value::is_object), "{}", context());
        return Ok(());
    }
    prop_assert!(
        answer
            .headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"application/json")),
        "{}",
        context()
    );
    let Some(Value::Object(body)) = body else {
        return Err(TestCaseError::fail(format!(
            "not a JSON object: {}",
            context()
        )));
    };
    prop_assert_eq!(body.len(), 1, "{}", context());
    let Some(Value::Object(error)) = body.get("error") else {
        return Err(TestCaseError::fail(format!("no `error`: {}", context())));
    };
    prop_assert_eq!(error.len(), 2, "{}", context());
    for field in ["code", "message"] {
        prop_assert!(
            error
                .get(field)
                .and_then(Value::as_str)
                .is_some_and(|text| !text.is_empty()),
            "`{}` is not a non-empty string: {}",
            field,
            context()
        );
    }
    if error["code"] == "busy" {
        prop_assert!(answer.headers.contains_key(header::RETRY_AFTER));
    }
    Ok(())
}

/// ASCII that a request path may hold unencoded (`%`, `/`, `?` and `#` come separately).
const PATH_SAFE: &[u8] =
    b"!$&'()*+,-.0123456789:;=@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_abcdefghijklmnopqrstuvwxyz|~\"{}";

/// ASCII that a query may hold unencoded (`#` starts the fragment).
const QUERY_SAFE: &[u8] =
    b"!$%&'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// Any character but ASCII (an ASCII one is moved up by 0xA0, so nothing is filtered out).
fn non_ascii() -> impl Strategy<Value = char> {
    any::<char>().prop_map(|character| {
        if character.is_ascii() {
            char::from_u32(u32::from(character) + 0xa0).unwrap_or('\u{a0}')
        } else {
            character
        }
    })
}

/// Broken percent escapes, truncated UTF-8 sequences, and what servers often choke on.
const BROKEN: &[&str] = &[
    "%",
    "%%",
    "%G0",
    "%4",
    "%zz",
    "%u202e",
    "%C3",
    "%E2%80",
    "%F0%9F%98",
    "%00",
    "%2F",
    "%2e%2E",
    "%25",
    "%ff%fe",
    "%C0%AF",
    "%ED%A0%80",
];

/// Dot segments and separators: extra segments, empty segments, traversal.
const SEPARATORS: &[&str] = &["/", "//", ".", "..", "/./", "/../", "/.."];

/// `character` percent-encoded as its UTF-8 bytes.
pub fn encode(character: char) -> String {
    let mut buffer = [0_u8; 4];
    let bytes = character.encode_utf8(&mut buffer).bytes();
    bytes.fold(String::new(), |mut text, byte| {
        let _ = write!(text, "%{byte:02X}");
        text
    })
}

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// One piece of a hostile path segment, with or without `/` and dot segments.
fn piece(separators: bool) -> impl Strategy<Value = String> {
    let separators = if separators { SEPARATORS } else { &["."][..] };
    prop_oneof![
        4 => prop::collection::vec(prop::sample::select(PATH_SAFE), 1..8)
            .prop_map(|bytes| bytes.into_iter().map(char::from).collect()),
        // Any byte, percent-encoded (so also invalid UTF-8), in upper or lower case hex.
        3 => (any::<u8>(), any::<bool>()).prop_map(|(byte, lower)| if lower {
            format!("%{byte:02x}")
        } else {
            format!("%{byte:02X}")
        }),
        // Any character, percent-encoded: controls, bidi overrides, astral planes.
        3 => hostile_char().prop_map(encode),
        // Raw non-ASCII characters: the request line carries them as UTF-8 bytes.
        2 => non_ascii().prop_map(String::from),
        1 => prop::sample::select(BROKEN).prop_map(str::to_owned),
        1 => prop::sample::select(separators).prop_map(str::to_owned),
    ]
}

/// Hostile text for one or more path segments: garbage, percent-encoded anything, raw Unicode,
/// broken escapes, extra and empty segments, and now and then a long one (up to ~40 KB).
pub fn segments() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::collection::vec(piece(true), 0..12).prop_map(|pieces| pieces.concat()),
        1 => (piece(true), 64..2_000_usize).prop_map(|(piece, count)| piece.repeat(count)),
    ]
}

/// Hostile text for exactly one non-empty path segment.
pub fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::collection::vec(piece(false), 1..12).prop_map(|pieces| pieces.concat()),
        1 => (piece(false), 64..2_000_usize).prop_map(|(piece, count)| piece.repeat(count)),
    ]
}

/// A query and fragment to follow the path: none, or garbage after `?` and `#` (the fragment
/// never reaches a server; `Uri` drops it here).
pub fn suffix() -> impl Strategy<Value = String> {
    let text = prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(QUERY_SAFE).prop_map(char::from),
            1 => non_ascii(),
        ],
        0..24,
    )
    .prop_map(String::from_iter);
    prop_oneof![
        4 => Just(String::new()),
        2 => text.clone().prop_map(|query| format!("?{query}")),
        1 => (text.clone(), text).prop_map(|(query, fragment)| format!("?{query}#{fragment}")),
    ]
}

/// A method: `preferred` most of the time, else any standard one or an extension.
pub fn method(preferred: Method) -> impl Strategy<Value = Method> {
    const OTHERS: &[&str] = &[
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "post",
        "PURGE", "M-SEARCH",
    ];
    prop_oneof![
        8 => Just(preferred),
        1 => prop::sample::select(OTHERS)
            .prop_map(|name| Method::from_bytes(name.as_bytes()).expect("a method")),
    ]
}

/// Header value bytes: visible ASCII, spaces, tabs and obs-text (bytes over 0x7F), which is
/// everything a header value can hold.
pub fn header_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            6 => 0x20_u8..0x7f,
            1 => Just(b'\t'),
            1 => 0x80_u8..=0xff,
        ],
        0..max_len,
    )
}

/// A `Content-Type`: none (read as JSON), JSON in its spellings, other types, garbage.
pub fn content_type() -> impl Strategy<Value = Option<Vec<u8>>> {
    const NAMED: &[&str] = &[
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        " application/json ;x=y",
        "application/vnd.github+json",
        "application/cloudevents+json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/json-seq",
        "application/+json",
        "json",
        "",
    ];
    prop_oneof![
        10 => Just(None),
        4 => prop::sample::select(NAMED).prop_map(|name| Some(name.as_bytes().to_vec())),
        1 => header_bytes(40).prop_map(Some),
    ]
}

/// Whether the router reads a body with this `Content-Type` as JSON (the rule the routers
/// document): absent, `application/json`, or `application/…+json`, parameters and case aside.
pub fn announces_json(content_type: Option<&[u8]>) -> bool {
    let Some(value) = content_type else {
        return true;
    };
    let media_type = std::str::from_utf8(value)
        .ok()
        .filter(|text| text.is_ascii())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

/// How a request declares its length.
#[derive(Clone, Debug)]
pub enum Length {
    /// No `Content-Length` (a chunked body).
    Absent,
    /// The body's true length.
    True,
    /// A length over the limit, declared: refused before any byte is read.
    Huge(u64),
    /// A value that is not a length (ignored in-process; hyper refuses it on a socket).
    Garbage(&'static str),
}

pub fn length(limit: usize) -> impl Strategy<Value = Length> {
    let limit = limit as u64;
    prop_oneof![
        8 => Just(Length::Absent),
        8 => Just(Length::True),
        1 => prop_oneof![limit + 1..limit * 4, Just(1_000_000_000_000), Just(u64::MAX)]
            .prop_map(Length::Huge),
        1 => prop::sample::select(&["abc", "-1", "1e3", " 12 ", "", "0x10", "99999999999999999999999"][..])
            .prop_map(Length::Garbage),
    ]
}

/// A request for `target` (which must be a valid request target: the strategies above only
/// make valid ones, and this checks it).
pub fn request(
    method: &Method,
    target: &str,
    content_type: Option<&[u8]>,
    length: &Length,
    headers: &[(String, Vec<u8>)],
    body: Vec<u8>,
) -> Result<Request<Body>, TestCaseError> {
    let mut builder = Request::builder().method(method.clone()).uri(target);
    if let Some(value) = content_type {
        builder = builder.header(header::CONTENT_TYPE, value);
    }
    match length {
        Length::Absent => {}
        Length::True => builder = builder.header(header::CONTENT_LENGTH, body.len()),
        Length::Huge(declared) => builder = builder.header(header::CONTENT_LENGTH, *declared),
        Length::Garbage(text) => builder = builder.header(header::CONTENT_LENGTH, *text),
    }
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_slice());
    }
    builder
        .body(Body::from(body))
        .map_err(|error| TestCaseError::fail(format!("{target:?} is not a request: {error}")))
}

/// The length a request declares, as tower-http reads it: `None` when absent or not a number.
pub fn declared(length: &Length, body: usize) -> Option<u64> {
    match length {
        Length::True => Some(body as u64),
        Length::Huge(declared) => Some(*declared),
        Length::Absent | Length::Garbage(_) => None,
    }
}

/// `text` percent-decoded as axum decodes path parameters: `%` and two hex digits is a byte,
/// any other `%` stays itself.
pub fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |at: usize| {
            bytes
                .get(at)
                .and_then(|byte| char::from(*byte).to_digit(16))
        };
        match (bytes[index], hex(index + 1), hex(index + 2)) {
            (b'%', Some(high), Some(low)) => {
                decoded.push(u8::try_from(high * 16 + low).expect("a byte"));
                index += 3;
            }
            (byte, ..) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    decoded
}

/// What the text after a router's prefix names.
#[derive(Debug, PartialEq, Eq)]
pub enum Segment {
    /// Not the segments a route takes (`{prefix}/`, `{prefix}/a/b`, `{prefix}//x` for one).
    NotOne,
    /// One segment that is not UTF-8 once percent-decoded.
    Undecodable,
    /// One segment, decoded.
    Text(String),
}

/// What follows `prefix` in the path of `target` (up to its `?` or `#`) as a route with `count`
/// parameters reads it: each decoded, or `[NotOne]` if the route does not match.
pub fn segments_after(target: &str, prefix: &str, count: usize) -> Vec<Segment> {
    let path = &target[..target.find(['?', '#']).unwrap_or(target.len())];
    let rest = path
        .strip_prefix(prefix)
        .expect("a target under the prefix");
    let parts: Vec<&str> = rest.split('/').collect();
    // axum's router (matchit) matches an empty parameter before a `/` (`/approvals//k`), not
    // at the end (`/approvals/r/`).
    if parts.len() != count || parts.last().is_none_or(|part| part.is_empty()) {
        return vec![Segment::NotOne];
    }
    parts
        .iter()
        .map(|part| match String::from_utf8(percent_decode(part)) {
            Ok(text) => Segment::Text(text),
            Err(_) => Segment::Undecodable,
        })
        .collect()
}

/// The text of a JSON body, or hostile bytes, or a body over `limit`.
#[derive(Clone, Debug)]
pub enum Payload {
    Bytes(Vec<u8>),
    Json(Value),
    Oversized(usize),
}

impl Payload {
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Payload::Bytes(bytes) => bytes.clone(),
            Payload::Json(value) => value.to_string().into_bytes(),
            Payload::Oversized(size) => vec![b' '; *size],
        }
    }
}

/// JSON values a few levels deep, with hostile strings and keys (no floats: `1e400` and
/// friends are the decoder tests' business).
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        super::hostile_text(12).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(super::hostile_text(8), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Random bytes, JSON (sometimes not quite: cut short), or a body over `limit`.
pub fn payload(limit: usize) -> impl Strategy<Value = Payload> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..256).prop_map(Payload::Bytes),
        8 => json_value().prop_map(Payload::Json),
        1 => (json_value(), any::<prop::sample::Index>()).prop_map(|(value, cut)| {
            let text = value.to_string().into_bytes();
            Payload::Bytes(text[..cut.index(text.len() + 1)].to_vec())
        }),
        1 => (limit + 1..limit * 3).prop_map(Payload::Oversized),
    ]
}

/// How many answers of each status and code a property saw, to show what it reached.
#[derive(Debug, Default)]
pub struct Tally(std::cell::RefCell<std::collections::BTreeMap<(u16, String), (u32, Duration)>>);

impl Tally {
    pub fn record(&self, answer: &Answer) {
        let code = answer.code();
        let code = if code.is_empty() {
            answer
                .json()
                .and_then(|body| body["status"].as_str().map(str::to_owned))
                .unwrap_or_default()
        } else {
            code
        };
        let mut counts = self.0.borrow_mut();
        let (count, slowest) = counts.entry((answer.status.as_u16(), code)).or_default();
        *count += 1;
        *slowest = (*slowest).max(answer.elapsed);
    }

    /// `status code ×count` for each, most frequent first, and the slowest answer.
    pub fn summary(&self) -> String {
        let mut counts: Vec<_> = self.0.borrow().clone().into_iter().collect();
        counts.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
        let slowest = counts.iter().map(|(_, (_, slowest))| *slowest).max();
        let counts: Vec<String> = counts
            .iter()
            .map(|((status, code), (count, _))| format!("{status} {code} ×{count}"))
            .collect();
        format!("{}; slowest answer {slowest:?}", counts.join(", "))
    }
}
