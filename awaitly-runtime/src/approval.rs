//! Human-in-the-loop approvals: a hook with a person on the other side, under a key the caller
//! chooses (`approve:refund:42`), with a reason, and three outcomes — approved (possibly with an
//! edited value), rejected with a reason, or expired.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::entry::StepEntry;
use crate::error::InjectError;
use crate::state::ResumeState;

/// An approval the run waits for; recorded as awaitly's
/// `{"type":"PENDING_APPROVAL","stepKey":…,"reason":…,"metadata":…}`.
///
/// ```
/// let pending = awaitly::pending_approval("approve:refund:42", awaitly::PendingApprovalOptions {
///     reason: Some("refund over 100 EUR".into()),
///     ..Default::default()
/// });
/// assert_eq!(serde_json::to_value(&pending).unwrap()["type"], "PENDING_APPROVAL");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "PENDING_APPROVAL", rename_all = "camelCase")]
pub struct PendingApproval {
    /// The approval's key (the caller's choice, e.g. `approve:refund:42`).
    pub step_key: String,
    /// Why approval is needed, for whoever decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Anything else the approver needs to see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// When the request expires, in milliseconds since the Unix epoch.
    #[serde(default, rename = "deadline", skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// When it was requested, in milliseconds since the Unix epoch (to show its age).
    #[serde(
        default,
        rename = "requestedAt",
        skip_serializing_if = "Option::is_none"
    )]
    pub requested_at_ms: Option<u64>,
}

/// Options of [`pending_approval`].
///
/// ```
/// let options = awaitly::PendingApprovalOptions { reason: Some("why".into()), ..Default::default() };
/// assert_eq!(awaitly::pending_approval("k", options).reason.as_deref(), Some("why"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PendingApprovalOptions {
    /// Why approval is needed.
    pub reason: Option<String>,
    /// Anything else the approver needs to see.
    pub metadata: Option<Value>,
    /// When the request expires, in milliseconds since the Unix epoch.
    pub deadline_ms: Option<u64>,
}

/// The pending-approval record for `key`, as `await_approval!` stores it.
///
/// ```
/// let pending = awaitly::pending_approval("approve:1", Default::default());
/// assert_eq!(pending.step_key, "approve:1");
/// ```
#[must_use]
pub fn pending_approval(
    key: impl Into<String>,
    options: PendingApprovalOptions,
) -> PendingApproval {
    PendingApproval {
        step_key: key.into(),
        reason: options.reason,
        metadata: options.metadata,
        deadline_ms: options.deadline_ms,
        requested_at_ms: None,
    }
}

/// Why an approval did not yield a value: what `await_approval!` returns in its `Err`.
///
/// ```
/// let rejected = awaitly::ApprovalError::Rejected {
///     key: "approve:1".into(),
///     reason: "over budget".into(),
///     actor: Some("grace".into()),
/// };
/// assert_eq!(rejected.to_string(), "approval `approve:1` was rejected by grace: over budget");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "type")]
pub enum ApprovalError {
    /// Someone said no.
    #[serde(rename = "APPROVAL_REJECTED", rename_all = "camelCase")]
    #[error("approval `{key}` was rejected{}: {reason}", by(actor.as_deref()))]
    Rejected {
        /// The approval.
        #[serde(rename = "stepKey")]
        key: String,
        /// Why.
        reason: String,
        /// Who.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<String>,
    },
    /// Nobody decided before the deadline.
    #[serde(rename = "APPROVAL_EXPIRED", rename_all = "camelCase")]
    #[error("approval `{key}` expired unanswered at {deadline_ms} ms after the Unix epoch")]
    Expired {
        /// The approval.
        #[serde(rename = "stepKey")]
        key: String,
        /// When it expired.
        #[serde(rename = "deadline")]
        deadline_ms: u64,
    },
}

fn by(actor: Option<&str>) -> String {
    actor
        .map(|actor| format!(" by {actor}"))
        .unwrap_or_default()
}

