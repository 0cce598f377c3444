//! The `.cvd` signed dispatch envelope.
//!
//! A `.cvd` file is a ZIP container in the style of ASiC-E holding one
//! official dispatch: its metadata (Decree 30/2020, edXML header), its
//! attachments (stored as they are), a manifest in RFC 8785 canonical JSON
//! with every part's SHA-256, JWS signatures over the manifest, and signed
//! receipts collected on the way. See `docs/FORMAT.md` for the byte-level
//! format.
//!
//! - [`create_dispatch`] writes a new container;
//! - [`Envelope::open`] reads one, refusing anything outside the format;
//! - [`sign_dispatch`] appends a signature, keeping earlier ones valid;
//! - [`verify_dispatch`] checks everything and returns a [`VerificationReport`];
//! - [`preserve_dispatch`] embeds validation data under an archive timestamp,
//!   and [`verify_dispatch_offline`] verifies with nothing else;
//! - [`make_receipt`] and [`append_receipt`] add custody and status receipts;
//! - [`create_sealed`], [`SealedEnvelope`] and [`verify_sealed`] carry a
//!   secret dispatch encrypted, with only a [`Routing`] header in clear.
#![forbid(unsafe_code)]

mod archive;
mod archive_check;
mod arrival_digest;
mod builder;
mod container;
mod custody_chain;
mod digest;
mod error;
mod hashing_writer;
mod jws;
pub mod layout;
mod limits;
mod manifest;
pub mod metadata;
mod partial_file;
mod preservation;
mod receipt;
mod report;
mod routing;
mod sealed;
mod signature;
mod timestamp;
mod verify;

pub use arrival_digest::ArrivalDigest;
pub use builder::{create_dispatch, create_sealed, guess_media_type, AttachmentSource, Durability};
pub use container::{AttachmentCheck, Envelope, StoredAttachment, StoredJws, StoredPreservation};
pub use digest::{hex, sha256_file, sha256_hex};
pub use error::Error;
pub use hashing_writer::FileDigest;
pub use jws::Jws;
pub use limits::Limits;
pub use manifest::{
    check_media_type, Manifest, ManifestEntry, MANIFEST_FORMAT, MAX_CANONICAL_INTEGER,
};
pub use partial_file::PartialFile;
pub use preservation::{
    archive_timestamp_imprint, offline_trust_store, preserve_dispatch, PreservationRecord,
    PreservationSummary, PRESERVATION_FORMAT,
};
pub use receipt::{
    append_receipt, append_receipt_digested, append_receipt_in_place, append_receipt_with,
    make_receipt, parse_receipt, receipt_appended_bytes, receipt_time, verify_receipt,
    ReceiptHeader, ReceiptRefusal, ReceiptTimestamp, Speaker, Statement, StatusCode,
    VerifiedReceipt, MAX_RECEIPT_TEXT_CHARS, RECEIPT_MEDIA_TYPE,
};
pub use report::{
    ArchiveTimestampResult, AttachmentResult, Indication, ReceiptResult, SignatureResult,
    SubIndication, VerificationReport,
};
pub use routing::{Routing, MAX_ROUTING_RECIPIENTS};
pub use sealed::{Opened, SealedEnvelope};
pub use signature::{
    append_signature, issue_dispatch, make_signature, parse_header, sign_dispatch,
    sign_dispatch_with, signing_time_text, CongvanHeader, ProtectedHeader, SignatureRole,
    SignatureSummary, Timestamper, MANIFEST_MEDIA_TYPE,
};
pub use timestamp::{
    add_signature_timestamp, signature_timestamp_imprint, signature_timestamps, UnprotectedHeader,
};
pub use verify::{verify_dispatch, verify_dispatch_offline, verify_sealed};
