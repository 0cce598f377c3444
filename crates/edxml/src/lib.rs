//! edXML (QCVN 102:2016): the message format of Vietnam's national document
//! exchange and provincial hubs, read and written so that offices on
//! congvan can exchange with offices that are not.
//!
//! - [`import_message`] turns an edXML message into a `.cvd` sealed by the
//!   gateway office as an authenticated copy; what has no congvan field is
//!   kept for export or reported, never dropped silently;
//! - [`export_dispatch`] writes a `.cvd` as an edXML message;
//! - [`read_status`] and [`write_status`] convert status messages.
//!
//! Reading is strict and bounded: bytes before the XML, a DTD, malformed XML,
//! broken base64, a ZIP bomb inside an attachment or a Reference without its
//! attachment are refused with the reason, and nothing is written.
//! Attachment contents are streamed both ways, so memory stays flat.
//!
//! The header's XML signature is information only: hubs append trace
//! headers and so break it. The binding signatures are the `.cvd`'s.
#![forbid(unsafe_code)]

mod bridge;
mod error;
mod limits;
mod mapping;
mod message;
mod packed;
mod read;
mod scan;
mod write;

pub use bridge::{export_dispatch, import_message, ExportReport, ImportOptions, ImportReport};
pub use error::Error;
pub use limits::Limits;
pub use mapping::{format_date, format_timestamp, organ_id_text};
pub use message::{
    Attachment, Carried, Header, Message, Organ, OtherInfo, ResponseFor, SignerInfo, StaffInfo,
    StatusMessage, TraceHeader, NAMESPACE, STATUS_CODES,
};
pub use read::{read_message, read_status, Notes};
pub use write::{write_message, write_status};
