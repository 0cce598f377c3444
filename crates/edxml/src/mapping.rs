//! The one mapping between an edXML header and congvan's metadata, both
//! ways. Import and export both go through here, so a field mapped one way
//! is mapped back the same way.

use congvan_envelope::metadata::{
    AuthorityPrefix, CarriedElement, Contact, Details, DocumentType, Metadata, Organization,
    Origin, OriginSystem, SignerBlock, SteeringType, TraceHop, Urgency,
};
use congvan_org::OrgId;
use time::{Date, OffsetDateTime};

use crate::message::*;
use crate::Error;

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]/[month]/[day]");

fn parse_date(field: &str, text: &str) -> Result<Date, Error> {
    Date::parse(text.trim(), DATE_FORMAT).map_err(|_| {
        Error::mapping(
            field,
            format!("{text:?} is not a date in the form yyyy/MM/dd"),
        )
    })
}

/// A date as edXML writes it: `yyyy/MM/dd`.
pub fn format_date(date: Date) -> String {
    format!(
        "{:04}/{:02}/{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A time as edXML writes it: `yyyy/MM/dd HH:mm:ss`, in Vietnam's time.
pub fn format_timestamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::macros::offset!(+7));
    format!(
        "{} {:02}:{:02}:{:02}",
        format_date(at.date()),
        at.hour(),
        at.minute(),
        at.second()
    )
}

fn org_id(field: &str, text: &str) -> Result<OrgId, Error> {
    OrgId::parse(text.trim()).map_err(|e| Error::mapping(field, format!("{text:?}: {e}")))
}

/// An organization id as edXML writes it: the QCVN 102:2016 form when the
/// id fits it, else the parent-first form.
pub fn organ_id_text(id: &OrgId) -> String {
    id.to_qcvn().unwrap_or_else(|| id.to_string())
}

fn contact_of(org: &OrgId, o: &Organ) -> Option<Contact> {
    let contact = Contact {
        org: org.clone(),
        in_charge: o.in_charge.clone(),
        address: o.address.clone(),
        email: o.email.clone(),
        telephone: o.telephone.clone(),
        fax: o.fax.clone(),
        website: o.website.clone(),
    };
    let empty = [
        &contact.in_charge,
        &contact.address,
        &contact.email,
        &contact.telephone,
        &contact.fax,
        &contact.website,
    ]
    .iter()
    .all(|v| v.is_none());
    (!empty).then_some(contact)
}

fn organ_of(org: &Organization, details: &Details) -> Organ {
    let contact = details.contact(&org.id);
    Organ {
        organ_id: organ_id_text(&org.id),
        in_charge: contact.and_then(|c| c.in_charge.clone()),
        organ_name: org.name.clone(),
        address: contact.and_then(|c| c.address.clone()),
        email: contact.and_then(|c| c.email.clone()),
        telephone: contact.and_then(|c| c.telephone.clone()),
        fax: contact.and_then(|c| c.fax.clone()),
        website: contact.and_then(|c| c.website.clone()),
    }
}

/// Reads `SignerInfo/Competence`: "KT. CHỦ TỊCH", "TM. ỦY BAN NHÂN DÂN",
/// "TM. ỦY BAN NHÂN DÂN KT. CHỦ TỊCH" (the three-line form on one line),
/// "Q." or nothing.
fn signer_block(s: &SignerInfo) -> Result<SignerBlock, Error> {
    let mut block = SignerBlock {
        authority_prefix: None,
        authority: None,
        on_behalf_of: None,
        position: s.position.clone(),
        full_name: s.full_name.clone(),
    };
    let Some(competence) = s
        .competence
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    else {
        return Ok(block);
    };
    let split = |text: &str| -> Option<(AuthorityPrefix, String)> {
        let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
        let prefix = AuthorityPrefix::all()
            .iter()
            .copied()
            .find(|p| p.text() == word)?;
        Some((prefix, rest.trim().to_string()))
    };
    let Some((prefix, rest)) = split(competence) else {
        if competence == s.position {
            return Ok(block);
        }
        return Err(Error::mapping(
            "SignerInfo/Competence",
            format!(
                "{competence:?} does not start with TM., KT., TL., TUQ. or Q.; Decree 30 \
                 writes the capacity that way"
            ),
        ));
    };
    let (prefix, rest) = match (prefix, rest.find(" KT. ")) {
        (AuthorityPrefix::Tm, Some(at)) => {
            block.on_behalf_of = Some(rest[..at].trim().to_string());
            (AuthorityPrefix::Kt, rest[at + 5..].trim().to_string())
        }
        _ => (prefix, rest),
    };
    block.authority_prefix = Some(prefix);
    block.authority = (!rest.is_empty()).then_some(rest);
    Ok(block)
}

