//! The HTML dashboard over a real server on 127.0.0.1: its pages, filters and diagrams over a
//! seeded SQLite store (and Postgres when `AWAITLY_TEST_POSTGRES_URL` is set), and hostile
//! payloads that must come out escaped.
#![cfg(all(feature = "dashboard", feature = "sqlite"))]

use crate::common;
use crate::support;

use std::sync::Arc;

use awaitly::dashboard::{DashboardConfig, router_with};
use awaitly::http::axum::Router;
use awaitly::store::{SqliteStore, Store};
use awaitly::{HookId, await_hook, step, workflow};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::SeededSqlite;

#[workflow]
async fn checkout(hook: HookId) -> Result<String, String> {
    let _order: Value = step!("load-order", Ok::<Value, String>(json!({})))?;
    let _paid: Value = await_hook!(hook);
    step!("ship", Ok::<String, String>("tracking".into()))
}

struct Served {
    base: String,
    store: Arc<dyn Store>,
    _file: Option<SeededSqlite>,
}

async fn serve(store: Arc<dyn Store>, file: Option<SeededSqlite>) -> Served {
    let config = DashboardConfig::new().describe("checkout", checkout("h".into()).description());
    let app = Router::new().nest("/awaitly", router_with(Arc::clone(&store), config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/awaitly", listener.local_addr().unwrap());
    tokio::spawn(async move { awaitly::http::axum::serve(listener, app).await.unwrap() });
    Served {
        base,
        store,
        _file: file,
    }
}

async fn seeded() -> Served {
    let file = SeededSqlite::new("dashboard").await;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&file.path).await.unwrap());
    serve(store, Some(file)).await
}

