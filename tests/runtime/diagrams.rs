//! Workflow descriptions rendered as Mermaid flowcharts, alone and with a run drawn over them
//! (golden files in `tests/fixtures/diagrams/`, regenerated with `AWAITLY_BLESS=1`).

use std::sync::Arc;
use std::time::Duration;

use awaitly::Clock as _;
use awaitly::{
    ApprovalError, HookId, ManualClock, SiteKind, SiteStatus, await_approval, await_hook,
    inject_hook, site_status, sleep, step, workflow,
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
