//! `#[workflow]` expansions neither depend on nor disturb the names around them: shadowed prelude
//! names, user locals named like generated ones, a local `mod awaitly`, methods, generics, and a
//! `Send` future. Every workflow here is run and its result asserted.
// The helpers stand in for fallible, asynchronous calls to other services.
#![allow(clippy::unnecessary_wraps, clippy::unused_async)]

use awaitly::{Outcome, Run};

/// Unwraps a completed run.
fn completed<T: std::fmt::Debug, E: std::fmt::Debug>(run: Run<T, E>) -> T {
    match run.outcome {
        Outcome::Completed(value) => value,
        other => panic!("expected the run to complete, got {other:?}"),
    }
}

/// A module that shadows the prelude and std paths generated code must not rely on: a crate-wide
/// `Result` alias, an `Option` of its own, variants named `Ok`/`Err`/`Some`/`None` glob-imported
/// over the prelude's, local `core`/`std` modules, and look-alikes of `Clone`, `Future`, `Box`,
/// `Vec`, `String`, `drop` and `unreachable!`.
#[allow(dead_code, unused_macros, clippy::enum_glob_use)]
mod shadowed_prelude {
    use ::awaitly::{HookId, await_hook, step, workflow};

    pub(crate) mod core {}
    pub(crate) mod std {}

    #[derive(Debug, ::serde::Serialize, ::serde::Deserialize)]
    pub(crate) struct ShipError;

    pub(crate) type Result<T> = ::core::result::Result<T, ShipError>;

    pub(crate) enum Option {
        Express,
        Standard,
    }

    pub(crate) enum Reply {
        Ok,
        Err,
        Some,
        None,
    }
    use Reply::*;

    pub(crate) trait Clone {}
    pub(crate) trait Future {}
    pub(crate) trait IntoFuture {}
    pub(crate) trait Display {}
    pub(crate) struct Box;
    pub(crate) struct Vec;
    pub(crate) struct String;
    pub(crate) fn drop() {}
    macro_rules! unreachable {
        ($($anything:tt)*) => {
            ::core::compile_error!("the user's `unreachable!` was used")
        };
    }

    async fn quote(weight: u32, option: Option) -> Result<u32> {
        let rate = match option {
            Option::Express => 3,
            Option::Standard => 1,
        };
        Result::Ok(weight * rate)
    }

    #[workflow]
    pub(crate) async fn ship(weights: ::std::vec::Vec<u32>, pickup: HookId) -> Result<u32> {
        let mut total = step!("express", quote(1, Option::Express).await)?;
        for weight in weights {
            total += step!(
                "parcel",
                key = weight,
                quote(weight, Option::Standard).await
            )?;
        }
        let picked_up: bool = await_hook!(pickup, metadata = total);
        let signed: bool = await_hook!("signature", key = total);
        let _ = (Ok, Err, Some, None);
        if picked_up && signed {
            Result::Ok(total)
        } else {
            Result::Err(ShipError)
        }
    }
}

mod shadowed_for_constructs {
    use ::awaitly::{all, fan_out, race, step, try_all, workflow};

    pub(crate) mod core {}
    pub(crate) mod std {}

    #[derive(Debug, ::serde::Serialize, ::serde::Deserialize)]
    pub(crate) struct ShipError;

    pub(crate) type Result<T> = ::core::result::Result<T, ShipError>;

    #[allow(dead_code)]
    pub(crate) enum Option {
        Some,
        None,
    }

    #[allow(dead_code)]
    pub(crate) struct Box;
    #[allow(dead_code)]
    pub(crate) struct Vec;

    async fn weigh(parcel: u32) -> Result<u32> {
        Result::Ok(parcel * 2)
    }

