//! Workflow descriptions rendered as Mermaid flowcharts, alone and with a run drawn over them
//! (golden files in `tests/fixtures/diagrams/`, regenerated with `AWAITLY_BLESS=1`): sites in
//! order, constructs as forks and joins, fan-out progress, children, undos and cancellation.

use std::sync::Arc;
use std::time::Duration;

use awaitly::Clock as _;
use awaitly::{
    ApprovalError, ChildError, FanOutProgress, HookId, ManualClock, Outcome, ResumeState, SiteKind,
    SiteStatus, Suspension, all, await_approval, await_hook, child, fan_out, fan_out_progress,
    inject_hook, race, recorded_fan_out_progress, site_status, sleep, step, workflow,
};

#[workflow]
async fn fulfilment(hook: HookId, items: Vec<&'static str>, express: bool) -> Result<u32, String> {
    let order = step!("create-order", Ok::<u32, String>(1))?;
    let paid: u32 = await_hook!(hook, metadata = "payment");
    for item in &items {
        step!("pack", key = item, Ok::<(), String>(()))?;
    }
    if express {
        let _: Result<bool, ApprovalError> = await_approval!(format!("approve:express:{order}"));
    }
    sleep!("cool-off", Duration::from_hours(1));
    step!("ship \"now\" <fast>", Ok::<u32, String>(paid))
}

fn check_golden(name: &str, text: &str) {
    let path = format!(
        "{}/tests/fixtures/diagrams/{name}.mmd",
        env!("CARGO_MANIFEST_DIR")
    );
    if std::env::var_os("AWAITLY_BLESS").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap_or_default(),
        text,
        "{path} differs"
    );
}

#[test]
fn the_description_lists_sites_in_source_order_with_loop_and_branch_flags() {
    let description = fulfilment("h".into(), vec![], false).description();
    let shape: Vec<(SiteKind, &str, bool, bool, bool)> = description
        .sites
        .iter()
        .map(|site| {
            (
                site.kind,
                site.key,
                site.per_item,
                site.in_loop,
                site.in_branch,
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (SiteKind::Step, "create-order", false, false, false),
            (SiteKind::HookById, "hook", false, false, false),
            (SiteKind::Step, "pack", true, true, false),
            (
                SiteKind::Approval,
                "format!(\"approve:express:{order}\")",
                false,
                false,
                true
            ),
            (SiteKind::Sleep, "cool-off", false, false, false),
            (SiteKind::Step, "ship \"now\" <fast>", false, false, false),
        ]
    );
    check_golden("fulfilment", &description.to_mermaid());
}

#[tokio::test]
async fn a_run_is_drawn_over_the_diagram() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let items = vec!["lamp", "desk"];
    let run = fulfilment("h1".into(), items.clone(), true)
        .clock(clock.clone())
        .start()
        .await;
    clock.advance(Duration::from_mins(5));
    let description = fulfilment("h1".into(), vec![], true).description();
    let status = |index: usize, state| {
        site_status(
            description,
            &description.sites[index],
            state,
            clock.now_ms(),
        )
    };
    assert_eq!(status(0, &run.state), SiteStatus::Completed);
    assert_eq!(
        status(1, &run.state),
        SiteStatus::Pending {
            waiting_on: "h1".into(),
            age_ms: Some(300_000)
        }
    );
    assert_eq!(status(1, &run.state).to_string(), "pending on h1 for 5m");
    assert_eq!(status(2, &run.state), SiteStatus::NotReached);
    check_golden(
        "fulfilment-suspended",
        &description.to_mermaid_with_run(&run.state, clock.now_ms()),
    );

    let state = inject_hook(&run.state, &"h1".into(), &7).unwrap();
    let run = fulfilment("h1".into(), items, true)
        .clock(clock.clone())
        .run(state)
        .await;
    assert_eq!(status(1, &run.state), SiteStatus::Completed);
    assert_eq!(status(2, &run.state), SiteStatus::Completed);
    assert!(
        matches!(status(3, &run.state), SiteStatus::Pending { ref waiting_on, .. } if waiting_on == "approve:express:1")
    );
    check_golden(
        "fulfilment-approval",
        &description.to_mermaid_with_run(&run.state, clock.now_ms()),
    );
}