fn competence_of(block: &SignerBlock) -> Option<String> {
    let own = block.authority_prefix.map(|p| match &block.authority {
        Some(a) => format!("{} {a}", p.text()),
        None => p.text().to_string(),
    });
    match (&block.on_behalf_of, own) {
        (Some(body), Some(own)) => Some(format!("{} {body} {own}", AuthorityPrefix::Tm.text())),
        (None, own) => own,
        (Some(body), None) => Some(format!("{} {body}", AuthorityPrefix::Tm.text())),
    }
}

fn number_of(field: &str, text: Option<&String>) -> Result<Option<u32>, Error> {
    text.map(|t| {
        t.trim()
            .parse::<u32>()
            .map_err(|_| Error::mapping(field, format!("{t:?} is not a whole number")))
    })
    .transpose()
}

fn code_of(field: &str, text: &str, max: u8) -> Result<u8, Error> {
    text.trim()
        .parse::<u8>()
        .ok()
        .filter(|c| *c <= max)
        .ok_or_else(|| Error::mapping(field, format!("{text:?} is not a code 0-{max}")))
}

/// The business record's kind (`BussinessDocType`: 0 new, 1 revoke,
/// 2 update, 3 replace), "0" when the message has none.
pub(crate) fn business_kind(header: &Header) -> String {
    header
        .carried
        .iter()
        .find(|c| c.parent == "TraceHeaderList" && c.name == "Bussiness")
        .and_then(|c| {
            let wrapped = format!("<r xmlns:edXML=\"{NAMESPACE}\">{}</r>", c.xml);
            let doc = roxmltree::Document::parse(&wrapped).ok()?;
            let kind = doc
                .descendants()
                .find(|n| n.tag_name().name() == "BussinessDocType")
                .and_then(|n| n.text())
                .map(|t| t.trim().to_string());
            kind
        })
        .unwrap_or_else(|| "0".into())
}