    /// Every construct with the prelude's `Option`, `Box`, `Vec`, `Result` and `core` shadowed.
    #[workflow]
    pub(crate) async fn pack(parcels: ::std::vec::Vec<u32>) -> Result<u32> {
        let (a, b) = all!("pair",
            left => step!("left", weigh(1).await),
            right => step!("right", weigh(2).await),
        );
        let (c, d) = try_all!("fallible",
            left => step!("left-f", weigh(3).await),
            right => step!("right-f", weigh(4).await),
        )?;
        let e = race!("first", one => step!("one", weigh(5).await), two => step!("two", weigh(6).await))?;
        let weighed = fan_out!("weigh-all", parcel in parcels, key = parcel, concurrency = 2,
            step!("weigh", weigh(parcel).await)
        );
        let mut total = a? + b? + c + d + e;
        for weight in weighed {
            total += weight?;
        }
        Result::Ok(total)
    }
}

#[tokio::test]
async fn shadowed_prelude_names_do_not_reach_the_code_of_constructs() {
    let run = shadowed_for_constructs::pack(vec![7, 8]).start().await;
    assert_eq!(completed(run), 2 + 4 + 6 + 8 + 10 + 14 + 16);
}

#[tokio::test]
async fn shadowed_prelude_names_do_not_reach_generated_code() {
    let pickup = awaitly::create_hook().hook_id;
    let start = || shadowed_prelude::ship(vec![2, 5], pickup.clone());

    let run = start().start().await;
    let state = awaitly::inject_hook(&run.state, &pickup, &true).unwrap();
    let run = start().run(state).await;
    let signature = &run
        .outcome
        .pending_hook()
        .expect("suspended at the signature")
        .hook_id;
    let state = awaitly::inject_hook(&run.state, signature, &true).unwrap();
    let run = start().run(state).await;

    assert_eq!(run.state.get("express").unwrap().value_json(), Some("3"));
    assert!(run.state.contains_key("parcel[2]") && run.state.contains_key("parcel[5]"));
    assert!(run.state.contains_key("signature[10]"));
    assert_eq!(completed(run), 10);
}

mod user_locals {
    use awaitly::{step, workflow};

    async fn double(x: u32) -> Result<u32, String> {
        Ok(x * 2)
    }

    /// User locals named like the generated ones (and like a context) stay the user's.
    #[workflow]
    pub(crate) async fn locals(ctx: u32) -> Result<(u32, u32, u32, u32), String> {
        let __awaitly_ctx = 100;
        let __awaitly_outcome = 1000;
        let __awaitly_result = 10_000;
        let doubled = step!(double(ctx + __awaitly_ctx).await)?;
        let echoed = step!("echo", Ok::<u32, String>(__awaitly_outcome))?;
        Ok((doubled, echoed, __awaitly_ctx + __awaitly_result, ctx))
    }
}

#[tokio::test]
async fn user_locals_named_like_generated_ones_are_not_captured() {
    let run = user_locals::locals(1).start().await;
    assert_eq!(completed(run), (202, 1000, 10_100, 1));
}

/// A local `mod awaitly` next to the real crate, named explicitly with `crate = "::awaitly"` and
/// by default (which is `::awaitly` too).
#[allow(dead_code)]
mod local_awaitly_module {
    use ::awaitly::{step, workflow};

    mod awaitly {
        pub(crate) mod __private {}
        pub(crate) fn step() {}
    }

    async fn load() -> Result<u32, String> {
        Ok(7)
    }

    #[workflow(crate = "::awaitly")]
    pub(crate) async fn explicit() -> Result<u32, String> {
        step!(load().await)
    }

    #[workflow]
    pub(crate) async fn by_default() -> Result<u32, String> {
        step!(load().await)
    }
}

#[tokio::test]
async fn a_local_awaitly_module_does_not_shadow_the_crate() {
    assert_eq!(completed(local_awaitly_module::explicit().start().await), 7);
    assert_eq!(
        completed(local_awaitly_module::by_default().start().await),
        7
    );
}

mod methods {
    use awaitly::{step, workflow};

    pub(crate) struct Client {
        pub(crate) fee: u32,
    }

