//! The front macros of the constructs that run parts of a workflow at once. Like `step!`, they
//! are rewritten by `#[workflow]`; used anywhere else they are a compile error.

/// Runs named branches at once and waits for all of them; evaluates to their outputs as a tuple,
/// in branch order.
///
/// Each branch is an expression (usually a block) that may hold `step!`, `await_hook!`,
/// `await_approval!`, `sleep!` and further constructs. Its sites record under the branch's
/// scope: `all!("checkout", stock => step!("reserve", …), …)` records the step under
/// `checkout[stock]/reserve`, whichever branch finishes first. A branch that waits at a hook
/// waits alone: the other branches go on, and the run suspends only when no branch can. A resume
/// replays what every branch recorded and goes on where each stopped.
///
/// A branch is an `async` block of the body: `?` and `return` leave the branch, not the
/// workflow. Branches run on the workflow's own task (nothing is spawned), so they may borrow the
/// body's locals. [`try_all!`](crate::try_all!) stops at the first `Err`.
///
/// ```
/// use awaitly::{Outcome, all, step, workflow};
///
/// #[workflow]
/// async fn checkout(order: u32) -> Result<(u32, u32), String> {
///     let (stock, payment) = all!("checkout",
///         stock => step!("reserve", Ok::<u32, String>(order)),
///         payment => step!("authorise", Ok::<u32, String>(order * 100)),
///     );
///     Ok((stock?, payment?))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = checkout(7).start().await;
/// assert!(matches!(run.outcome, Outcome::Completed((7, 700))));
/// let mut keys: Vec<_> = run.state.keys().collect();
/// keys.sort();
/// assert_eq!(keys, ["checkout[payment]/authorise", "checkout[stock]/reserve"]);
/// # });
/// ```
#[macro_export]
macro_rules! all {
    (@__awaitly_expanded $code:tt) => {
        $code
    };
    ($($anything:tt)*) => {
        ::core::compile_error!("`all!` can only be used inside a `#[workflow]` async fn")
    };
}

/// [`all!`](crate::all!) for branches that return `Result<_, E>`: evaluates to `Ok` of the tuple of their
/// values, or to the first `Err`, after which the other branches are dropped where they stand
/// (their recorded steps stay recorded).
///
/// ```
/// use awaitly::{Outcome, step, try_all, workflow};
///
/// #[workflow]
/// async fn checkout() -> Result<(u32, u32), String> {
///     try_all!("checkout",
///         stock => step!("reserve", Ok::<u32, String>(1)),
///         payment => step!("authorise", Err::<u32, String>("declined".into())),
///     )
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = checkout().start().await;
/// assert!(matches!(run.outcome, Outcome::Failed(error) if error == "declined"));
/// # });
/// ```
#[macro_export]
macro_rules! try_all {
    (@__awaitly_expanded $code:tt) => {
        $code
    };
    ($($anything:tt)*) => {
        ::core::compile_error!("`try_all!` can only be used inside a `#[workflow]` async fn")
    };
}

/// Runs named branches at once until the first one ends; evaluates to its output (every branch
/// has the same output type). The winner's name is recorded under the race's key before the run
/// goes on, so a replay runs the winner's branch alone (its steps replay) and never the others.
///
/// "A hook or a timeout, whichever comes first" is a race of an `await_hook!` and a `sleep!`.
///
/// ```
/// use awaitly::{Outcome, race, step, workflow};
///
/// #[workflow]
/// async fn quote() -> Result<u32, String> {
///     race!("cheapest-provider",
///         first => step!("ask-first", Ok::<u32, String>(10)),
///         second => step!("ask-second", Ok::<u32, String>(20)),
///     )
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = quote().start().await;
/// assert!(matches!(run.outcome, Outcome::Completed(10)));
/// assert_eq!(run.state.get("cheapest-provider").unwrap().value_json(), Some("\"first\""));
/// # });
/// ```
#[macro_export]
macro_rules! race {
    (@__awaitly_expanded $code:tt) => {
        $code
    };
    ($($anything:tt)*) => {
        ::core::compile_error!("`race!` can only be used inside a `#[workflow]` async fn")
    };
}

