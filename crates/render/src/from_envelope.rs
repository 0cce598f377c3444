//! The mapping from an opened `.cvd` (and its verification) onto the views.

use congvan_envelope::metadata::Secrecy as EnvelopeSecrecy;
use congvan_envelope::{
    parse_header, Envelope, Indication as EnvelopeIndication, SignatureRole, VerificationReport,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::view::{
    AttachmentView, CalendarDate, DigitalSignatureView, DispatchView, Indication, ReceiptView,
    SealView, Secrecy, SignatureReportView, SignerView, Urgency, VerificationReportView,
};

/// What the QR code on a printed dispatch carries: the format version, the
/// dispatch id and the SHA-256 of its manifest, so a reader holding the
/// paper can find the `.cvd` and check it is the same dispatch.
pub fn qr_payload(envelope: &Envelope) -> String {
    let digest = congvan_envelope::sha256_hex(envelope.manifest_bytes());
    format!("congvan:1:{}:{digest}", envelope.metadata().id)
}

/// What the QR code carries when the issuing office's relay has a public
/// verification page at `base` (e.g. `https://vanban.hatinh.gov.vn`): the
/// page's address for this dispatch, `BASE/v/ID/MANIFEST-SHA256`, which a
/// phone opens to see whether the paper is authentic.
pub fn verification_url(envelope: &Envelope, base: &str) -> String {
    let digest = congvan_envelope::sha256_hex(envelope.manifest_bytes());
    format!(
        "{}/v/{}/{digest}",
        base.trim_end_matches('/'),
        envelope.metadata().id
    )
}

/// The printable view of a dispatch.
///
/// With a verification report, only signatures that PASSED are shown as
/// digital signatures. Without one, none is: the page is stamped "CHƯA XÁC
/// THỰC" instead (see [`DispatchView::verified`]), since a signature box
/// drawn from an unchecked file is exactly what a forger wants printed.
pub fn dispatch_view(envelope: &Envelope, verified: Option<&VerificationReport>) -> DispatchView {
    let m = envelope.metadata();
    let mut signer_sig = None;
    let mut seal = None;
    for (index, stored) in envelope.signatures().iter().enumerate() {
        let passed = verified.is_some_and(|report| {
            report
                .signatures
                .get(index)
                .is_some_and(|s| s.indication == EnvelopeIndication::Passed)
        });
        let Ok((header, _)) = parse_header(&stored.jws, &stored.entry) else {
            continue;
        };
        if !passed {
            continue;
        }
        let name = header
            .certificates(&stored.entry)
            .ok()
            .and_then(|certs| certs.into_iter().next())
            .map_or_else(|| "?".to_string(), |c| c.display_name().to_string());
        let at = unix(&header.sig_t);
        match header.congvan.role {
            SignatureRole::Signer if signer_sig.is_none() => {
                signer_sig = Some(DigitalSignatureView {
                    signer: name,
                    signed_at_unix: at,
                });
            }
            SignatureRole::Seal if seal.is_none() => {
                seal = Some(SealView {
                    organization: name,
                    signed_at_unix: at,
                });
            }
            _ => {}
        }
    }
    let signer = &m.signer;
    // The block as Decree 30 prints it, shared with edXML export:
    // "TM. ỦY BAN NHÂN DÂN" / "KT. CHỦ TỊCH" / "PHÓ CHỦ TỊCH".
    let mut authority_lines: Vec<String> = signer
        .title_lines()
        .iter()
        .map(|line| line.to_uppercase())
        .collect();
    let position = authority_lines.pop().unwrap_or_default();
    let has_title = m.doc_type.abbreviation().is_some();
    // "Nơi nhận" as the issuer wrote it (ending with its "Lưu: VT, …"
    // line), else the recipients and the archive line.
    let recipients: Vec<String> = if m.details.places.is_empty() {
        let mut lines: Vec<String> = m.to.iter().map(|o| format!("{};", o.name)).collect();
        lines.push("Lưu: VT.".to_string());
        lines
    } else {
        m.details.places.clone()
    };
    DispatchView {
        parent_authority: None,
        issuing_authority: m.from.name.to_uppercase(),
        number: m.number.clone(),
        place: m.place.clone(),
        date: CalendarDate {
            year: m.date.year(),
            month: u8::from(m.date.month()),
            day: m.date.day(),
        },
        document_type: has_title.then(|| m.doc_type.title_upper().to_string()),
        subject: if has_title {
            m.subject.clone()
        } else {
            without_vv(&m.subject).to_string()
        },
        content: m
            .content
            .split('\n')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        signer: SignerView {
            authority_lines,
            position,
            full_name: signer.full_name.clone(),
            digital_signature: signer_sig,
        },
        seal,
        recipients,
        urgency: Urgency::from_code(m.urgency.code()),
        secrecy: m.secrecy.map(|s| match s {
            EnvelopeSecrecy::Mat => Secrecy::Confidential,
            EnvelopeSecrecy::ToiMat => Secrecy::Secret,
            EnvelopeSecrecy::TuyetMat => Secrecy::TopSecret,
        }),
        qr_payload: Some(qr_payload(envelope)),
        verified: verified.is_some_and(|r| r.indication == EnvelopeIndication::Passed),
        marks: marks(m, verified),
    }
}

/// What happened to the dispatch after it was issued, as the printed copy
/// must say: a verified recall request of its issuer, what it supersedes.
fn marks(
    m: &congvan_envelope::metadata::Metadata,
    verified: Option<&VerificationReport>,
) -> Vec<String> {
    let mut marks = Vec::new();
    if let Some(origin) = &m.details.origin {
        // Not the issuer's own signed original: say whose copy it is.
        marks.push(format!(
            "BẢN SAO: nhận qua trục liên thông (edXML) lúc {}, {} đóng dấu sao",
            origin.received_at, origin.gateway
        ));
    }
    if let Some(recall) = verified.and_then(|r| r.recall.as_ref()) {
        marks.push(format!("ĐỀ NGHỊ THU HỒI: {recall}"));
    }
    if let Some(later) = verified.and_then(|r| r.superseded_by.as_ref()) {
        marks.push(format!("ĐÃ ĐƯỢC THAY THẾ/CẬP NHẬT: {later}"));
    }
    if let Some(s) = &m.details.supersedes {
        let verb = match s.kind {
            congvan_envelope::metadata::SupersedeKind::Replaces => "THAY THẾ",
            congvan_envelope::metadata::SupersedeKind::Updates => "CẬP NHẬT",
        };
        marks.push(format!("{verb} VĂN BẢN MÃ {}", s.id));
    }
    marks
}

/// A công văn's subject without the "V/v" its writer may have typed: the
/// renderer prints the decree's "V/v" itself.
fn without_vv(subject: &str) -> &str {
    let trimmed = subject.trim_start();
    match trimmed.get(..4) {
        Some(head) if head.eq_ignore_ascii_case("v/v ") => trimmed[4..].trim_start(),
        _ => subject,
    }
}

/// The one-page auditor's view of a verification report.
pub fn report_view(
    report: &VerificationReport,
    generated_at: OffsetDateTime,
) -> VerificationReportView {
    VerificationReportView {
        file_name: report.file.clone(),
        dispatch_id: report
            .dispatch_id
            .clone()
            .unwrap_or_else(|| "(unreadable)".into()),
        indication: indication(report.indication),
        sub_indication: report.sub_indication.map(|s| s.name().to_string()),
        signatures: report
            .signatures
            .iter()
            .map(|s| SignatureReportView {
                signer_name: s.signer.clone().unwrap_or_else(|| "?".into()),
                organization: s.org.clone().unwrap_or_default(),
                role: s.role.map_or("?".into(), |r| r.name().to_string()),
                signing_time_unix: s.signing_time.as_deref().and_then(unix_opt),
                certificate_chain: s.chain.clone(),
                indication: indication(s.indication),
                sub_indication: s.sub_indication.map(|x| x.name().to_string()),
            })
            .collect(),
        attachments: report
            .attachments
            .iter()
            .map(|a| AttachmentView {
                name: a.name.clone(),
                size_bytes: a.size,
                sha256_hex: a.sha256.clone(),
            })
            .collect(),
        receipts: report
            .receipts
            .iter()
            .map(|r| ReceiptView {
                time_unix: r.time.as_deref().map_or(0, unix),
                actor: r.signed_by.clone().unwrap_or_else(|| "?".into()),
                event: if r.valid {
                    r.description.clone()
                } else {
                    format!("{} (INVALID)", r.description)
                },
            })
            .collect(),
        generated_at_unix: generated_at.unix_timestamp(),
    }
}

fn indication(i: EnvelopeIndication) -> Indication {
    match i {
        EnvelopeIndication::Passed => Indication::Passed,
        EnvelopeIndication::Failed => Indication::Failed,
        EnvelopeIndication::Indeterminate => Indication::Indeterminate,
    }
}

/// Times in a verified file were parsed during verification; an unparsable
/// one (only in an unverified render) prints as the epoch rather than failing.
fn unix(text: &str) -> i64 {
    unix_opt(text).unwrap_or(0)
}

fn unix_opt(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}
