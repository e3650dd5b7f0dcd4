//! The one error type of [`crate::signature`].

/// Why a webhook delivery was refused, or a verifier could not be built.
///
/// Every message says what is wrong and what to do about it. None of them echoes request content
/// (header values, body bytes) or anything derived from the secret, so they are safe to log and to
/// return to the caller. [`SignatureError::http_status`] gives the status an HTTP endpoint should
/// answer with.
///
/// ```
/// use std::time::SystemTime;
/// use awaitly::signature::{GitHubVerifier, SignatureError, WebhookVerifier};
///
/// let verifier = GitHubVerifier::new("It's a Secret to Everybody")?;
/// let headers: [(&str, &str); 0] = [];
/// let error = verifier.verify(&headers, b"Hello, World!", SystemTime::now()).unwrap_err();
/// assert_eq!(
///     error,
///     SignatureError::MissingHeader { provider: "GitHub", header: "X-Hub-Signature-256" },
/// );
/// assert_eq!(error.http_status(), 401);
/// # Ok::<(), SignatureError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// A header the provider sends with every delivery is absent.
    ///
    /// ```
    /// use awaitly::signature::SignatureError;
    /// let error = SignatureError::MissingHeader { provider: "Stripe", header: "Stripe-Signature" };
    /// assert!(error.to_string().contains("no `Stripe-Signature` header"));
    /// ```
    #[error(
        "the request has no `{header}` header, which {provider} sends with every delivery: it did \
         not come from {provider}, or a proxy in front of this endpoint dropped the header \
         (forward it unchanged)"
    )]
    MissingHeader {
        /// Who the verifier expected the delivery from, e.g. `"Stripe"`.
        provider: &'static str,
        /// The header's name as the provider documents it.
        header: &'static str,
    },

    /// A header is present but does not have the provider's documented shape.
    ///
    /// ```
    /// use awaitly::signature::SignatureError;
    /// let error = SignatureError::MalformedHeader {
    ///     provider: "GitHub",
    ///     header: "X-Hub-Signature-256",
    ///     reason: "it does not start with `sha256=`",
    /// };
    /// assert!(error.to_string().contains("does not start with `sha256=`"));
    /// ```
    #[error(
        "the `{header}` header is malformed ({reason}): the request did not come from {provider} \
         or was altered on its way here"
    )]
    MalformedHeader {
        /// Who the verifier expected the delivery from.
        provider: &'static str,
        /// The header's name as the provider documents it.
        header: &'static str,
        /// What is wrong with it, in words; never the header's content.
        reason: &'static str,
    },

    /// The signature header is well formed, but none of its signatures matches the body under the
    /// configured secret.
    ///
    /// ```
    /// use awaitly::signature::SignatureError;
    /// let error = SignatureError::BadSignature { provider: "Stripe", header: "Stripe-Signature" };
    /// assert!(error.to_string().contains("wrong secret"));
    /// ```
    #[error(
        "no signature in `{header}` matches this body under the configured {provider} secret: \
         the body or its signed headers were altered (verify the raw bytes exactly as received, \
         before any JSON parsing or re-encoding), or this endpoint holds the wrong secret (each \
         endpoint has its own; copy it again from {provider})"
    )]
    BadSignature {
        /// Who the verifier expected the delivery from.
        provider: &'static str,
        /// The header that carried the signatures.
        header: &'static str,
    },

    /// The signature is valid, but the signed timestamp is further from this server's clock than
    /// the verifier's tolerance, in either direction.
    ///
    /// ```
    /// use awaitly::signature::SignatureError;
    /// let error = SignatureError::TimestampOutsideTolerance {
    ///     provider: "Stripe",
    ///     skew_seconds: -900,
    ///     tolerance_seconds: 300,
    /// };
    /// assert!(error.to_string().contains("900 s in the past"));
    /// ```
    #[error(
        "the signed {provider} timestamp is {} s in the {}, beyond the {tolerance_seconds} s \
         tolerance: this is a replayed or long-delayed delivery, or this server's clock is wrong \
         (check its time synchronisation); widen the tolerance only if deliveries are \
         legitimately held up that long",
        .skew_seconds.unsigned_abs(),
        if *.skew_seconds < 0 { "past" } else { "future" }
    )]
    TimestampOutsideTolerance {
        /// The signed timestamp minus this server's clock, in seconds: negative when the
        /// delivery is stale, positive when it claims to come from the future.
        skew_seconds: i64,
        /// The verifier's tolerance, in whole seconds.
        tolerance_seconds: u64,
        /// Who the delivery is from.
        provider: &'static str,
    },

    /// The signing secret given to a verifier's constructor cannot be used. This is a
    /// configuration error, not a property of any request.
    ///
    /// ```
    /// use awaitly::signature::{SignatureError, StripeVerifier};
    /// let error = StripeVerifier::new("").unwrap_err();
    /// assert!(matches!(error, SignatureError::BadSecret { provider: "Stripe", .. }));
    /// assert_eq!(error.http_status(), 500);
    /// ```
    #[error("the {provider} signing secret is unusable: {reason}")]
    BadSecret {
        /// The provider whose secret it is.
        provider: &'static str,
        /// What is wrong with it and where to get a good one; never the secret itself.
        reason: &'static str,
    },

    /// The delivery is authentic, but the id it carries (for deduplication) is missing or is not
    /// a short printable string.
    ///
    /// ```
    /// use awaitly::signature::SignatureError;
    /// let error = SignatureError::InvalidEventId {
    ///     provider: "Stripe",
    ///     reason: "the body has no string `id` field",
    /// };
    /// assert_eq!(error.http_status(), 400);
    /// ```
    #[error(
        "the {provider} delivery is authentic but its id cannot serve as a dedupe key ({reason}); \
         check that this endpoint receives {provider} events and nothing else"
    )]
    InvalidEventId {
        /// Who the delivery is from.
        provider: &'static str,
        /// What is wrong with the id, in words; never the id itself.
        reason: &'static str,
    },
}

