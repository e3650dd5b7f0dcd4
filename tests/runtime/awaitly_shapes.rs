//! Shapes of resume states as awaitly writes them (issue 12, items 1–4): approvals it decided,
//! entries whose markers its serialiser dropped, lone surrogates, `undefined` values and errors.
//! The interop fixtures (tests/interop.rs, interop/) exercise the same shapes end to end against
//! the real awaitly; these tests pin each one down with the exact JSON awaitly writes.

use std::sync::Arc;
use std::time::Duration;

use awaitly::{
    ApprovalError, ManualClock, Outcome, ResumeState, Suspension, await_approval, await_hook,
    check_compatibility, sleep, step, workflow,
};

#[workflow]
async fn refund() -> Result<u32, String> {
    let amount: Result<u32, ApprovalError> = await_approval!("approve:refund:42");
    amount.map_err(|error| error.to_string())
}

/// Item 1: `injectApproval` (and `createApprovalStep`) record a plain `{"ok":true,"value":…}`.
#[tokio::test]
async fn an_approval_decided_by_awaitly_is_accepted() {
    let state = ResumeState::from_json(
        r#"{"kind":"ResumeState","steps":[["approve:refund:42",{"ok":true,"value":120}]]}"#,
    )
    .unwrap();
    assert!(check_compatibility(refund().description(), &state).is_ok());
    let run = refund().run(state).await;
    assert!(
        matches!(run.outcome, Outcome::Completed(120)),
        "{:?}",
        run.outcome
    );
}

/// Item 1, the other outcomes as awaitly records them: rejected and pending.
#[tokio::test]
async fn approvals_rejected_or_pending_in_awaitly_replay() {
    let rejected = ResumeState::from_json(
        r#"{"kind":"ResumeState","steps":[["approve:refund:42",{"ok":false,"error":{"type":"APPROVAL_REJECTED","stepKey":"approve:refund:42","reason":"over budget"},"cause":{"type":"thrown","originalType":"undefined","stringRepresentation":"undefined"},"meta":{"origin":"result"}}]]}"#,
    )
    .unwrap();
    let run = refund().run(rejected).await;
    assert!(
        matches!(&run.outcome, Outcome::Failed(reason) if reason.contains("over budget")),
        "{:?}",
        run.outcome
    );
    let pending = ResumeState::from_json(
        r#"{"kind":"ResumeState","steps":[["approve:refund:42",{"ok":false,"error":{"type":"PENDING_APPROVAL","stepKey":"approve:refund:42"},"cause":{"type":"thrown","originalType":"undefined","stringRepresentation":"undefined"},"meta":{"origin":"result"}}]]}"#,
    )
    .unwrap();
    let run = refund().run(pending).await;
    assert!(
        matches!(&run.outcome, Outcome::Suspended(Suspension::Approval(request)) if request.step_key == "approve:refund:42"),
        "{:?}",
        run.outcome
    );
}

/// A plain success under a key no site has is still unknown, approval sites or not.
#[tokio::test]
async fn a_plain_entry_no_site_accounts_for_is_still_refused() {
    let state = ResumeState::from_json(
        r#"{"kind":"ResumeState","steps":[["approve:refund:42",{"ok":false,"error":"GATEWAY_DOWN","cause":{"type":"thrown","originalType":"undefined","stringRepresentation":"undefined"}}]]}"#,
    )
    .unwrap();
    let problem = check_compatibility(refund().description(), &state).unwrap_err();
    assert_eq!(problem.unknown_keys, ["approve:refund:42"]);
    // A success under a key the approval site cannot ask under (its key is a literal) is a
    // removed step, not an approval.
    let state = ResumeState::from_json(
        r#"{"kind":"ResumeState","steps":[["reserve",{"ok":true,"value":1}]]}"#,
    )
    .unwrap();
    let problem = check_compatibility(refund().description(), &state).unwrap_err();
    assert_eq!(problem.unknown_keys, ["reserve"]);
    let state = ResumeState::from_json(
        r#"{"kind":"ResumeState","steps":[["pay",{"ok":true,"value":"h1"}]]}"#,
    )
    .unwrap();
    let problem = check_compatibility(created().description(), &state).unwrap_err();
    assert_eq!(problem.unknown_keys, ["pay"]);
}

