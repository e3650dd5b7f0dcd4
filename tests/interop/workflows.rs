//! The Rust twins of the awaitly workflows in `interop/workflows.mjs`, key for key, for the shapes
//! issue 12 names: approvals, created hooks, sleeps, nested causes, `undefined`, lone surrogates.
//! Each takes a [`Calls`] counter that its steps bump when they really execute.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use awaitly::{ApprovalError, HookId, await_approval, await_hook, sleep, step, workflow};
use serde_json::{Value, json};

/// `T0` in `interop/workflows.mjs`: the fixed "now" of every fixture.
pub(crate) const T0: u64 = 1_800_000_000_000;
/// `WAKE_AT`: when the nap of the sleep fixtures ends.
pub(crate) const WAKE_AT: u64 = T0 + 60_000;
pub(crate) const APPROVAL_KEY: &str = "approve:refund:42";
pub(crate) const CREATED_HOOK_ID: &str = "hook-created-1";
pub(crate) const NOTE_HOOK_ID: &str = "hook-notes-1";

/// How many times the steps of one workflow value really executed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Calls(Arc<AtomicU32>);

impl Calls {
    fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn count(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

/// `refundWorkflow`: an approval under `approve:refund:42`, then "pay".
#[workflow]
pub(crate) async fn refund(calls: Calls) -> Result<String, String> {
    let decision: Result<u32, ApprovalError> = await_approval!(
        "approve:refund:42",
        reason = "refund over the limit",
        metadata = json!({ "amount": 150 }),
        timeout = Duration::from_hours(1)
    );
    let amount = decision.map_err(|error| error.to_string())?;
    step!("pay", {
        calls.hit();
        Ok::<String, String>(format!("refunded {amount}"))
    })
}

/// `createdHookWorkflow`: a hook created at "payment", then "receipt".
#[workflow]
pub(crate) async fn created_hook(calls: Calls) -> Result<String, String> {
    let amount: u32 = await_hook!("payment", metadata = json!({ "orderId": "ord_1" }));
    step!("receipt", {
        calls.hit();
        Ok::<String, String>(format!("paid {amount}"))
    })
}

/// `napWorkflow`: a one-minute durable sleep at "nap", then "after".
#[workflow]
pub(crate) async fn nap(calls: Calls) -> Result<String, String> {
    sleep!("nap", Duration::from_mins(1));
    step!("after", {
        calls.hit();
        Ok::<String, String>("rested".to_owned())
    })
}

/// `nestedCauseWorkflow`: "load", then "explode" fails (in awaitly, with nested causes).
#[workflow]
pub(crate) async fn nested_cause(calls: Calls) -> Result<u32, Value> {
    step!("load", {
        calls.hit();
        Ok::<u32, Value>(1)
    })?;
    step!("explode", {
        calls.hit();
        Err::<u32, Value>(json!("not replayed"))
    })
}

/// `undefinedValuesWorkflow`: "nothing" (awaitly: `ok(undefined)`), "fail" (`err(undefined)`).
#[workflow]
pub(crate) async fn undefined_values(calls: Calls) -> Result<Option<u32>, Option<String>> {
    let nothing: Option<u32> = step!("nothing", {
        calls.hit();
        Ok::<Option<u32>, Option<String>>(Some(1))
    })?;
    step!("fail", {
        calls.hit();
        Err::<Option<u32>, Option<String>>(Some("not replayed".to_owned()))
    })?;
    Ok(nothing)
}

/// `notesWorkflow`: the title (awaitly's is cut inside an emoji) keys an approval and tags a hook;
/// "summary" joins title, approved value and payload.
#[workflow]
pub(crate) async fn notes(hook: HookId, calls: Calls) -> Result<String, String> {
    let title: String = step!("title", {
        calls.hit();
        Ok::<String, String>("tea".to_owned())
    })?;
    let approved: Result<String, ApprovalError> = await_approval!(
        format!("approve:{title}"),
        reason = format!("publish {title}"),
        metadata = json!({ "title": title })
    );
    let approved = approved.map_err(|error| error.to_string())?;
    let note: String = await_hook!(hook, metadata = json!({ "title": title }));
    step!("summary", {
        calls.hit();
        Ok::<String, String>(format!("{title}|{approved}|{note}"))
    })
}
