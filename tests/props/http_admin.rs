//! Properties of the administration router and the approvals' decision endpoint, driven
//! in-process, mounted as the documentation shows (`/admin`, `/approvals`, the `not_found`
//! fallback):
//!
//! - `GET /admin/hooks` and `GET /admin/approvals` over stores full of hostile run ids,
//!   workflows, hook ids, approval keys, reasons and metadata answer 200 with JSON that decodes
//!   to exactly what is stored, and each approval's `url` names exactly its run and key;
//! - hostile paths, queries, methods and headers under `/admin` get 200, 405 (with `Allow`), 413
//!   or the JSON 404, exactly as predicted;
//! - hostile run ids, keys, headers and bodies posted to `/approvals/{run_id}/{key}` get the
//!   documented answer, predicted from the request.
//!
//! Every answer within 5 s, without a panic, errors in the JSON shape. Cases per property:
//! `AWAITLY_PROPTEST_CASES` (see `tests/props/hostile/mod.rs`), printed with `-- --nocapture`.
#![cfg(feature = "http")]

use crate::hostile;

use std::sync::Arc;

use awaitly::durable::Engine;
use awaitly::http::axum::Router;
use awaitly::http::axum::http::{Method, StatusCode};
use awaitly::http::{
    ApprovalsConfig, HooksConfig, admin_router_with, approvals_router_with, hooks_router_with,
    not_found,
};
use awaitly::store::{Changes, MemoryStore, NewRun, RunOutcome};
use awaitly::{
    HookId, PendingApprovalOptions, PendingHookOptions, StepEntry, pending_approval, pending_hook,
};
use hostile::hostile_text;
use hostile::http::{
    Answer, Driver, Length, Segment, Tally, announces_json, check_shape, declared, json_value,
    length, method, payload, request, segment, segments, segments_after, suffix,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

const LIMIT: usize = 2 * 1024;

/// One application: the public hooks router, the decision endpoint, the administration router
/// under `/admin`, and `not_found` for everything else.
fn app(engine: &Arc<Engine>) -> Router {
    let hooks = HooksConfig::default().body_limit(LIMIT);
    Router::new()
        .merge(hooks_router_with(Arc::clone(engine), hooks.clone()))
        .merge(approvals_router_with(
            Arc::clone(engine),
            ApprovalsConfig::default().body_limit(LIMIT),
        ))
        .nest("/admin", admin_router_with(Arc::clone(engine), &hooks))
        .fallback(not_found)
}

/// A run to store: suspended at a hook, or waiting for an approval.
#[derive(Clone, Debug)]
struct Stored {
    run_id: String,
    workflow: String,
    waits: Waits,
}

#[derive(Clone, Debug)]
enum Waits {
    Hook {
        hook_id: String,
        metadata: Option<Value>,
    },
    Approval {
        key: String,
        reason: Option<String>,
        metadata: Option<Value>,
        requested_at: Option<u64>,
    },
}

/// Up to four hostile runs (ids made unique by a suffix).
fn stored_runs() -> impl Strategy<Value = Vec<Stored>> {
    let waits = prop_oneof![
        (hostile_text(16), prop::option::of(json_value()))
            .prop_map(|(hook_id, metadata)| Waits::Hook { hook_id, metadata }),
        (
            hostile_text(16),
            prop::option::of(hostile_text(24)),
            prop::option::of(json_value()),
            prop::option::of(0..4_000_000_000_000_u64),
        )
            .prop_map(|(key, reason, metadata, requested_at)| Waits::Approval {
                key,
                reason,
                metadata,
                requested_at,
            }),
    ];
    prop::collection::vec((hostile_text(16), hostile_text(12), waits), 0..4).prop_map(|runs| {
        runs.into_iter()
            .enumerate()
            .map(|(index, (run_id, workflow, mut waits))| {
                match &mut waits {
                    Waits::Hook { hook_id, .. } => *hook_id = format!("{hook_id}#{index}"),
                    // Keys are named in code; an empty one would have no decision URL.
                    Waits::Approval { key, .. } if key.is_empty() => key.push('k'),
                    Waits::Approval { .. } => {}
                }
                Stored {
                    run_id: format!("{run_id}#{index}"),
                    workflow,
                    waits,
                }
            })
            .collect()
    })
}

async fn store_run(engine: &Engine, run: &Stored) {
    let store = engine.store();
    let new = NewRun::new(run.run_id.clone(), run.workflow.clone(), 1, json!(null));
    store.create_run(new).await.expect("create a hostile run");
    let changes = match &run.waits {
        Waits::Hook { hook_id, metadata } => {
            let options = PendingHookOptions {
                metadata: metadata.clone(),
                ..PendingHookOptions::default()
            };
            let hook = pending_hook(HookId::from(hook_id.as_str()), options);
            Changes {
                entries: vec![(hook.step_key.clone(), StepEntry::pending(&hook))],
                outcome: Some(RunOutcome::Suspended { hook: hook.clone() }),
                suspend_at: Some(hook),
                ..Changes::default()
            }
        }
        Waits::Approval {
            key,
            reason,
            metadata,
            requested_at,
        } => {
            let options = PendingApprovalOptions {
                reason: reason.clone(),
                metadata: metadata.clone(),
                ..PendingApprovalOptions::default()
            };
            let mut approval = pending_approval(key.clone(), options);
            approval.requested_at_ms = *requested_at;
            Changes {
                entries: vec![(key.clone(), StepEntry::pending_approval(&approval))],
                outcome: Some(RunOutcome::AwaitingApproval { approval }),
                ..Changes::default()
            }
        }
    };
    store
        .save(&run.run_id, 0, changes)
        .await
        .expect("save a hostile run");
}

/// Whether `a` and `b` hold the same values, in any order.
fn same_items(a: &[Value], b: &[Value]) -> bool {
    let sorted = |values: &[Value]| {
        let mut texts: Vec<String> = values.iter().map(Value::to_string).collect();
        texts.sort();
        texts
    };
    sorted(a) == sorted(b)
}

fn get(target: &str) -> awaitly::http::axum::http::Request<awaitly::http::axum::body::Body> {
    request(&Method::GET, target, None, &Length::Absent, &[], Vec::new()).expect("a request")
}

/// The listing in `answer` under `field`, after checking it is a 200 JSON object.
fn listing(answer: &Answer, field: &str) -> Result<Vec<Value>, TestCaseError> {
    check_shape(answer, &Method::GET)?;
    prop_assert_eq!(answer.status, StatusCode::OK, "{:?}", answer);
    let body = answer.json().unwrap_or_default();
    let Some(Value::Array(items)) = body.get(field) else {
        return Err(TestCaseError::fail(format!("no `{field}` array: {body}")));
    };
    Ok(items.clone())
}

#[test]
fn listings_of_hostile_stored_data_are_json_that_decodes_to_what_is_stored() {
    let cases = hostile::cases(500);
    let driver = Driver::default();
    hostile::runner(cases)
        .run(&stored_runs(), |runs| {
            let engine = Arc::new(Engine::new(MemoryStore::new()));
            driver.block_on(async {
                for run in &runs {
                    store_run(&engine, run).await;
                }
            });
            let app = app(&engine);
            let hooks = listing(&driver.send(&app, get("/admin/hooks"))?, "hooks")?;
            let mut listed = Vec::new();
            for hook in &hooks {
                let url = hook["url"].as_str().unwrap_or_default();
                prop_assert!(url.starts_with("/hooks/"), "{}", hook);
                prop_assert!(hook["age_ms"].is_u64(), "{}", hook);
                listed.push(json!([
                    hook["run_id"].as_str().unwrap_or_default().to_owned(),
                    hook["hook_id"].as_str().unwrap_or_default().to_owned(),
                    hook["metadata"],
                ]));
            }
            let stored = runs
                .iter()
                .filter_map(|run| match &run.waits {
                    Waits::Hook { hook_id, metadata } => {
                        Some(json!([run.run_id, hook_id, metadata]))
                    }
                    Waits::Approval { .. } => None,
                })
                .collect::<Vec<Value>>();
            prop_assert!(same_items(&listed, &stored), "{:?} ≠ {:?}", listed, stored);

            let approvals = listing(&driver.send(&app, get("/admin/approvals"))?, "approvals")?;
            let mut listed = Vec::new();
            let mut requested = Vec::new();
            for approval in &approvals {
                let text = |field: &str| approval[field].as_str().unwrap_or_default().to_owned();
                // The decision's URL names exactly this run and key, however hostile.
                let url = text("url");
                prop_assert!(url.bytes().all(|byte| byte.is_ascii_graphic()), "{}", url);
                prop_assert_eq!(
                    segments_after(&url, "/approvals/", 2),
                    vec![Segment::Text(text("run_id")), Segment::Text(text("key"))]
                );
                prop_assert!(approval["age_ms"].is_u64(), "{}", approval);
                requested.push(approval["requested_at_ms"].as_u64());
                listed.push(json!([
                    text("run_id"),
                    text("workflow"),
                    text("key"),
                    approval["reason"],
                    approval["metadata"],
                    approval["requested_at_ms"],
                ]));
            }
            // Oldest first.
            prop_assert!(requested.is_sorted(), "{:?}", requested);
            let stored = runs
                .iter()
                .filter_map(|run| match &run.waits {
                    Waits::Approval {
                        key,
                        reason,
                        metadata,
                        requested_at,
                    } => Some(json!([
                        run.run_id,
                        run.workflow,
                        key,
                        reason,
                        metadata,
                        requested_at
                    ])),
                    Waits::Hook { .. } => None,
                })
                .collect::<Vec<Value>>();
            prop_assert!(same_items(&listed, &stored), "{:?} ≠ {:?}", listed, stored);
            Ok(())
        })
        .unwrap();
    println!("admin listings: {cases} stores of hostile runs");
}

/// Where a hostile request to the administration router goes.
fn admin_target() -> impl Strategy<Value = String> {
    let path = prop_oneof![
        4 => prop::sample::select(&["/admin/hooks", "/admin/approvals"][..]).prop_map(str::to_owned),
        1 => prop::sample::select(
            &["/admin", "/admin/", "/admin/hooks/", "/admin//hooks", "/admin/HOOKS", "/admin/%68ooks"][..]
        )
        .prop_map(str::to_owned),
        2 => segments().prop_map(|text| format!("/admin/{text}")),
        1 => segments().prop_map(|text| format!("/admin/approvals/{text}")),
    ];
    (path, suffix()).prop_map(|(path, suffix)| format!("{path}{suffix}"))
}

#[test]
fn hostile_paths_queries_methods_and_headers_under_admin_get_the_documented_answer() {
    let cases = hostile::cases(1_000);
    let driver = Driver::default();
    let engine = Arc::new(Engine::new(MemoryStore::new()));
    driver.block_on(async {
        let runs = stored_runs_example();
        for run in &runs {
            store_run(&engine, run).await;
        }
    });
    let app = app(&engine);
    let tally = Tally::default();
    let strategy = (
        method(Method::GET),
        admin_target(),
        hostile::http::content_type(),
        length(LIMIT),
        payload(LIMIT),
    );
    hostile::runner(cases)
        .run(
            &strategy,
            |(method, target, content_type, length, payload)| {
                let body = payload.bytes();
                let path = &target[..target.find(['?', '#']).unwrap_or(target.len())];
                let listing = path == "/admin/hooks" || path == "/admin/approvals";
                let too_long = declared(&length, body.len()).is_some_and(|n| n > LIMIT as u64);
                let expected = match (listing, too_long) {
                    (false, _) => (StatusCode::NOT_FOUND, "not_found"),
                    (true, true) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
                    (true, false) if method == Method::GET || method == Method::HEAD => {
                        (StatusCode::OK, "")
                    }
                    (true, false) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
                };
                let content_type = content_type.as_deref();
                let request = request(&method, &target, content_type, &length, &[], body)?;
                let answer = driver.send(&app, request)?;
                tally.record(&answer);
                check_shape(&answer, &method)?;
                prop_assert_eq!(answer.status, expected.0, "{:?}", answer);
                if method != Method::HEAD && !expected.1.is_empty() {
                    prop_assert_eq!(answer.code(), expected.1, "{:?}", answer);
                }
                Ok(())
            },
        )
        .unwrap();
    println!(
        "admin router: {cases} hostile requests: {}",
        tally.summary()
    );
}

/// A few hostile runs for the routers to list while they are probed.
fn stored_runs_example() -> Vec<Stored> {
    let hostile = "\u{1b}]0;pwned\u{7}/../?#%zz\u{202e}\u{9b}";
    vec![
        Stored {
            run_id: format!("run-{hostile}"),
            workflow: hostile.to_owned(),
            waits: Waits::Hook {
                hook_id: format!("hook-{hostile}"),
                metadata: Some(json!({ hostile: [hostile] })),
            },
        },
        Stored {
            run_id: PENDING_RUN.to_owned(),
            workflow: hostile.to_owned(),
            waits: Waits::Approval {
                key: "approve:refund".to_owned(),
                reason: Some(hostile.to_owned()),
                metadata: Some(json!(hostile)),
                requested_at: Some(1_700_000_000_000),
            },
        },
    ]
}

/// The run that waits for an approval in [`stored_runs_example`].
const PENDING_RUN: &str = "run-waiting";

/// A field of a decision body: there most of the time.
fn present(strategy: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(0.85, strategy)
}

/// A decision body: hostile bytes or JSON, or shaped like a decision with each field present,
/// absent, of the wrong type, or hostile.
fn decision_body() -> impl Strategy<Value = Vec<u8>> {
    let decision = prop_oneof![
        6 => prop::sample::select(&["approve", "edit", "reject"][..]).prop_map(|text| json!(text)),
        1 => prop::sample::select(&["Approve", "", "maybe"][..]).prop_map(|text| json!(text)),
        1 => json_value(),
    ];
    let text = prop_oneof![
        3 => hostile_text(12).prop_map(|text| json!(text)),
        1 => Just(json!("  \t")),
        1 => json_value(),
    ];
    let shaped = (
        present(decision),
        present(json_value()),
        present(text.clone()),
        present(text),
        prop::option::weighted(0.1, json_value()),
    )
        .prop_map(|(decision, value, reason, actor, extra)| {
            let mut body = serde_json::Map::new();
            let fields = [("decision", decision), ("value", value), ("reason", reason)];
            for (field, content) in fields.into_iter().chain([("actor", actor), ("x", extra)]) {
                if let Some(content) = content {
                    body.insert(field.to_owned(), content);
                }
            }
            Value::Object(body).to_string().into_bytes()
        });
    prop_oneof![
        2 => payload(LIMIT).prop_map(|payload| payload.bytes()),
        3 => shaped,
    ]
}

/// Whether a decision body is one the endpoint takes (the table in `approvals_router`'s
/// documentation): an object with only `decision`, `value`, `reason` and `actor`; a non-blank
/// `actor`; `approve` and `edit` with a `value` (not `null`), `reject` with a non-blank
/// `reason`.
fn valid_decision(body: &Value) -> bool {
    let Value::Object(fields) = body else {
        return false;
    };
    let known = ["decision", "value", "reason", "actor"];
    let text = |field: &str| match fields.get(field) {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(text)) => Some(Some(text.as_str())),
        Some(_) => None,
    };
    let (Some(Some(decision)), Some(reason), Some(actor)) =
        (text("decision"), text("reason"), text("actor"))
    else {
        return false;
    };
    let non_blank = |text: Option<&str>| text.is_some_and(|text| !text.trim().is_empty());
    let value = fields.get("value").is_some_and(|value| !value.is_null());
    fields.keys().all(|field| known.contains(&field.as_str()))
        && non_blank(actor)
        && match decision {
            "approve" | "edit" => value,
            "reject" => non_blank(reason),
            _ => false,
        }
}

