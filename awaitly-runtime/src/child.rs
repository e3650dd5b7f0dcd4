//! Child workflows: a `child!` site runs another registered workflow as a run of its own and
//! waits for its outcome as on a hook. The durable engine starts the child under a run id derived
//! from the parent's (`<parent run id>/<site key>`), and the child's completion — in whichever
//! process it happens — is delivered to the parent's hook and resumes the parent.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hook::PendingHook;

/// The metadata field of a hook that waits for a child run.
///
/// ```
/// assert_eq!(awaitly::CHILD_METADATA, "awaitlyChild");
/// ```
pub const CHILD_METADATA: &str = "awaitlyChild";

/// Why a child run did not return `Ok`.
///
/// ```
/// let error: awaitly::ChildError<String> = awaitly::ChildError::Failed("declined".into());
/// assert_eq!(error.to_string(), "the child run failed");
/// ```
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ChildError<E> {
    /// The child workflow returned `Err`.
    #[error("the child run failed")]
    Failed(E),
    /// The child run was cancelled.
    #[error("the child run was cancelled")]
    Cancelled {
        /// What the canceller said.
        reason: Option<String>,
    },
    /// The child run stopped: its state does not fit its code.
    #[error("the child run stopped: {message}")]
    Stopped {
        /// What the child's runtime reported.
        message: String,
    },
}

/// A child run's final outcome, as delivered to its parent (the shape of a stored run outcome).
#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum ChildOutcome<T, E> {
    Completed {
        result: T,
    },
    Failed {
        error: E,
    },
    Cancelled {
        #[serde(default)]
        reason: Option<String>,
    },
    Stopped {
        message: String,
    },
}

impl<T, E> ChildOutcome<T, E> {
    pub(crate) fn into_result(self) -> Result<T, ChildError<E>> {
        match self {
            Self::Completed { result } => Ok(result),
            Self::Failed { error } => Err(ChildError::Failed(error)),
            Self::Cancelled { reason } => Err(ChildError::Cancelled { reason }),
            Self::Stopped { message } => Err(ChildError::Stopped { message }),
        }
    }
}

/// What a hook that waits for a child run asks for: which workflow, with which input, under
/// which key of the parent.
///
/// ```
/// use awaitly::{ChildRequest, Outcome, child, workflow};
///
/// #[workflow]
/// async fn parent() -> Result<u32, String> {
///     let paid: Result<u32, awaitly::ChildError<String>> = child!("pay", "payment", &42_u32);
///     paid.map_err(|error| error.to_string())
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = parent().start().await;
/// let hook = run.outcome.pending_hook().unwrap();
/// let request = ChildRequest::of(hook).unwrap();
/// assert_eq!((request.workflow.as_str(), request.key.as_str()), ("payment", "pay"));
/// // Without an engine, the application runs the child and delivers its outcome:
/// let outcome = serde_json::json!({ "status": "completed", "result": 42 });
/// let state = awaitly::inject_hook(&run.state, &hook.hook_id, &outcome).unwrap();
/// assert!(matches!(parent().run(state).await.outcome, Outcome::Completed(42)));
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChildRequest {
    /// The registered workflow to run.
    pub workflow: String,
    /// The parent's key for the child (the site's key): a durable child's run id is
    /// `<parent run id>/<key>`.
    pub key: String,
    /// The child's input, as JSON.
    pub input: Value,
}

impl ChildRequest {
    /// The child `hook` waits for, if it waits for one.
    ///
    /// ```
    /// let hook = awaitly::pending_hook("h".into(), Default::default());
    /// assert!(awaitly::ChildRequest::of(&hook).is_none());
    /// ```
    #[must_use]
    pub fn of(hook: &PendingHook) -> Option<Self> {
        let request = hook.metadata.as_ref()?.get(CHILD_METADATA)?;
        serde_json::from_value(request.clone()).ok()
    }

    /// The child's run id under a parent run `parent_run_id`.
    ///
    /// ```
    /// let request = awaitly::ChildRequest { workflow: "w".into(), key: "pay".into(), input: serde_json::Value::Null };
    /// assert_eq!(request.run_id("order-1"), "order-1/pay");
    /// ```
    #[must_use]
    pub fn run_id(&self, parent_run_id: &str) -> String {
        format!("{parent_run_id}/{}", self.key)
    }
}
