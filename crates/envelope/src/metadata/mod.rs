//! Dispatch metadata: the header of an official dispatch ("công văn").
//!
//! The fields follow Decree 30/2020/NĐ-CP (what an administrative document
//! must carry) and the edXML header of QCVN 102:2016 (how offices exchange
//! it), so that export to edXML is a field-by-field mapping. All text is
//! Vietnamese in Unicode NFC.
//!
//! Deserialising checks only the JSON shape (and rejects unknown fields, so
//! a misspelt field is reported rather than silently dropped);
//! [`Metadata::validate`] and [`Metadata::problems`] check the rules of the
//! decree. Validation never reads the clock, so the same metadata gives the
//! same answer when it is composed, relayed and audited years later.

mod date;
mod details;
mod document_type;
mod draft;
mod number;
mod secrecy;
mod signer;
mod steering;
pub(crate) mod text;
mod urgency;

pub use details::{
    CarriedElement, Contact, Details, Origin, OriginSystem, OriginalAttachment, SupersedeKind,
    Supersedes, TraceHop, MAX_CARRIED_XML_BYTES, MAX_DETAIL_ITEMS,
};
pub use document_type::DocumentType;
pub use draft::Draft;
pub use secrecy::Secrecy;
pub use signer::{AuthorityPrefix, SignerBlock};
pub use steering::SteeringType;
pub use text::{to_nfc, MAX_CONTENT_CHARS, MAX_NAME_CHARS, MAX_SUBJECT_CHARS};
pub use urgency::Urgency;

use std::collections::HashMap;

use congvan_org::OrgId;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::date;
use time::{Date, OffsetDateTime};

use crate::Error;
use text::{check as check_text, Lines, TextRule};

/// An office as named on a dispatch: its organization id and its name
/// (edXML `OrganId` and `OrganName`).
///
/// The name is carried alongside the id because the dispatch must show the
/// name as it was when signed, even after the registry renames the office.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// The organization id, normalised (parent-first, e.g. `H99.15.03`).
    pub id: OrgId,
    /// The office's full name, e.g. "Ủy ban nhân dân huyện …".
    pub name: String,
}

/// The metadata of one dispatch: everything in its header, as stored in the
/// `.cvd` envelope and covered by its signatures.
///
/// Build it with a struct literal, using [`Metadata::new_id`] for `id` and
/// [`Metadata::timestamp_now`] for `created_at`; pass user-typed text through
/// [`to_nfc`] (or call [`Metadata::normalize_text`]); then call
/// [`Metadata::problems`] and show every problem to the clerk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Version of this metadata format; [`Metadata::FORMAT_VERSION`] (1).
    /// Required, so that a future reader can tell versions apart.
    pub format_version: u32,
    /// The globally unique dispatch id: a UUID in lowercase hyphenated form.
    /// Relays deduplicate by it, and replies and receipts refer to it.
    pub id: String,
    /// The issuing office ("cơ quan ban hành").
    pub from: Organization,
    /// The recipients ("Nơi nhận"): at least one, each once, never the
    /// issuing office itself.
    pub to: Vec<Organization>,
    /// Number and notation ("số, ký hiệu"), e.g. `15/QĐ-UBND`, or
    /// `05/UBND-VP` for a công văn, whose notation has no type abbreviation.
    pub number: String,
    /// Place of issue ("địa danh"), e.g. "Hà Tĩnh".
    pub place: String,
    /// Date of issue ("ngày ban hành"); `"YYYY-MM-DD"` in JSON.
    #[serde(with = "date")]
    pub date: Date,
    /// The type of document (one of the 29 of Decree 30).
    pub doc_type: DocumentType,
    /// Subject excerpt ("trích yếu nội dung"), one line.
    pub subject: String,
    /// Body text; may be empty when the document itself is an attachment.
    /// Lines end with `\n`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content: String,
    /// Who signs and in what capacity.
    pub signer: SignerBlock,
    /// Urgency ("độ khẩn"); the edXML code 0-4 in JSON, 0 when absent.
    #[serde(default)]
    pub urgency: Urgency,
    /// Secrecy ("độ mật"); absent for a dispatch that is not secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrecy: Option<Secrecy>,
    /// Date by which the recipient must act ("hạn xử lý"); `"YYYY-MM-DD"`.
    #[serde(
        default,
        with = "date::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub due: Option<Date>,
    /// For urgency 4 (Hỏa tốc hẹn giờ) only, and then required: the RFC 3339
    /// time by which the dispatch must arrive, e.g. `2025-03-14T15:00:00+07:00`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<String>,
    /// Steering type (edXML `SteeringType`): 0 none, 1 directive, 2 report on
    /// a directive; 0 when absent.
    #[serde(default)]
    pub steering: SteeringType,
    /// Ids of the dispatches this one answers ("phúc đáp"), each a UUID.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_reply_to: Vec<String>,
    /// When the dispatch was made: an RFC 3339 UTC timestamp, e.g.
    /// `2025-03-14T08:30:00Z`. The reference "now" for the date checks.
    pub created_at: String,
    /// Optional particulars: contact lines, the printed "Nơi nhận" block,
    /// typist and copies, and where an imported dispatch came from. Left
    /// out of the JSON when empty.
    #[serde(default, skip_serializing_if = "Details::is_empty")]
    pub details: Details,
}

