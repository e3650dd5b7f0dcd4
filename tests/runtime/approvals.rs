//! Human-in-the-loop approvals (awaitly scenarios 45–53 with our corrections): approved, edited,
//! rejected and expired, with the actor recorded; listing what waits for whom.

use std::sync::Arc;
use std::time::Duration;

use awaitly::{
    ApprovalDecision, ApprovalError, Clock, InjectError, ManualClock, Outcome,
    PendingApprovalOptions, ResumeState, RunError, SiteKind, StepEntry, Suspension, SystemClock,
    await_approval, clear_step, get_pending_approvals, has_pending_approval, inject_approval,
    pending_approval, step, workflow,
};
use serde_json::json;

#[workflow]
async fn refund(id: u32, amount: u32) -> Result<String, String> {
    step!("load", Ok::<u32, String>(id))?;
    // Gated: small refunds need no approval (scenario 49).
    let approved = if amount > 100 {
        let decision: Result<u32, ApprovalError> = await_approval!(
            format!("approve:refund:{id}"),
            reason = format!("refund of {amount} is over the limit"),
            metadata = json!({ "amount": amount }),
            timeout = Duration::from_hours(1)
        );
        match decision {
            Ok(approved) => approved,
            Err(ApprovalError::Rejected { reason, actor, .. }) => {
                return Ok(format!(
                    "refused by {}: {reason}",
                    actor.unwrap_or_default()
                ));
            }
            Err(ApprovalError::Expired { .. }) => return Ok("expired: escalated".to_owned()),
        }
    } else {
        amount
    };
    step!("pay", Ok::<String, String>(format!("refunded {approved}")))
}

/// A manual clock starting now: runs read it, and so do decisions on the states they return.
fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(SystemClock.now_ms()))
}

async fn pending(clock: &Arc<ManualClock>) -> ResumeState {
    let start = clock.now_ms();
    let run = refund(42, 150).clock(clock.clone()).start().await;
    let Outcome::Suspended(Suspension::Approval(request)) = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(request.step_key, "approve:refund:42");
    assert_eq!(
        request.reason.as_deref(),
        Some("refund of 150 is over the limit")
    );
    assert_eq!(request.metadata, Some(json!({ "amount": 150 })));
    assert_eq!(request.deadline_ms, Some(start + 3_600_000));
    assert_eq!(request.requested_at_ms, Some(start));
    run.state
}

#[tokio::test]
async fn approved_with_the_actor_recorded_then_resumed() {
    let clock = clock();
    let state = pending(&clock).await;
    assert!(has_pending_approval(&state, "approve:refund:42"));
    let waiting = get_pending_approvals(&state);
    assert_eq!(waiting.len(), 1);

    let mut granted = state.clone();
    granted
        .grant_approval("approve:refund:42", &150, "grace")
        .unwrap();
    let resolution = granted
        .get("approve:refund:42")
        .unwrap()
        .approval()
        .unwrap()
        .clone();
    assert_eq!(resolution["status"], "approved");
    assert_eq!(resolution["actor"], "grace");
    let run = refund(42, 150).clock(clock.clone()).run(granted).await;
    assert!(
        matches!(run.outcome, Outcome::Completed(ref text) if text == "refunded 150"),
        "{:?}",
        run.outcome
    );
    // 53: the state after the resume is complete.
    assert_eq!(
        run.state.keys().collect::<Vec<_>>(),
        ["load", "approve:refund:42", "pay"]
    );
}

#[tokio::test]
async fn an_edited_value_is_what_the_workflow_gets() {
    let clock = clock();
    let mut state = pending(&clock).await;
    state
        .edit_approval("approve:refund:42", &120, "grace")
        .unwrap();
    assert_eq!(
        state.get("approve:refund:42").unwrap().approval().unwrap()["status"],
        "edited"
    );
    let run = refund(42, 150).clock(clock).run(state).await;
    assert!(matches!(run.outcome, Outcome::Completed(ref text) if text == "refunded 120"));
}

#[tokio::test]
async fn a_rejection_is_a_typed_error_the_workflow_handles() {
    let clock = clock();
    let mut state = pending(&clock).await;
    state
        .reject_approval("approve:refund:42", "over budget", "grace")
        .unwrap();
    let run = refund(42, 150)
        .clock(clock.clone())
        .run(state.clone())
        .await;
    assert!(
        matches!(run.outcome, Outcome::Completed(ref text) if text == "refused by grace: over budget"),
        "{:?}",
        run.outcome
    );
    // A decision is final: the same again is fine, another one is refused.
    state
        .reject_approval("approve:refund:42", "over budget", "grace")
        .unwrap();
    assert!(matches!(
        state.grant_approval("approve:refund:42", &1, "ada"),
        Err(InjectError::ApprovalAlreadyDecided { .. })
    ));
}

#[tokio::test]
async fn an_unanswered_approval_expires_and_late_decisions_are_refused() {
    let clock = clock();
    let state = pending(&clock).await;
    clock.advance(Duration::from_hours(1));
    let run = refund(42, 150).clock(clock.clone()).run(state).await;
    assert!(
        matches!(run.outcome, Outcome::Completed(ref text) if text == "expired: escalated"),
        "{:?}",
        run.outcome
    );
    let entry = run.state.get("approve:refund:42").unwrap();
    assert_eq!(entry.error().unwrap()["type"], "APPROVAL_EXPIRED");
    // Every late decision is refused as expired (410), not as decided (409), whatever its time.
    let key = "approve:refund:42";
    let late = |decide: &dyn Fn(&mut ResumeState) -> Result<(), InjectError>| {
        let mut state = run.state.clone();
        let error = decide(&mut state).unwrap_err();
        assert!(
            matches!(&error, InjectError::ApprovalExpired { key: expired } if expired == key),
            "{error:?}"
        );
        assert_eq!(state.to_json(), run.state.to_json(), "nothing changed");
    };
    late(&|state| state.grant_approval(key, &1, "ada"));
    late(&|state| state.edit_approval(key, &1, "ada"));
    late(&|state| state.reject_approval(key, "too late", "ada"));
    late(&|state| state.decide_approval(key, &ApprovalDecision::Grant(json!(1)), Some("ada"), 0));
    late(&|state| state.decide_approval(key, &ApprovalDecision::Reject("no".into()), None, 0));
    late(&|state| inject_approval(state, key, &1).map(|_| ()));
    // Replays see the same expiry.
    let again = refund(42, 150).clock(clock).run(run.state).await;
    assert!(matches!(again.outcome, Outcome::Completed(ref text) if text == "expired: escalated"));
}

