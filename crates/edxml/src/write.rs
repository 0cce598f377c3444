//! Writing edXML with quick-xml: the header as elements with escaped text,
//! attachment contents base64-encoded straight from their files, so memory
//! stays flat however large they are.
//!
//! The layout follows the messages the national platform's SDK writes: the
//! root `edXML` declares the namespace both as default and as the prefix
//! `edXML:`; header elements carry the prefix, `AttachmentEncoded` and
//! `Attachment` do not (they are in the namespace through the default).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use crate::message::*;
use crate::Error;

struct Out {
    w: Writer<BufWriter<File>>,
    path: PathBuf,
}

impl Out {
    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::io(&self.path, std::io::Error::other(e.to_string()))
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), Error> {
        self.w.write_event(event).map_err(|e| self.err(e))
    }

    fn start(&mut self, name: &str) -> Result<(), Error> {
        self.event(Event::Start(BytesStart::new(name)))
    }

    fn end(&mut self, name: &str) -> Result<(), Error> {
        self.event(Event::End(BytesEnd::new(name)))
    }

    fn leaf(&mut self, name: &str, text: &str) -> Result<(), Error> {
        self.start(name)?;
        self.event(Event::Text(BytesText::new(text)))?;
        self.end(name)
    }

    fn leaf_opt(&mut self, name: &str, text: Option<&String>) -> Result<(), Error> {
        match text {
            Some(text) => self.leaf(name, text),
            None => Ok(()),
        }
    }

    /// Writes XML that is already well-formed and escaped (carried elements).
    fn raw(&mut self, xml: &str) -> Result<(), Error> {
        let path = self.path.clone();
        self.w
            .get_mut()
            .write_all(xml.as_bytes())
            .map_err(|e| Error::io(path, e))
    }

    fn create(path: &Path) -> Result<Out, Error> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut out = Out {
            w: Writer::new(BufWriter::with_capacity(256 * 1024, file)),
            path: path.to_path_buf(),
        };
        out.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let mut root = BytesStart::new("edXML");
        root.push_attribute(("xmlns", NAMESPACE));
        root.push_attribute(("xmlns:edXML", NAMESPACE));
        out.event(Event::Start(root))?;
        Ok(out)
    }

    fn finish(mut self) -> Result<(), Error> {
        self.end("edXML")?;
        let path = self.path.clone();
        let file = self
            .w
            .into_inner()
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&path, e))
    }

    fn organ(&mut self, name: &str, o: &Organ) -> Result<(), Error> {
        self.start(name)?;
        self.leaf("edXML:OrganId", &o.organ_id)?;
        self.leaf_opt("edXML:OrganizationInCharge", o.in_charge.as_ref())?;
        self.leaf("edXML:OrganName", &o.organ_name)?;
        self.leaf_opt("edXML:OrganAdd", o.address.as_ref())?;
        self.leaf_opt("edXML:Email", o.email.as_ref())?;
        self.leaf_opt("edXML:Telephone", o.telephone.as_ref())?;
        self.leaf_opt("edXML:Fax", o.fax.as_ref())?;
        self.leaf_opt("edXML:Website", o.website.as_ref())?;
        self.end(name)
    }

    fn trace(&mut self, trace: &[TraceHeader], carried: &[Carried]) -> Result<(), Error> {
        self.start("edXML:TraceHeaderList")?;
        for t in trace {
            self.start("edXML:TraceHeader")?;
            self.leaf("edXML:OrganId", &t.organ_id)?;
            self.leaf("edXML:Timestamp", &t.timestamp)?;
            self.end("edXML:TraceHeader")?;
        }
        for c in carried.iter().filter(|c| c.parent == "TraceHeaderList") {
            self.raw(&c.xml)?;
        }
        self.end("edXML:TraceHeaderList")
    }

    fn staff(&mut self, s: &StaffInfo) -> Result<(), Error> {
        self.start("edXML:StaffInfo")?;
        self.leaf_opt("edXML:Department", s.department.as_ref())?;
        self.leaf_opt("edXML:Staff", s.staff.as_ref())?;
        self.leaf_opt("edXML:Email", s.email.as_ref())?;
        self.leaf_opt("edXML:Mobile", s.mobile.as_ref())?;
        self.end("edXML:StaffInfo")
    }
}