/// Collects validation problems in field order.
#[derive(Default)]
pub(crate) struct Problems(Vec<Error>);

impl Problems {
    pub(crate) fn add(&mut self, field: impl Into<String>, problem: String) {
        self.0.push(Error::InvalidMetadata {
            field: field.into(),
            problem,
        });
    }

    fn text(&mut self, field: impl Into<String>, value: &str, rule: TextRule) {
        if let Some(problem) = check_text(value, rule) {
            self.add(field, problem);
        }
    }

    pub(crate) fn into_vec(self) -> Vec<Error> {
        self.0
    }
}

/// The founding of the Democratic Republic of Vietnam: no dispatch of this
/// state can be older.
const EARLIEST_DATE: Date = date!(1945 - 09 - 02);

const ID_EXAMPLE: &str = "3f2b8c1e-5d4a-4c3b-9a8f-0123456789ab";

/// The problem with `value` as a dispatch id, if any. Ids must be in the one
/// canonical form, or deduplication by id would let the same dispatch in twice.
pub(crate) fn uuid_problem(value: &str) -> Option<String> {
    match uuid::Uuid::try_parse(value) {
        Ok(u) if u.is_nil() => Some("is the nil UUID; generate a random one".to_string()),
        Ok(u) => {
            let canonical = u.hyphenated().to_string();
            (canonical != value)
                .then(|| format!("must be written in lowercase hyphenated form: {canonical}"))
        }
        Err(_) => Some(format!(
            "{value:?} is not a UUID; a dispatch id looks like {ID_EXAMPLE}"
        )),
    }
}

fn parse_rfc3339(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value, &Rfc3339).ok()
}

impl Metadata {
    /// The metadata format version this build writes and reads.
    pub const FORMAT_VERSION: u32 = 1;

    /// A fresh dispatch id: a random UUID (v4) in lowercase hyphenated form.
    /// Random ids need no coordination between offices yet never collide.
    pub fn new_id() -> String {
        uuid::Uuid::new_v4().hyphenated().to_string()
    }

    /// The current time as an RFC 3339 UTC timestamp with whole seconds
    /// (`2025-03-14T08:30:00Z`), the form `created_at` expects.
    pub fn timestamp_now() -> String {
        Self::timestamp_at(OffsetDateTime::now_utc())
    }

