#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

#[doc(inline)]
pub use awaitly_macros::workflow;
#[doc(inline)]
pub use awaitly_runtime::*;
