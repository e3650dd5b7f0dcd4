//! Procedural macros of [awaitly](https://docs.rs/awaitly). An implementation detail: depend on
//! `awaitly`, which re-exports [`macro@workflow`] and the `step!` / `await_hook!` macros.
//!
//! The attribute is a pipeline of small phases, one module each, driven by `pipeline`:
//! `args` (attribute arguments) → `item` (the annotated fn) → `scan` (find and classify the sites
//! in the body, derive their keys with `key`, collect errors; no code) → `check` (duplicate keys)
//! → `expand` (all code generation). `site` holds the sites' grammar and what the scan records.
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod args;
mod check;
mod errors;
mod expand;
mod item;
mod key;
mod pipeline;
mod scan;
mod site;

use proc_macro::TokenStream;

/// Turns an `async fn` returning `Result<T, E>` into a durable workflow: every `step!` and
/// `await_hook!` inside it gets a stable key, and calling the fn returns an `awaitly::Workflow` to
/// [`run`](https://docs.rs/awaitly/latest/awaitly/struct.Workflow.html#method.run) from a resume
/// state.
///
/// ```
/// use awaitly::{Outcome, step, workflow};
///
/// #[workflow]
/// async fn add(a: u32, b: u32) -> Result<u32, String> {
///     let a = step!("a", Ok::<u32, String>(a))?;
///     step!("sum", Ok::<u32, String>(a + b))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = add(1, 2).start().await;
/// assert!(matches!(run.outcome, Outcome::Completed(3)));
/// # });
/// ```
///
/// # Arguments
///
/// `#[workflow(crate = "path")]` names the awaitly crate when it is renamed or re-exported
/// (default `::awaitly`).
///
/// # Keys
///
/// - a label is the key: `step!("charge", …)` records under `charge`;
/// - without a label the key is the name of the function or method the step calls:
///   `step!(create_order(&req).await)` records under `create_order`;
/// - `key = item` adds a per-item part: `step!("charge", key = order.id, …)` records under
///   `charge[<id>]`;
/// - the second and later executions of one site in one run get `#2`, `#3`, …;
/// - labels may not be empty, contain `#`, `[` or `]`, or start with `hook:`;
/// - two sites with the same key are a compile error.
///
/// # Scope
///
/// Sites must sit directly in the fn body (loops and branches are fine). Inside closures, `async`
/// blocks, nested fns or other macros' arguments they are a compile error: they could run zero or
/// many times, or out of order, so their keys could not be replayed. `#[workflow]` must be the
/// outermost attribute.
#[proc_macro_attribute]
pub fn workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    pipeline::workflow(args.into(), &item.into()).into()
}
