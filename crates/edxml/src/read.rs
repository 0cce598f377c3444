//! Reading edXML: the scanner splits off attachment contents, roxmltree
//! reads the header (namespace-correct, no DTD), and this file turns the
//! tree into a [`Message`] or a [`StatusMessage`]. Elements are matched by
//! namespace and local name, in any order; unknown attributes are ignored;
//! unknown elements are kept as XML ([`Carried`]) and reported.

use std::io::BufReader;
use std::path::Path;

use roxmltree::{Document, Node, ParsingOptions};

use crate::message::*;
use crate::scan::{scan, Scanned};
use crate::{Error, Limits};

/// What the reader saw but could not map, for the person importing.
pub type Notes = Vec<String>;

fn open(path: &Path, dir: &Path, limits: &Limits) -> Result<Scanned, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    scan(BufReader::with_capacity(256 * 1024, file), dir, limits)
}

fn parse(header: &str) -> Result<Document<'_>, Error> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 200_000,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(header, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => Error::Dtd,
        e => Error::Malformed(e.to_string()),
    })
}

fn is(node: Node<'_, '_>, name: &str) -> bool {
    node.is_element()
        && node.tag_name().namespace() == Some(NAMESPACE)
        && node.tag_name().name() == name
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| is(*n, name))
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |n| is(*n, name))
}

fn require<'a, 'i>(node: Node<'a, 'i>, name: &str, path: &str) -> Result<Node<'a, 'i>, Error> {
    child(node, name).ok_or_else(|| Error::Malformed(format!("{path} has no {name} element")))
}

/// The trimmed text of a node, `None` when empty.
fn text_of(node: Node<'_, '_>) -> Option<String> {
    let text: String = node
        .children()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The text of a child as written, untrimmed (the body keeps its line
/// breaks and indentation); `None` when empty or only whitespace.
fn opt_exact(node: Node<'_, '_>, name: &str) -> Option<String> {
    let text: String = child(node, name)?
        .children()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    (!text.trim().is_empty()).then_some(text)
}

fn opt(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).and_then(text_of)
}

fn req(node: Node<'_, '_>, name: &str, path: &str) -> Result<String, Error> {
    opt(node, name).ok_or_else(|| Error::Malformed(format!("{path}/{name} is missing or empty")))
}

/// Re-serialises an element with the `edXML:` prefix (children in the
/// namespace only; text escaped).
fn to_xml(node: Node<'_, '_>, out: &mut String, notes: &mut Notes) {
    let name = node.tag_name().name();
    out.push_str("<edXML:");
    out.push_str(name);
    for attr in node.attributes() {
        if attr.namespace().is_none() {
            out.push(' ');
            out.push_str(attr.name());
            out.push_str("=\"");
            out.push_str(&quick_xml::escape::escape(attr.value()));
            out.push('"');
        }
    }
    out.push('>');
    for c in node.children() {
        if c.is_text() {
            if let Some(t) = c.text() {
                if !t.trim().is_empty() {
                    out.push_str(&quick_xml::escape::escape(t.trim()));
                }
            }
        } else if c.is_element() {
            if c.tag_name().namespace() == Some(NAMESPACE) {
                to_xml(c, out, notes);
            } else {
                notes.push(format!(
                    "{name}/{}: not in the edXML namespace, not kept",
                    c.tag_name().name()
                ));
            }
        }
    }
    out.push_str("</edXML:");
    out.push_str(name);
    out.push('>');
}

/// Checks a kept element before it is written back on export: it must be
/// one element of the edXML namespace, and not one this crate writes itself
/// (`From`, `To`, `TraceHeader`…), so that metadata cannot smuggle parties,
/// trace headers or attachments into an outgoing message. Returns it
/// re-serialised.
pub(crate) fn checked_carried(parent: &str, xml: &str) -> Result<String, Error> {
    let bad = |problem: &str| Error::mapping("details.origin.carried", problem.to_string());
    let wrapped = format!("<r xmlns:edXML=\"{NAMESPACE}\">{xml}</r>");
    let doc = parse(&wrapped).map_err(|e| bad(&format!("a kept element is not XML: {e}")))?;
    let root = doc.root_element();
    if root
        .children()
        .any(|c| c.is_text() && c.text().is_some_and(|t| !t.trim().is_empty()))
    {
        return Err(bad("a kept element has text around it"));
    }
    let mut elements = root.children().filter(|c| c.is_element());
    let (Some(element), None) = (elements.next(), elements.next()) else {
        return Err(bad("a kept element must be exactly one element"));
    };
    let name = element.tag_name().name();
    let allowed = element.tag_name().namespace() == Some(NAMESPACE)
        && match parent {
            "MessageHeader" => name == "ResponseFor" || !MESSAGE_FIELDS.contains(&name),
            "TraceHeaderList" => name != "TraceHeader",
            _ => false,
        };
    if !allowed {
        return Err(bad(&format!(
            "{name} under {parent} is written from the dispatch's own fields, not kept"
        )));
    }
    let mut out = String::new();
    to_xml(element, &mut out, &mut Notes::new());
    Ok(out)
}

fn carry(parent: &str, node: Node<'_, '_>, notes: &mut Notes) -> Carried {
    let mut xml = String::new();
    to_xml(node, &mut xml, notes);
    Carried {
        parent: parent.to_string(),
        name: node.tag_name().name().to_string(),
        xml,
    }
}

fn organ(node: Node<'_, '_>, path: &str) -> Result<Organ, Error> {
    Ok(Organ {
        organ_id: req(node, "OrganId", path)?,
        in_charge: opt(node, "OrganizationInCharge"),
        organ_name: req(node, "OrganName", path)?,
        address: opt(node, "OrganAdd"),
        email: opt(node, "Email"),
        telephone: opt(node, "Telephone"),
        fax: opt(node, "Fax"),
        website: opt(node, "Website"),
    })
}

fn trace(list: Option<Node<'_, '_>>) -> Result<Vec<TraceHeader>, Error> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    children(list, "TraceHeader")
        .map(|t| {
            Ok(TraceHeader {
                organ_id: req(t, "OrganId", "TraceHeader")?,
                timestamp: req(t, "Timestamp", "TraceHeader")?,
            })
        })
        .collect()
}

