//! A read-only HTML dashboard of a [`Store`]: runs with filters, one run's step timeline and
//! diagram, and pending hooks and approvals — server-rendered, no JavaScript, no build step, no
//! asset fetched from anywhere.
//!
//! # Security
//!
//! **Off unless the application mounts it, and it must sit behind the application's own
//! authentication.** It shows run inputs, step errors and hook metadata, which may hold personal
//! data, and hook ids, which are the capability to deliver a callback. The router checks no
//! credentials itself: wrap it in your auth middleware (or bind it to an internal listener).
//!
//! It never writes to the store. Every value it shows is HTML-escaped (payloads are
//! attacker-controlled), and every page is sent with a `Content-Security-Policy` that forbids
//! scripts, so even a missed escape could not run code.
//!
//! # Mounting
//!
//! ```
//! use std::sync::Arc;
//! use awaitly::dashboard::{DashboardConfig, router_with};
//! use awaitly::http::axum::Router;
//! use awaitly::store::{MemoryStore, Store};
//!
//! #[awaitly::workflow]
//! async fn checkout(order: String) -> Result<String, String> {
//!     awaitly::step!("ship", Ok::<String, String>(order))
//! }
//!
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
//! let config = DashboardConfig::new().describe("checkout", checkout(String::new()).description());
//! let app: Router = Router::new().nest("/awaitly", router_with(store, config));
//! # drop(app);
//! ```
//!
//! Pages (links are relative query strings, so the dashboard works under any mount path):
//! `?` runs (filters `?status=suspended&workflow=checkout`), `?run=ID` one run,
//! `?view=hooks` pending hooks and approvals. axum's `nest("/awaitly", …)` answers `/awaitly`, not
//! `/awaitly/`; redirect the latter in your router if people type it.

mod constructs;
mod diagram;
mod html;
mod pages;

use std::collections::HashMap;
use std::sync::Arc;

use awaitly_runtime::WorkflowDescription;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::inspect::{self, WaitKind};
use crate::store::{RunStatus, Store, StoreError, now_ms};

/// What the dashboard knows besides the store: the workflows' descriptions, to draw every site
/// of a run (reached or not) instead of only its recorded steps.
///
/// ```
/// #[awaitly::workflow]
/// async fn refund() -> Result<u8, String> {
///     awaitly::step!("pay", Ok::<u8, String>(1))
/// }
/// let config = awaitly::dashboard::DashboardConfig::new().describe("refund", refund().description());
/// # drop(config);
/// ```
#[derive(Clone, Debug, Default)]
pub struct DashboardConfig {
    descriptions: HashMap<String, &'static WorkflowDescription>,
}

impl DashboardConfig {
    /// No descriptions: run pages draw the recorded steps.
    ///
    /// ```
    /// let config = awaitly::dashboard::DashboardConfig::new();
    /// # drop(config);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Draws runs of the workflow registered (with the engine) as `workflow` over
    /// `description` (from `your_workflow(…).description()`).
    ///
    /// ```
    /// #[awaitly::workflow]
    /// async fn greet() -> Result<u8, String> {
    ///     awaitly::step!("hello", Ok::<u8, String>(1))
    /// }
    /// let config = awaitly::dashboard::DashboardConfig::new().describe("greet-v2", greet().description());
    /// # drop(config);
    /// ```
    #[must_use]
    pub fn describe(mut self, workflow: &str, description: &'static WorkflowDescription) -> Self {
        self.descriptions.insert(workflow.to_owned(), description);
        self
    }
}

struct Dashboard {
    store: Arc<dyn Store>,
    config: DashboardConfig,
}

/// The dashboard over `store`, without workflow descriptions; mount it with
/// `Router::nest("/awaitly", router(store))` behind your authentication.
///
/// ```
/// # use std::sync::Arc;
/// let store: Arc<dyn awaitly::store::Store> = Arc::new(awaitly::store::MemoryStore::new());
/// let app = awaitly::http::axum::Router::<()>::new().nest("/awaitly", awaitly::dashboard::router(store));
/// # drop(app);
/// ```
pub fn router(store: Arc<dyn Store>) -> Router {
    router_with(store, DashboardConfig::new())
}

/// The dashboard over `store`, drawing runs over the descriptions in `config`.
///
/// ```
/// # use std::sync::Arc;
/// use awaitly::dashboard::{DashboardConfig, router_with};
/// let store: Arc<dyn awaitly::store::Store> = Arc::new(awaitly::store::MemoryStore::new());
/// let dashboard = router_with(store, DashboardConfig::new());
/// # drop(dashboard);
/// ```
pub fn router_with(store: Arc<dyn Store>, config: DashboardConfig) -> Router {
    let dashboard = Arc::new(Dashboard { store, config });
    Router::new()
        .route("/", get(show))
        .fallback(not_found)
        .with_state(dashboard)
}

