//! The HTTP routers on a real server: hook deliveries, approval decisions, the administration
//! listings, signatures and limits at the edge, and the dashboard (in a browser when chromedriver
//! is installed). One test binary (linking is most of a test build's time); each module is one
//! area and carries the features it needs.

#[cfg(feature = "durable")]
#[path = "../common/mod.rs"]
mod common;
#[cfg(feature = "sqlite")]
#[path = "../support/mod.rs"]
mod support;

mod approvals;
mod cancel;
mod dashboard;
mod dashboard_browser;
mod dashboard_constructs;
mod edges;
mod hooks;
mod security;
