//! privgate's integration tests: one binary, real sockets on loopback, real TLS, a fake upstream
//! speaking the providers' wire formats. See `common` for the fixtures.

mod common;

mod crash;

mod admin;
mod audit_trail;

mod cli;
mod consent;

mod errors;
mod forwarding;
mod gdpr;
mod leaks;
mod load;
mod more_providers;
mod policy_gate;
mod presidio;
mod privacy;
mod protocol;
mod reload;
mod response_filter;
mod sdk;
mod streaming;
mod upstream_faults;
