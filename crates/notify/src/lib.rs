//! E-mail for congvan relays: notices to clerks and daily/weekly digests.
//!
//! Clerks in communes do not sit in front of a terminal, so a relay tells
//! them by e-mail when a dispatch arrives, and tells senders when one is
//! rejected, expires undelivered or is overdue. Leaders get digests of the
//! exchange figures. This crate composes those messages (Vietnamese, RFC
//! 2047 encoded headers, UTF-8 plain-text bodies) and sends them with
//! lettre; the relay decides when, queues them durably and retries.
#![forbid(unsafe_code)]

mod config;
mod digest;
mod error;
mod mailer;
mod notice;

pub use config::{MailConfig, SmtpSecurity};
pub use digest::{Digest, Period, UrgencyCount};
pub use error::Error;
pub use mailer::Mailer;
pub use notice::{DispatchSummary, Notice};
