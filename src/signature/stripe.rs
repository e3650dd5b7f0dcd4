//! Stripe: `Stripe-Signature: t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{body}"}[,v1=…]`.

use std::time::{Duration, SystemTime};

use hmac::Mac;
use serde::Deserialize;

use super::{
    DEFAULT_TOLERANCE, Headers, HmacSha256, SignatureError, Verified, WebhookVerifier, any_matches,
    check_id, check_tolerance, header_text, keyed_mac, parse_unix_seconds,
};

const PROVIDER: &str = "Stripe";
const HEADER: &str = "Stripe-Signature";

/// Verifies Stripe webhook deliveries.
///
/// The header is `Stripe-Signature: t=1700000000,v1=5257a869…`: `v1` is the hex HMAC-SHA256,
/// keyed with the endpoint's signing secret (`whsec_…`, used as it is, not decoded), of
/// `"{t}.{body}"`. While a secret is being rolled Stripe sends several `v1` entries; any one
/// matching is enough. `v0` and unknown schemes are ignored. The timestamp must be within the
/// tolerance ([`DEFAULT_TOLERANCE`], five minutes) of the clock in both directions, so a captured
/// delivery cannot be replayed later and a future-dated one is refused too.
///
/// The dedupe id is the event's `id` (`evt_…`), read from the JSON body only after the
/// signature has matched; it is covered by the signature.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use awaitly::signature::{StripeVerifier, WebhookVerifier};
///
/// let verifier = StripeVerifier::new("whsec_test_secret")?.with_tolerance(Duration::from_secs(120));
/// let body = br#"{"id":"evt_1","object":"event"}"#;
/// let header = verifier.sign_header(1_700_000_000, body);
/// let headers = [("Stripe-Signature", header.as_str())];
///
/// let on_time = UNIX_EPOCH + Duration::from_secs(1_700_000_060);
/// assert_eq!(verifier.verify(&headers, body, on_time)?.id(), "evt_1");
///
/// let too_late = UNIX_EPOCH + Duration::from_secs(1_700_000_121);
/// assert_eq!(verifier.verify(&headers, body, too_late).unwrap_err().code(), "timestamp_outside_tolerance");
/// # Ok::<(), awaitly::signature::SignatureError>(())
/// ```
#[derive(Clone)]
pub struct StripeVerifier {
    mac: HmacSha256,
    tolerance: Duration,
}

