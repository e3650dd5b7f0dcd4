//! Webhook signature verification (feature `signatures`): prove that a delivery comes from the
//! provider, on the raw body, before any of it is decoded.
//!
//! | provider | verifier | signed content | replay window | dedupe id |
//! | --- | --- | --- | --- | --- |
//! | Stripe | [`StripeVerifier`] | `"{t}.{body}"`, `Stripe-Signature: t=…,v1=…` | [`DEFAULT_TOLERANCE`], both directions | the body's `id` (signed) |
//! | GitHub | [`GitHubVerifier`] | the body, `X-Hub-Signature-256: sha256=…` | none: GitHub signs no timestamp | the SHA-256 of the body (`X-GitHub-Delivery` is not signed) |
//! | Standard Webhooks | [`StandardWebhooksVerifier`] | `"{id}.{timestamp}.{body}"`, `webhook-signature: v1,…` | [`DEFAULT_TOLERANCE`], both directions | `webhook-id` (signed) |
//!
//! Each is a [`WebhookVerifier`]: one method that takes the request's [`Headers`], the body bytes
//! exactly as received, and the current time, and returns a [`Verified`] (who sent it, its
//! dedupe id, the signed timestamp) or a [`SignatureError`] that says what is wrong. Add other
//! providers by implementing the trait. HTTP integrations call [`verify_request`].
//!
//! **What binds a delivery to one event.** [`Verified::dedupe_key`] is what the HTTP router
//! stores with a hook's claim: the same key again is a duplicate on the same hook and refused on
//! any other (`409 event_reused`). It is always something the signature covers, so a captured
//! delivery cannot be passed off as a new event: Stripe's event `id` is read from the signed
//! body; Standard Webhooks' `webhook-id` is part of the signed content; GitHub signs neither its
//! `X-GitHub-Delivery` id nor a timestamp, so its key is the SHA-256 of the signed body
//! (`"GitHub:sha256:…"`). The cost for GitHub: one body resolves one hook — the same event
//! delivered by two webhooks to two hooks is refused on the second, as a replay would be.
//!
//! The MACs come from the `RustCrypto` `hmac` and `sha2` crates; the comparison with the received
//! signatures is constant-time (`subtle`). A verifier never panics, whatever the headers and
//! body hold.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use awaitly::signature::{StripeVerifier, verify_request};
//!
//! let verifier = StripeVerifier::new("whsec_test_secret")?;
//! let body = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;
//! let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! // What Stripe would send (`sign_header` exists for tests like this one).
//! let header = verifier.sign_header(1_700_000_000, body);
//!
//! let verified = verify_request(&verifier, &[("Stripe-Signature", header.as_str())], body, now)?;
//! assert_eq!(verified.id(), "evt_1");
//! assert_eq!(verified.dedupe_key(), "Stripe:evt_1");
//!
//! // One changed byte and the delivery is refused.
//! let tampered = br#"{"id":"evt_1","type":"checkout.session.expired"}"#;
//! let refused = verify_request(&verifier, &[("Stripe-Signature", header.as_str())], tampered, now);
//! assert_eq!(refused.unwrap_err().code(), "bad_signature");
//! # Ok::<(), awaitly::signature::SignatureError>(())
//! ```

mod error;
mod github;
mod standard;
mod stripe;
mod verified;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

pub use error::SignatureError;
pub use github::GitHubVerifier;
pub use standard::StandardWebhooksVerifier;
pub use stripe::StripeVerifier;
pub use verified::Verified;

/// How far a signed timestamp may be from this server's clock, either way, unless a verifier is
/// given another window: five minutes, the value Stripe's and Standard Webhooks' own libraries
/// use.
///
/// ```
/// assert_eq!(awaitly::signature::DEFAULT_TOLERANCE.as_secs(), 300);
/// ```
pub const DEFAULT_TOLERANCE: Duration = Duration::from_mins(5);

/// The longest delivery id accepted as a dedupe key, in bytes.
///
/// ```
/// assert_eq!(awaitly::signature::MAX_ID_LEN, 255);
/// ```
pub const MAX_ID_LEN: usize = 255;

