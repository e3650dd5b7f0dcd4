// The README is the crate's manual and its examples are doc tests; one of them uses `SqliteStore`,
// so it is included when that feature is on (docs.rs and the test command build with all features).
#![cfg_attr(feature = "sqlite", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "sqlite"),
    doc = "Durable workflows that suspend at callback hooks and resume from serialisable state. \
           The manual is the crate's README (these docs include it with the `sqlite` feature)."
)]
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

#[doc(inline)]
pub use awaitly_macros::workflow;
#[doc(inline)]
pub use awaitly_runtime::*;

#[cfg(feature = "durable")]
pub mod durable;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "signatures")]
pub mod signature;
#[cfg(feature = "durable")]
pub mod store;
#[cfg(feature = "tracing")]
pub mod trace;
