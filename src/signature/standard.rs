//! Standard Webhooks: `webhook-id`, `webhook-timestamp` and
//! `webhook-signature: v1,{base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"} [v1,…]`.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::Mac;

use super::{
    DEFAULT_TOLERANCE, Headers, HmacSha256, SignatureError, Verified, WebhookVerifier, any_matches,
    check_id, check_tolerance, header_text, keyed_mac, parse_unix_seconds,
};

const PROVIDER: &str = "Standard Webhooks";

/// The three header names of one family.
struct Family {
    id: &'static str,
    timestamp: &'static str,
    signature: &'static str,
}

const STANDARD: Family = Family {
    id: "webhook-id",
    timestamp: "webhook-timestamp",
    signature: "webhook-signature",
};

/// The same scheme under Svix's names, which senders built on Svix use.
const SVIX: Family = Family {
    id: "svix-id",
    timestamp: "svix-timestamp",
    signature: "svix-signature",
};

/// Verifies deliveries signed per the [Standard Webhooks](https://www.standardwebhooks.com)
/// specification (symmetric, `v1`).
///
/// The sender signs `"{webhook-id}.{webhook-timestamp}.{body}"` with HMAC-SHA256 and sends
/// `webhook-signature: v1,{base64}`, a space-separated list during a key rotation; any one `v1`
/// matching is enough, and other versions (`v1a`, asymmetric) are ignored. The secret is given
/// as `whsec_{base64 key}`. The timestamp must be within the tolerance ([`DEFAULT_TOLERANCE`])
/// of the clock in both directions. The dedupe id is `webhook-id`, which the signature covers.
/// The same headers under Svix's names (`svix-id`, `svix-timestamp`, `svix-signature`) are read
/// when the `webhook-` ones are absent.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use awaitly::signature::{StandardWebhooksVerifier, WebhookVerifier};
///
/// // The specification's example values.
/// let verifier = StandardWebhooksVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let headers = [
///     ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
///     ("webhook-timestamp", "1614265330"),
///     ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
/// ];
/// let now = UNIX_EPOCH + Duration::from_secs(1_614_265_330);
/// let verified = verifier.verify(&headers, br#"{"test": 2432232314}"#, now)?;
/// assert_eq!(verified.id(), "msg_p5jXN8AQM9LWM0D4loKWxJek");
/// assert_eq!(verified.timestamp(), Some(1_614_265_330));
/// # Ok::<(), awaitly::signature::SignatureError>(())
/// ```
#[derive(Clone)]
pub struct StandardWebhooksVerifier {
    mac: HmacSha256,
    tolerance: Duration,
}