/// Who resolved an approval and when; recorded next to the value.
#[derive(Serialize)]
struct Resolution<'a> {
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<&'a str>,
    at: u64,
}

/// The pending approval under `key`, if the state waits for one there.
pub(crate) fn pending_at(state: &ResumeState, key: &str) -> Option<PendingApproval> {
    state
        .get(key)?
        .error()
        .filter(|error| error.get("type").and_then(Value::as_str) == Some("PENDING_APPROVAL"))
        .and_then(|error| PendingApproval::deserialize(error).ok())
}

/// Does `state` wait for an approval under `key`?
///
/// ```
/// use awaitly::{ResumeState, has_pending_approval};
/// assert!(!has_pending_approval(&ResumeState::new(), "approve:1"));
/// ```
#[must_use]
pub fn has_pending_approval(state: &ResumeState, key: &str) -> bool {
    pending_at(state, key).is_some()
}

/// Every approval `state` waits for, in the order requested, with reason, metadata and deadline.
///
/// ```
/// assert!(awaitly::get_pending_approvals(&awaitly::ResumeState::new()).is_empty());
/// ```
#[must_use]
pub fn get_pending_approvals(state: &ResumeState) -> Vec<PendingApproval> {
    state
        .keys()
        .filter_map(|key| pending_at(state, key))
        .collect()
}

/// Grants the approval under `key` with `value` (no actor recorded): awaitly's `injectApproval`.
/// Returns a new state; the input is untouched. The time is the state's
/// [`clock`](ResumeState::clock).
///
/// ```
/// use awaitly::{ResumeState, StepEntry, inject_approval, pending_approval};
/// let mut state = ResumeState::new();
/// state.insert("approve:1", StepEntry::pending_approval(&pending_approval("approve:1", Default::default())));
/// let granted = inject_approval(&state, "approve:1", &true).unwrap();
/// assert_eq!(granted.get("approve:1").unwrap().value_json(), Some("true"));
/// ```
///
/// # Errors
///
/// As [`ResumeState::grant_approval`].
pub fn inject_approval<V: Serialize + ?Sized>(
    state: &ResumeState,
    key: &str,
    value: &V,
) -> Result<ResumeState, InjectError> {
    let mut next = state.clone();
    next.resolve_approval(
        key,
        Decision::Grant {
            value,
            status: "approved",
        },
        None,
        state.clock().now_ms(),
    )?;
    Ok(next)
}

enum Decision<'a, V: ?Sized> {
    Grant { value: &'a V, status: &'a str },
    Reject { reason: &'a str },
}

// Only references inside: copyable whatever `V` is (a derive would demand `V: Copy`).
impl<V: ?Sized> Clone for Decision<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V: ?Sized> Copy for Decision<'_, V> {}