/// The `edXMLHeader` of a document (root `edXML/edXMLEnvelope`).
fn envelope_header<'a, 'i>(doc: &'a Document<'i>) -> Result<(Node<'a, 'i>, Node<'a, 'i>), Error> {
    let root = doc.root_element();
    if !is(root, "edXML") {
        return Err(Error::Malformed(format!(
            "the root element is {{{}}}{}, not edXML in the namespace {NAMESPACE}",
            root.tag_name().namespace().unwrap_or(""),
            root.tag_name().name()
        )));
    }
    let envelope = require(root, "edXMLEnvelope", "edXML")?;
    let header = require(envelope, "edXMLHeader", "edXMLEnvelope")?;
    Ok((envelope, header))
}

const MESSAGE_FIELDS: [&str; 14] = [
    "From",
    "To",
    "DocumentId",
    "Code",
    "PromulgationInfo",
    "DocumentType",
    "Subject",
    "Content",
    "SignerInfo",
    "DueDate",
    "ToPlaces",
    "OtherInfo",
    "SteeringType",
    "ResponseFor",
];

/// Reads a document message; attachment contents go to files in `dir`.
pub fn read_message(path: &Path, dir: &Path, limits: &Limits) -> Result<(Message, Notes), Error> {
    let scanned = open(path, dir, limits)?;
    let doc = parse(&scanned.header)?;
    let mut notes = Notes::new();
    let (envelope, header_node) = envelope_header(&doc)?;
    let mh = require(header_node, "MessageHeader", "edXMLHeader")?;

    let from = organ(require(mh, "From", "MessageHeader")?, "From")?;
    let to = children(mh, "To")
        .map(|n| organ(n, "To"))
        .collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() {
        return Err(Error::Malformed("MessageHeader has no To element".into()));
    }
    let code = require(mh, "Code", "MessageHeader")?;
    let promulgation = require(mh, "PromulgationInfo", "MessageHeader")?;
    let doc_type = require(mh, "DocumentType", "MessageHeader")?;
    let signer = require(mh, "SignerInfo", "MessageHeader")?;
    let other = child(mh, "OtherInfo");
    let mut header = Header {
        from,
        to,
        document_id: opt(mh, "DocumentId"),
        code_number: req(code, "CodeNumber", "Code")?,
        code_notation: req(code, "CodeNotation", "Code")?,
        place: req(promulgation, "Place", "PromulgationInfo")?,
        promulgation_date: req(promulgation, "PromulgationDate", "PromulgationInfo")?,
        type_code: opt(doc_type, "Type").unwrap_or_default(),
        type_detail: opt(doc_type, "TypeDetail").unwrap_or_default(),
        type_name: req(doc_type, "TypeName", "DocumentType")?,
        subject: req(mh, "Subject", "MessageHeader")?,
        content: opt_exact(mh, "Content"),
        signer: SignerInfo {
            competence: opt(signer, "Competence"),
            position: req(signer, "Position", "SignerInfo")?,
            full_name: req(signer, "FullName", "SignerInfo")?,
        },
        due_date: opt(mh, "DueDate"),
        to_places: child(mh, "ToPlaces")
            .map(|p| children(p, "Place").filter_map(text_of).collect())
            .unwrap_or_default(),
        other: OtherInfo {
            priority: other
                .and_then(|o| opt(o, "Priority"))
                .unwrap_or_else(|| "0".into()),
            sphere: other.and_then(|o| opt(o, "SphereOfPromulgation")),
            typer_notation: other.and_then(|o| opt(o, "TyperNotation")),
            promulgation_amount: other.and_then(|o| opt(o, "PromulgationAmount")),
            page_amount: other.and_then(|o| opt(o, "PageAmount")),
            direction: other.and_then(|o| opt(o, "Direction")),
            appendixes: other
                .and_then(|o| child(o, "Appendixes"))
                .map(|a| children(a, "Appendix").filter_map(text_of).collect())
                .unwrap_or_default(),
        },
        steering_type: opt(mh, "SteeringType"),
        trace: Vec::new(),
        carried: Vec::new(),
    };
    for c in mh.children().filter(|c| c.is_element()) {
        let name = c.tag_name().name();
        if c.tag_name().namespace() != Some(NAMESPACE) {
            notes.push(format!(
                "MessageHeader/{name}: not in the edXML namespace, ignored"
            ));
        } else if name == "ResponseFor" {
            header.carried.push(carry("MessageHeader", c, &mut notes));
        } else if !MESSAGE_FIELDS.contains(&name) {
            notes.push(format!(
                "MessageHeader/{name}: no congvan field, kept as XML for export"
            ));
            header.carried.push(carry("MessageHeader", c, &mut notes));
        }
    }
    let list = child(header_node, "TraceHeaderList");
    header.trace = trace(list)?;
    if let Some(list) = list {
        for c in list
            .children()
            .filter(|c| c.is_element() && !is(*c, "TraceHeader"))
        {
            if c.tag_name().namespace() == Some(NAMESPACE) {
                header.carried.push(carry("TraceHeaderList", c, &mut notes));
            }
        }
    }
    if header_node
        .children()
        .any(|c| c.is_element() && c.tag_name().name() == "Signature")
    {
        notes.push(
            "Signature: the XML signature is information only (hubs that append trace headers \
             break it); it was not checked and is not carried: the binding signature is the \
             gateway's copy seal"
                .into(),
        );
    }

    let attachments = attachments(&doc, envelope, scanned.blobs, &mut notes)?;
    Ok((
        Message {
            header,
            attachments,
        },
        notes,
    ))
}

