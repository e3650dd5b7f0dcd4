//! The dashboard's run page for the constructs of issue 14, over runs a real engine drove: a
//! fan-out's progress (bar and numbers), a child linked to its page, the compensations and the
//! cancellation, and the Mermaid diagram drawing the constructs.
#![cfg(all(feature = "dashboard", feature = "durable"))]

use std::sync::Arc;

use awaitly::dashboard::{DashboardConfig, router_with};
use awaitly::durable::Engine;
use awaitly::http::axum::Router;
use awaitly::store::MemoryStore;
use awaitly::{ChildError, await_hook, child, fan_out, step, workflow};

#[workflow]
async fn ship(orders: Vec<u32>) -> Result<u32, String> {
    let reserved = step!(
        "reserve",
        compensate = |_: u32| std::future::ready(Ok::<(), String>(())),
        Ok::<u32, String>(3)
    )?;
    let shipped = fan_out!("ship-all", order in orders, key = order, concurrency = 1, {
        step!("pack", Ok::<u32, String>(order))?;
        if order == 2 {
            let _confirmed: bool = await_hook!("confirm");
        }
        Ok::<u32, String>(order)
    });
    let shipped: Vec<u32> = shipped.into_iter().collect::<Result<_, _>>()?;
    let paid: Result<u32, ChildError<String>> = child!("pay", "payment", &reserved);
    Ok(shipped.iter().sum::<u32>() + paid.map_err(|error| error.to_string())?)
}

#[workflow]
async fn payment(amount: u32) -> Result<u32, String> {
    let _approved: bool = await_hook!("bank");
    Ok(amount)
}

async fn page(base: &str, query: &str) -> String {
    reqwest::get(format!("{base}{query}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_run_page_shows_fan_out_progress_children_compensations_and_cancellation() {
    let engine = Engine::new(MemoryStore::new())
        .register("ship", 1, ship)
        .register("payment", 1, payment);
    let store = Arc::clone(engine.store());
    let config = DashboardConfig::new().describe("ship", ship(vec![]).description());
    let app = Router::new().nest("/awaitly", router_with(store, config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/awaitly", listener.local_addr().unwrap());
    tokio::spawn(async move { awaitly::http::axum::serve(listener, app).await.unwrap() });

    engine
        .start("o-1", "ship", &vec![1_u32, 2, 3, 4])
        .await
        .unwrap();
    let shown = page(&base, "?run=o-1").await;
    assert!(
        shown.contains("1 done / 1 in flight / 2 pending"),
        "{shown}"
    );
    assert!(
        shown.contains(r#"<span class="done" style="width:25%">"#),
        "{shown}"
    );
    assert!(shown.contains("fan-out ship-all&lt;br/&gt;1 done / 1 in flight / 2 pending"));
    assert!(
        shown.contains(r"site1join[\&quot;all items&quot;/]"),
        "{shown}"
    );

    // Confirmed: the parent waits for its child, which has a page of its own.
    let hook = engine
        .store()
        .pending_hooks()
        .await
        .unwrap()
        .into_iter()
        .find(|hook| hook.run_id == "o-1")
        .unwrap();
    engine
        .resume_hook(&hook.hook_id, serde_json::json!(true))
        .await
        .unwrap();
    let shown = page(&base, "?run=o-1").await;
    assert!(
        shown.contains("4 done / 0 in flight / 0 pending"),
        "{shown}"
    );
    assert!(
        shown.contains(r#"<a href="?run=o-1%2Fpay"><code>o-1/pay</code></a>"#),
        "{shown}"
    );
    assert!(
        shown.contains("run o-1/pay"),
        "the diagram names the child's run"
    );
    let child = page(&base, "?run=o-1%2Fpay").await;
    assert!(child.contains("payment"), "{child}");

    // Cancelled: the reservation is undone, the page says so, escaped.
    engine.cancel("o-1", "<b>customer</b> left").await.unwrap();
    let shown = page(&base, "?run=o-1").await;
    assert!(
        shown.contains(r#"<span class="badge undone">undone</span>"#),
        "{shown}"
    );
    assert!(
        shown.contains("&lt;b&gt;customer&lt;/b&gt; left"),
        "{shown}"
    );
    assert!(!shown.contains("<b>customer"));
    assert!(shown.contains("class site0 undone"), "{shown}");
}