impl SignatureError {
    /// The HTTP status an endpoint should answer with: 500 for [`SignatureError::BadSecret`]
    /// (the server is misconfigured), 400 for [`SignatureError::InvalidEventId`] (authentic but
    /// unusable), and 401 for every other variant (the request is not proven to come from the
    /// provider).
    ///
    /// ```
    /// use awaitly::signature::SignatureError;
    /// let error = SignatureError::BadSignature { provider: "GitHub", header: "X-Hub-Signature-256" };
    /// assert_eq!(error.http_status(), 401);
    /// ```
    #[must_use]
    pub fn http_status(&self) -> u16 {
        match self {
            Self::BadSecret { .. } => 500,
            Self::InvalidEventId { .. } => 400,
            Self::MissingHeader { .. }
            | Self::MalformedHeader { .. }
            | Self::BadSignature { .. }
            | Self::TimestampOutsideTolerance { .. } => 401,
        }
    }

    /// A short, stable, machine-readable code for the variant, for error bodies and metrics:
    /// `missing_header`, `malformed_header`, `bad_signature`, `timestamp_outside_tolerance`,
    /// `bad_secret` or `invalid_event_id`.
    ///
    /// ```
    /// use awaitly::signature::SignatureError;
    /// let error = SignatureError::BadSignature { provider: "GitHub", header: "X-Hub-Signature-256" };
    /// assert_eq!(error.code(), "bad_signature");
    /// ```
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingHeader { .. } => "missing_header",
            Self::MalformedHeader { .. } => "malformed_header",
            Self::BadSignature { .. } => "bad_signature",
            Self::TimestampOutsideTolerance { .. } => "timestamp_outside_tolerance",
            Self::BadSecret { .. } => "bad_secret",
            Self::InvalidEventId { .. } => "invalid_event_id",
        }
    }
}