#[workflow]
async fn created() -> Result<u32, String> {
    let paid: u32 = await_hook!("payment");
    Ok(paid)
}

/// Item 2: a created hook whose `createdHook` marker awaitly's serialiser dropped.
#[tokio::test]
async fn a_created_hook_without_its_marker_still_replays() {
    let state = ResumeState::from_json(
        r#"{"kind":"ResumeState","steps":[["payment",{"ok":true,"value":"h1"}],["hook:h1",{"ok":true,"value":7}]]}"#,
    )
    .unwrap();
    let run = created().run(state).await;
    assert!(
        matches!(run.outcome, Outcome::Completed(7)),
        "{:?}",
        run.outcome
    );
    // The run put the marker back: the state says what the entry is again.
    assert_eq!(
        run.state.get("payment").unwrap().created_hook_id(),
        Some(&"h1".into())
    );

    // Still waiting: the run suspends at the same hook, it does not mint another.
    let state = ResumeState::from_json(
        r#"{"kind":"ResumeState","steps":[["payment",{"ok":true,"value":"h1"}],["hook:h1",{"ok":false,"error":{"type":"PENDING_HOOK","hookId":"h1","stepKey":"hook:h1"},"cause":{"type":"thrown","originalType":"undefined","stringRepresentation":"undefined"},"meta":{"origin":"result"}}]]}"#,
    )
    .unwrap();
    let run = created().run(state).await;
    assert_eq!(
        run.outcome.pending_hook().map(|hook| hook.hook_id.clone()),
        Some("h1".into())
    );
}

#[workflow]
async fn nap() -> Result<u32, String> {
    sleep!("nap", Duration::from_mins(1));
    step!("after", Ok::<u32, String>(1))
}

/// Item 2: a sleep whose `sleep` marker was dropped: its wake-up time still holds.
#[tokio::test]
async fn a_sleep_without_its_marker_still_replays() {
    let text = r#"{"kind":"ResumeState","steps":[["nap",{"ok":true,"value":{"wakeAt":60000}}]]}"#;
    let early = nap()
        .clock(Arc::new(ManualClock::new(59_999)))
        .run(ResumeState::from_json(text).unwrap())
        .await;
    assert!(
        matches!(
            early.outcome,
            Outcome::Suspended(Suspension::Sleep {
                wake_at_ms: 60_000,
                ..
            })
        ),
        "{:?}",
        early.outcome
    );
    let due = nap()
        .clock(Arc::new(ManualClock::new(60_000)))
        .run(ResumeState::from_json(text).unwrap())
        .await;
    assert!(
        matches!(due.outcome, Outcome::Completed(1)),
        "{:?}",
        due.outcome
    );
    assert_eq!(due.state.get("nap").unwrap().sleep_until(), Some(60_000));
}

#[workflow]
async fn granted() -> Result<u32, String> {
    let amount: Result<u32, ApprovalError> = await_approval!("approve:refund:42");
    let amount = amount.map_err(|error| error.to_string())?;
    step!("pay", Ok::<u32, String>(amount))
}

