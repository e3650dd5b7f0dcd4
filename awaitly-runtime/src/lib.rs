//! The runtime of [awaitly](https://docs.rs/awaitly): resume state, replay and callback hooks.
//!
//! Use it through the `awaitly` crate, which re-exports everything here together with the
//! `#[workflow]` attribute; the user manual lives there.
//!
//! ```
//! let hook = awaitly_runtime::create_hook();
//! assert!(hook.step_key.starts_with(awaitly_runtime::HOOK_KEY_PREFIX));
//! ```
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

// The public concepts: none of them depends on `glue` or `workflow`.
mod approval;
mod cancel;
mod child;
mod clock;
mod compat;
mod constructs;
mod delivery;
mod diagram;
mod entry;
mod error;
mod event;
mod finite;
mod hook;
mod journal;
mod key;
mod outcome;
mod policy;
mod progress;
mod site;
mod state;
mod surrogate;
// What generated code calls, and the runner that drives it.
mod glue;
mod workflow;

pub use approval::{
    ApprovalDecision, ApprovalError, PendingApproval, PendingApprovalOptions,
    get_pending_approvals, has_pending_approval, inject_approval, pending_approval,
};
pub use cancel::{CANCEL_KEY, CancelHandle, Cancellation};
pub use child::{CHILD_METADATA, ChildError, ChildRequest};
pub use clock::{Clock, ManualClock, SleepFuture, SystemClock};
pub use compat::check_compatibility;
pub use delivery::{get_pending_hooks, has_pending_hook, inject_hook};
pub use diagram::{SiteStatus, site_status};
pub use entry::StepEntry;
pub use error::{Cause, Incompatibility, InjectError, RunError, StateFormatError};
pub use event::{Event, EventSink};
pub use glue::HOOK_ABANDONED;
pub use hook::{
    CreatedHook, HookId, HookTimeout, MaybePendingHook, PendingHook, PendingHookOptions,
    create_hook, hook_step_key, is_pending_hook, pending_hook,
};
pub use journal::{Journal, JournalError, JournalFuture};
pub use key::{
    HOOK_KEY_PREFIX, KEY_RECIPE_VERSION, OCCURRENCE_SEPARATOR, RUN_KEY_PREFIX, item_key,
};
pub use outcome::{Outcome, Run, Suspension};
pub use policy::{Backoff, RecordedFailures, RetryPolicy, StepTimeout};
pub use progress::{FanOutProgress, fan_out_progress, recorded_fan_out_progress};
pub use site::{Site, SiteKind, WorkflowDescription, WorkflowStamp};
pub use state::{ResumeState, clear_failed_steps, clear_step};
pub use workflow::Workflow;

/// Runs one step of a `#[workflow]` fn exactly once across runs: its `Result` is recorded, and
/// replayed from the resume state on later runs instead of executing again.
///
/// Only valid directly inside a `#[workflow]` async fn (the attribute rewrites it); anywhere else it
/// is a compile error. Forms:
///
/// - `step!(call(…).await)` — the key is the called function's (or method's) name, here `call`;
/// - `step!("label", expression)` — the key is the label;
/// - `step!("label", key = item, expression)` — one key per item: `label[item]`.
///
/// Options, after the label (each at most once):
///
/// - `retry = RetryPolicy::attempts(3)…` — try again on failure ([`RetryPolicy`]); only the final
///   outcome is recorded;
/// - `timeout = Duration` — limit each attempt; a timed-out attempt fails with
///   `E::from(`[`StepTimeout`]`)`;
/// - `rerun_failed = bool` — execute a failure recorded by an earlier run again instead of
///   replaying it ([`RecordedFailures`]; `#[workflow(rerun_failed)]` sets it for every step).
///
/// The expression must evaluate to `Result<T, E>` with `T` and `E` serde-serialisable; `step!`
/// evaluates to that `Result`.
///
/// ```
/// use awaitly::{Outcome, step, workflow};
///
/// async fn create_order(total: u32) -> Result<u32, String> {
///     Ok(total)
/// }
///
/// #[workflow]
/// async fn checkout(items: Vec<u32>) -> Result<u32, String> {
///     let mut total = 0;
///     for item in items {
///         total += step!("price", key = item, Ok::<u32, String>(item * 10))?;
///     }
///     step!(create_order(total).await)
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = checkout(vec![1, 2]).start().await;
/// assert!(matches!(run.outcome, Outcome::Completed(30)));
/// assert_eq!(run.state.keys().collect::<Vec<_>>(), ["price[1]", "price[2]", "create_order"]);
/// # });
/// ```
#[macro_export]
macro_rules! step {
    (@__awaitly_expanded $code:tt) => {
        $code
    };
    ($($anything:tt)*) => {
        ::core::compile_error!("`step!` can only be used directly inside a `#[workflow]` async fn")
    };
}