impl ResumeState {
    /// Approves the request under `key` with `value`, recording who approved and when. The time
    /// is the state's [`clock`](Self::clock) (the run's; see [Time](ResumeState#time)), for the
    /// deadline and the record alike; [`decide_approval`](Self::decide_approval) takes it
    /// explicitly.
    ///
    /// ```
    /// use awaitly::{ResumeState, StepEntry, pending_approval};
    /// let mut state = ResumeState::new();
    /// state.insert("approve:1", StepEntry::pending_approval(&pending_approval("approve:1", Default::default())));
    /// state.grant_approval("approve:1", &"ok", "grace").unwrap();
    /// assert_eq!(state.get("approve:1").unwrap().approval().unwrap()["actor"], "grace");
    /// ```
    ///
    /// # Errors
    ///
    /// [`InjectError::UnknownApproval`] when nothing waits under `key`,
    /// [`InjectError::ApprovalExpired`] at or past its deadline or once a run recorded its expiry,
    /// [`InjectError::ApprovalAlreadyDecided`] when it was decided differently already (the same
    /// decision again succeeds), [`InjectError::EncodeApproval`] for a value that is not JSON (or
    /// holds a NaN or infinite float).
    pub fn grant_approval<V: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &V,
        actor: &str,
    ) -> Result<(), InjectError> {
        self.resolve_approval(
            key,
            Decision::Grant {
                value,
                status: "approved",
            },
            Some(actor),
            self.clock().now_ms(),
        )
    }

    /// Approves with a value the approver changed (e.g. a lower refund amount); recorded as
    /// `edited`.
    ///
    /// ```
    /// use awaitly::{ResumeState, StepEntry, pending_approval};
    /// let mut state = ResumeState::new();
    /// state.insert("approve:1", StepEntry::pending_approval(&pending_approval("approve:1", Default::default())));
    /// state.edit_approval("approve:1", &80, "grace").unwrap();
    /// assert_eq!(state.get("approve:1").unwrap().approval().unwrap()["status"], "edited");
    /// ```
    ///
    /// # Errors
    ///
    /// As [`grant_approval`](Self::grant_approval).
    pub fn edit_approval<V: Serialize + ?Sized>(
        &mut self,
        key: &str,
        edited: &V,
        actor: &str,
    ) -> Result<(), InjectError> {
        self.resolve_approval(
            key,
            Decision::Grant {
                value: edited,
                status: "edited",
            },
            Some(actor),
            self.clock().now_ms(),
        )
    }

    /// Rejects the request under `key`: the workflow's `await_approval!` returns
    /// [`ApprovalError::Rejected`] with this reason and actor.
    ///
    /// ```
    /// use awaitly::{ResumeState, StepEntry, pending_approval};
    /// let mut state = ResumeState::new();
    /// state.insert("approve:1", StepEntry::pending_approval(&pending_approval("approve:1", Default::default())));
    /// state.reject_approval("approve:1", "over budget", "grace").unwrap();
    /// assert_eq!(state.get("approve:1").unwrap().error().unwrap()["reason"], "over budget");
    /// ```
    ///
    /// # Errors
    ///
    /// As [`grant_approval`](Self::grant_approval).
    pub fn reject_approval(
        &mut self,
        key: &str,
        reason: &str,
        actor: &str,
    ) -> Result<(), InjectError> {
        self.resolve_approval::<()>(
            key,
            Decision::Reject { reason },
            Some(actor),
            self.clock().now_ms(),
        )
    }

    fn resolve_approval<V: Serialize + ?Sized>(
        &mut self,
        key: &str,
        decision: Decision<'_, V>,
        actor: Option<&str>,
        now_ms: u64,
    ) -> Result<(), InjectError> {
        let Some(entry) = self.get(key) else {
            return Err(InjectError::UnknownApproval {
                key: key.to_owned(),
            });
        };
        let encode = |source| InjectError::EncodeApproval {
            key: key.to_owned(),
            source,
        };
        let resolved = match &decision {
            Decision::Grant { value, status } => {
                let value = crate::finite::to_raw_value(value).map_err(encode)?;
                let resolution = serde_json::to_value(Resolution {
                    status,
                    actor,
                    at: now_ms,
                })
                .map_err(encode)?;
                StepEntry::approved(value, resolution)
            }
            Decision::Reject { reason } => {
                let rejection = ApprovalError::Rejected {
                    key: key.to_owned(),
                    reason: (*reason).to_owned(),
                    actor: actor.map(str::to_owned),
                };
                StepEntry::err(&rejection).map_err(encode)?
            }
        };
        let Some(pending) = pending_at(self, key) else {
            let recorded = entry.error_type();
            if recorded == Some("APPROVAL_EXPIRED") {
                // A run recorded the expiry: no decision can change it.
                return Err(InjectError::ApprovalExpired {
                    key: key.to_owned(),
                });
            }
            let decided = entry.approval().is_some() || recorded == Some("APPROVAL_REJECTED");
            if !decided {
                return Err(InjectError::UnknownApproval {
                    key: key.to_owned(),
                });
            }
            // Already decided: the same decision again is fine, another one is not.
            let same = match &decision {
                Decision::Grant { value, .. } => {
                    entry.approval().is_some()
                        && serde_json::to_value(value).is_ok_and(|value| entry.value_equals(&value))
                }
                Decision::Reject { .. } => entry.error() == resolved.error(),
            };
            return if same {
                Ok(())
            } else {
                Err(InjectError::ApprovalAlreadyDecided {
                    key: key.to_owned(),
                })
            };
        };
        if pending
            .deadline_ms
            .is_some_and(|deadline| deadline <= now_ms)
        {
            return Err(InjectError::ApprovalExpired {
                key: key.to_owned(),
            });
        }
        self.insert(key, resolved);
        Ok(())
    }
}

