//! Proves that `#[workflow(crate = "…")]` works through a renamed dependency (this crate depends on
//! `awaitly` as `renamed_awaitly`) and through a re-export (`flows`, used by `tests/reexport.rs`).
#![warn(missing_docs)]

pub use renamed_awaitly as flows;

use renamed_awaitly::{HookId, await_hook, step, workflow};

fn price(item: u32) -> Result<u32, String> {
    item.checked_mul(10)
        .ok_or_else(|| format!("the price of item {item} overflows"))
}

/// Prices every item (one step per item), waits for an approval hook, then totals.
///
/// ```
/// use awaitly_reexport_test::{checkout, flows};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let approval = flows::create_hook().hook_id;
/// let run = checkout(vec![1, 2], approval.clone()).start().await;
/// let state = flows::inject_hook(&run.state, &approval, &true).unwrap();
/// let run = checkout(vec![1, 2], approval).run(state).await;
/// assert!(matches!(run.outcome, flows::Outcome::Completed(30)));
/// # });
/// ```
///
/// # Errors
///
/// When the approval is refused.
#[workflow(crate = "renamed_awaitly")]
pub async fn checkout(items: Vec<u32>, approval: HookId) -> Result<u32, String> {
    let mut total = 0;
    for item in items {
        total += step!("price", key = item, price(item))?;
    }
    let approved: bool = await_hook!(approval, metadata = total);
    if approved {
        step!("total", Ok::<u32, String>(total))
    } else {
        Err("refused".to_owned())
    }
}