#[test]
fn hostile_decisions_get_the_documented_answer() {
    let cases = hostile::cases(1_000);
    let driver = Driver::default();
    let engine = Arc::new(Engine::new(MemoryStore::new()));
    driver.block_on(async {
        for run in &stored_runs_example() {
            store_run(&engine, run).await;
        }
    });
    let app = app(&engine);
    let tally = Tally::default();
    let target = prop_oneof![
        3 => (segment(), segment()).prop_map(|(run, key)| format!("/approvals/{run}/{key}")),
        1 => segments().prop_map(|text| format!("/approvals/{text}")),
        2 => segment().prop_map(|key| format!("/approvals/{PENDING_RUN}/{key}")),
    ];
    let strategy = (
        method(Method::POST),
        (target, suffix()),
        hostile::http::content_type(),
        length(LIMIT),
        decision_body(),
    );
    hostile::runner(cases)
        .run(
            &strategy,
            |(method, (target, suffix), content_type, length, body)| {
                let target = format!("{target}{suffix}");
                let content_type = content_type.as_deref();
                let segments = segments_after(&target, "/approvals/", 2);
                let too_long = declared(&length, body.len()).is_some_and(|n| n > LIMIT as u64);
                let decoded = serde_json::from_slice::<Value>(&body);
                // `/approvals/` itself: the router's own 404, after the body limit, any method.
                let bare = target.split(['?', '#']).next() == Some("/approvals/");
                let expected = if too_long {
                    (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
                } else if bare || segments == [Segment::NotOne] {
                    (StatusCode::NOT_FOUND, "not_found")
                } else if method != Method::POST {
                    (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
                } else if segments.contains(&Segment::Undecodable) {
                    (StatusCode::NOT_FOUND, "unknown_approval")
                } else if !announces_json(content_type) {
                    (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
                } else if body.len() > LIMIT {
                    (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
                } else if decoded.is_err() {
                    (StatusCode::BAD_REQUEST, "malformed_json")
                } else if !decoded.as_ref().is_ok_and(valid_decision) {
                    (StatusCode::UNPROCESSABLE_ENTITY, "invalid_decision")
                } else if segments[0] == Segment::Text(PENDING_RUN.to_owned()) {
                    (StatusCode::NOT_FOUND, "unknown_approval")
                } else {
                    (StatusCode::NOT_FOUND, "unknown_run")
                };
                let request = request(&method, &target, content_type, &length, &[], body)?;
                let answer = driver.send(&app, request)?;
                tally.record(&answer);
                check_shape(&answer, &method)?;
                prop_assert_eq!(answer.status, expected.0, "{:?}", answer);
                if method != Method::HEAD {
                    prop_assert_eq!(answer.code(), expected.1, "{:?}", answer);
                }
                Ok(())
            },
        )
        .unwrap();
    println!(
        "approval decisions: {cases} hostile requests: {}",
        tally.summary()
    );
}