/// A decision on an approval with its value as JSON, for callers that hold no typed value (a
/// durable engine, an HTTP endpoint): what [`ResumeState::decide_approval`] records.
///
/// ```
/// let decision = awaitly::ApprovalDecision::Edit(serde_json::json!(80));
/// assert_eq!(decision.status(), "edited");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ApprovalDecision {
    /// Approve with this value.
    Grant(Value),
    /// Approve with a value the approver changed (recorded as `edited`).
    Edit(Value),
    /// Refuse, for this reason.
    Reject(String),
}

impl ApprovalDecision {
    /// How the decision is recorded: `approved`, `edited` or `rejected`.
    ///
    /// ```
    /// assert_eq!(awaitly::ApprovalDecision::Reject("no".into()).status(), "rejected");
    /// ```
    #[must_use]
    pub fn status(&self) -> &'static str {
        match self {
            Self::Grant(_) => "approved",
            Self::Edit(_) => "edited",
            Self::Reject(_) => "rejected",
        }
    }
}

impl ResumeState {
    /// Records `decision` on the approval under `key` as made by `actor` at `now_ms` (the
    /// caller's clock: a decision at or after the deadline is refused as expired).
    ///
    /// ```
    /// use awaitly::{ApprovalDecision, PendingApprovalOptions, ResumeState, StepEntry, pending_approval};
    /// let options = PendingApprovalOptions { deadline_ms: Some(1_000), ..Default::default() };
    /// let mut state = ResumeState::new();
    /// state.insert("approve:1", StepEntry::pending_approval(&pending_approval("approve:1", options)));
    /// let grant = ApprovalDecision::Grant(serde_json::json!(true));
    /// assert!(state.clone().decide_approval("approve:1", &grant, Some("grace"), 1_000).is_err());
    /// state.decide_approval("approve:1", &grant, Some("grace"), 999).unwrap();
    /// assert_eq!(state.get("approve:1").unwrap().value_json(), Some("true"));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`grant_approval`](Self::grant_approval).
    pub fn decide_approval(
        &mut self,
        key: &str,
        decision: &ApprovalDecision,
        actor: Option<&str>,
        now_ms: u64,
    ) -> Result<(), InjectError> {
        match decision {
            ApprovalDecision::Grant(value) => self.resolve_approval(
                key,
                Decision::Grant {
                    value,
                    status: "approved",
                },
                actor,
                now_ms,
            ),
            ApprovalDecision::Edit(value) => self.resolve_approval(
                key,
                Decision::Grant {
                    value,
                    status: "edited",
                },
                actor,
                now_ms,
            ),
            ApprovalDecision::Reject(reason) => {
                self.resolve_approval::<()>(key, Decision::Reject { reason }, actor, now_ms)
            }
        }
    }
}

impl StepEntry {
    /// The entry of an approval that waits for a decision.
    ///
    /// ```
    /// let entry = awaitly::StepEntry::pending_approval(&awaitly::pending_approval("k", Default::default()));
    /// assert_eq!(entry.error().unwrap()["type"], "PENDING_APPROVAL");
    /// ```
    #[must_use]
    pub fn pending_approval(approval: &PendingApproval) -> Self {
        // Plain strings and JSON values: serialising cannot fail.
        Self::from_error_value(serde_json::to_value(approval).unwrap_or(Value::Null))
    }
}