fn attachments(
    doc: &Document<'_>,
    envelope: Node<'_, '_>,
    blobs: Vec<crate::scan::Blob>,
    notes: &mut Notes,
) -> Result<Vec<Attachment>, Error> {
    let references: Vec<Node<'_, '_>> = child(envelope, "edXMLBody")
        .and_then(|b| child(b, "edXMLManifest"))
        .map(|m| children(m, "Reference").collect())
        .unwrap_or_default();
    let encoded: Vec<Node<'_, '_>> = child(doc.root_element(), "AttachmentEncoded")
        .map(|a| children(a, "Attachment").collect())
        .unwrap_or_default();
    let mut blobs: Vec<Option<crate::scan::Blob>> = blobs.into_iter().map(Some).collect();
    let mut out = Vec::new();
    let mut used = vec![false; encoded.len()];
    for reference in references {
        let content_id = req(reference, "ContentId", "Reference")?;
        let key = cid_key(&content_id);
        let Some(index) = encoded
            .iter()
            .position(|a| opt(*a, "ContentId").is_some_and(|c| cid_key(&c) == key))
        else {
            return Err(Error::Malformed(format!(
                "the manifest's Reference {content_id} has no Attachment with that ContentId: \
                 the attachment is missing"
            )));
        };
        if used[index] {
            return Err(Error::Malformed(format!(
                "two References name the attachment {content_id}"
            )));
        }
        used[index] = true;
        let attachment = encoded[index];
        let content = require(attachment, "ContentTransferEncoded", "Attachment")?;
        let blob = text_of(content)
            .and_then(|t| t.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()))
            .and_then(|n| blobs.get_mut(n.wrapping_sub(1)))
            .and_then(Option::take)
            .ok_or_else(|| Error::Malformed(format!("attachment {content_id} has no content")))?;
        let name = opt(reference, "AttachmentName")
            .or_else(|| opt(attachment, "AttachmentName"))
            .ok_or_else(|| {
                Error::Malformed(format!("attachment {content_id} has no AttachmentName"))
            })?;
        out.push(Attachment {
            content_id,
            name,
            description: opt(reference, "Description").or_else(|| opt(attachment, "Description")),
            content_type: opt(reference, "ContentType")
                .or_else(|| opt(attachment, "ContentType"))
                .unwrap_or_else(|| "application/octet-stream".into()),
            path: blob.path,
            size: blob.size,
        });
    }
    for (i, a) in encoded.iter().enumerate() {
        if !used[i] {
            notes.push(format!(
                "Attachment {}: not listed in the manifest, ignored",
                opt(*a, "ContentId").unwrap_or_else(|| "(no ContentId)".into())
            ));
        }
    }
    Ok(out)
}

