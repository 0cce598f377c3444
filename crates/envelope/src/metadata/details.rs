//! Particulars of a dispatch beyond its core header: the offices' contact
//! lines, the "Nơi nhận" block as printed, the issuing particulars of
//! Decree 30 (typist, copies, pages, appendixes), and, for a dispatch that
//! entered congvan from another system, where it came from.
//!
//! Every field is optional and left out of the JSON when empty, so the
//! metadata of a dispatch that uses none of them is byte for byte what it
//! was before these fields existed (and its signatures still verify).

use congvan_org::OrgId;
use serde::{Deserialize, Serialize};

use super::text::{Lines, TextRule};
use super::Problems;

/// Most entries in any list of [`Details`] (places, appendixes, contacts,
/// trace hops, carried fields): a dispatch header is small; a list of
/// thousands is an attack on whoever displays it.
pub const MAX_DETAIL_ITEMS: usize = 200;
/// Longest carried XML fragment of an [`Origin`] ([`CarriedElement::xml`]).
pub const MAX_CARRIED_XML_BYTES: usize = 64 * 1024;

/// The optional particulars of a dispatch. `Details::default()` is "none".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Details {
    /// Contact lines of the issuing office and of recipients (edXML
    /// `OrganAdd`, `Email`, `Telephone`, `Fax`, `Website`), one per office.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    /// The "Nơi nhận" block as printed, one line each, including the
    /// archive line ("Lưu: VT, TH."); edXML `ToPlaces/Place`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub places: Vec<String>,
    /// Initials of the typist and the number of copies printed, as Decree 30
    /// puts them after the archive line ("TVC"); edXML `TyperNotation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typist: Option<String>,
    /// Number of copies issued; edXML `PromulgationAmount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copies: Option<u32>,
    /// Number of pages; edXML `PageAmount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    /// Scope of issue ("phạm vi ban hành"); edXML `SphereOfPromulgation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sphere: Option<String>,
    /// Whether the document is a direction ("văn bản chỉ đạo") in the
    /// sender's system; edXML `Direction`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<bool>,
    /// Titles of the appendixes ("phụ lục"); edXML `Appendixes/Appendix`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub appendixes: Vec<String>,
    /// Where the dispatch came from when it entered congvan from another
    /// system; absent for a dispatch made in congvan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// The earlier dispatch of the same issuer this one replaces or updates
    /// (edXML business kinds 3 and 2). Relays accept it only from the
    /// earlier dispatch's own issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Supersedes>,
}

/// How a dispatch supersedes an earlier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SupersedeKind {
    /// It replaces the earlier dispatch ("văn bản thay thế").
    Replaces,
    /// It updates the earlier dispatch's particulars ("cập nhật").
    Updates,
}

impl SupersedeKind {
    /// The word in JSON and on the command line: `replaces`, `updates`.
    pub fn name(self) -> &'static str {
        match self {
            SupersedeKind::Replaces => "replaces",
            SupersedeKind::Updates => "updates",
        }
    }

    /// How the earlier dispatch is marked, in Vietnamese.
    pub fn mark(self) -> &'static str {
        match self {
            SupersedeKind::Replaces => "Đã được thay thế bởi",
            SupersedeKind::Updates => "Đã được cập nhật bởi",
        }
    }
}

/// The earlier dispatch a dispatch supersedes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Supersedes {
    /// Replaces or updates.
    pub kind: SupersedeKind,
    /// The earlier dispatch's id.
    pub id: String,
}

impl Details {
    /// True when no particular is given (the JSON field is then left out).
    pub fn is_empty(&self) -> bool {
        *self == Details::default()
    }

    /// The contact lines given for `org`, if any.
    pub fn contact(&self, org: &OrgId) -> Option<&Contact> {
        self.contacts.iter().find(|c| &c.org == org)
    }
}

/// How to reach an office, as its documents print it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The office these lines belong to.
    pub org: OrgId,
    /// The body in charge of the office (edXML `OrganizationInCharge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_charge: Option<String>,
    /// Postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Telephone number, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
    /// Fax number, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    /// Web site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

/// The other system a dispatch came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OriginSystem {
    /// The national document exchange or a provincial hub, in edXML
    /// (QCVN 102:2016).
    Edxml,
}

impl OriginSystem {
    /// How a person is told where the dispatch came from.
    pub fn description(self) -> &'static str {
        match self {
            OriginSystem::Edxml => "the national document exchange (edXML, QCVN 102:2016)",
        }
    }
}

/// Where an imported dispatch came from, and what of the original message
/// has no field of its own here but must go back out on export.
///
/// The original's own signature is not in congvan's form; what congvan
/// vouches for is the gateway office's `copy` signature over this record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    /// The system it came from.
    pub system: OriginSystem,
    /// The office whose gateway took it in and sealed the copy.
    pub gateway: OrgId,
    /// When the gateway took it in (RFC 3339 UTC).
    pub received_at: String,
    /// The sender system's id of the document (edXML `DocumentId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    /// The hops the message took before the gateway (edXML `TraceHeader`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceHop>,
    /// The original message's attachments as it listed them (content id,
    /// name, description, media type), and which of this dispatch's
    /// attachments each became: one, or several when it was a ZIP that was
    /// unpacked here (export packs them again under the original name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<OriginalAttachment>,
    /// Elements of the original header kept verbatim for export (the
    /// business record, document type codes, anything not mapped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried: Vec<CarriedElement>,
}