impl std::fmt::Debug for StandardWebhooksVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandardWebhooksVerifier")
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl StandardWebhooksVerifier {
    /// A verifier for the secret `whsec_{base64}` as the sender shows it. As in the
    /// specification's reference libraries, the `whsec_` prefix may be left out.
    ///
    /// # Errors
    ///
    /// [`SignatureError::BadSecret`] when the secret is empty, has surrounding whitespace, is not
    /// standard padded base64 after the prefix, or is an asymmetric `whpk_`/`whsk_` key (`v1a`
    /// signatures are not supported).
    ///
    /// ```
    /// use awaitly::signature::StandardWebhooksVerifier;
    /// assert!(StandardWebhooksVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    /// assert!(StandardWebhooksVerifier::new("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    /// assert!(StandardWebhooksVerifier::new("whsec_not base64!").is_err());
    /// assert!(StandardWebhooksVerifier::new("whsec_").is_err());
    /// ```
    pub fn new(secret: &str) -> Result<Self, SignatureError> {
        let bad = |reason| SignatureError::BadSecret {
            provider: PROVIDER,
            reason,
        };
        if secret.trim() != secret {
            return Err(bad(
                "it has leading or trailing whitespace (often a newline from a file or an \
                 environment variable); remove it",
            ));
        }
        if secret.starts_with("whpk_") || secret.starts_with("whsk_") {
            return Err(bad(
                "it is an asymmetric (ed25519) key, and only symmetric `v1` signatures are \
                 supported; ask the sender for a symmetric `whsec_` secret",
            ));
        }
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        let key = BASE64.decode(encoded).map_err(|_| {
            bad(
                "what follows `whsec_` is not standard base64; copy the whole secret again from \
                 the sender, or pass raw key bytes to `from_raw_key`",
            )
        })?;
        Self::from_raw_key(&key)
    }

    /// A verifier for the raw key bytes (the base64-decoded part of a `whsec_` secret).
    ///
    /// # Errors
    ///
    /// [`SignatureError::BadSecret`] when `key` is empty.
    ///
    /// ```
    /// use awaitly::signature::StandardWebhooksVerifier;
    /// assert!(StandardWebhooksVerifier::from_raw_key(&[7; 24]).is_ok());
    /// assert!(StandardWebhooksVerifier::from_raw_key(&[]).is_err());
    /// ```
    pub fn from_raw_key(key: &[u8]) -> Result<Self, SignatureError> {
        let mac = keyed_mac(key).ok_or(SignatureError::BadSecret {
            provider: PROVIDER,
            reason: "the key is empty; copy the whole `whsec_…` secret from the sender",
        })?;
        Ok(Self {
            mac,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// The same verifier with another tolerance window (whole seconds; the fraction is ignored).
    ///
    /// ```
    /// use std::time::Duration;
    /// let verifier = awaitly::signature::StandardWebhooksVerifier::from_raw_key(b"key")?
    ///     .with_tolerance(Duration::from_secs(30));
    /// assert_eq!(verifier.tolerance(), Duration::from_secs(30));
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
    /// let verifier = awaitly::signature::StandardWebhooksVerifier::from_raw_key(b"key")?;
    /// assert_eq!(verifier.tolerance(), awaitly::signature::DEFAULT_TOLERANCE);
    /// # Ok::<(), awaitly::signature::SignatureError>(())
    /// ```
    #[must_use]
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// The `webhook-signature` value a sender would send (`v1,{base64}`), for testing endpoints
    /// without one.
    ///
    /// ```
    /// let verifier = awaitly::signature::StandardWebhooksVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// assert_eq!(
    ///     verifier.sign_header("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#),
    ///     "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    /// );
    /// # Ok::<(), awaitly::signature::SignatureError>(())
    /// ```
    #[must_use]
    pub fn sign_header(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", BASE64.encode(self.tag(id, timestamp, body)))
    }

    fn tag(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// The decodable `v1` signatures of a `webhook-signature` value.
fn parse_signatures(value: &str) -> Result<Vec<[u8; 32]>, &'static str> {
    let mut v1_seen = false;
    let mut signatures = Vec::new();
    for entry in value.split([' ', '\t']).filter(|entry| !entry.is_empty()) {
        let Some(("v1", encoded)) = entry.split_once(',') else {
            continue;
        };
        v1_seen = true;
        // 32 bytes are 44 base64 characters; anything longer cannot match, so skip decoding it.
        if encoded.len() != 44 {
            continue;
        }
        let mut signature = [0_u8; 32];
        if let Ok(32) = BASE64.decode_slice(encoded, &mut signature) {
            signatures.push(signature);
        }
    }
    if !v1_seen {
        return Err("it has no `v1,` signature (`v1a` and other versions are not supported)");
    }
    if signatures.is_empty() {
        return Err("none of its `v1,` signatures is 32 bytes of standard base64");
    }
    Ok(signatures)
}

impl WebhookVerifier for StandardWebhooksVerifier {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn verify(
        &self,
        headers: &dyn Headers,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, SignatureError> {
        let family = if headers.header(STANDARD.signature).is_none()
            && headers.header(SVIX.signature).is_some()
        {
            &SVIX
        } else {
            &STANDARD
        };
        let malformed = |header, reason| SignatureError::MalformedHeader {
            provider: PROVIDER,
            header,
            reason,
        };
        let id = header_text(headers, PROVIDER, family.id)?;
        // The signed content is "{id}.{timestamp}.{body}": an id with a `.` would let its
        // boundary with the timestamp move, so the specification forbids one.
        check_id(id).map_err(|reason| malformed(family.id, reason))?;
        if id.contains('.') {
            return Err(malformed(family.id, "it contains a `.`"));
        }
        let timestamp = parse_unix_seconds(header_text(headers, PROVIDER, family.timestamp)?)
            .map_err(|reason| malformed(family.timestamp, reason))?;
        let signatures = parse_signatures(header_text(headers, PROVIDER, family.signature)?)
            .map_err(|reason| malformed(family.signature, reason))?;
        let tag = self.tag(id, timestamp, body);
        if !any_matches(&tag, signatures.iter().map(<[u8; 32]>::as_slice)) {
            return Err(SignatureError::BadSignature {
                provider: PROVIDER,
                header: family.signature,
            });
        }
        check_tolerance(PROVIDER, timestamp, now, self.tolerance)?;
        Ok(Verified::signed_id(PROVIDER, id).with_timestamp(timestamp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_decodable_v1_signatures_only() {
        let good = BASE64.encode([1_u8; 32]);
        let signatures =
            parse_signatures(&format!("v1a,abc  v2,{good} v1,{good} v1,short v1,{good}=")).unwrap();
        assert_eq!(signatures, vec![[1_u8; 32]]);
        assert!(parse_signatures("v1a,abc").is_err());
        assert!(parse_signatures("v1,!!!").is_err());
        assert!(parse_signatures(",,, ,").is_err());
    }
}