async fn get(served: &Served, query: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = reqwest::get(format!("{}{query}", served.base))
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// The `<tr>` rows of the first table body.
fn rows(page: &str) -> Vec<&str> {
    let body = page
        .split("<tbody>")
        .nth(1)
        .unwrap()
        .split("</tbody>")
        .next()
        .unwrap();
    body.split("<tr>").skip(1).collect()
}

#[tokio::test]
async fn runs_page_lists_every_run_with_status_and_what_it_waits_on() {
    let served = seeded().await;
    let (status, headers, page) = get(&served, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let rows = rows(&page);
    assert_eq!(rows.len(), support::runs().len(), "{page}");
    let order_1 = rows
        .iter()
        .find(|row| row.contains("?run=order-1"))
        .unwrap();
    assert!(order_1.contains("badge suspended"), "{order_1}");
    assert!(order_1.contains("hook <code>h-pay-1</code>"), "{order_1}");
    let reminder = rows
        .iter()
        .find(|row| row.contains("?run=reminder-3"))
        .unwrap();
    assert!(
        reminder.contains("sleep <code>cool-off</code> <span class=\"badge failed\">due</span>"),
        "{reminder}"
    );
    let total = support::runs().len();
    assert!(page.contains(&format!("{total} of {total} runs")));
}

#[tokio::test]
async fn filters_by_status_and_workflow() {
    let served = seeded().await;
    let (_, _, page) = get(&served, "?status=suspended&workflow=checkout").await;
    let ids: Vec<bool> = ["order-1", "order-3", "evil-1", "order-2", "refund-7"]
        .iter()
        .map(|id| page.contains(&format!("?run={id}\"")))
        .collect();
    assert_eq!(ids, [true, true, true, false, false], "{page}");
    assert!(page.contains("<option value=\"suspended\" selected>"));
    let (_, _, page) = get(&served, "?workflow=refund").await;
    assert_eq!(rows(&page).len(), 1);
    assert!(page.contains("?run=refund-7"));
    // An empty filter (the form's "any") means no filter.
    let (_, _, page) = get(&served, "?status=&workflow=").await;
    assert_eq!(rows(&page).len(), support::runs().len());
    let (status, _, page) = get(&served, "?status=sleeping").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("`sleeping` is not a run status"), "{page}");
}

#[tokio::test]
async fn run_page_shows_the_step_timeline_and_the_described_diagram() {
    let served = seeded().await;
    let (status, _, page) = get(&served, "?run=order-1").await;
    assert_eq!(status, StatusCode::OK);
    let steps = rows(&page);
    assert_eq!(steps.len(), 2);
    assert!(steps[0].contains("<code>load-order</code>") && steps[0].contains("badge completed"));
    assert!(steps[1].contains("<code>hook:h-pay-1</code>") && steps[1].contains("badge waiting"));
    assert!(
        steps[1].contains("2023-11-14 22:13:20Z"),
        "requested-at shown: {}",
        steps[1]
    );
    // The HTML flow, one box per site of the registered description.
    assert!(
        page.contains("<li class=\"completed\"><strong>step load-order</strong>"),
        "{page}"
    );
    assert!(page.contains("<li class=\"pending\"><strong>hook hook</strong> <span class=\"badge pending\">pending on h-pay-1 for "), "{page}");
    assert!(
        page.contains("<li class=\"notReached\"><strong>step ship</strong>"),
        "{page}"
    );
    // The Mermaid source, escaped into its <pre>.
    assert!(
        page.contains("<pre class=\"mermaid-source\">flowchart TD"),
        "{page}"
    );
    assert!(page.contains("class site2 notReached"), "{page}");
}

#[tokio::test]
async fn undescribed_workflows_draw_their_recorded_steps() {
    let served = seeded().await;
    let (_, _, page) = get(&served, "?run=import-9").await;
    assert!(
        page.contains("<li class=\"failed\"><strong>parse</strong>"),
        "{page}"
    );
    assert!(
        page.contains("Register the workflow's description"),
        "{page}"
    );
    assert!(
        page.contains("{&quot;code&quot;:&quot;BAD_CSV&quot;,&quot;line&quot;:2}"),
        "{page}"
    );
}

#[tokio::test]
async fn hooks_page_lists_pending_hooks_and_approvals_with_deadlines() {
    let served = seeded().await;
    let (status, _, page) = get(&served, "?view=hooks").await;
    assert_eq!(status, StatusCode::OK);
    let rows = rows(&page);
    let keys: Vec<&str> = ["h-pay-1", "h-pay-3", "approve:refund:7", "h-evil"]
        .into_iter()
        .filter(|key| {
            rows.iter()
                .any(|row| row.contains(&format!("<code>{key}</code>")))
        })
        .collect();
    assert_eq!(keys.len(), 4, "{page}");
    assert_eq!(rows.len(), 4, "sleeps are not hooks: {page}");
    let refund = rows
        .iter()
        .find(|row| row.contains("approve:refund:7"))
        .unwrap();
    assert!(
        refund.contains("refund over the limit") && refund.contains("badge failed\">passed"),
        "{refund}"
    );
    let pay = rows.iter().find(|row| row.contains("h-pay-1")).unwrap();
    assert!(
        pay.contains("2100-01-01 00:00:00Z") && !pay.contains("passed"),
        "{pay}"
    );
}

/// No markup from the store survives: `<script>`, `<img onerror>`, a `</pre>` closing the
/// diagram source early, quotes breaking out of attributes, or a raw control character.
fn assert_escaped(page: &str) {
    let lower = page.to_lowercase();
    assert!(!lower.contains("<script"), "unescaped <script>:\n{page}");
    assert!(!lower.contains("<img"), "unescaped <img>:\n{page}");
    assert_eq!(
        lower.matches("</pre>").count(),
        lower.matches("<pre").count(),
        "a stray </pre>:\n{page}"
    );
    assert!(!page.contains('\u{1b}'), "a raw escape character");
    assert!(!page.contains("\"alert"), "a quote broke out:\n{page}");
}

#[tokio::test]
async fn hostile_payloads_are_shown_escaped_on_every_page() {
    let served = seeded().await;
    for query in ["", "?view=hooks", "?run=evil-1"] {
        let (status, _, page) = get(&served, query).await;
        assert_eq!(status, StatusCode::OK);
        assert_escaped(&page);
    }
    let (_, _, page) = get(&served, "?run=evil-1").await;
    assert!(
        page.contains("&lt;/pre&gt;&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"),
        "{page}"
    );
    assert!(page.contains("ünïcødé ✓"), "unicode kept: {page}");
    assert!(
        page.contains("&amp;amp;"),
        "an entity in a payload stays literal"
    );
    let (_, _, page) = get(&served, "?view=hooks").await;
    assert!(
        page.contains("\\&quot;&#39;`"),
        "quotes in metadata escaped: {page}"
    );
    // A hostile run id in the URL is reflected escaped on the 404 page.
    let (status, _, page) = get(&served, "?run=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_escaped(&page);
    assert!(
        page.contains("No run `&lt;script&gt;alert(1)&lt;/script&gt;`"),
        "{page}"
    );
}

#[tokio::test]
async fn links_use_encoded_run_ids_and_work_under_the_mount_path() {
    let served = seeded().await;
    let (_, _, page) = get(&served, "").await;
    assert!(page.contains("<a href=\"?run=order-1\">"), "{page}");
    assert!(page.contains("<a href=\"?view=hooks\">"));
    let (status, _, _) = get(&served, "?run=order-2").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, page) = get(&served, "/elsewhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
    assert!(page.contains("The dashboard has one address"), "{page}");
}

#[tokio::test]
async fn the_dashboard_never_writes() {
    let served = seeded().await;
    let before = served.store.list_runs().await.unwrap();
    for query in [
        "",
        "?view=hooks",
        "?run=order-1",
        "?run=evil-1",
        "?run=nope",
    ] {
        get(&served, query).await;
    }
    assert_eq!(served.store.list_runs().await.unwrap(), before);
    let response = reqwest::Client::new()
        .post(&served.base)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_store_shows_the_same_runs() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = format!("dashboard_{}", std::process::id());
    let store = awaitly::store::PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    store.drop_schema().await.unwrap();
    let store = awaitly::store::PostgresStore::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    support::seed(&store).await;
    let served = serve(Arc::new(store.clone()), None).await;
    let (_, _, page) = get(&served, "").await;
    assert_eq!(rows(&page).len(), support::runs().len());
    let (_, _, page) = get(&served, "?run=evil-1").await;
    assert_escaped(&page);
    let (_, _, page) = get(&served, "?view=hooks").await;
    assert!(page.contains("approve:refund:7"));
    store.drop_schema().await.unwrap();
}
