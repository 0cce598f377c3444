//! congvan's web workplace: where clerks (văn thư), leaders and auditors of
//! the offices a relay serves do their day's work in a browser.
//!
//! It runs inside the relay process (`congvan relay run` starts it when
//! relay.toml has a `[web]` section) over the relay's own state, and goes
//! through the same doors as the relay's API: a dispatch a clerk sends is
//! ingested exactly as one uploaded by `congvan send`, and a page shows a
//! dispatch only when the relay's one visibility rule
//! ([`congvan_relay::store::Store::visible_to`]) lets the office see it.
//!
//! Pages are rendered on the server (maud escapes every value), forms post
//! and redirect, and nothing needs JavaScript. Every asset is in the binary.
#![forbid(unsafe_code)]
// Handlers return `Result<Response, Response>`: the error is the page that
// answers instead (a redirect to the login, a refusal), as axum intends.
#![allow(clippy::result_large_err)]

pub mod account;
mod app;
mod csrf;
mod desk;
mod error;
mod headers;
pub mod key_vault;
mod labels;
mod pages;
pub mod password;
mod random;
mod serve;
mod session;
pub mod store;
mod throttle;
pub mod totp;

pub use app::WebApp;
pub use error::Error;
pub use serve::{serve, RunningWeb};
pub use store::WebStore;