    impl Client {
        async fn charge(&self, amount: u32) -> Result<u32, String> {
            Ok(amount + self.fee)
        }
    }

    pub(crate) struct Service {
        pub(crate) client: Client,
    }

    impl Service {
        #[workflow]
        pub(crate) async fn run(&self, amount: u32) -> Result<u32, String> {
            let charged = step!(self.client.charge(amount).await)?;
            step!("confirm", self.confirm(charged))
        }

        #[workflow]
        pub(crate) async fn consume(self, amount: u32) -> Result<u32, String> {
            step!(self.client.charge(amount * 2).await)
        }

        fn confirm(&self, charged: u32) -> Result<u32, String> {
            Ok(charged * 10 + self.client.fee)
        }
    }
}

#[tokio::test]
async fn methods_take_self_by_reference_and_by_value() {
    let service = methods::Service {
        client: methods::Client { fee: 1 },
    };
    let run = service.run(5).start().await;
    assert_eq!(run.state.keys().collect::<Vec<_>>(), ["charge", "confirm"]);
    assert_eq!(completed(run), 61);
    assert_eq!(completed(service.consume(5).start().await), 11);
}

mod generics {
    use awaitly::{step, workflow};
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    fn keep<T>(value: T) -> Result<T, String> {
        Ok(value)
    }

    #[workflow]
    pub(crate) async fn echo<T: Serialize + DeserializeOwned + Send>(
        value: T,
    ) -> Result<T, String> {
        step!(keep(value))
    }

    #[workflow]
    pub(crate) async fn pair<A, B>(a: A, b: B) -> Result<(A, B), String>
    where
        A: Serialize + DeserializeOwned + Send,
        B: Serialize + DeserializeOwned + Send,
    {
        let a = step!("a", keep(a))?;
        let b = step!("b", keep(b))?;
        Ok((a, b))
    }
}

#[tokio::test]
async fn generic_workflows_record_and_replay_each_instantiation() {
    assert_eq!(completed(generics::echo(7_u8).start().await), 7);
    let run = generics::echo("seven".to_owned()).start().await;
    let state = run.state.clone();
    assert_eq!(completed(run), "seven");
    // Replayed: the recorded value wins over the new argument.
    let replayed = generics::echo("eight".to_owned()).run(state).await;
    assert_eq!(completed(replayed), "seven");
    let pair = completed(generics::pair(1_u16, vec!['x']).start().await);
    assert_eq!(pair, (1, vec!['x']));
}

mod send {
    use awaitly::{HookId, await_hook, step, workflow};

    async fn reserve(sku: &str) -> Result<String, String> {
        tokio::task::yield_now().await;
        Ok(format!("reserved:{sku}"))
    }

    /// Every kind of site, awaited across real suspension points.
    #[workflow]
    pub(crate) async fn reserve_all(
        skus: Vec<String>,
        approval: HookId,
    ) -> Result<Vec<String>, String> {
        let mut reserved = Vec::new();
        for sku in &skus {
            reserved.push(step!("reserve-sku", key = sku, reserve(sku).await)?);
        }
        let first = step!(reserve("first").await)?;
        let approved: bool = await_hook!(approval, metadata = skus.len());
        let noted: String = await_hook!("note", key = first);
        if approved {
            reserved.push(noted);
        }
        Ok(reserved)
    }
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn workflow_futures_are_send() {
    let approval = awaitly::create_hook().hook_id;
    let workflow = send::reserve_all(vec!["a".into(), "b".into()], approval.clone());
    let future = workflow.start();
    assert_send(&future);
    // And they really run on another thread.
    let run = tokio::spawn(future).await.unwrap();
    assert_eq!(run.outcome.pending_hook().unwrap().hook_id, approval);
    let state = awaitly::inject_hook(&run.state, &approval, &true).unwrap();
    let run = tokio::spawn(send::reserve_all(vec!["a".into(), "b".into()], approval).run(state))
        .await
        .unwrap();
    assert!(run.state.contains_key("note[reserved:first]"));
}