/// Content ids compared without the `cid:` prefix, which writers apply
/// inconsistently.
fn cid_key(cid: &str) -> &str {
    let cid = cid.trim();
    cid.strip_prefix("cid:").unwrap_or(cid)
}

/// Reads a status message (root `edXML` with the status in its
/// `MessageHeader`, or the SDK's root `Status` with `Header`).
pub fn read_status(path: &Path, dir: &Path, limits: &Limits) -> Result<StatusMessage, Error> {
    let scanned = open(path, dir, limits)?;
    if !scanned.blobs.is_empty() {
        return Err(Error::Malformed(
            "a status message carries no attachments".into(),
        ));
    }
    let doc = parse(&scanned.header)?;
    let root = doc.root_element();
    let header_node = if is(root, "Status") {
        require(root, "Header", "Status")?
    } else {
        envelope_header(&doc)?.1
    };
    let mh = require(header_node, "MessageHeader", "header")?;
    let status_code = req(mh, "StatusCode", "MessageHeader")?;
    if !STATUS_CODES.contains(&status_code.as_str()) {
        return Err(Error::Malformed(format!(
            "StatusCode {status_code:?} is not one of {}",
            STATUS_CODES.join(", ")
        )));
    }
    let rf = require(mh, "ResponseFor", "MessageHeader")?;
    Ok(StatusMessage {
        from: organ(require(mh, "From", "MessageHeader")?, "From")?,
        response_for: ResponseFor {
            organ_id: req(rf, "OrganId", "ResponseFor")?,
            code: req(rf, "Code", "ResponseFor")?,
            promulgation_date: req(rf, "PromulgationDate", "ResponseFor")?,
            document_id: opt(rf, "DocumentId"),
        },
        staff: child(mh, "StaffInfo").map(|s| StaffInfo {
            department: opt(s, "Department"),
            staff: opt(s, "Staff"),
            email: opt(s, "Email"),
            mobile: opt(s, "Mobile"),
        }),
        status_code,
        description: opt(mh, "Description"),
        timestamp: req(mh, "Timestamp", "MessageHeader")?,
        trace: trace(child(header_node, "TraceHeaderList"))?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn kept_elements_cannot_smuggle_parties_into_an_export() {
        let ok = checked_carried(
            "TraceHeaderList",
            "<edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType></edXML:Bussiness>",
        )
        .unwrap();
        assert!(ok.starts_with("<edXML:Bussiness>"), "{ok}");
        for (parent, xml) in [
            ("MessageHeader", "<edXML:X/></edXML:MessageHeader><edXML:To><edXML:OrganId>1</edXML:OrganId></edXML:To><edXML:MessageHeader>"),
            ("MessageHeader", "<edXML:To><edXML:OrganId>1</edXML:OrganId></edXML:To>"),
            ("MessageHeader", "<edXML:A/><edXML:B/>"),
            ("TraceHeaderList", "<edXML:TraceHeader/>"),
            ("MessageHeader", "<Other xmlns=\"urn:x\"/>"),
            ("MessageHeader", "text<edXML:A/>"),
        ] {
            assert!(checked_carried(parent, xml).is_err(), "{xml}");
        }
    }
}