/// Read access to a request's headers, by case-insensitive name.
///
/// The method is `header`, not `get`, so that it is never shadowed by the inherent `get` of a
/// slice, map or `HeaderMap`. Values are bytes, not `&str`, so that a verifier can tell a missing header from one that is
/// present but not text. Implemented for `axum::http::HeaderMap` (with the `http` feature), for
/// slices, arrays and vectors of `(name, value)` pairs, and for `HashMap`s and `BTreeMap`s of
/// them, so code without axum can verify too. For pairs and maps, the first pair whose name
/// matches wins.
///
/// ```
/// use std::collections::HashMap;
/// use awaitly::signature::Headers;
///
/// let pairs = [("Webhook-Id", "msg_1")];
/// assert_eq!(pairs.header("webhook-id"), Some(&b"msg_1"[..]));
///
/// let map = HashMap::from([("webhook-id".to_owned(), "msg_1".to_owned())]);
/// assert_eq!(map.header("Webhook-ID"), Some(&b"msg_1"[..]));
/// assert_eq!(map.header("webhook-timestamp"), None);
/// ```
pub trait Headers {
    /// The value of the first header called `name`, compared without regard to ASCII case.
    ///
    /// ```
    /// use awaitly::signature::Headers;
    /// let headers = vec![("X-GitHub-Delivery".to_owned(), "72d3162e".to_owned())];
    /// assert_eq!(headers.header("x-github-delivery"), Some(&b"72d3162e"[..]));
    /// ```
    fn header(&self, name: &str) -> Option<&[u8]>;
}

impl<T: Headers + ?Sized> Headers for &T {
    fn header(&self, name: &str) -> Option<&[u8]> {
        (**self).header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(key, _)| key.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> Headers for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, S: BuildHasher> Headers for HashMap<K, V, S> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(key, _)| key.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for BTreeMap<K, V> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(key, _)| key.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }
}

#[cfg(feature = "http")]
impl Headers for axum::http::HeaderMap {
    fn header(&self, name: &str) -> Option<&[u8]> {
        axum::http::HeaderMap::get(self, name).map(axum::http::HeaderValue::as_bytes)
    }
}

/// Checks that one request was signed by one provider.
///
/// Implementations must authenticate on `body` exactly as received, decode nothing from the body
/// before the signature has matched, compare MACs in constant time, and never panic. The trait
/// is object safe: keep an `Arc<dyn WebhookVerifier>` in an HTTP handler's state.
///
/// ```
/// use std::time::SystemTime;
/// use awaitly::signature::{Headers, SignatureError, Verified, WebhookVerifier, verify_request};
///
/// /// A provider that sends a shared token in `X-Token` and a delivery id in `X-Id`.
/// struct SharedToken(Vec<u8>);
///
/// impl WebhookVerifier for SharedToken {
///     fn provider(&self) -> &'static str {
///         "Acme"
///     }
///     fn verify(&self, headers: &dyn Headers, _body: &[u8], _now: SystemTime) -> Result<Verified, SignatureError> {
///         use subtle::ConstantTimeEq;
///         let token = headers
///             .header("X-Token")
///             .ok_or(SignatureError::MissingHeader { provider: "Acme", header: "X-Token" })?;
///         if !bool::from(token.ct_eq(&self.0)) {
///             return Err(SignatureError::BadSignature { provider: "Acme", header: "X-Token" });
///         }
///         let id = headers
///             .header("X-Id")
///             .and_then(|id| std::str::from_utf8(id).ok())
///             .ok_or(SignatureError::MissingHeader { provider: "Acme", header: "X-Id" })?;
///         Ok(Verified::unsigned_id("Acme", id))
///     }
/// }
///
/// let verifier = SharedToken(b"s3cret".to_vec());
/// let headers = [("X-Token", "s3cret"), ("X-Id", "d-1")];
/// let verified = verify_request(&verifier, &headers, b"{}", SystemTime::now())?;
/// assert_eq!(verified.id(), "d-1");
/// // The id is not signed, so `verify_request` binds the delivery to its body.
/// assert_eq!(
///     verified.dedupe_key(),
///     "Acme:sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
/// );
/// # Ok::<(), SignatureError>(())
/// ```
pub trait WebhookVerifier: Send + Sync {
    /// The provider's name, as it appears in [`Verified::provider`] and in error messages.
    ///
    /// ```
    /// use awaitly::signature::{GitHubVerifier, WebhookVerifier};
    /// assert_eq!(GitHubVerifier::new("secret")?.provider(), "GitHub");
    /// # Ok::<(), awaitly::signature::SignatureError>(())
    /// ```
    fn provider(&self) -> &'static str;