/// The constructs of issue 14 in one workflow: a compensated step, parallel branches (one waits
/// for a payment), a race, a fan-out whose even items wait for a confirmation, and a child.
#[workflow]
async fn dispatch(orders: Vec<u32>) -> Result<u32, String> {
    let reserved = step!(
        "reserve",
        compensate = |_: u32| std::future::ready(Ok::<(), String>(())),
        Ok::<u32, String>(3)
    )?;
    let (stock, paid) = all!("checkout",
        stock => step!("count", Ok::<u32, String>(reserved)),
        payment => {
            let paid: u32 = await_hook!("payment");
            step!("capture", Ok::<u32, String>(paid))
        },
    );
    let quote = race!("quote",
        fast => step!("ask-fast", Ok::<u32, String>(1)),
        slow => {
            sleep!("patience", Duration::from_mins(5));
            Ok::<u32, String>(2)
        },
    )?;
    let shipped = fan_out!("ship-all", order in orders, key = order, concurrency = 2, {
        step!("pack", Ok::<u32, String>(order))?;
        if order % 2 == 0 {
            let confirmed: bool = await_hook!("confirm");
            if !confirmed {
                return Err(format!("{order} refused"));
            }
        }
        Ok::<u32, String>(order)
    });
    let shipped: Vec<u32> = shipped.into_iter().collect::<Result<_, _>>()?;
    let invoiced: Result<u32, ChildError<String>> = child!("invoice", "invoicing", &shipped);
    Ok(stock? + paid? + quote + invoiced.map_err(|error| error.to_string())?)
}

/// `chart` with the run's random hook ids replaced by `hook-1`, `hook-2`, … in recording order.
fn stable(chart: &str, state: &ResumeState) -> String {
    let mut chart = chart.to_owned();
    let ids = state
        .iter()
        .filter_map(|(_, entry)| entry.created_hook_id().cloned());
    for (number, id) in ids.enumerate() {
        chart = chart.replace(id.as_str(), &format!("hook-{}", number + 1));
    }
    chart
}

/// Delivers `payload` to every hook `run` waits at.
fn deliver_all<T: serde::Serialize>(run: &awaitly::Run<u32, String>, payload: &T) -> ResumeState {
    let mut state = run.state.clone();
    if let Outcome::Suspended(suspension) = &run.outcome {
        for waiting in suspension.each() {
            if let Suspension::Hook(hook) = waiting {
                state = inject_hook(&state, &hook.hook_id, payload).unwrap();
            }
        }
    }
    state
}

