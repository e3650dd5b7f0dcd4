//! [`Verified`]: what a verifier proves about one delivery, and the key it is deduplicated by.

use sha2::{Digest, Sha256};

/// What a successful verification proves: who sent the delivery, the id to deduplicate it by,
/// and the timestamp it was signed at.
///
/// ```
/// use awaitly::signature::Verified;
///
/// let verified = Verified::signed_id("Standard Webhooks", "msg_1").with_timestamp(1_614_265_330);
/// assert_eq!(verified.provider(), "Standard Webhooks");
/// assert_eq!(verified.id(), "msg_1");
/// assert!(verified.id_is_signed());
/// assert_eq!(verified.timestamp(), Some(1_614_265_330));
/// assert_eq!(verified.dedupe_key(), "Standard Webhooks:msg_1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Verified {
    provider: &'static str,
    id: String,
    id_signed: bool,
    timestamp: Option<i64>,
    /// The hex SHA-256 of the signed content, for deliveries whose id is not signed.
    content_digest: Option<String>,
}

impl Verified {
    /// A delivery whose id is covered by the signature (Stripe's event id, Standard Webhooks'
    /// `webhook-id`): nobody without the secret can change it.
    ///
    /// ```
    /// let verified = awaitly::signature::Verified::signed_id("Stripe", "evt_1");
    /// assert!(verified.id_is_signed());
    /// ```
    #[must_use]
    pub fn signed_id(provider: &'static str, id: impl Into<String>) -> Self {
        Self {
            provider,
            id: id.into(),
            id_signed: true,
            timestamp: None,
            content_digest: None,
        }
    }

    /// A delivery whose id travels outside the signature (GitHub's `X-GitHub-Delivery`): whoever
    /// holds one genuine delivery can resend it under another id, so deduplicating on the id
    /// alone does not stop a replay. Bind it to what was signed with
    /// [`with_signed_content`](Self::with_signed_content)
    /// ([`verify_request`](super::verify_request) binds it to the body when the verifier did
    /// not).
    ///
    /// ```
    /// let verified = awaitly::signature::Verified::unsigned_id("GitHub", "72d3162e");
    /// assert!(!verified.id_is_signed());
    /// ```
    #[must_use]
    pub fn unsigned_id(provider: &'static str, id: impl Into<String>) -> Self {
        Self {
            id_signed: false,
            ..Self::signed_id(provider, id)
        }
    }

    /// The same, with the Unix time (seconds) the provider signed.
    ///
    /// ```
    /// let verified = awaitly::signature::Verified::signed_id("Stripe", "evt_1").with_timestamp(1_700_000_000);
    /// assert_eq!(verified.timestamp(), Some(1_700_000_000));
    /// ```
    #[must_use]
    pub fn with_timestamp(mut self, unix_seconds: i64) -> Self {
        self.timestamp = Some(unix_seconds);
        self
    }

    /// The same, bound to the bytes the signature covers: its
    /// [`dedupe_key`](Self::dedupe_key) becomes a SHA-256 digest of `signed` when the id is not
    /// signed, so the same signed content counts as one event whatever id it is resent under.
    /// (For a signed id the id stays the key: it already identifies the event.)
    ///
    /// ```
    /// let verified = awaitly::signature::Verified::unsigned_id("GitHub", "d-1").with_signed_content(b"Hello, World!");
    /// assert_eq!(
    ///     verified.dedupe_key(),
    ///     "GitHub:sha256:dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f",
    /// );
    /// ```
    #[must_use]
    pub fn with_signed_content(mut self, signed: &[u8]) -> Self {
        self.content_digest = Some(hex::encode(Sha256::digest(signed)));
        self
    }

    /// The hex SHA-256 of the signed content, when [`with_signed_content`](Self::with_signed_content)
    /// recorded one.
    ///
    /// ```
    /// use awaitly::signature::Verified;
    /// assert_eq!(Verified::signed_id("Stripe", "evt_1").content_digest(), None);
    /// assert_eq!(Verified::unsigned_id("GitHub", "d-1").with_signed_content(b"").content_digest().map(str::len), Some(64));
    /// ```
    #[must_use]
    pub fn content_digest(&self) -> Option<&str> {
        self.content_digest.as_deref()
    }

    /// Who sent the delivery, e.g. `"Stripe"`.
    ///
    /// ```
    /// assert_eq!(awaitly::signature::Verified::signed_id("Stripe", "evt_1").provider(), "Stripe");
    /// ```
    #[must_use]
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// The provider's id for this event or delivery, the same on every retry of it.
    ///
    /// ```
    /// assert_eq!(awaitly::signature::Verified::signed_id("Stripe", "evt_1").id(), "evt_1");
    /// ```
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the id is covered by the signature; see [`Verified::unsigned_id`].
    ///
    /// ```
    /// assert!(awaitly::signature::Verified::signed_id("Stripe", "evt_1").id_is_signed());
    /// ```
    #[must_use]
    pub fn id_is_signed(&self) -> bool {
        self.id_signed
    }

    /// The signed Unix time, in seconds, for providers that sign one (not GitHub).
    ///
    /// ```
    /// assert_eq!(awaitly::signature::Verified::unsigned_id("GitHub", "d1").timestamp(), None);
    /// ```
    #[must_use]
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// A key for recording deliveries already handled, which cannot collide across providers,
    /// and which nobody without the secret can choose: `"{provider}:{id}"` when the id is signed
    /// (Stripe, Standard Webhooks), `"{provider}:sha256:{hex digest of the signed content}"` when
    /// it is not (GitHub). Only an unsigned id never bound to its content (a `Verified` built by
    /// hand, not through [`verify_request`](super::verify_request)) gives an unsigned
    /// `"{provider}:{id}"`.
    ///
    /// ```
    /// use awaitly::signature::Verified;
    /// assert_eq!(Verified::signed_id("Stripe", "evt_1").dedupe_key(), "Stripe:evt_1");
    /// let github = Verified::unsigned_id("GitHub", "72d3162e").with_signed_content(b"{}");
    /// assert_eq!(
    ///     github.dedupe_key(),
    ///     "GitHub:sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    /// );
    /// ```
    #[must_use]
    pub fn dedupe_key(&self) -> String {
        match &self.content_digest {
            Some(digest) if !self.id_signed => format!("{}:sha256:{digest}", self.provider),
            _ => format!("{}:{}", self.provider, self.id),
        }
    }

    /// The id, by value.
    ///
    /// ```
    /// assert_eq!(awaitly::signature::Verified::signed_id("Stripe", "evt_1").into_id(), "evt_1");
    /// ```
    #[must_use]
    pub fn into_id(self) -> String {
        self.id
    }
}
