//! GitHub: `X-Hub-Signature-256: sha256={hex HMAC-SHA256 of the body}`.

use std::time::SystemTime;

use hmac::Mac;

use super::{
    Headers, HmacSha256, SignatureError, Verified, WebhookVerifier, any_matches, check_id,
    header_text, keyed_mac,
};

const PROVIDER: &str = "GitHub";
const SIGNATURE: &str = "X-Hub-Signature-256";
const DELIVERY: &str = "X-GitHub-Delivery";

/// Verifies GitHub webhook deliveries.
///
/// The header is `X-Hub-Signature-256: sha256=757107ea…`, the hex HMAC-SHA256 of the raw body
/// keyed with the webhook's secret. The legacy SHA-1 `X-Hub-Signature` is not accepted.
///
/// GitHub signs neither a timestamp nor the delivery id: a captured delivery verifies forever
/// (there is no replay window, no verifier can add one), and its `X-GitHub-Delivery` id, which
/// [`Verified::id`] returns for logs, can be changed by whoever replays it
/// ([`Verified::id_is_signed`] is `false`). So the delivery is bound to what is signed, the body:
/// [`Verified::dedupe_key`] is `"GitHub:sha256:{hex SHA-256 of the body}"`, and a replay of the
/// same body under a new delivery id is the same event — a duplicate on its hook, refused on any
/// other (`409 event_reused` in the HTTP router).
///
/// ```
/// use std::time::SystemTime;
/// use awaitly::signature::{GitHubVerifier, WebhookVerifier};
///
/// // GitHub's documented test values.
/// let verifier = GitHubVerifier::new("It's a Secret to Everybody")?;
/// let headers = [
///     ("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
///     ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
/// ];
/// let verified = verifier.verify(&headers, b"Hello, World!", SystemTime::now())?;
/// assert_eq!(verified.id(), "72d3162e-cc78-11e3-81ab-4c9367dc0958");
/// assert!(!verified.id_is_signed());
/// // The SHA-256 of the signed body, whatever `X-GitHub-Delivery` says.
/// assert_eq!(
///     verified.dedupe_key(),
///     "GitHub:sha256:dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f",
/// );
/// assert!(verifier.verify(&headers, b"Hello, World?", SystemTime::now()).is_err());
/// # Ok::<(), awaitly::signature::SignatureError>(())
/// ```
#[derive(Clone)]
pub struct GitHubVerifier {
    mac: HmacSha256,
}

impl std::fmt::Debug for GitHubVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubVerifier").finish_non_exhaustive()
    }
}

impl GitHubVerifier {
    /// A verifier for a webhook whose secret is `secret`, byte for byte as entered in the
    /// webhook's settings on GitHub.
    ///
    /// # Errors
    ///
    /// [`SignatureError::BadSecret`] when `secret` is empty: GitHub sends no signature for a
    /// webhook without a secret, so there would be nothing to check.
    ///
    /// ```
    /// use awaitly::signature::GitHubVerifier;
    /// assert!(GitHubVerifier::new("It's a Secret to Everybody").is_ok());
    /// assert!(GitHubVerifier::new("").is_err());
    /// ```
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, SignatureError> {
        let mac = keyed_mac(secret.as_ref()).ok_or(SignatureError::BadSecret {
            provider: PROVIDER,
            reason: "it is empty; set a secret in the webhook's settings on GitHub (without one \
                     GitHub signs nothing) and give the same value here",
        })?;
        Ok(Self { mac })
    }

    /// The `X-Hub-Signature-256` value GitHub would send for `body`, for testing endpoints
    /// without GitHub.
    ///
    /// ```
    /// let verifier = awaitly::signature::GitHubVerifier::new("It's a Secret to Everybody")?;
    /// assert_eq!(
    ///     verifier.sign_header(b"Hello, World!"),
    ///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    /// );
    /// # Ok::<(), awaitly::signature::SignatureError>(())
    /// ```
    #[must_use]
    pub fn sign_header(&self, body: &[u8]) -> String {
        format!("sha256={}", hex::encode(self.tag(body)))
    }

    fn tag(&self, body: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl WebhookVerifier for GitHubVerifier {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn verify(
        &self,
        headers: &dyn Headers,
        body: &[u8],
        _now: SystemTime,
    ) -> Result<Verified, SignatureError> {
        let malformed = |reason| SignatureError::MalformedHeader {
            provider: PROVIDER,
            header: SIGNATURE,
            reason,
        };
        let value = header_text(headers, PROVIDER, SIGNATURE)?;
        let hex_digits = value
            .strip_prefix("sha256=")
            .ok_or_else(|| malformed("it does not start with `sha256=`"))?;
        let mut signature = [0_u8; 32];
        hex::decode_to_slice(hex_digits, &mut signature)
            .map_err(|_| malformed("what follows `sha256=` is not 64 hex digits"))?;
        if !any_matches(&self.tag(body), [signature.as_slice()]) {
            return Err(SignatureError::BadSignature {
                provider: PROVIDER,
                header: SIGNATURE,
            });
        }
        let delivery = header_text(headers, PROVIDER, DELIVERY)?;
        check_id(delivery).map_err(|reason| SignatureError::MalformedHeader {
            provider: PROVIDER,
            header: DELIVERY,
            reason,
        })?;
        Ok(Verified::unsigned_id(PROVIDER, delivery).with_signed_content(body))
    }
}