/// One hop of an imported message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceHop {
    /// The organization id as the hop wrote it (not always valid here).
    pub org: String,
    /// The time as the hop wrote it (`yyyy/MM/dd HH:mm:ss`).
    pub at: String,
}

/// An attachment of an imported message as the message listed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginalAttachment {
    /// Its content id (`cid:…`).
    pub content_id: String,
    /// Its name in the original message (often not ending in `.zip`).
    pub name: String,
    /// Its description in the original message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its media type in the original message.
    pub media_type: String,
    /// True when it was a ZIP unpacked into `members`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub zipped: bool,
    /// The names of this dispatch's attachments it became, in order.
    pub members: Vec<String>,
}

/// An element of an imported header kept as XML, to be written back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarriedElement {
    /// Where it was: the parent element's local name (`MessageHeader`,
    /// `TraceHeaderList`, …).
    pub parent: String,
    /// The element, re-serialised by the importer.
    pub xml: String,
}

fn short_text(out: &mut Problems, field: String, value: &str) {
    out.text(field, value, TextRule::name());
}

impl Details {
    /// Adds every problem of the particulars to `out`, fields named
    /// `details.*`.
    pub(crate) fn check(&self, out: &mut Problems) {
        let lists = [
            ("details.contacts", self.contacts.len()),
            ("details.places", self.places.len()),
            ("details.appendixes", self.appendixes.len()),
        ];
        for (field, len) in lists {
            if len > MAX_DETAIL_ITEMS {
                out.add(
                    field,
                    format!("has {len} entries; at most {MAX_DETAIL_ITEMS} are allowed"),
                );
            }
        }
        for (i, contact) in self.contacts.iter().enumerate() {
            let fields = [
                ("in_charge", &contact.in_charge),
                ("address", &contact.address),
                ("email", &contact.email),
                ("telephone", &contact.telephone),
                ("fax", &contact.fax),
                ("website", &contact.website),
            ];
            for (name, value) in fields {
                if let Some(value) = value {
                    short_text(out, format!("details.contacts[{i}].{name}"), value);
                }
            }
        }
        for (i, place) in self.places.iter().enumerate() {
            short_text(out, format!("details.places[{i}]"), place);
        }
        for (i, appendix) in self.appendixes.iter().enumerate() {
            short_text(out, format!("details.appendixes[{i}]"), appendix);
        }
        if let Some(typist) = &self.typist {
            short_text(out, "details.typist".into(), typist);
        }
        if let Some(sphere) = &self.sphere {
            short_text(out, "details.sphere".into(), sphere);
        }
        if let Some(origin) = &self.origin {
            origin.check(out);
        }
        if let Some(supersedes) = &self.supersedes {
            if let Some(problem) = super::uuid_problem(&supersedes.id) {
                out.add("details.supersedes.id", problem);
            }
        }
    }
}

impl Origin {
    fn check(&self, out: &mut Problems) {
        if super::parse_rfc3339(&self.received_at).is_none() {
            out.add(
                "details.origin.received_at",
                format!("{:?} is not an RFC 3339 time", self.received_at),
            );
        }
        if let Some(id) = &self.document_id {
            short_text(out, "details.origin.document_id".into(), id);
        }
        let lists = [
            ("details.origin.trace", self.trace.len()),
            ("details.origin.attachments", self.attachments.len()),
            ("details.origin.carried", self.carried.len()),
        ];
        for (field, len) in lists {
            if len > MAX_DETAIL_ITEMS {
                out.add(
                    field,
                    format!("has {len} entries; at most {MAX_DETAIL_ITEMS} are allowed"),
                );
            }
        }
        for (i, hop) in self.trace.iter().enumerate() {
            short_text(out, format!("details.origin.trace[{i}].org"), &hop.org);
            short_text(out, format!("details.origin.trace[{i}].at"), &hop.at);
        }
        for (i, original) in self.attachments.iter().enumerate() {
            let field = format!("details.origin.attachments[{i}]");
            short_text(out, format!("{field}.name"), &original.name);
            short_text(out, format!("{field}.content_id"), &original.content_id);
            let count = original.members.len();
            let fits = if original.zipped {
                (1..=MAX_DETAIL_ITEMS).contains(&count)
            } else {
                count == 1
            };
            if !fits {
                out.add(
                    format!("{field}.members"),
                    format!(
                        "has {count} names; an attachment becomes one, a ZIP 1-{MAX_DETAIL_ITEMS}"
                    ),
                );
            }
        }
        for (i, carried) in self.carried.iter().enumerate() {
            let field = format!("details.origin.carried[{i}].xml");
            if carried.xml.len() > MAX_CARRIED_XML_BYTES {
                out.add(
                    field,
                    format!(
                        "is {} bytes; at most {MAX_CARRIED_XML_BYTES} are kept",
                        carried.xml.len()
                    ),
                );
            } else {
                let rule = TextRule {
                    required: true,
                    max_chars: MAX_CARRIED_XML_BYTES,
                    lines: Lines::Multi,
                };
                out.text(field, &carried.xml, rule);
            }
        }
    }
}
