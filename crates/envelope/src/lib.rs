//! The `.cvd` signed dispatch envelope.
#![forbid(unsafe_code)]

mod error;
pub mod metadata;

pub use error::Error;
