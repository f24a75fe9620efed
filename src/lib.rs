//! privgate: a privacy-compliance proxy between applications and AI chat backends.
//!
//! The binary (`src/main.rs`) is a thin CLI over this library. Module map and request flow:
//! `ARCHITECTURE.md` in the shared design folder; each module's doc says what it owns.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod audit;
pub mod config;
pub mod consent;
pub mod demo;
pub mod detect;
pub mod error;
pub mod eval;
pub mod metrics;
pub mod policy;
pub mod providers;
pub mod proxy;
pub mod redact;
pub mod store;
pub mod tls;