    /// Verifies one delivery: `headers` as received, `body` byte for byte as received, `now` the
    /// current time (`SystemTime::now()` in production; fixed in tests).
    ///
    /// # Errors
    ///
    /// A [`SignatureError`] saying which header is missing or malformed, that no signature
    /// matches, or that the signed timestamp is outside the tolerance window.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use awaitly::signature::{GitHubVerifier, WebhookVerifier};
    ///
    /// let verifier = GitHubVerifier::new("It's a Secret to Everybody")?;
    /// let headers = [
    ///     ("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
    ///     ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
    /// ];
    /// let verified = verifier.verify(&headers, b"Hello, World!", SystemTime::now())?;
    /// assert_eq!(verified.id(), "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    /// # Ok::<(), awaitly::signature::SignatureError>(())
    /// ```
    fn verify(
        &self,
        headers: &dyn Headers,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, SignatureError>;
}

impl<T: WebhookVerifier + ?Sized> WebhookVerifier for &T {
    fn provider(&self) -> &'static str {
        (**self).provider()
    }
    fn verify(
        &self,
        headers: &dyn Headers,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, SignatureError> {
        (**self).verify(headers, body, now)
    }
}

impl<T: WebhookVerifier + ?Sized> WebhookVerifier for Box<T> {
    fn provider(&self) -> &'static str {
        (**self).provider()
    }
    fn verify(
        &self,
        headers: &dyn Headers,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, SignatureError> {
        (**self).verify(headers, body, now)
    }
}

impl<T: WebhookVerifier + ?Sized> WebhookVerifier for Arc<T> {
    fn provider(&self) -> &'static str {
        (**self).provider()
    }
    fn verify(
        &self,
        headers: &dyn Headers,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, SignatureError> {
        (**self).verify(headers, body, now)
    }
}

/// The entry point for HTTP integrations: runs `verifier` on one request and checks that the id
/// it returns is usable as a dedupe key (1 to [`MAX_ID_LEN`] printable ASCII bytes), whoever
/// implemented the verifier. When the id is not signed and the verifier bound nothing else, the
/// delivery is bound to the body ([`Verified::with_signed_content`]), so its
/// [`dedupe_key`](Verified::dedupe_key) cannot be changed by whoever resends it. Call it on the
/// raw body bytes, after the body-size limit and before any JSON decoding; answer
/// [`SignatureError::http_status`] when it fails.
///
/// # Errors
///
/// The verifier's [`SignatureError`], or [`SignatureError::InvalidEventId`] when its id is empty,
/// too long or not printable ASCII.
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, UNIX_EPOCH};
/// use awaitly::signature::{StandardWebhooksVerifier, WebhookVerifier, verify_request};
///
/// let verifier: Arc<dyn WebhookVerifier> =
///     Arc::new(StandardWebhooksVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// let headers = [
///     ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
///     ("webhook-timestamp", "1614265330"),
///     ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
/// ];
/// let now = UNIX_EPOCH + Duration::from_secs(1_614_265_330);
/// let verified = verify_request(&*verifier, &headers, br#"{"test": 2432232314}"#, now)?;
/// assert_eq!(verified.id(), "msg_p5jXN8AQM9LWM0D4loKWxJek");
/// # Ok::<(), awaitly::signature::SignatureError>(())
/// ```
pub fn verify_request<V, H>(
    verifier: &V,
    headers: &H,
    body: &[u8],
    now: SystemTime,
) -> Result<Verified, SignatureError>
where
    V: WebhookVerifier + ?Sized,
    H: Headers + ?Sized,
{
    let mut outcome = verifier.verify(&headers, body, now)?;
    if let Err(reason) = check_id(outcome.id()) {
        return Err(SignatureError::InvalidEventId {
            provider: outcome.provider(),
            reason,
        });
    }
    if !outcome.id_is_signed() && outcome.content_digest().is_none() {
        outcome = outcome.with_signed_content(body);
    }
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// Shared by the verifiers.

type HmacSha256 = Hmac<Sha256>;

/// An HMAC-SHA256 keyed with `key`, or `None` for an empty key.
fn keyed_mac(key: &[u8]) -> Option<HmacSha256> {
    if key.is_empty() {
        return None;
    }
    HmacSha256::new_from_slice(key).ok()
}

/// Whether any candidate equals `tag`. Every candidate is compared, each in constant time for its
/// length (the length of an attacker's candidate is not secret).
fn any_matches<'a>(tag: &[u8], candidates: impl IntoIterator<Item = &'a [u8]>) -> bool {
    let mut matched = Choice::from(0);
    for candidate in candidates {
        matched |= candidate.ct_eq(tag);
    }
    bool::from(matched)
}

