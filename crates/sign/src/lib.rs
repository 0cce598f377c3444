//! The congvan signing library: keys, certificates, a private government PKI,
//! certificate path validation and raw signatures.
//!
//! The PKI is a national root CA, provincial and ministry CAs below it, and
//! certificates for offices (the organization's seal), officials (a person
//! in a position) and relays (TLS between relays). Every end-entity
//! certificate binds an organization id, and every CA is limited to its own
//! subtree of the organization tree.
//!
//! Path validation answers one question: is this certificate valid for this
//! role, for this organization, at this time, under these trust anchors and
//! CRLs? Every "no" is an [`Error`] that names the reason.
#![forbid(unsafe_code)]

mod algorithm;
mod certificate;
mod credential;
mod demo;
mod error;
mod issuance;
mod key_strength;
mod low_s;
mod parse_cache;
mod path_eku;
mod pem_file;
mod profile;
mod revocation;
mod role;
mod signing_key;
mod validation;
mod verify;

pub use algorithm::Algorithm;
pub use certificate::{Certificate, KeyUsageBits, ORG_URI_PREFIX};
pub use credential::{Credential, CERT_FILE, CHAIN_FILE, KEY_FILE};
pub use demo::{build_demo, demo_relay_name, DemoPki};
pub use error::Error;
pub use issuance::{
    init_root, init_root_at, issue_ca, issue_ca_at, issue_leaf, issue_leaf_at, LeafRequest,
};
pub use revocation::{RevocationReason, RevocationRecord, RevokedEntry, REVOKED_FILE};
pub use role::Role;
pub use signing_key::SigningKey;
pub use validation::{Crl, Purpose, StaleCrls, TrustStore, ValidatedChain, VerificationTime};
pub use verify::verify_signature;

/// Re-exported so users of this crate name organizations without another dependency.
pub use congvan_org::OrgId;