/// Suspends a `#[workflow]` fn until a callback's payload is injected for a hook, then evaluates to
/// that payload, decoded into the type the context expects.
///
/// Only valid directly inside a `#[workflow]` async fn. Forms:
///
/// - `await_hook!(hook_id)` — a hook made before the run ([`create_hook`]); its id is also in the
///   callback URL;
/// - `await_hook!("label")` — a hook created here on first execution; its id is recorded in the
///   resume state, reused by every replay, and reported in [`Outcome::Suspended`];
/// - `await_hook!("label", key = item)` — one created hook per item;
/// - any form followed by `, metadata = expression` (anything serialisable), kept with the pending
///   hook;
/// - any form followed by `, timeout = Duration`: the deadline is recorded in the state, and the
///   macro then evaluates to `Result<T, `[`HookTimeout`]`>` — `Err` once the deadline has passed
///   without a payload (later deliveries are refused as expired).
///
/// ```
/// use awaitly::{Outcome, await_hook, inject_hook, workflow};
///
/// #[workflow]
/// async fn approval() -> Result<bool, String> {
///     let approved: bool = await_hook!("manager", metadata = "refund #12");
///     Ok(approved)
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = approval().start().await;
/// let Outcome::Suspended(suspension) = &run.outcome else { panic!() };
/// let hook_id = &awaitly::MaybePendingHook::pending_hook(suspension).unwrap().hook_id;
/// let state = inject_hook(&run.state, hook_id, &true).unwrap();
/// assert!(matches!(approval().run(state).await.outcome, Outcome::Completed(true)));
/// # });
/// ```
#[macro_export]
macro_rules! await_hook {
    (@__awaitly_expanded $code:tt) => {
        $code
    };
    ($($anything:tt)*) => {
        ::core::compile_error!(
            "`await_hook!` can only be used directly inside a `#[workflow]` async fn"
        )
    };
}

/// Waits for a person's decision on an approval with a caller-chosen key, then evaluates to
/// `Result<T, `[`ApprovalError`]`>`: the approved (possibly edited) value, or why not (rejected with
/// a reason, or expired).
///
/// Only valid directly inside a `#[workflow]` async fn. Form:
/// `await_approval!(key, reason = …, metadata = …, timeout = Duration)` (options optional, any
/// order). The key is any `Display` value, e.g. `format!("approve:refund:{id}")`; decide with
/// [`ResumeState::grant_approval`], [`ResumeState::edit_approval`],
/// [`ResumeState::reject_approval`] or [`inject_approval`].
///
/// The key must be the approval's own. A string literal follows the rules of a label and may not
/// be another site's key or another approval's, nor sit in a loop (every iteration would read the
/// first one's decision): each is a compile error. A key built at run time that a step, created
/// hook or sleep of the workflow produces, or a `hook:` key, stops the run with
/// [`RunError::ApprovalKeyTaken`]; one reached twice in a run with
/// [`RunError::RepeatedApprovalKey`] — in a loop, build it from the item.
///
/// ```
/// use awaitly::{ApprovalError, Outcome, await_approval, workflow};
///
/// #[workflow]
/// async fn refund(id: u32, amount: u32) -> Result<u32, String> {
///     let approved: Result<u32, ApprovalError> =
///         await_approval!(format!("approve:refund:{id}"), reason = "refund over the limit", metadata = amount);
///     match approved {
///         Ok(amount) => Ok(amount),
///         Err(ApprovalError::Rejected { reason, .. }) => Err(format!("refused: {reason}")),
///         Err(other) => Err(other.to_string()),
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = refund(42, 150).start().await;
/// assert!(matches!(run.outcome, Outcome::Suspended(_)));
/// let mut state = run.state;
/// state.edit_approval("approve:refund:42", &100, "grace").unwrap();
/// assert!(matches!(refund(42, 150).run(state).await.outcome, Outcome::Completed(100)));
/// # });
/// ```
#[macro_export]
macro_rules! await_approval {
    (@__awaitly_expanded $code:tt) => {
        $code
    };
    ($($anything:tt)*) => {
        ::core::compile_error!(
            "`await_approval!` can only be used directly inside a `#[workflow]` async fn"
        )
    };
}

/// A durable sleep: records its wake-up time in the state, suspends the run until then
/// ([`Suspension::Sleep`] says when it is due), and once the time has passed lets the run go on
/// without sleeping again — a crash mid-sleep never restarts the full duration.
///
/// Only valid directly inside a `#[workflow]` async fn. Forms: `sleep!("label", duration)` and
/// `sleep!("label", key = item, duration)`.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use awaitly::{ManualClock, Outcome, Suspension, sleep, workflow};
///
/// #[workflow]
/// async fn reminder() -> Result<&'static str, String> {
///     sleep!("cool-off", Duration::from_secs(3600));
///     Ok("sent")
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let clock = Arc::new(ManualClock::new(0));
/// let run = reminder().clock(clock.clone()).start().await;
/// assert!(matches!(run.outcome, Outcome::Suspended(Suspension::Sleep { wake_at_ms: 3_600_000, .. })));
/// clock.advance(Duration::from_secs(3600));
/// assert!(matches!(reminder().clock(clock).run(run.state).await.outcome, Outcome::Completed("sent")));
/// # });
/// ```
#[macro_export]
macro_rules! sleep {
    (@__awaitly_expanded $code:tt) => {
        $code
    };
    ($($anything:tt)*) => {
        ::core::compile_error!("`sleep!` can only be used directly inside a `#[workflow]` async fn")
    };
}

/// Not public API: what code generated by `#[workflow]` names. May change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::glue::{
        Checkpoint, Context, HookTarget, Metadata, Parked, Payload, RaceStart, Split, StepStart,
        StepValue, encode_metadata, halt,
    };
    pub use crate::hook::HookId;
    pub use crate::policy::{RecordedFailures, RetryPolicy};
    pub use crate::site::{Site, SiteKind, WorkflowDescription};
    pub use crate::workflow::Workflow;
    pub use ::core::time::Duration;
    pub use serde_json::Value;
}
