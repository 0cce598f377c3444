//! An edXML message and a status message as data: the elements of
//! QCVN 102:2016 with their values as the message writes them (dates as
//! `yyyy/MM/dd`, codes as digits). Mapping to congvan's metadata is
//! `crate::mapping`'s concern, not this file's.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The edXML namespace. Elements are matched by it, never by prefix.
pub const NAMESPACE: &str = "http://www.mic.gov.vn/TBT/QCVN_102_2016";

/// An office as edXML names it (`From`, `To`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organ {
    /// `OrganId`.
    pub organ_id: String,
    /// `OrganizationInCharge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_charge: Option<String>,
    /// `OrganName`.
    pub organ_name: String,
    /// `OrganAdd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `Email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `Telephone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
    /// `Fax`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    /// `Website`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

/// `SignerInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerInfo {
    /// `Competence`: the capacity lines, e.g. "KT. CHỦ TỊCH".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub competence: Option<String>,
    /// `Position`.
    pub position: String,
    /// `FullName`.
    pub full_name: String,
}

/// `OtherInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherInfo {
    /// `Priority`: the urgency code 0-4.
    pub priority: String,
    /// `SphereOfPromulgation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sphere: Option<String>,
    /// `TyperNotation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typer_notation: Option<String>,
    /// `PromulgationAmount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promulgation_amount: Option<String>,
    /// `PageAmount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_amount: Option<String>,
    /// `Direction` (`true`/`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// `Appendixes/Appendix`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub appendixes: Vec<String>,
}

/// One `TraceHeader`: a hop of the message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceHeader {
    /// `OrganId`.
    pub organ_id: String,
    /// `Timestamp` (`yyyy/MM/dd HH:mm:ss`).
    pub timestamp: String,
}

/// An element kept as XML because it has no field here (the business
/// record, `ResponseFor`, `DocumentType` codes, anything unknown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carried {
    /// The parent element's local name.
    pub parent: String,
    /// The element's local name.
    pub name: String,
    /// The element, re-serialised with the `edXML:` prefix.
    pub xml: String,
}

/// The `MessageHeader` and `TraceHeaderList` of a document message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// `From`.
    pub from: Organ,
    /// `To`, one or more.
    pub to: Vec<Organ>,
    /// `DocumentId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    /// `Code/CodeNumber`.
    pub code_number: String,
    /// `Code/CodeNotation`.
    pub code_notation: String,
    /// `PromulgationInfo/Place`.
    pub place: String,
    /// `PromulgationInfo/PromulgationDate` (`yyyy/MM/dd`).
    pub promulgation_date: String,
    /// `DocumentType/Type`.
    pub type_code: String,
    /// `DocumentType/TypeDetail`.
    pub type_detail: String,
    /// `DocumentType/TypeName`.
    pub type_name: String,
    /// `Subject`.
    pub subject: String,
    /// `Content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `SignerInfo`.
    pub signer: SignerInfo,
    /// `DueDate` (`yyyy/MM/dd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// `ToPlaces/Place`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_places: Vec<String>,
    /// `OtherInfo`.
    pub other: OtherInfo,
    /// `SteeringType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steering_type: Option<String>,
    /// `TraceHeaderList/TraceHeader`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceHeader>,
    /// Elements kept as XML.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried: Vec<Carried>,
}

/// One attachment: its `Reference` in the manifest joined with its
/// `Attachment` element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// `ContentId` (`cid:…`).
    pub content_id: String,
    /// `AttachmentName`.
    pub name: String,
    /// `Description`.
    pub description: Option<String>,
    /// `ContentType`.
    pub content_type: String,
    /// Where the decoded content is.
    pub path: PathBuf,
    /// Its decoded size.
    pub size: u64,
}

/// A document message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The header.
    pub header: Header,
    /// The attachments in manifest order.
    pub attachments: Vec<Attachment>,
}

/// `ResponseFor`: the document a status message (or a reply) is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseFor {
    /// `OrganId` of the document's issuer.
    pub organ_id: String,
    /// `Code`: number and notation, e.g. `7816/VPCP-TTĐT`.
    pub code: String,
    /// `PromulgationDate` (`yyyy/MM/dd`).
    pub promulgation_date: String,
    /// `DocumentId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
}

/// `StaffInfo`: who handled it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffInfo {
    /// `Department`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// `Staff`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    /// `Email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `Mobile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
}

/// A status message: a recipient's processing status for a document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusMessage {
    /// `From`: the office reporting.
    pub from: Organ,
    /// `ResponseFor`: the document.
    pub response_for: ResponseFor,
    /// `StaffInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<StaffInfo>,
    /// `StatusCode`: 01-06, 13, 15 or 16.
    pub status_code: String,
    /// `Description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Timestamp` (`yyyy/MM/dd HH:mm:ss`).
    pub timestamp: String,
    /// `TraceHeaderList/TraceHeader`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceHeader>,
}

/// The status codes of QCVN 102:2016 a status message may carry.
pub const STATUS_CODES: [&str; 9] = ["01", "02", "03", "04", "05", "06", "13", "15", "16"];