/// Writes a document message to `path`, encoding each attachment's file.
pub fn write_message(message: &Message, path: &Path) -> Result<(), Error> {
    let h = &message.header;
    let mut out = Out::create(path)?;
    out.start("edXML:edXMLEnvelope")?;
    out.start("edXML:edXMLHeader")?;
    out.start("edXML:MessageHeader")?;
    out.organ("edXML:From", &h.from)?;
    for to in &h.to {
        out.organ("edXML:To", to)?;
    }
    out.leaf_opt("edXML:DocumentId", h.document_id.as_ref())?;
    out.start("edXML:Code")?;
    out.leaf("edXML:CodeNumber", &h.code_number)?;
    out.leaf("edXML:CodeNotation", &h.code_notation)?;
    out.end("edXML:Code")?;
    out.start("edXML:PromulgationInfo")?;
    out.leaf("edXML:Place", &h.place)?;
    out.leaf("edXML:PromulgationDate", &h.promulgation_date)?;
    out.end("edXML:PromulgationInfo")?;
    out.start("edXML:DocumentType")?;
    out.leaf("edXML:Type", &h.type_code)?;
    out.leaf("edXML:TypeDetail", &h.type_detail)?;
    out.leaf("edXML:TypeName", &h.type_name)?;
    out.end("edXML:DocumentType")?;
    out.leaf("edXML:Subject", &h.subject)?;
    out.leaf_opt("edXML:Content", h.content.as_ref())?;
    out.start("edXML:SignerInfo")?;
    out.leaf_opt("edXML:Competence", h.signer.competence.as_ref())?;
    out.leaf("edXML:Position", &h.signer.position)?;
    out.leaf("edXML:FullName", &h.signer.full_name)?;
    out.end("edXML:SignerInfo")?;
    out.leaf_opt("edXML:DueDate", h.due_date.as_ref())?;
    if !h.to_places.is_empty() {
        out.start("edXML:ToPlaces")?;
        for p in &h.to_places {
            out.leaf("edXML:Place", p)?;
        }
        out.end("edXML:ToPlaces")?;
    }
    let o = &h.other;
    out.start("edXML:OtherInfo")?;
    out.leaf("edXML:Priority", &o.priority)?;
    out.leaf_opt("edXML:SphereOfPromulgation", o.sphere.as_ref())?;
    out.leaf_opt("edXML:TyperNotation", o.typer_notation.as_ref())?;
    out.leaf_opt("edXML:PromulgationAmount", o.promulgation_amount.as_ref())?;
    out.leaf_opt("edXML:PageAmount", o.page_amount.as_ref())?;
    out.leaf_opt("edXML:Direction", o.direction.as_ref())?;
    if !o.appendixes.is_empty() {
        out.start("edXML:Appendixes")?;
        for a in &o.appendixes {
            out.leaf("edXML:Appendix", a)?;
        }
        out.end("edXML:Appendixes")?;
    }
    out.end("edXML:OtherInfo")?;
    out.leaf_opt("edXML:SteeringType", h.steering_type.as_ref())?;
    for c in h.carried.iter().filter(|c| c.parent == "MessageHeader") {
        out.raw(&c.xml)?;
    }
    out.end("edXML:MessageHeader")?;
    out.trace(&h.trace, &h.carried)?;
    out.end("edXML:edXMLHeader")?;
    out.start("edXML:edXMLBody")?;
    let mut manifest = BytesStart::new("edXML:edXMLManifest");
    manifest.push_attribute(("version", "1.0"));
    out.event(Event::Start(manifest))?;
    for a in &message.attachments {
        out.start("edXML:Reference")?;
        out.leaf("edXML:ContentId", &a.content_id)?;
        out.leaf("edXML:ContentType", &a.content_type)?;
        out.leaf_opt("edXML:Description", a.description.as_ref())?;
        out.leaf("edXML:AttachmentName", &a.name)?;
        out.end("edXML:Reference")?;
    }
    out.end("edXML:edXMLManifest")?;
    out.end("edXML:edXMLBody")?;
    out.end("edXML:edXMLEnvelope")?;
    out.start("AttachmentEncoded")?;
    for a in &message.attachments {
        out.start("Attachment")?;
        out.leaf("ContentId", &a.content_id)?;
        out.leaf("AttachmentName", &a.name)?;
        out.leaf_opt("Description", a.description.as_ref())?;
        out.leaf("ContentType", &a.content_type)?;
        out.start("edXML:ContentTransferEncoded")?;
        encode_file(&a.path, &mut out)?;
        out.end("edXML:ContentTransferEncoded")?;
        out.end("Attachment")?;
    }
    out.end("AttachmentEncoded")?;
    out.finish()
}

/// Streams `path` as base64 into the output.
fn encode_file(path: &Path, out: &mut Out) -> Result<(), Error> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    // A multiple of 3 so that no padding appears before the end.
    let mut buf = vec![0u8; 3 * 64 * 1024];
    let mut text = String::with_capacity(4 * 64 * 1024 + 4);
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            let n = file
                .read(&mut buf[filled..])
                .map_err(|e| Error::io(path, e))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            return Ok(());
        }
        text.clear();
        base64::engine::general_purpose::STANDARD.encode_string(&buf[..filled], &mut text);
        out.raw(&text)?;
        if filled < buf.len() {
            return Ok(());
        }
    }
}

/// Writes a status message to `path`.
pub fn write_status(status: &StatusMessage, path: &Path) -> Result<(), Error> {
    let mut out = Out::create(path)?;
    out.start("edXML:edXMLEnvelope")?;
    out.start("edXML:edXMLHeader")?;
    out.start("edXML:MessageHeader")?;
    out.organ("edXML:From", &status.from)?;
    let rf = &status.response_for;
    out.start("edXML:ResponseFor")?;
    out.leaf("edXML:OrganId", &rf.organ_id)?;
    out.leaf("edXML:Code", &rf.code)?;
    out.leaf("edXML:PromulgationDate", &rf.promulgation_date)?;
    out.leaf_opt("edXML:DocumentId", rf.document_id.as_ref())?;
    out.end("edXML:ResponseFor")?;
    if let Some(staff) = &status.staff {
        out.staff(staff)?;
    }
    out.leaf("edXML:StatusCode", &status.status_code)?;
    out.leaf_opt("edXML:Description", status.description.as_ref())?;
    out.leaf("edXML:Timestamp", &status.timestamp)?;
    out.end("edXML:MessageHeader")?;
    out.trace(&status.trace, &[])?;
    out.end("edXML:edXMLHeader")?;
    out.start("edXML:edXMLBody")?;
    out.end("edXML:edXMLBody")?;
    out.end("edXML:edXMLEnvelope")?;
    out.finish()
}