impl std::fmt::Debug for StripeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeVerifier")
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl StripeVerifier {
    /// A verifier for the endpoint whose signing secret is `secret` (Dashboard → Developers →
    /// Webhooks → the endpoint → Signing secret, or the `whsec_…` that `stripe listen` prints).
    ///
    /// # Errors
    ///
    /// [`SignatureError::BadSecret`] when `secret` is empty, has surrounding whitespace (a
    /// newline from a file or an environment variable), or is an API key (`sk_`, `rk_`, `pk_`)
    /// rather than the endpoint's signing secret.
    ///
    /// ```
    /// use awaitly::signature::StripeVerifier;
    /// assert!(StripeVerifier::new("whsec_test_secret").is_ok());
    /// assert!(StripeVerifier::new("sk_live_123").is_err());
    /// assert!(StripeVerifier::new("whsec_test_secret\n").is_err());
    /// ```
    pub fn new(secret: &str) -> Result<Self, SignatureError> {
        let bad = |reason| SignatureError::BadSecret {
            provider: PROVIDER,
            reason,
        };
        if secret.is_empty() {
            return Err(bad(
                "it is empty; set it to the endpoint's signing secret (whsec_…) from the Stripe \
                 Dashboard",
            ));
        }
        if secret.trim() != secret {
            return Err(bad(
                "it has leading or trailing whitespace (often a newline from a file or an \
                 environment variable); remove it",
            ));
        }
        if ["sk_", "rk_", "pk_"]
            .iter()
            .any(|prefix| secret.starts_with(prefix))
        {
            return Err(bad(
                "it is a Stripe API key, not a webhook signing secret; use the endpoint's \
                 signing secret (whsec_…) from the Stripe Dashboard",
            ));
        }
        let mac = keyed_mac(secret.as_bytes()).ok_or_else(|| bad("it is empty"))?;
        Ok(Self {
            mac,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// The same verifier with another tolerance window (whole seconds; the fraction is ignored).
    ///
    /// ```
    /// use std::time::Duration;
    /// let verifier = awaitly::signature::StripeVerifier::new("whsec_x")?.with_tolerance(Duration::from_secs(60));
    /// assert_eq!(verifier.tolerance(), Duration::from_secs(60));
    /// # Ok::<(), awaitly::signature::SignatureError>(())
    /// ```
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The tolerance window.
    ///
    /// ```
    /// let verifier = awaitly::signature::StripeVerifier::new("whsec_x")?;
    /// assert_eq!(verifier.tolerance(), awaitly::signature::DEFAULT_TOLERANCE);
    /// # Ok::<(), awaitly::signature::SignatureError>(())
    /// ```
    #[must_use]
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// The `Stripe-Signature` value Stripe would send for `body` at `timestamp`
    /// (`t={timestamp},v1={hex}`), for testing endpoints without Stripe.
    ///
    /// ```
    /// let verifier = awaitly::signature::StripeVerifier::new("whsec_x")?;
    /// let header = verifier.sign_header(1_700_000_000, b"{}");
    /// assert!(header.starts_with("t=1700000000,v1="));
    /// assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
    /// # Ok::<(), awaitly::signature::SignatureError>(())
    /// ```
    #[must_use]
    pub fn sign_header(&self, timestamp: i64, body: &[u8]) -> String {
        format!(
            "t={timestamp},v1={}",
            hex::encode(self.tag(timestamp, body))
        )
    }

    fn tag(&self, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// The parts of a `Stripe-Signature` value that matter: the timestamp and the decodable `v1`s.
struct Parsed {
    timestamp: i64,
    signatures: Vec<[u8; 32]>,
}

fn parse(value: &str) -> Result<Parsed, &'static str> {
    let mut timestamp = None;
    let mut v1_seen = false;
    let mut signatures = Vec::new();
    for item in value.split(',') {
        let item = item.trim_matches(|c: char| c == ' ' || c == '\t');
        let Some((scheme, content)) = item.split_once('=') else {
            continue;
        };
        match scheme {
            "t" => {
                if timestamp.is_some() {
                    return Err("it has more than one `t=` timestamp");
                }
                timestamp = Some(
                    parse_unix_seconds(content)
                        .map_err(|_| "its `t=` timestamp is not a whole number of Unix seconds")?,
                );
            }
            "v1" => {
                v1_seen = true;
                let mut signature = [0_u8; 32];
                if hex::decode_to_slice(content, &mut signature).is_ok() {
                    signatures.push(signature);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or("it has no `t=` timestamp")?;
    if !v1_seen {
        return Err("it has no `v1=` signature (`v0` and other schemes are ignored)");
    }
    if signatures.is_empty() {
        return Err("none of its `v1=` signatures is 64 hex digits");
    }
    Ok(Parsed {
        timestamp,
        signatures,
    })
}

/// The only field read from the body, after verification. Duplicate `id` keys are refused, so the
/// id taken here is the one any JSON parser would see.
#[derive(Deserialize)]
struct EventId<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
}

impl WebhookVerifier for StripeVerifier {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn verify(
        &self,
        headers: &dyn Headers,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, SignatureError> {
        let value = header_text(headers, PROVIDER, HEADER)?;
        let parsed = parse(value).map_err(|reason| SignatureError::MalformedHeader {
            provider: PROVIDER,
            header: HEADER,
            reason,
        })?;
        let tag = self.tag(parsed.timestamp, body);
        if !any_matches(&tag, parsed.signatures.iter().map(<[u8; 32]>::as_slice)) {
            return Err(SignatureError::BadSignature {
                provider: PROVIDER,
                header: HEADER,
            });
        }
        check_tolerance(PROVIDER, parsed.timestamp, now, self.tolerance)?;
        let invalid = |reason| SignatureError::InvalidEventId {
            provider: PROVIDER,
            reason,
        };
        let not_an_event = "the body is not a JSON object with one string `id` field";
        // serde would also read a struct from a JSON array; an event is an object.
        if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
            return Err(invalid(not_an_event));
        }
        let event: EventId<'_> = serde_json::from_slice(body).map_err(|_| invalid(not_an_event))?;
        check_id(&event.id).map_err(invalid)?;
        Ok(Verified::signed_id(PROVIDER, event.id.into_owned()).with_timestamp(parsed.timestamp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let sig = "5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd";
        let parsed = parse(&format!("t=1492774577,v1={sig},v0=6ffbb59b")).unwrap();
        assert_eq!(parsed.timestamp, 1_492_774_577);
        assert_eq!(parsed.signatures.len(), 1);
    }

    #[test]
    fn refuses_ambiguous_or_empty_headers() {
        let sig = "00".repeat(32);
        assert!(parse(&format!("t=1,t=2,v1={sig}")).is_err());
        assert!(parse(&format!("v1={sig}")).is_err());
        assert!(parse("t=1,v0=abc").is_err());
        assert!(parse("t=1,v1=xyz").is_err());
        assert!(parse(",,,=,==").is_err());
    }
}
