//! The stories: one test binary for every story file in this folder, so
//! the support module and the crates below are compiled and linked once
//! rather than once per story. Each story is a module; its tests are named
//! `STORY::TEST` (`cargo test -p congvan --test stories -- relay_mail::`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

mod support;

mod dispatch_envelope;
mod edxml_bridge;
mod edxml_gateway;
mod first_hour;
mod hostile_fixtures;
mod pki_garbage;
mod pki_openssl;
mod pki_path_conformance;
mod pki_profile_rules;
mod progress_bar;
mod relay_batches;
mod relay_crash;
mod relay_disk_full;
mod relay_end_to_end;
mod relay_expiry;
mod relay_hostile_peers;
mod relay_log_proofs;
mod relay_mail;
mod relay_metrics;
mod relay_offline_parent;
mod relay_recall;
mod relay_refusals;
mod relay_reload;
mod relay_retention;
mod relay_robustness;
mod render_fixtures;
mod secret_dispatch;
mod timestamps;
mod web_browser;
mod web_dashboard;
mod web_verify_page;
mod web_workplace;