    /// `at` as an RFC 3339 UTC timestamp with whole seconds.
    pub fn timestamp_at(at: OffsetDateTime) -> String {
        let now = at.to_offset(time::UtcOffset::UTC);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        )
    }

    /// The office that answers for this dispatch inside congvan: its issuer,
    /// or, for a dispatch taken in from another system, the gateway office
    /// that sealed the copy. Receipts go back to it, and only it may request
    /// the dispatch's recall.
    pub fn responsible_office(&self) -> &OrgId {
        match &self.details.origin {
            Some(origin) => &origin.gateway,
            None => &self.from.id,
        }
    }

    /// Splits `number` into the number and the notation (`15`, `QĐ-UBND`),
    /// edXML's `CodeNumber` and `CodeNotation`; `None` if there is no "/".
    pub fn number_and_notation(&self) -> Option<(&str, &str)> {
        number::split(&self.number)
    }

    /// Puts every text field into Unicode NFC. Text typed or pasted on some
    /// systems arrives decomposed; call this on metadata built from user input
    /// before validating it. (Signed metadata must not be changed: validate
    /// it as it is.)
    pub fn normalize_text(&mut self) {
        fn nfc(s: &mut String) {
            *s = to_nfc(s);
        }
        nfc(&mut self.from.name);
        for org in &mut self.to {
            nfc(&mut org.name);
        }
        nfc(&mut self.number);
        nfc(&mut self.place);
        nfc(&mut self.subject);
        nfc(&mut self.content);
        if let Some(authority) = &mut self.signer.authority {
            nfc(authority);
        }
        nfc(&mut self.signer.position);
        nfc(&mut self.signer.full_name);
    }

    /// Checks the metadata and returns the first problem, as
    /// [`Error::InvalidMetadata`] naming the JSON field. For a ready/not-ready
    /// answer; to show a clerk what to fix, use [`Metadata::problems`].
    pub fn validate(&self) -> Result<(), Error> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }

    /// Every problem with the metadata, in field order, each an
    /// [`Error::InvalidMetadata`] naming the JSON field (`number`,
    /// `to[2].id`, `signer.full_name`). Empty when the metadata is valid.
    ///
    /// Rules: text is NFC, has no control characters (newline and tab are
    /// allowed in `content`) and no invisible direction characters; required
    /// text is not blank; names, place and signer lines are at most
    /// [`MAX_NAME_CHARS`] characters, `subject` [`MAX_SUBJECT_CHARS`] and
    /// `content` [`MAX_CONTENT_CHARS`]; `id` and `in_reply_to` are canonical
    /// UUIDs and a dispatch does not answer itself; `to` is non-empty, without
    /// repeats and without the sender (a dispatch to oneself is refused: it
    /// would route nowhere, and filing a document internally is not sending);
    /// `number` fits `doc_type`; `date` is not before 1945-09-02 and not more
    /// than one day after `created_at`'s UTC date (the slack covers Vietnam
    /// being UTC+7); `due` is not before `date`; `appointment` is given
    /// exactly when urgency is 4, and not before `created_at`.
    pub fn problems(&self) -> Vec<Error> {
        let mut out = Problems::default();
        let name = TextRule::name();

        if self.format_version != Self::FORMAT_VERSION {
            out.add(
                "format_version",
                format!(
                    "is {}; this build reads and writes version {}",
                    self.format_version,
                    Self::FORMAT_VERSION
                ),
            );
        }
        if let Some(problem) = uuid_problem(&self.id) {
            out.add("id", problem);
        }

        out.text("from.name", &self.from.name, name);
        self.check_recipients(&mut out);

        if let Some(problem) = check_text(&self.number, name) {
            out.add("number", problem);
        } else if let Some(problem) = number::check(&self.number, self.doc_type) {
            out.add("number", problem);
        }
        out.text("place", &self.place, name);

        let created = parse_rfc3339(&self.created_at);
        self.check_date(created, &mut out);

        out.text(
            "subject",
            &self.subject,
            TextRule {
                required: true,
                max_chars: MAX_SUBJECT_CHARS,
                lines: Lines::Single,
            },
        );
        out.text(
            "content",
            &self.content,
            TextRule {
                required: false,
                max_chars: MAX_CONTENT_CHARS,
                lines: Lines::Multi,
            },
        );
        self.signer.check(&mut out);

        if let Some(due) = self.due {
            if due < self.date {
                out.add(
                    "due",
                    format!(
                        "is {due}, before the dispatch date {}; the deadline must be on \
                         or after it",
                        self.date
                    ),
                );
            }
        }
        self.check_appointment(created, &mut out);
        self.check_replies(&mut out);
        self.details.check(&mut out);
        if self
            .details
            .supersedes
            .as_ref()
            .is_some_and(|s| s.id == self.id)
        {
            out.add(
                "details.supersedes.id",
                "is this dispatch's own id; a dispatch cannot supersede itself".to_string(),
            );
        }

        match created {
            None => out.add(
                "created_at",
                format!(
                    "{:?} is not an RFC 3339 time; use a UTC timestamp such as \
                     2025-03-14T08:30:00Z",
                    self.created_at
                ),
            ),
            Some(t) if !t.offset().is_utc() => out.add(
                "created_at",
                format!(
                    "{:?} is not in UTC; write it with \"Z\", e.g. 2025-03-14T08:30:00Z",
                    self.created_at
                ),
            ),
            Some(_) => {}
        }
        out.into_vec()
    }

    fn check_recipients(&self, out: &mut Problems) {
        if self.to.is_empty() {
            out.add(
                "to",
                "is empty; name at least one recipient (Nơi nhận)".to_string(),
            );
        }
        let mut seen: HashMap<&OrgId, usize> = HashMap::new();
        for (i, org) in self.to.iter().enumerate() {
            if org.id == self.from.id {
                out.add(
                    format!("to[{i}].id"),
                    format!(
                        "is the sender {}; a dispatch to oneself is refused, remove it from \
                         the recipients",
                        org.id
                    ),
                );
            } else if let Some(first) = seen.get(&org.id) {
                out.add(
                    format!("to[{i}].id"),
                    format!("repeats to[{first}] ({}); list each recipient once", org.id),
                );
            } else {
                seen.insert(&org.id, i);
            }
            out.text(format!("to[{i}].name"), &org.name, TextRule::name());
        }
    }

    fn check_date(&self, created: Option<OffsetDateTime>, out: &mut Problems) {
        if self.date < EARLIEST_DATE {
            out.add(
                "date",
                format!(
                    "is {}, before 1945-09-02 when the state was founded; check the year",
                    self.date
                ),
            );
            return;
        }
        let Some(created) = created else {
            return; // reported under created_at
        };
        let created_date = created.to_offset(time::UtcOffset::UTC).date();
        let latest = created_date.next_day().unwrap_or(created_date);
        if self.date > latest {
            out.add(
                "date",
                format!(
                    "is {}, more than one day after the dispatch was made ({created_date}, \
                     created_at); a dispatch cannot be dated in the future",
                    self.date
                ),
            );
        }
    }

    fn check_appointment(&self, created: Option<OffsetDateTime>, out: &mut Problems) {
        let needed = self.urgency == Urgency::HoaTocHenGio;
        match (&self.appointment, needed) {
            (None, true) => out.add(
                "appointment",
                "is required with urgency 4 (Hỏa tốc hẹn giờ); give the time by which \
                 the dispatch must arrive, e.g. 2025-03-14T15:00:00+07:00"
                    .to_string(),
            ),
            (Some(_), false) => out.add(
                "appointment",
                format!(
                    "is only used with urgency 4 (Hỏa tốc hẹn giờ), but urgency is {} \
                     ({}); remove it or set urgency to 4",
                    self.urgency.code(),
                    self.urgency.name()
                ),
            ),
            (Some(text), true) => match parse_rfc3339(text) {
                None => out.add(
                    "appointment",
                    format!(
                        "{text:?} is not an RFC 3339 time; write e.g. \
                         2025-03-14T15:00:00+07:00"
                    ),
                ),
                Some(at) => {
                    if created.is_some_and(|created| at < created) {
                        out.add(
                            "appointment",
                            format!(
                                "is {text}, before the dispatch was made ({}); the \
                                 appointed time must be later",
                                self.created_at
                            ),
                        );
                    }
                }
            },
            (None, false) => {}
        }
    }

    fn check_replies(&self, out: &mut Problems) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, reference) in self.in_reply_to.iter().enumerate() {
            let field = format!("in_reply_to[{i}]");
            if let Some(problem) = uuid_problem(reference) {
                out.add(field, problem);
            } else if *reference == self.id {
                out.add(
                    field,
                    "is this dispatch's own id; a dispatch cannot answer itself".to_string(),
                );
            } else if let Some(first) = seen.get(reference.as_str()) {
                out.add(
                    field,
                    format!("repeats in_reply_to[{first}]; list each dispatch once"),
                );
            } else {
                seen.insert(reference, i);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    /// The JSON field an error names.
    #[allow(unreachable_patterns)]
    pub(crate) fn field_of(e: &Error) -> String {
        match e {
            Error::InvalidMetadata { field, .. } => field.clone(),
            _ => String::new(),
        }
    }

    fn org(id: &str, name: &str) -> Organization {
        Organization {
            id: OrgId::parse(id).unwrap(),
            name: name.to_string(),
        }
    }

    /// A complete, valid dispatch. Organization codes are illustrative.
    fn sample() -> Metadata {
        Metadata {
            format_version: 1,
            id: "3f2b8c1e-5d4a-4c3b-9a8f-0123456789ab".to_string(),
            from: org("H99.15", "Ủy ban nhân dân huyện Minh Họa"),
            to: vec![
                org("H99.15.03", "Ủy ban nhân dân xã Thử Nghiệm"),
                org("H99.15.04", "Ủy ban nhân dân xã Ví Dụ"),
            ],
            number: "15/QĐ-UBND".to_string(),
            place: "Hà Tĩnh".to_string(),
            date: date!(2025 - 03 - 14),
            doc_type: DocumentType::QuyetDinh,
            subject: "Về việc phê duyệt kế hoạch phòng, chống thiên tai năm 2025".to_string(),
            content: "Điều 1. Phê duyệt kế hoạch.\n\tĐiều 2. Hiệu lực.".to_string(),
            signer: SignerBlock {
                authority_prefix: Some(AuthorityPrefix::Kt),
                authority: Some("CHỦ TỊCH".to_string()),
                on_behalf_of: None,
                position: "PHÓ CHỦ TỊCH".to_string(),
                full_name: "Nguyễn Văn A".to_string(),
            },
            urgency: Urgency::HoaTocHenGio,
            secrecy: Some(Secrecy::Mat),
            due: Some(date!(2025 - 03 - 20)),
            appointment: Some("2025-03-14T15:00:00+07:00".to_string()),
            steering: SteeringType::Directive,
            in_reply_to: vec!["9b1d6f0a-2c3e-4f5a-8b7c-6d5e4f3a2b1c".to_string()],
            created_at: "2025-03-14T01:30:00Z".to_string(),
            details: Details::default(),
        }
    }

    fn fields(m: &Metadata) -> Vec<String> {
        m.problems().iter().map(field_of).collect()
    }

    /// Asserts that `m` has exactly one problem, on `field`, mentioning `says`.
    fn only(m: &Metadata, field: &str, says: &str) {
        let problems = m.problems();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(field_of(&problems[0]), field, "{problems:#?}");
        let text = problems[0].to_string();
        assert!(text.contains(says), "{text}");
        let first = m.validate().unwrap_err();
        assert_eq!(field_of(&first), field);
    }

    #[test]
    fn sample_is_valid() {
        assert_eq!(sample().problems().len(), 0, "{:#?}", sample().problems());
        sample().validate().unwrap();
    }

    #[test]
    fn json_round_trip() {
        let m = sample();
        let json = serde_json::to_string_pretty(&m).unwrap();
        assert!(json.contains("\"date\": \"2025-03-14\""), "{json}");
        assert!(json.contains("\"due\": \"2025-03-20\""), "{json}");
        assert!(json.contains("\"doc_type\": \"quyet-dinh\""), "{json}");
        assert!(json.contains("\"urgency\": 4"), "{json}");
        assert!(json.contains("\"steering\": 1"), "{json}");
        assert!(json.contains("\"secrecy\": \"mat\""), "{json}");
        assert!(json.contains("\"authority_prefix\": \"KT\""), "{json}");
        assert!(json.contains("\"id\": \"H99.15.03\""), "{json}");
        let back: Metadata = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn minimal_json_uses_defaults_and_skips_empty_fields() {
        let mut m = sample();
        m.content.clear();
        m.urgency = Urgency::Thuong;
        m.secrecy = None;
        m.due = None;
        m.appointment = None;
        m.steering = SteeringType::None;
        m.in_reply_to.clear();
        m.signer.authority_prefix = None;
        m.signer.authority = None;
        let json = serde_json::to_value(&m).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for absent in ["content", "secrecy", "due", "appointment", "in_reply_to"] {
            assert!(!keys.contains(&absent), "{absent} in {json}");
        }
        assert!(json["signer"].get("authority").is_none());
        let mut obj = json.as_object().unwrap().clone();
        obj.remove("urgency");
        obj.remove("steering");
        let back: Metadata = serde_json::from_value(obj.into()).unwrap();
        assert_eq!(back, m);
        assert!(m.problems().is_empty(), "{:#?}", m.problems());
    }

    #[test]
    fn unknown_and_malformed_fields_are_named() {
        let mut json = serde_json::to_value(sample()).unwrap();
        json["subjct"] = "x".into();
        let err = serde_json::from_value::<Metadata>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `subjct`"), "{err}");
        assert!(err.contains("`subject`"), "{err}");

        let mut json = serde_json::to_value(sample()).unwrap();
        json["signer"]["name"] = "x".into();
        let err = serde_json::from_value::<Metadata>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `name`"), "{err}");

        let mut json = serde_json::to_value(sample()).unwrap();
        json["date"] = "14/03/2025".into();
        let err = serde_json::from_value::<Metadata>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("YYYY-MM-DD"), "{err}");

        let mut json = serde_json::to_value(sample()).unwrap();
        json["to"][0]["id"] = "not an id".into();
        let err = serde_json::from_value::<Metadata>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid organization id"), "{err}");

        let text = serde_json::to_string(&sample()).unwrap();
        let err = serde_json::from_slice::<Metadata>(
            text.replace("\"format_version\":1,", "").as_bytes(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("missing field `format_version`"), "{err}");
    }

    #[test]
    fn new_id_and_timestamp_are_valid() {
        let mut m = sample();
        m.id = Metadata::new_id();
        m.created_at = Metadata::timestamp_now();
        m.date = OffsetDateTime::now_utc().date();
        m.due = None;
        m.urgency = Urgency::HoaToc;
        m.appointment = None;
        assert!(m.problems().is_empty(), "{:#?}", m.problems());
        assert_ne!(Metadata::new_id(), Metadata::new_id());
        assert_eq!(m.number_and_notation(), Some(("15", "QĐ-UBND")));
    }

    #[test]
    fn nfd_text_is_refused_by_field_and_normalize_fixes_it() {
        let nfd = |s: &str| s.nfd().collect::<String>();
        let mut m = sample();
        m.subject = nfd(&m.subject);
        only(&m, "subject", "is not in Unicode NFC form; normalise it");
        let mut m = sample();
        m.signer.full_name = nfd(&m.signer.full_name);
        only(&m, "signer.full_name", "NFC");
        let mut m = sample();
        m.to[1].name = nfd(&m.to[1].name);
        only(&m, "to[1].name", "NFC");
        m.from.name = nfd(&m.from.name);
        m.content = nfd(&m.content);
        m.place = nfd(&m.place);
        assert_eq!(fields(&m), ["from.name", "to[1].name", "place", "content"]);
        m.normalize_text();
        assert!(m.problems().is_empty());
    }

    #[test]
    fn text_rules_by_field() {
        let mut m = sample();
        m.from.name = " ".to_string();
        only(&m, "from.name", "empty");
        let mut m = sample();
        m.place = String::new();
        only(&m, "place", "empty");
        let mut m = sample();
        m.subject = "a\nb".to_string();
        only(&m, "subject", "single line");
        let mut m = sample();
        m.subject = "x".repeat(1_001);
        only(&m, "subject", "at most 1000");
        let mut m = sample();
        m.subject = "x".repeat(1_000);
        assert!(m.problems().is_empty());
        let mut m = sample();
        m.content = "a\u{7}b".to_string();
        only(&m, "content", "U+0007");
        let mut m = sample();
        m.content = "x".repeat(1_000_001);
        only(&m, "content", "at most 1000000");
        let mut m = sample();
        m.signer.position = "x".repeat(301);
        only(&m, "signer.position", "at most 300");
        let mut m = sample();
        m.signer.authority = Some("CHỦ\u{202E}TỊCH".to_string());
        only(&m, "signer.authority", "U+202E");
        let mut m = sample();
        m.to[0].name = "\t".to_string();
        only(&m, "to[0].name", "U+0009");
    }

    #[test]
    fn format_version_and_ids() {
        let mut m = sample();
        m.format_version = 2;
        only(&m, "format_version", "version 1");
        let mut m = sample();
        m.id = "CV-15".to_string();
        only(&m, "id", "not a UUID");
        let mut m = sample();
        m.id = m.id.to_uppercase();
        only(&m, "id", "lowercase hyphenated form: 3f2b8c1e-");
        let mut m = sample();
        m.id = "00000000-0000-0000-0000-000000000000".to_string();
        only(&m, "id", "nil UUID");
    }

    #[test]
    fn recipients() {
        let mut m = sample();
        m.to.clear();
        only(&m, "to", "at least one recipient");
        let mut m = sample();
        m.to.push(org("000.03.15.H99", "Trùng"));
        only(&m, "to[2].id", "repeats to[0] (H99.15.03)");
        let mut m = sample();
        m.to.push(org("H99.15", "Chính mình"));
        only(&m, "to[2].id", "is the sender H99.15");
    }

    #[test]
    fn number_must_fit_type() {
        let mut m = sample();
        m.number = "15/TB-UBND".to_string();
        only(&m, "number", "must start with the abbreviation \"QĐ-\"");
        m.doc_type = DocumentType::ThongBao;
        assert!(m.problems().is_empty());
        // The document type says what a document is: a công văn of the tax
        // department (unit code CT) is not mistaken for a chỉ thị.
        m.doc_type = DocumentType::CongVan;
        m.number = "1234/CT-TTHT".to_string();
        assert!(m.problems().is_empty());
        m.number = "05/UBND-VP".to_string();
        assert!(m.problems().is_empty());
        m.number = "05/UBND-VP\u{0}".to_string();
        only(&m, "number", "U+0000");
    }

    #[test]
    fn dates() {
        let mut m = sample();
        m.date = date!(1945 - 09 - 01);
        m.due = None;
        only(&m, "date", "before 1945-09-02");
        m.date = date!(1945 - 09 - 02);
        assert!(m.problems().is_empty());
        let mut m = sample();
        m.date = date!(2025 - 03 - 15); // created 2025-03-14 UTC: +1 day is fine
        assert!(m.problems().is_empty());
        m.date = date!(2025 - 03 - 16);
        m.due = None;
        only(&m, "date", "more than one day after");
        let mut m = sample();
        m.due = Some(date!(2025 - 03 - 13));
        only(&m, "due", "before the dispatch date 2025-03-14");
        m.due = Some(m.date);
        assert!(m.problems().is_empty());
    }

    #[test]
    fn created_at() {
        let mut m = sample();
        m.created_at = "yesterday".to_string();
        only(&m, "created_at", "not an RFC 3339 time");
        m.created_at = "2025-03-14T08:30:00+07:00".to_string();
        only(&m, "created_at", "not in UTC");
    }

    #[test]
    fn appointment_goes_with_urgency_4() {
        let mut m = sample();
        m.appointment = None;
        only(&m, "appointment", "required with urgency 4");
        let mut m = sample();
        m.urgency = Urgency::HoaToc;
        only(&m, "appointment", "only used with urgency 4");
        let mut m = sample();
        m.appointment = Some("15h chiều nay".to_string());
        only(&m, "appointment", "not an RFC 3339 time");
        let mut m = sample();
        m.appointment = Some("2025-03-14T08:00:00+07:00".to_string()); // 01:00Z
        only(&m, "appointment", "before the dispatch was made");
    }

    #[test]
    fn replies() {
        let mut m = sample();
        m.in_reply_to.push("số 12".to_string());
        only(&m, "in_reply_to[1]", "not a UUID");
        let mut m = sample();
        m.in_reply_to.push(m.id.clone());
        only(&m, "in_reply_to[1]", "cannot answer itself");
        let mut m = sample();
        m.in_reply_to.push(m.in_reply_to[0].clone());
        only(&m, "in_reply_to[1]", "repeats in_reply_to[0]");
    }

    #[test]
    fn problems_lists_all_in_field_order() {
        let mut m = sample();
        m.id = "x".to_string();
        m.to.clear();
        m.number = "15/TB-UBND".to_string();
        m.signer.full_name = String::new();
        m.created_at = "now".to_string();
        assert_eq!(
            fields(&m),
            ["id", "to", "number", "signer.full_name", "created_at"]
        );
        assert_eq!(field_of(&m.validate().unwrap_err()), "id");
    }
}
