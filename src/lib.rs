// The README is the crate's manual and its examples are doc tests; they use `SqliteStore` and the
// dashboard, so it is included when those features are on (docs.rs and the test command build with all features).
#![cfg_attr(all(feature = "sqlite", feature = "dashboard"), doc = include_str!("../README.md"))]
#![cfg_attr(
    not(all(feature = "sqlite", feature = "dashboard")),
    doc = "Durable workflows that suspend at callback hooks and resume from serialisable state. \
           The manual is the crate's README (these docs include it with the `sqlite` and `dashboard` features)."
)]
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

#[doc(inline)]
pub use awaitly_macros::workflow;
#[doc(inline)]
pub use awaitly_runtime::*;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "dashboard")]
pub mod dashboard;
#[cfg(feature = "durable")]
pub mod durable;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "durable")]
pub mod inspect;
#[cfg(feature = "signatures")]
pub mod signature;
#[cfg(feature = "durable")]
pub mod store;
#[cfg(feature = "tracing")]
pub mod trace;
