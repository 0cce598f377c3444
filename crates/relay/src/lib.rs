//! The congvan store-and-forward relay.
//!
//! One relay runs at each office level. It accepts signed dispatches over
//! mutual TLS, verifies them, stores them durably (SQLite in WAL mode plus
//! content-addressed blobs, group-committed), and moves them along the
//! organization tree: into a local inbox, down to a child relay, or up to
//! the parent. Transfers are at-least-once and receipt is idempotent by
//! dispatch id, so each inbox sees a dispatch exactly once. Every hop signs
//! a custody receipt; recipients' status messages and non-delivery notices
//! travel back to the sender's relay for `track`.
#![forbid(unsafe_code)]

pub mod api;
pub mod batch;
mod caller;
pub mod client;
pub mod config;
mod connection_limits;
mod daemon;
mod data_lock;
mod delivery;
pub mod encryption_certificates;
mod error;
pub mod figure_reports;
pub mod figures;
pub mod folder_gateway;
mod hop_health;
mod ingest;
mod init;
pub mod live_trust;
pub mod merkle;
pub mod message_log;
pub mod metrics;
pub mod notices;
mod peer_check;
pub mod progress;
mod pull_serve;
mod relay_signed;
mod routing;
mod server;
pub mod small_pages;
mod state;
pub mod store;
pub mod subtree_figures;
mod tls;
mod tls_reason;
pub mod trust_reload;
pub mod upload;

pub use caller::Caller;
pub use client::{ExpectedRelay, Pulled, RelayClient};
pub use config::RelayConfig;
pub use daemon::{run, start, RunningRelay};
pub use delivery::backoff;
pub use error::Error;
pub use ingest::{ingest_ack, ingest_dispatch, Outcome, Refusal};
pub use init::{init_config, InitRequest};
pub use routing::{Route, Router};
/// The API routes without the socket: what the TLS layer serves, for
/// callers that bring their own transport (the request fuzzer does).
pub use server::{routes, Authenticated};
pub use state::RelayState;
pub use tls::{client_config, server_config, TlsTrust};
pub use upload::Upload;
