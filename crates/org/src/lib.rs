//! Organization identifiers and the organization registry.
//!
//! Every office that sends or receives dispatches has an organization id. Two
//! syntaxes are in use in Vietnam and both parse here:
//!
//! * the QCVN 102:2016 form `DDD.CC.BB.Xnn` (13 characters, read right to
//!   left, zero groups meaning "level unused"), e.g. `000.00.15.H99`;
//! * the parent-first form of Decision 20/2020/QĐ-TTg, e.g. `H99.15`.
//!
//! Both normalise to one internal parent-first form so that "is this office
//! inside that subtree" is a prefix test. Codes change when provinces merge,
//! so nothing here hard-codes real codes: offices come from a [`Registry`]
//! file.
#![forbid(unsafe_code)]

mod error;
mod org_id;
mod registry;

pub use error::Error;
pub use org_id::OrgId;
pub use registry::{check_verify_url, Level, Office, Registry, RelayEntry};