#[tokio::test]
async fn below_the_limit_no_approval_is_asked() {
    let run = refund(7, 50).start().await;
    assert!(matches!(run.outcome, Outcome::Completed(ref text) if text == "refunded 50"));
    assert!(get_pending_approvals(&run.state).is_empty());
}

#[test]
fn inject_approval_clear_step_and_queries() {
    let mut state = ResumeState::new();
    let options = PendingApprovalOptions {
        reason: Some("why".into()),
        ..Default::default()
    };
    state.insert(
        "approve:1",
        StepEntry::pending_approval(&pending_approval("approve:1", options)),
    );
    state.insert("done", StepEntry::ok(&1).unwrap());
    assert!(has_pending_approval(&state, "approve:1"));
    assert!(!has_pending_approval(&state, "done"));
    let approved = inject_approval(&state, "approve:1", &json!({ "ok": true })).unwrap();
    assert!(
        has_pending_approval(&state, "approve:1"),
        "the input is untouched"
    );
    assert!(!has_pending_approval(&approved, "approve:1"));
    assert!(matches!(
        inject_approval(&state, "approve:2", &1),
        Err(InjectError::UnknownApproval { .. })
    ));
    assert!(matches!(
        inject_approval(&state, "done", &1),
        Err(InjectError::UnknownApproval { .. })
    ));
    let cleared = clear_step(&state, "approve:1");
    assert!(get_pending_approvals(&cleared).is_empty());
    let expired = PendingApprovalOptions {
        deadline_ms: Some(0),
        ..Default::default()
    };
    let mut overdue = ResumeState::new();
    overdue.insert(
        "approve:3",
        StepEntry::pending_approval(&pending_approval("approve:3", expired)),
    );
    assert!(matches!(
        overdue.grant_approval("approve:3", &1, "ada"),
        Err(InjectError::ApprovalExpired { .. })
    ));
}

#[workflow]
async fn clashing(key: String) -> Result<u32, String> {
    let loaded = step!("load", Ok::<u32, String>(1))?;
    let approved: Result<u32, ApprovalError> = await_approval!(key);
    Ok(loaded + approved.map_err(|error| error.to_string())?)
}

#[workflow]
async fn batch(ids: Vec<u32>, key: String) -> Result<u32, String> {
    let mut total = 0;
    for id in ids {
        let approved: Result<u32, ApprovalError> = await_approval!(key.clone());
        total += approved.map_err(|error| error.to_string())? + id;
    }
    Ok(total)
}

#[tokio::test]
async fn an_approval_key_another_site_or_approval_uses_stops_the_run_loudly() {
    // A key a step of the workflow uses (also with an occurrence suffix), or a hook key.
    for key in ["load", "load#2", "hook:h1"] {
        let run = clashing(key.to_owned()).start().await;
        let Outcome::Stopped(error) = &run.outcome else {
            panic!("{key}: {:?}", run.outcome)
        };
        let expected = if key.starts_with("hook:") {
            SiteKind::HookById
        } else {
            SiteKind::Step
        };
        assert_eq!(
            error,
            &RunError::ApprovalKeyTaken {
                key: key.to_owned(),
                site: expected
            }
        );
        assert!(
            error
                .to_string()
                .contains(&format!("approval key `{key}` is also the key of a")),
            "{error}"
        );
        // Nothing was read or recorded under the key.
        assert_eq!(run.state.keys().collect::<Vec<_>>(), ["load"], "{key}");
    }
    // The step's recorded value is not read as the approval's decision either.
    let mut state = ResumeState::new();
    state.insert("load", StepEntry::ok(&7).unwrap());
    let run = clashing("load".into()).run(state).await;
    assert!(matches!(
        run.outcome,
        Outcome::Stopped(RunError::ApprovalKeyTaken { .. })
    ));

    // The same key reached twice in one run (a fixed key in a loop): the first waits, and once it
    // is decided the second stops the run instead of reading the first one's decision.
    let run = batch(vec![1, 2], "approve:batch".into()).start().await;
    assert!(matches!(
        run.outcome,
        Outcome::Suspended(Suspension::Approval(_))
    ));
    let granted = inject_approval(&run.state, "approve:batch", &10).unwrap();
    let run = batch(vec![1, 2], "approve:batch".into()).run(granted).await;
    let Outcome::Stopped(error) = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(
        error,
        &RunError::RepeatedApprovalKey {
            key: "approve:batch".into()
        }
    );
    assert!(
        error
            .to_string()
            .contains("approval key `approve:batch` was reached twice in this run"),
        "{error}"
    );
    // One item, one approval: fine.
    let granted = inject_approval(
        &batch(vec![1], "approve:batch".into()).start().await.state,
        "approve:batch",
        &10,
    )
    .unwrap();
    assert!(matches!(
        batch(vec![1], "approve:batch".into())
            .run(granted)
            .await
            .outcome,
        Outcome::Completed(11)
    ));
}
