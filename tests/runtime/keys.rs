//! Golden test of the key recipe: the keys real `#[workflow]` fns record under, and their static
//! descriptions, must equal `tests/fixtures/keys.golden`. Keys are a persisted format; any change
//! shows up here as a diff (regenerate with `AWAITLY_BLESS=1` only for an intended, versioned change).

#![allow(clippy::unused_async)] // stand-ins for I/O calls: async like the real ones, with nothing to await

use std::fmt::Write as _;

use awaitly::{HookId, Outcome, ResumeState, await_hook, inject_hook, step, workflow};

struct Client;

impl Client {
    async fn charge(&self, amount: u32) -> Result<u32, String> {
        Ok(amount)
    }
}

async fn create_order() -> Result<u32, String> {
    Ok(1)
}

mod payments {
    pub(crate) async fn refund(amount: u32) -> Result<u32, String> {
        Ok(amount)
    }
}

#[workflow]
async fn every_kind(
    client: &Client,
    hook: HookId,
    items: Vec<&'static str>,
) -> Result<u32, String> {
    let order = step!(create_order().await)?;
    let charged = step!(client.charge(order).await)?;
    let refunded = step!(payments::refund(charged).await)?;
    let labelled = step!("create-order", Ok::<u32, String>(refunded))?;
    for item in &items {
        step!("ship", key = item, Ok::<(), String>(()))?;
        step!("audit", Ok::<(), String>(()))?;
    }
    let paid: u32 = await_hook!(hook, metadata = "payment");
    let approved: bool = await_hook!("approval");
    for item in &items {
        let _: bool = await_hook!("sign", key = item);
    }
    Ok(labelled + paid + u32::from(approved))
}

async fn keys_of_a_full_run() -> Vec<String> {
    let client = Client;
    let items = vec!["a", "b#c"];
    let mut state = ResumeState::new();
    loop {
        let run = every_kind(&client, "fixed-hook".into(), items.clone())
            .run(state)
            .await;
        match &run.outcome {
            Outcome::Suspended(_) => {
                let hook = run.outcome.pending_hook().unwrap().hook_id.clone();
                let payload = if hook.as_str() == "fixed-hook" {
                    serde_json::json!(1)
                } else {
                    serde_json::json!(true)
                };
                state = inject_hook(&run.state, &hook, &payload).unwrap();
            }
            Outcome::Completed(_) => {
                // Created hook ids are random: show them as `hook:<created>`.
                let created: Vec<String> = run
                    .state
                    .iter()
                    .filter_map(|(_, entry)| entry.created_hook_id().map(|id| format!("hook:{id}")))
                    .collect();
                return run
                    .state
                    .keys()
                    .map(|key| {
                        if created.iter().any(|c| c == key) {
                            "hook:<created>".to_owned()
                        } else {
                            key.to_owned()
                        }
                    })
                    .collect();
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn keys_match_the_golden_file() {
    let client = Client;
    let description = every_kind(&client, "h".into(), vec![]).description();
    let mut golden = format!(
        "recipe version {}\nworkflow {}\n",
        awaitly::KEY_RECIPE_VERSION,
        description.name
    );
    for site in description.sites {
        writeln!(
            golden,
            "site {:<12} {:<14} per_item={}",
            site.kind.to_string(),
            site.key,
            site.per_item
        )
        .unwrap();
    }
    for key in keys_of_a_full_run().await {
        writeln!(golden, "key {key}").unwrap();
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys.golden");
    if std::env::var_os("AWAITLY_BLESS").is_some() {
        std::fs::write(path, &golden).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        committed, golden,
        "derived keys changed: this breaks stored states"
    );
}