/// Which page a query string asks for.
enum Request {
    Runs {
        status: Option<RunStatus>,
        workflow: Option<String>,
    },
    Run(String),
    Hooks,
}

fn parse_request(query: Option<&str>) -> Result<Request, String> {
    let pairs = html::parse_query(query.unwrap_or(""));
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.clone())
    };
    if let Some(run_id) = field("run") {
        return Ok(Request::Run(run_id));
    }
    match field("view").as_deref() {
        Some("hooks") => return Ok(Request::Hooks),
        None | Some("runs") => {}
        Some(other) => {
            return Err(format!(
                "There is no page `{other}`: use ?view=runs or ?view=hooks."
            ));
        }
    }
    let status = match field("status") {
        None => None,
        Some(text) => Some(RunStatus::parse(&text).ok_or_else(|| {
            format!(
                "`{text}` is not a run status: use running, suspended, completed, failed or stopped."
            )
        })?),
    };
    Ok(Request::Runs {
        status,
        workflow: field("workflow"),
    })
}

async fn show(State(dashboard): State<Arc<Dashboard>>, RawQuery(query): RawQuery) -> Response {
    let request = match parse_request(query.as_deref()) {
        Ok(request) => request,
        Err(message) => {
            return html_response(
                StatusCode::BAD_REQUEST,
                pages::problem("Bad request", &message),
            );
        }
    };
    let now = now_ms();
    let rendered = match request {
        Request::Runs { status, workflow } => inspect::survey(&*dashboard.store)
            .await
            .map(|summaries| pages::runs(&summaries, status, workflow.as_deref(), now)),
        Request::Hooks => hooks_page(&dashboard, now).await,
        Request::Run(run_id) => match run_page(&dashboard, &run_id, now).await {
            Ok(Some(page)) => Ok(page),
            Ok(None) => {
                let message = format!("No run `{run_id}` in the store: it may have been deleted.");
                return html_response(
                    StatusCode::NOT_FOUND,
                    pages::problem("Unknown run", &message),
                );
            }
            Err(error) => Err(error),
        },
    };
    match rendered {
        Ok(page) => html_response(StatusCode::OK, page),
        Err(error) => html_response(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::problem(
                "Store unavailable",
                &format!("{error}. Reload the page once the store is reachable."),
            ),
        ),
    }
}

/// Any other path under the mount point: not a page (the dashboard has one address).
async fn not_found() -> Response {
    html_response(
        StatusCode::NOT_FOUND,
        pages::problem(
            "Not found",
            "The dashboard has one address, its mount point: pages are ?view=hooks and ?run=ID.",
        ),
    )
}

async fn hooks_page(dashboard: &Dashboard, now: u64) -> Result<String, StoreError> {
    let waiting: Vec<_> = inspect::survey(&*dashboard.store)
        .await?
        .into_iter()
        .flat_map(|run| {
            let record = run.record;
            run.waits
                .into_iter()
                .filter(|wait| wait.kind != WaitKind::Sleep)
                .map(move |wait| (record.clone(), wait))
        })
        .collect();
    Ok(pages::hooks(&waiting, now))
}

async fn run_page(
    dashboard: &Dashboard,
    run_id: &str,
    now: u64,
) -> Result<Option<String>, StoreError> {
    let Some(run) = dashboard.store.load_run(run_id).await? else {
        return Ok(None);
    };
    let hooks = dashboard.store.pending_hooks().await?;
    let waits = inspect::waits_of(&run.record, &run.state, &hooks);
    let steps = inspect::steps_of(&run.state, now);
    let description = dashboard.config.descriptions.get(&run.record.workflow);
    let diagram = match description {
        Some(description) => diagram::described(description, run_id, &run.state, now),
        None => diagram::recorded(&run.record.workflow, &steps),
    };
    let mut constructs = inspect::constructs_of(
        &*dashboard.store,
        run_id,
        &run.state,
        &run.record.outcome,
        now,
    )
    .await?;
    if let Some(description) = description {
        // With the workflow's description, fan-outs are told from steps exactly.
        constructs.fan_outs = awaitly_runtime::fan_out_progress(description, &run.state, now);
    }
    let details = pages::RunDetails {
        record: &run.record,
        waits: &waits,
        steps: &steps,
        constructs: &constructs,
        diagram,
        described: description.is_some(),
    };
    Ok(Some(pages::run(&details, now)))
}

/// An HTML page with headers that keep it out of caches and forbid scripts and remote assets.
fn html_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