/// The header's value as trimmed ASCII text, or the precise reason it cannot be read.
fn header_text<'h>(
    headers: &'h dyn Headers,
    provider: &'static str,
    header: &'static str,
) -> Result<&'h str, SignatureError> {
    let malformed = |reason| SignatureError::MalformedHeader {
        provider,
        header,
        reason,
    };
    let value = headers
        .header(header)
        .ok_or(SignatureError::MissingHeader { provider, header })?;
    if !value.is_ascii() {
        return Err(malformed("it contains bytes that are not ASCII"));
    }
    let text = std::str::from_utf8(value)
        .map_err(|_| malformed("it contains bytes that are not ASCII"))?
        .trim_matches(|c: char| c == ' ' || c == '\t');
    if text.is_empty() {
        return Err(malformed("it is empty"));
    }
    Ok(text)
}

/// A Unix timestamp in seconds: ASCII digits only (no sign, no fraction), at most 19 of them.
fn parse_unix_seconds(text: &str) -> Result<i64, &'static str> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err("the timestamp is not a whole number of seconds");
    }
    if text.len() > 19 {
        return Err("the timestamp is too large");
    }
    text.parse::<i64>()
        .map_err(|_| "the timestamp is too large")
}

/// `now` as Unix seconds, negative before 1970.
fn unix_seconds(now: SystemTime) -> i64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |secs| -secs),
    }
}

/// Accepts `timestamp` when it is within `tolerance` of `now`, in either direction.
fn check_tolerance(
    provider: &'static str,
    timestamp: i64,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let skew = i128::from(timestamp) - i128::from(unix_seconds(now));
    if skew.unsigned_abs() > u128::from(tolerance.as_secs()) {
        let clamp = i64::try_from(skew).unwrap_or(if skew < 0 { i64::MIN } else { i64::MAX });
        return Err(SignatureError::TimestampOutsideTolerance {
            provider,
            skew_seconds: clamp,
            tolerance_seconds: tolerance.as_secs(),
        });
    }
    Ok(())
}

/// A usable dedupe id: 1 to [`MAX_ID_LEN`] bytes of printable ASCII (no spaces or controls).
fn check_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("the id is empty");
    }
    if id.len() > MAX_ID_LEN {
        return Err("the id is longer than 255 bytes");
    }
    if !id.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err("the id has characters other than printable ASCII");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_is_inclusive_and_symmetric() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let tolerance = Duration::from_mins(5);
        assert!(check_tolerance("P", 700, now, tolerance).is_ok());
        assert!(check_tolerance("P", 1_300, now, tolerance).is_ok());
        assert!(matches!(
            check_tolerance("P", 699, now, tolerance),
            Err(SignatureError::TimestampOutsideTolerance {
                skew_seconds: -301,
                ..
            })
        ));
        assert!(matches!(
            check_tolerance("P", 1_301, now, tolerance),
            Err(SignatureError::TimestampOutsideTolerance {
                skew_seconds: 301,
                ..
            })
        ));
    }

    #[test]
    fn extreme_clocks_and_timestamps_do_not_overflow() {
        let before_epoch = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(unix_seconds(before_epoch), -10);
        assert!(check_tolerance("P", i64::MAX, before_epoch, Duration::MAX).is_ok());
        assert!(check_tolerance("P", i64::MAX, before_epoch, Duration::ZERO).is_err());
        assert!(check_tolerance("P", 0, UNIX_EPOCH, Duration::ZERO).is_ok());
    }

    #[test]
    fn timestamps_are_digits_only() {
        assert_eq!(parse_unix_seconds("1614265330"), Ok(1_614_265_330));
        for bad in [
            "",
            "+1",
            "-1",
            "1.5",
            " 1",
            "1e9",
            "99999999999999999999",
            "9223372036854775808",
        ] {
            assert!(parse_unix_seconds(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_are_short_printable_ascii() {
        assert!(check_id("evt_1").is_ok());
        assert!(check_id(&"a".repeat(MAX_ID_LEN)).is_ok());
        assert!(check_id(&"a".repeat(MAX_ID_LEN + 1)).is_err());
        for bad in ["", "a b", "a\nb", "é"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn any_matches_needs_an_exact_candidate() {
        assert!(any_matches(b"abc", [&b"xyz"[..], b"abc"]));
        assert!(!any_matches(b"abc", [&b"ab"[..], b"abcd", b""]));
        assert!(!any_matches(b"abc", std::iter::empty()));
    }
}
