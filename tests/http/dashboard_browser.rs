//! The dashboard in a real browser: headless Chromium, driven through chromedriver over the W3C
//! `WebDriver` protocol, loads the pages of a seeded SQLite store; the assertions are on what a
//! person sees (rendered text, the page title), not on the HTML source.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`apt-get install -y chromium chromium-driver`)
//! and `AWAITLY_BROWSER_TESTS=1`; without that variable the test prints a skip notice and passes.
//! With `AWAITLY_BLESS=1` it also saves docs/dashboard-{runs,run,hooks}.png.
#![cfg(all(feature = "dashboard", feature = "sqlite"))]

use crate::support;

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use awaitly::dashboard::{DashboardConfig, router_with};
use awaitly::http::axum::Router;
use awaitly::store::{SqliteStore, Store};
use awaitly::{HookId, await_hook, step, workflow};
use base64::Engine as _;
use serde_json::{Value, json};
use support::SeededSqlite;

#[workflow]
async fn checkout(hook: HookId) -> Result<String, String> {
    let _order: Value = step!("load-order", Ok::<Value, String>(json!({})))?;
    let _paid: Value = await_hook!(hook);
    step!("ship", Ok::<String, String>("tracking".into()))
}

/// The W3C key of an element reference in `WebDriver` replies.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process, killed when dropped.
struct Chromedriver {
    child: Child,
    base: String,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_chromedriver() -> Chromedriver {
    let port = StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is not installed: apt-get install -y chromium chromium-driver");
    let driver = Chromedriver {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(reply) = reqwest::get(format!("{}/status", driver.base)).await {
            let status: Value = reply.json().await.unwrap_or_default();
            if status["value"]["ready"] == true {
                return driver;
            }
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not become ready in 20s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One browser session: the few `WebDriver` commands the test needs.
struct Browser {
    http: reqwest::Client,
    session: String,
}

impl Browser {
    async fn open(driver: &Chromedriver) -> Self {
        let http = reqwest::Client::new();
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,860", "--lang=en-US"],
            },
        }}});
        let reply: Value = http
            .post(format!("{}/session", driver.base))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused a session: {reply}"))
            .to_owned();
        Self {
            http,
            session: format!("{}/session/{session}", driver.base),
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(
            reply["value"].get("error").is_none(),
            "WebDriver {path}: {reply}"
        );
        reply["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn title(&self) -> String {
        self.command(reqwest::Method::GET, "/title", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits (up to 10 s) until the page's URL contains `part`: a click that submits a form
    /// returns before the browser has navigated when the machine is busy.
    async fn wait_for_url(&self, part: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url().await;
            if url.contains(part) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the page never reached a URL with `{part}`: {url}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn find_all(&self, css: &str) -> Vec<String> {
        let found = self
            .command(
                reqwest::Method::POST,
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|element| {
                element[ELEMENT]
                    .as_str()
                    .unwrap_or_else(|| panic!("not an element: {element}"))
                    .to_owned()
            })
            .collect()
    }

    async fn find(&self, css: &str) -> String {
        self.find_all(css)
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element `{css}`"))
    }

    /// The text a person sees in the element (rendered, hidden parts left out).
    async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        let text = self
            .command(
                reqwest::Method::GET,
                &format!("/element/{element}/text"),
                None,
            )
            .await;
        text.as_str().unwrap().to_owned()
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn screenshot(&self) -> Vec<u8> {
        let encoded = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap())
            .unwrap()
    }

    async fn close(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

/// Checks the screenshot is a PNG; under `AWAITLY_BLESS=1` saves it as docs/`name`.
fn keep_screenshot(name: &str, png: &[u8]) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    assert!(
        png.len() > 10_000,
        "a screenshot of a rendered page, not a blank one"
    );
    if std::env::var_os("AWAITLY_BLESS").is_some() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, png).unwrap();
    }
}

async fn serve(store: Arc<dyn Store>) -> String {
    let config = DashboardConfig::new().describe("checkout", checkout("h".into()).description());
    let app = Router::new().nest("/awaitly", router_with(store, config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/awaitly", listener.local_addr().unwrap());
    tokio::spawn(async move { awaitly::http::axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_sees_runs_a_run_and_pending_hooks_in_chromium() {
    if std::env::var("AWAITLY_BROWSER_TESTS").as_deref() != Ok("1") {
        println!(
            "skipped: set AWAITLY_BROWSER_TESTS=1 to run the Chromium test \
             (needs: apt-get install -y chromium chromium-driver)"
        );
        return;
    }
    let seeded = SeededSqlite::new("browser").await;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&seeded.path).await.unwrap());
    let base = serve(store).await;
    let driver = start_chromedriver().await;
    let browser = Browser::open(&driver).await;

    runs_page(&browser, &base).await;
    filter_form(&browser).await;
    run_page(&browser, &base).await;
    hooks_page(&browser, &base).await;
    hostile_text(&browser, &base).await;
    browser.close().await;
}

async fn runs_page(browser: &Browser, base: &str) {
    // The runs list: every run with its status and what it waits on.
    browser.go(base).await;
    assert_eq!(browser.title().await, "Runs · awaitly");
    let runs = browser.text("main").await;
    for seen in [
        "order-1",
        "order-2",
        "refund-7",
        "reminder-3",
        "import-9",
        "evil-1",
        "suspended",
        "completed",
        "stopped",
        "failed",
        "hook h-pay-1",
        "approval approve:refund:7",
        "sleep cool-off due",
        "legacy-4",
    ] {
        assert!(
            runs.contains(seen),
            "`{seen}` not visible on the runs page:\n{runs}"
        );
    }
    let total = support::runs().len();
    assert!(runs.contains(&format!("{total} of {total} runs")), "{runs}");
    keep_screenshot("dashboard-runs.png", &browser.screenshot().await);
}

async fn filter_form(browser: &Browser) {
    // Filtering with the form, as a person would.
    browser
        .click("select[name=status] option[value=failed]")
        .await;
    browser.click("button[type=submit]").await;
    browser.wait_for_url("status=failed").await;
    let filtered = browser.text("tbody").await;
    assert!(
        filtered.contains("import-9") && !filtered.contains("order-1"),
        "{filtered}"
    );
}

async fn run_page(browser: &Browser, base: &str) {
    // A run page, reached by clicking its link: the step timeline and the diagram.
    browser.go(base).await;
    browser.click("a[href='?run=order-1']").await;
    browser.wait_for_url("run=order-1").await;
    assert_eq!(browser.title().await, "Run order-1 · awaitly");
    let run = browser.text("main").await;
    for seen in [
        "load-order",
        "hook:h-pay-1",
        "waiting",
        "2023-11-14 22:13:20Z",
        "step load-order",
        "pending on h-pay-1 for",
        "step ship",
        "not reached",
    ] {
        assert!(
            run.contains(seen),
            "`{seen}` not visible on the run page:\n{run}"
        );
    }
    assert!(
        !run.contains("flowchart TD"),
        "the Mermaid source stays folded until opened"
    );
    keep_screenshot("dashboard-run.png", &browser.screenshot().await);
    browser.click("details summary").await;
    assert!(
        browser
            .text("pre.mermaid-source")
            .await
            .starts_with("flowchart TD")
    );
}

async fn hooks_page(browser: &Browser, base: &str) {
    // Pending hooks and approvals.
    browser.go(&format!("{base}?view=hooks")).await;
    let hooks = browser.text("main").await;
    for seen in [
        "h-pay-1",
        "h-pay-3",
        "approve:refund:7",
        "refund over the limit",
        "passed",
        "2100-01-01 00:00:00Z",
        "h-evil",
    ] {
        assert!(
            hooks.contains(seen),
            "`{seen}` not visible on the hooks page:\n{hooks}"
        );
    }
    keep_screenshot("dashboard-hooks.png", &browser.screenshot().await);
}

async fn hostile_text(browser: &Browser, base: &str) {
    // Hostile text is shown literally, and none of it ran or became markup.
    browser.go(&format!("{base}?run=evil-1")).await;
    let evil = browser.text("main").await;
    assert!(
        evil.contains(
            "</pre><script>document.title='pwned'</script><img src=x onerror=\"alert(1)\">"
        ),
        "hostile text shown literally:\n{evil}"
    );
    assert!(
        evil.contains("ünïcødé ✓") && evil.contains("&amp;"),
        "{evil}"
    );
    assert_eq!(
        browser.title().await,
        "Run evil-1 · awaitly",
        "no injected script ran"
    );
    assert!(
        browser.find_all("main script, main img").await.is_empty(),
        "no injected elements"
    );
}