/// A site's kind, key and enclosing construct.
type Shape<'a> = (SiteKind, &'a str, Option<(u16, &'a str)>);

#[test]
fn a_description_names_the_construct_and_branch_of_each_site() {
    let description = dispatch(vec![]).description();
    let shape: Vec<Shape<'_>> = description
        .sites
        .iter()
        .map(|site| (site.kind, site.key, site.parent))
        .collect();
    assert_eq!(
        shape,
        [
            (SiteKind::Step, "reserve", None),
            (SiteKind::Parallel, "checkout", None),
            (SiteKind::Step, "count", Some((1, "stock"))),
            (SiteKind::CreatedHook, "payment", Some((1, "payment"))),
            (SiteKind::Step, "capture", Some((1, "payment"))),
            (SiteKind::Race, "quote", None),
            (SiteKind::Step, "ask-fast", Some((5, "fast"))),
            (SiteKind::Sleep, "patience", Some((5, "slow"))),
            (SiteKind::FanOut, "ship-all", None),
            (SiteKind::Step, "pack", Some((8, ""))),
            (SiteKind::CreatedHook, "confirm", Some((8, ""))),
            (SiteKind::Child, "invoice", None),
        ]
    );
    check_golden("dispatch", &description.to_mermaid());
}

#[tokio::test]
async fn constructs_are_drawn_over_a_run_with_fan_out_progress_children_and_cancellation() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let orders: Vec<u32> = (1..=6).collect();
    let description = dispatch(vec![]).description();
    let start = || dispatch(orders.clone()).clock(clock.clone());

    // Waits for the payment in one branch; the other is done.
    let run = start().start().await;
    let status = |index: usize, state: &ResumeState| {
        site_status(
            description,
            &description.sites[index],
            state,
            clock.now_ms(),
        )
    };
    assert_eq!(status(2, &run.state), SiteStatus::Completed);
    assert!(matches!(status(1, &run.state), SiteStatus::Pending { .. }));

    // Paid: the race is won by `fast`; the fan-out parks items 2 and 4 (concurrency 2), with 5
    // and 6 not started.
    let run = start().run(deliver_all(&run, &40)).await;
    assert_eq!(
        run.state.get("quote").unwrap().value_json(),
        Some("\"fast\"")
    );
    let progress = fan_out_progress(description, &run.state, clock.now_ms());
    assert_eq!(
        progress,
        [FanOutProgress {
            key: "ship-all".into(),
            items: 6,
            done: 2,
            in_flight: 2,
            pending: 2
        }]
    );
    assert_eq!(progress[0].to_string(), "2 done / 2 in flight / 2 pending");
    assert_eq!(
        recorded_fan_out_progress(&run.state, clock.now_ms()),
        progress
    );
    // `pack` is done in the 4 items that started, of 6.
    assert_eq!(
        status(9, &run.state),
        SiteStatus::Partial {
            completed: 4,
            of: 6
        }
    );
    assert_eq!(status(1, &run.state), SiteStatus::Completed);
    let chart = description.to_mermaid_with_run(&run.state, clock.now_ms());
    assert!(chart.contains("fan-out ship-all<br/>2 done / 2 in flight / 2 pending"));
    assert!(chart.contains(r#"site5join[\"winner: fast"/]"#), "{chart}");
    check_golden("dispatch-fan-out", &stable(&chart, &run.state));

    // Confirmed, round after round: the parent waits for its child.
    let mut run = run;
    while !run.state.keys().any(|key| key == "invoice") {
        run = start().run(deliver_all(&run, &true)).await;
    }
    let progress = fan_out_progress(description, &run.state, clock.now_ms());
    assert_eq!((progress[0].done, progress[0].pending), (6, 0));
    let chart = description.to_mermaid_with_durable_run("order-1", &run.state, clock.now_ms());
    assert!(
        chart.contains("child workflow invoice<br/>workflow invoicing<br/>run order-1/invoice")
    );
    check_golden("dispatch-child", &stable(&chart, &run.state));

    // Cancelled while it waits for the child: the reservation is undone.
    let mut state = run.state.clone();
    state.cancel("customer left");
    let cancelled = start().run(state).await;
    assert!(matches!(cancelled.outcome, Outcome::Cancelled(_)));
    let chart = description.to_mermaid_with_run(&cancelled.state, clock.now_ms());
    assert!(chart.contains("class site0 undone"), "{chart}");
    assert!(chart.contains(r#"finish(["cancelled: customer left"])"#));
    check_golden("dispatch-cancelled", &stable(&chart, &cancelled.state));
}

#[workflow]
async fn failing_undo() -> Result<u32, String> {
    step!(
        "reserve",
        compensate = |_: u32| std::future::ready(Err::<(), String>("inventory down".into())),
        Ok::<u32, String>(1)
    )?;
    step!("charge", Err::<u32, String>("declined".into()))
}

#[tokio::test]
async fn a_failed_undo_is_drawn() {
    let run = failing_undo().start().await;
    let chart = failing_undo()
        .description()
        .to_mermaid_with_run(&run.state, 0);
    assert!(
        chart.contains(r#"site0["step reserve<br/>undo failed"]"#),
        "{chart}"
    );
    assert!(chart.contains("class site0 undoFailed"));
    assert!(chart.contains("class site1 failed"));
}

#[test]
fn hostile_branch_free_labels_stay_inside_their_quotes() {
    // Keys come from labels (checked at compile time); a state's race winner is free text.
    let description = dispatch(vec![]).description();
    let mut state = ResumeState::new();
    state.insert("quote", awaitly::StepEntry::ok(&"x\"]\n<script>").unwrap());
    let chart = description.to_mermaid_with_run(&state, 0);
    assert!(chart.contains("winner: x#quot;] #lt;script#gt;"), "{chart}");
}