/// Runs an expression for each item of a collection, at most `concurrency` at once (all at once
/// without it); evaluates to a `Vec` of the outputs in input order.
///
/// `fan_out!("label", item in items, key = …, concurrency = n, expression)`: each item runs in a
/// scope of its own, `label[key]/…`, whose key is `key = …` (evaluated with the item bound; two
/// items with one key stop the run with [`RunError::DuplicateItemKey`](crate::RunError)), or the
/// item's position without it. In a durable run every item's steps are checkpointed as they
/// finish, so a crash in the middle resumes with the unfinished items only. The expression is the
/// body of an async closure: `?` leaves the item; it may borrow the body's locals.
/// [`try_fan_out!`](crate::try_fan_out!) stops at the first `Err`.
///
/// ```
/// use awaitly::{Outcome, fan_out, step, workflow};
///
/// async fn ship(order: &str) -> Result<String, String> {
///     Ok(format!("shipped {order}"))
/// }
///
/// #[workflow]
/// async fn ship_all(orders: Vec<String>) -> Result<Vec<String>, String> {
///     let shipped = fan_out!("ship-all", order in orders, key = order, concurrency = 16,
///         step!(ship(&order).await)
///     );
///     shipped.into_iter().collect()
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = ship_all(vec!["a".into(), "b".into()]).start().await;
/// assert!(matches!(run.outcome, Outcome::Completed(ref shipped) if shipped == &["shipped a", "shipped b"]));
/// assert!(run.state.get("ship-all[b]/ship").is_some());
/// # });
/// ```
#[macro_export]
macro_rules! fan_out {
    (@__awaitly_expanded $code:tt) => {
        $code
    };
    ($($anything:tt)*) => {
        ::core::compile_error!("`fan_out!` can only be used inside a `#[workflow]` async fn")
    };
}

/// [`fan_out!`](crate::fan_out!) for items that return `Result<_, E>`: evaluates to `Ok` of the values in input
/// order, or to the first `Err`, after which the items in flight are dropped and no more start.
///
/// ```
/// use awaitly::{Outcome, step, try_fan_out, workflow};
///
/// #[workflow]
/// async fn charge_all(amounts: Vec<u32>) -> Result<Vec<u32>, String> {
///     try_fan_out!("charge-all", amount in amounts, key = amount, concurrency = 2,
///         step!("charge", if amount > 100 { Err(format!("{amount} is too much")) } else { Ok(amount) })
///     )
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let run = charge_all(vec![10, 500, 20]).start().await;
/// assert!(matches!(run.outcome, Outcome::Failed(error) if error == "500 is too much"));
/// # });
/// ```
#[macro_export]
macro_rules! try_fan_out {
    (@__awaitly_expanded $code:tt) => {
        $code
    };
    ($($anything:tt)*) => {
        ::core::compile_error!("`try_fan_out!` can only be used inside a `#[workflow]` async fn")
    };
}

/// Runs another registered workflow as a child run and waits for its outcome:
/// `child!("label", "workflow", &input)` evaluates to `Result<T, ChildError<E>>`, the child's
/// `Ok` value or why not ([`ChildError`](crate::ChildError)).
///
/// The site waits as on a hook it creates (see [`ChildRequest`](crate::ChildRequest)). The durable
/// engine starts the child under the run id `<parent run id>/<key>` and delivers its final
/// outcome to the hook, in whichever process the child ends, which resumes the parent; a
/// cancelled parent cancels its children.
///
/// ```
/// use awaitly::{ChildError, child, workflow};
///
/// #[workflow]
/// async fn order(cents: u32) -> Result<String, String> {
///     let receipt: Result<String, ChildError<String>> = child!("pay", "payment", &cents);
///     receipt.map_err(|error| error.to_string())
/// }
/// # let _ = order(1);
/// ```
#[macro_export]
macro_rules! child {
    (@__awaitly_expanded $code:tt) => {
        $code
    };
    ($($anything:tt)*) => {
        ::core::compile_error!("`child!` can only be used inside a `#[workflow]` async fn")
    };
}
