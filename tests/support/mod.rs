//! The one support module of the stories in `tests/`: what they set up
//! again and again, written once.
//!
//! - [`process`]: run the `congvan` built for the tests (or any program)
//!   and capture what it did; temporary folders;
//! - [`relays`]: the committed demo PKI, signed dispatches ([`relays::Author`]),
//!   relay configurations, relays in-process or as processes
//!   ([`relays::RelayProcess`]), their clients and the clerk commands, free
//!   ports, raw TLS and HTTP, metrics;
//! - [`openssl_pki`]: a PKI made by the real `openssl`, to judge congvan's
//!   path validation against chains it did not make;
//! - [`smtp`]: a real SMTP server (aiosmtpd) and the mail it received;
//! - [`readme`]: the README's commands, extracted and run as written;
//! - [`browser`]: Debian's headless Chromium over WebDriver, with screenshots;
//! - [`web`]: the web workplace of `congvan demo --serve`, and an HTTP
//!   client with a cookie jar that fills its forms.
//!
//! Every story includes it with `mod support;` and takes what it needs.
//! Nothing here holds state between tests: each makes its own temporary
//! folder, so tests run in parallel.
#![allow(dead_code)]
#![allow(clippy::disallowed_macros)] // test progress output

pub mod browser;
pub mod openssl_pki;
pub mod process;
pub mod readme;
pub mod relays;
pub mod smtp;
pub mod web;
