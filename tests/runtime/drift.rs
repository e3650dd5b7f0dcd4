//! Version drift: a stored state whose keys the code no longer has is reported, by name, before
//! anything runs — by every run and by `check_compatibility` for deploy pipelines.

#![allow(clippy::unnecessary_wraps)] // step functions return `Result` by contract, even when they cannot fail

use std::cell::Cell;

use awaitly::{
    Outcome, ResumeState, RunError, await_hook, check_compatibility, inject_hook, step, workflow,
};

thread_local! {
    // Per test thread: `#[tokio::test]` runs each workflow on its test's own thread.
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

fn call<T>(value: T) -> Result<T, String> {
    CALLS.set(CALLS.get() + 1);
    Ok(value)
}

mod v1 {
    use super::*;

    #[workflow]
    pub(crate) async fn order(items: Vec<&'static str>) -> Result<u32, String> {
        step!("reserve", call(1))?;
        for item in items {
            step!("pack", key = item, call(()))?;
        }
        let approved: bool = await_hook!("manager");
        step!("charge", call(u32::from(approved)))
    }
}

mod v2_removed_step {
    use super::*;

    #[workflow]
    pub(crate) async fn order(items: Vec<&'static str>) -> Result<u32, String> {
        for item in items {
            step!("pack", key = item, call(()))?;
        }
        let approved: bool = await_hook!("manager");
        step!("charge", call(u32::from(approved)))
    }
}

mod v2_renamed_hook {
    use super::*;

    #[workflow]
    pub(crate) async fn order(items: Vec<&'static str>) -> Result<u32, String> {
        step!("reserve", call(1))?;
        for item in items {
            step!("pack", key = item, call(()))?;
        }
        let approved: bool = await_hook!("supervisor");
        step!("charge", call(u32::from(approved)))
    }
}

mod v2_loop_key_changed {
    use super::*;

    #[workflow]
    pub(crate) async fn order(items: Vec<&'static str>) -> Result<u32, String> {
        step!("reserve", call(1))?;
        for _item in items {
            step!("pack", call(()))?;
        }
        let approved: bool = await_hook!("manager");
        step!("charge", call(u32::from(approved)))
    }
}

mod v2_added_step {
    use super::*;

    #[workflow]
    pub(crate) async fn order(items: Vec<&'static str>) -> Result<u32, String> {
        step!("reserve", call(1))?;
        for item in items {
            step!("pack", key = item, call(()))?;
        }
        let approved: bool = await_hook!("manager");
        step!("notify", call(()))?;
        step!("charge", call(u32::from(approved)))
    }
}

async fn suspended_v1() -> ResumeState {
    let run = v1::order(vec!["a", "b"]).start().await;
    assert!(run.outcome.pending_hook().is_some());
    run.state
}

#[tokio::test]
async fn drift_is_caught_by_name_before_anything_runs() {
    let state = suspended_v1().await;
    let stamp = state.workflow().expect("runs stamp the state").clone();
    assert_eq!(
        stamp.fingerprint,
        v1::order(vec![]).description().fingerprint()
    );
    assert!(check_compatibility(v1::order(vec![]).description(), &state).is_ok());

    let before = CALLS.get();

    // A removed step.
    let problem =
        check_compatibility(v2_removed_step::order(vec![]).description(), &state).unwrap_err();
    assert_eq!(problem.unknown_keys, ["reserve"]);
    assert!(problem.undeliverable_hooks.is_empty());
    let run = v2_removed_step::order(vec!["a", "b"])
        .run(state.clone())
        .await;
    let Outcome::Stopped(RunError::Incompatible(reported)) = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(reported, &problem);
    assert_eq!(
        run.state.to_json(),
        state.to_json(),
        "nothing ran, nothing changed"
    );

    // A renamed hook: its creation entry is unknown and its pending hook can never be delivered.
    let problem =
        check_compatibility(v2_renamed_hook::order(vec![]).description(), &state).unwrap_err();
    assert_eq!(problem.unknown_keys, ["manager"]);
    let pending = state
        .get("manager")
        .unwrap()
        .created_hook_id()
        .unwrap()
        .clone();
    assert_eq!(problem.undeliverable_hooks, [pending]);
    let message = problem.to_string();
    assert!(
        message.contains("`manager`") && message.contains("pending hooks no site awaits"),
        "{message}"
    );

    // A loop key changed from per-item to per-occurrence.
    let problem =
        check_compatibility(v2_loop_key_changed::order(vec![]).description(), &state).unwrap_err();
    assert_eq!(problem.unknown_keys, ["pack[a]", "pack[b]"]);

    assert_eq!(
        CALLS.get(),
        before,
        "no step of any incompatible run executed"
    );
}

#[tokio::test]
async fn adding_a_step_is_compatible_and_the_run_continues() {
    let state = suspended_v1().await;
    assert!(check_compatibility(v2_added_step::order(vec![]).description(), &state).is_ok());
    let hook = state
        .get("manager")
        .unwrap()
        .created_hook_id()
        .unwrap()
        .clone();
    let state = inject_hook(&state, &hook, &true).unwrap();
    let run = v2_added_step::order(vec!["a", "b"]).run(state).await;
    assert!(
        matches!(run.outcome, Outcome::Completed(1)),
        "{:?}",
        run.outcome
    );
    assert!(run.state.contains_key("notify"));
    assert_eq!(
        run.state.workflow().unwrap().fingerprint,
        v2_added_step::order(vec![]).description().fingerprint()
    );
}

#[test]
fn fingerprints_differ_between_shapes_and_are_stable() {
    let fingerprints = [
        v1::order(vec![]).description().fingerprint(),
        v2_removed_step::order(vec![]).description().fingerprint(),
        v2_renamed_hook::order(vec![]).description().fingerprint(),
        v2_loop_key_changed::order(vec![])
            .description()
            .fingerprint(),
        v2_added_step::order(vec![]).description().fingerprint(),
    ];
    let distinct: std::collections::HashSet<_> = fingerprints.iter().collect();
    assert_eq!(distinct.len(), fingerprints.len());
    assert_eq!(
        v1::order(vec![]).description().fingerprint(),
        fingerprints[0]
    );
}
