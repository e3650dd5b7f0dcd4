//! `#[workflow]`, `step!` and `await_hook!` reached only through another crate's re-export
//! (`awaitly_reexport_test::flows`), with `crate = "…"` naming that path; this crate does not
//! depend on `awaitly` itself.

use awaitly_reexport_test::flows::{self, Outcome};

async fn load(id: u32) -> Result<u32, String> {
    tokio::task::yield_now().await; // stands in for a call to another service
    Ok(id + 1)
}

#[awaitly_reexport_test::flows::workflow(crate = "awaitly_reexport_test::flows")]
async fn through_the_reexport(id: u32) -> Result<u32, String> {
    let loaded = awaitly_reexport_test::flows::step!(load(id).await)?;
    let doubled = awaitly_reexport_test::flows::step!("double", Ok::<u32, String>(loaded * 2))?;
    let bonus: u32 = awaitly_reexport_test::flows::await_hook!("bonus");
    Ok(doubled + bonus)
}

#[tokio::test]
async fn a_workflow_runs_through_the_reexported_path() {
    let run = through_the_reexport(1).start().await;
    let Outcome::Suspended(_) = &run.outcome else {
        panic!(
            "expected to suspend at the bonus hook, got {:?}",
            run.outcome
        );
    };
    let bonus = &run.outcome.pending_hook().unwrap().hook_id;
    let state = flows::inject_hook(&run.state, bonus, &5_u32).unwrap();
    let run = through_the_reexport(1).run(state).await;
    assert_eq!(run.state.get("load").unwrap().value_json(), Some("2"));
    assert!(matches!(run.outcome, Outcome::Completed(9)));
}

#[tokio::test]
async fn the_library_workflow_runs_from_outside_its_crate() {
    let approval = flows::create_hook().hook_id;
    let run = awaitly_reexport_test::checkout(vec![1, 2], approval.clone())
        .start()
        .await;
    assert_eq!(run.outcome.pending_hook().unwrap().hook_id, approval);
    let state = flows::inject_hook(&run.state, &approval, &false).unwrap();
    let run = awaitly_reexport_test::checkout(vec![1, 2], approval)
        .run(state)
        .await;
    assert!(matches!(run.outcome, Outcome::Failed(ref error) if error == "refused"));
    assert_eq!(
        run.state.keys().collect::<Vec<_>>()[..2],
        ["price[1]", "price[2]"]
    );
}