/// A dispatch id that is the same each time the same message is imported
/// (also when it comes again through another hub), so that a relay drops a
/// second import as a duplicate: a UUID (version 8) made from SHA-256 of
/// the sender, the document and the business kind (a revocation of a
/// document is another message than the document).
fn stable_id(header: &Header) -> String {
    let key = format!(
        "edxml\u{0}{}\u{0}{}\u{0}{}/{}\u{0}{}\u{0}{}",
        header.from.organ_id.trim(),
        header.document_id.as_deref().unwrap_or(""),
        header.code_number,
        header.code_notation,
        header.promulgation_date,
        business_kind(header)
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// The metadata of an imported message.
pub(crate) fn to_metadata(
    header: &Header,
    gateway: &OrgId,
    received_at: OffsetDateTime,
) -> Result<Metadata, Error> {
    let from_id = org_id("From/OrganId", &header.from.organ_id)?;
    let mut contacts = Vec::new();
    contacts.extend(contact_of(&from_id, &header.from));
    let mut to = Vec::new();
    for (i, organ) in header.to.iter().enumerate() {
        let id = org_id(&format!("To[{}]/OrganId", i + 1), &organ.organ_id)?;
        contacts.extend(contact_of(&id, organ));
        to.push(Organization::new(id, organ.organ_name.clone()));
    }
    let doc_type = DocumentType::from_user_text(&header.type_name).ok_or_else(|| {
        Error::mapping(
            "DocumentType/TypeName",
            format!(
                "{:?} is not one of the 29 document types of Decree 30",
                header.type_name
            ),
        )
    })?;
    let urgency = Urgency::from_code(code_of("OtherInfo/Priority", &header.other.priority, 4)?)
        .ok_or_else(|| Error::mapping("OtherInfo/Priority", "is not an urgency code 0-4"))?;
    if urgency == Urgency::HoaTocHenGio {
        return Err(Error::mapping(
            "OtherInfo/Priority",
            "4 (Hỏa tốc hẹn giờ) needs the appointed time, which an edXML header does not \
             carry; ask the sender to send it as 3 (Hỏa tốc) with the time in the content",
        ));
    }
    let steering = match &header.steering_type {
        Some(code) => SteeringType::from_code(code_of("SteeringType", code, 2)?)
            .ok_or_else(|| Error::mapping("SteeringType", "is not a steering code 0-2"))?,
        None => SteeringType::None,
    };
    let direction = match header.other.direction.as_deref().map(str::trim) {
        None => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(other) => {
            return Err(Error::mapping(
                "OtherInfo/Direction",
                format!("{other:?} is not true or false"),
            ))
        }
    };
    let mut carried: Vec<CarriedElement> = header
        .carried
        .iter()
        .map(|c| CarriedElement {
            parent: c.parent.clone(),
            xml: c.xml.clone(),
        })
        .collect();
    carried.push(CarriedElement {
        parent: "DocumentType".into(),
        xml: format!(
            "<edXML:Type>{}</edXML:Type><edXML:TypeDetail>{}</edXML:TypeDetail>",
            quick_xml::escape::escape(&header.type_code),
            quick_xml::escape::escape(&header.type_detail)
        ),
    });
    let mut metadata = Metadata {
        format_version: Metadata::FORMAT_VERSION,
        id: stable_id(header),
        from: Organization::new(from_id, header.from.organ_name.clone()),
        to,
        number: format!(
            "{}/{}",
            header.code_number.trim(),
            header.code_notation.trim()
        ),
        place: header.place.clone(),
        date: parse_date(
            "PromulgationInfo/PromulgationDate",
            &header.promulgation_date,
        )?,
        doc_type,
        subject: header.subject.clone(),
        content: header
            .content
            .clone()
            .unwrap_or_default()
            .replace("\r\n", "\n"),
        signer: signer_block(&header.signer)?,
        urgency,
        secrecy: None,
        due: header
            .due_date
            .as_deref()
            .map(|d| parse_date("DueDate", d))
            .transpose()?,
        appointment: None,
        steering,
        in_reply_to: Vec::new(),
        created_at: Metadata::timestamp_at(received_at),
        details: Details {
            contacts,
            places: header.to_places.clone(),
            typist: header.other.typer_notation.clone(),
            copies: number_of(
                "OtherInfo/PromulgationAmount",
                header.other.promulgation_amount.as_ref(),
            )?,
            pages: number_of("OtherInfo/PageAmount", header.other.page_amount.as_ref())?,
            sphere: header.other.sphere.clone(),
            direction,
            appendixes: header.other.appendixes.clone(),
            origin: Some(Origin {
                system: OriginSystem::Edxml,
                gateway: gateway.clone(),
                received_at: Metadata::timestamp_at(received_at),
                document_id: header.document_id.clone(),
                trace: header
                    .trace
                    .iter()
                    .map(|t| TraceHop {
                        org: t.organ_id.clone(),
                        at: t.timestamp.clone(),
                    })
                    .collect(),
                attachments: Vec::new(),
                carried,
            }),
            // A replacement's ReplacementInfoList names the earlier
            // document by its edXML id; it is carried, not resolved.
            supersedes: None,
        },
    };
    metadata.normalize_text();
    Ok(metadata)
}

/// Reads `Type` and `TypeDetail` back from the element an import kept.
fn type_codes(xml: &str) -> Option<(String, String)> {
    let wrapped = format!("<r xmlns:edXML=\"{NAMESPACE}\">{xml}</r>");
    let doc = roxmltree::Document::parse(&wrapped).ok()?;
    let get = |name: &str| {
        doc.root_element()
            .children()
            .find(|n| n.tag_name().name() == name)
            .and_then(|n| n.text())
            .map(str::to_string)
    };
    Some((get("Type")?, get("TypeDetail")?))
}

/// The edXML header of a dispatch. A dispatch made in congvan gets the
/// business record "new document" and one trace header for its issuer; an
/// imported one gets back what it came with.
pub(crate) fn to_header(m: &Metadata) -> Result<Header, Error> {
    if let Some(secrecy) = m.secrecy {
        return Err(Error::mapping(
            "secrecy",
            format!(
                "the dispatch is secret ({}); a secret dispatch does not leave congvan as \
                 edXML, which carries it in clear",
                secrecy.name()
            ),
        ));
    }
    if m.urgency == Urgency::HoaTocHenGio {
        return Err(Error::mapping(
            "urgency",
            "4 (Hỏa tốc hẹn giờ) has an appointed time that edXML cannot carry",
        ));
    }
    let (code_number, code_notation) = m
        .number_and_notation()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .ok_or_else(|| Error::mapping("number", format!("{:?} has no \"/\"", m.number)))?;
    let d = &m.details;
    let origin = d.origin.as_ref();
    let kept = |parent: &str| {
        origin
            .into_iter()
            .flat_map(|o| o.carried.iter())
            .filter(move |c| c.parent == parent)
            .map(|c| c.xml.clone())
            .collect::<Vec<String>>()
    };
    // Written back only after checking: one element each, of a kind this
    // writer does not produce from the dispatch's own fields.
    let carried_of = |parent: &str| -> Result<Vec<Carried>, Error> {
        kept(parent)
            .iter()
            .map(|xml| {
                Ok(Carried {
                    parent: parent.to_string(),
                    name: String::new(),
                    xml: crate::read::checked_carried(parent, xml)?,
                })
            })
            .collect()
    };
    let (type_code, type_detail) = kept("DocumentType")
        .first()
        .and_then(|xml| type_codes(xml))
        .unwrap_or_else(|| ("1".into(), "0".into()));
    let from_text = organ_id_text(&m.from.id);
    let (document_id, trace, mut carried) = match origin {
        Some(o) => (
            o.document_id.clone(),
            o.trace
                .iter()
                .map(|t| TraceHeader {
                    organ_id: t.org.clone(),
                    timestamp: t.at.clone(),
                })
                .collect(),
            Vec::new(),
        ),
        None => {
            let created = time::OffsetDateTime::parse(
                &m.created_at,
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|_| Error::mapping("created_at", "is not an RFC 3339 time"))?;
            let business = Carried {
                parent: "TraceHeaderList".into(),
                name: "Bussiness".into(),
                xml: "<edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType>\
                      <edXML:BussinessDocReason>Văn bản điện tử mới</edXML:BussinessDocReason>\
                      <edXML:Paper>0</edXML:Paper></edXML:Bussiness>"
                    .into(),
            };
            (
                Some(format!("{from_text},{},{}", format_date(m.date), m.number)),
                vec![TraceHeader {
                    organ_id: from_text.clone(),
                    timestamp: format_timestamp(created),
                }],
                vec![business],
            )
        }
    };
    let mut kept = carried_of("MessageHeader")?;
    kept.extend(carried_of("TraceHeaderList")?);
    kept.append(&mut carried);
    let header = Header {
        from: organ_of(&m.from, d),
        to: m.to.iter().map(|o| organ_of(o, d)).collect(),
        document_id,
        code_number,
        code_notation,
        place: m.place.clone(),
        promulgation_date: format_date(m.date),
        type_code,
        type_detail,
        type_name: m.doc_type.name().to_string(),
        subject: m.subject.clone(),
        content: (!m.content.is_empty()).then(|| m.content.clone()),
        signer: SignerInfo {
            competence: competence_of(&m.signer),
            position: m.signer.position.clone(),
            full_name: m.signer.full_name.clone(),
        },
        due_date: m.due.map(format_date),
        to_places: d.places.clone(),
        other: OtherInfo {
            priority: m.urgency.code().to_string(),
            sphere: d.sphere.clone(),
            typer_notation: d.typist.clone(),
            promulgation_amount: d.copies.map(|n| n.to_string()),
            page_amount: d.pages.map(|n| n.to_string()),
            direction: d.direction.map(|b| b.to_string()),
            appendixes: d.appendixes.clone(),
        },
        steering_type: Some(m.steering.code().to_string()),
        trace,
        carried: kept,
    };
    Ok(header)
}