/// Item 2: an approval granted in Rust (marker `approval`) that went through awaitly's serialiser.
#[tokio::test]
async fn a_granted_approval_without_its_marker_still_replays() {
    let run = granted().start().await;
    let mut state = run.state;
    state
        .grant_approval("approve:refund:42", &80, "grace")
        .unwrap();
    // What awaitly's serializeResumeState keeps of it.
    let text = state.to_json();
    assert!(text.contains(r#""approval":"#), "{text}");
    let stripped =
        r#"{"kind":"ResumeState","steps":[["approve:refund:42",{"ok":true,"value":80}]]}"#;
    let run = granted()
        .run(ResumeState::from_json(stripped).unwrap())
        .await;
    assert!(
        matches!(run.outcome, Outcome::Completed(80)),
        "{:?}",
        run.outcome
    );
}

const NO_CAUSE: &str =
    r#"{"type":"thrown","originalType":"undefined","stringRepresentation":"undefined"}"#;

#[workflow]
async fn echo(hook: awaitly::HookId) -> Result<String, String> {
    let note: String = step!("note", Ok::<String, String>("not replayed".into()))?;
    let more: String = await_hook!(hook);
    step!("echo", Ok::<String, String>(format!("{note}|{more}")))
}

/// Item 3: lone surrogates in a key, a value, an error, a nested cause and hook metadata are read
/// and written back byte for byte; a value holding one replays and is recorded again faithfully.
#[tokio::test]
async fn lone_surrogates_are_kept_byte_for_byte() {
    let text = format!(
        concat!(
            r#"{{"kind":"ResumeState","version":1,"steps":["#,
            r#"["cut\ud83d",{{"ok":false,"error":{{"type":"E","message":"\ude00 \ud83d"}},"#,
            r#""cause":{{"type":"error","name":"Error","message":"outer","stack":"s","#,
            r#""cause":{{"type":"error","name":"TypeError","message":"inner \ud83d","stack":"t"}}}},"#,
            r#""meta":{{"origin":"throw"}}}}],"#,
            r#"["note",{{"ok":true,"value":"half \ud83d"}}],"#,
            r#"["hook:h1",{{"ok":false,"error":{{"type":"PENDING_HOOK","hookId":"h1","stepKey":"hook:h1","metadata":{{"title":"\ud83d"}}}},"cause":{no_cause},"meta":{{"origin":"result"}}}}]"#,
            "]}}"
        ),
        no_cause = NO_CAUSE
    );
    let state = ResumeState::from_json(&text).unwrap();
    assert_eq!(state.to_json(), text);
    assert!(state.to_json_pretty().contains(r#""cut\ud83d","#));

    // The run reads the pending hook (its metadata intact) and suspends; nothing is lost. (The
    // failure under the cut key belongs to no site of `echo`: cleared first.)
    let cut = state.keys().find(|key| key.starts_with("cut")).unwrap();
    let state = awaitly::clear_step(&state, cut);
    let run = echo("h1".into()).run(state).await;
    assert!(run.outcome.pending_hook().is_some(), "{:?}", run.outcome);
    assert!(
        run.state
            .to_json()
            .contains(r#""metadata":{"title":"\ud83d"}"#)
    );

    // The value holding a lone unit replays into a `String` and, recorded again, goes back to
    // awaitly as the same lone unit.
    let delivered = awaitly::inject_hook(&run.state, &"h1".into(), &"ok").unwrap();
    let run = echo("h1".into()).run(delivered).await;
    assert!(run.outcome.is_completed(), "{:?}", run.outcome);
    assert!(
        run.state
            .to_json()
            .contains(r#"["echo",{"ok":true,"value":"half \ud83d|ok"}]"#),
        "{}",
        run.state.to_json()
    );
}

#[workflow]
async fn maybe() -> Result<Option<u32>, String> {
    let nothing: Option<u32> = step!("nothing", Ok::<Option<u32>, String>(Some(1)))?;
    Ok(nothing)
}

/// Item 4: `undefined` (no `value`, no `error`) stays absent; errors keep their key order and
/// number spelling.
#[tokio::test]
async fn absent_is_not_null_and_errors_keep_their_text() {
    let text = format!(
        concat!(
            r#"{{"kind":"ResumeState","version":1,"steps":["#,
            r#"["nothing",{{"ok":true}}],"#,
            r#"["gone",{{"ok":false,"cause":{no_cause},"meta":{{"origin":"result"}}}}],"#,
            r#"["ordered",{{"ok":false,"error":{{"type":"E","z":1.0,"a":1e21,"m":{{"y":1,"b":2}}}},"#,
            r#""cause":{{"type":"error","name":"Error","message":"m","stack":"s"}},"meta":{{"origin":"throw"}}}}]"#,
            "]}}"
        ),
        no_cause = NO_CAUSE
    );
    let state = ResumeState::from_json(&text).unwrap();
    assert_eq!(state.to_json(), text);
    assert_eq!(state.get("nothing").unwrap().value_json(), Some("null"));
    assert_eq!(
        state.get("gone").unwrap().error(),
        Some(&serde_json::Value::Null)
    );
    assert_eq!(state.get("ordered").unwrap().error().unwrap()["m"]["b"], 2);

    // `undefined` replays as `None`; the state the run returns still says `undefined`.
    let mut only = ResumeState::new();
    only.insert("nothing", state.get("nothing").unwrap().clone());
    let run = maybe().run(only).await;
    assert!(
        matches!(run.outcome, Outcome::Completed(None)),
        "{:?}",
        run.outcome
    );
    assert!(run.state.to_json().contains(r#"["nothing",{"ok":true}]"#));
}
