//! privgate: a privacy-compliance proxy between applications and AI chat backends.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod detect;
pub mod eval;
