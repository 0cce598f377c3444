//! Import of an edXML message as a `.cvd` sealed by the gateway office, and
//! export of a `.cvd` as an edXML message. Both write their output only
//! when complete: on any error nothing is left at the destination.

use std::path::{Path, PathBuf};

use congvan_envelope::metadata::{Metadata, OriginalAttachment};
use congvan_envelope::{
    create_dispatch, guess_media_type, sign_dispatch, AttachmentSource, Envelope, SignatureRole,
};
use congvan_org::Registry;
use congvan_sign::Credential;
use time::OffsetDateTime;

use crate::mapping::{to_header, to_metadata};
use crate::message::{Attachment, Message};
use crate::packed::{is_packaged_document, is_zip, pack, unpack};
use crate::read::{read_message, Notes};
use crate::write::write_message;
use crate::{Error, Limits};

/// What an import did, for the person who ran it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ImportReport {
    /// The new dispatch's id.
    pub id: String,
    /// The issuing office as the message names it.
    pub from: String,
    /// Number and notation.
    pub number: String,
    /// The attachments of the new dispatch.
    pub attachments: Vec<String>,
    /// Everything seen but not mapped to a congvan field (kept as XML for
    /// export, or ignored), one line each.
    pub notes: Notes,
}

/// A scratch folder beside `out`, so the finished file is renamed into
/// place on the same file system.
fn scratch_beside(out: &Path) -> Result<tempfile::TempDir, Error> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    tempfile::Builder::new()
        .prefix(".congvan-edxml-")
        .tempdir_in(&parent)
        .map_err(|e| Error::io(parent, e))
}

fn refuse_existing(out: &Path) -> Result<(), Error> {
    if out.exists() {
        return Err(Error::io(
            out,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "already exists; choose another --out or remove it",
            ),
        ));
    }
    Ok(())
}

/// How an import is bounded and whom it refuses.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Bounds on the message.
    pub limits: Limits,
    /// The organization registry. An office it lists (and not as
    /// `external`) is on congvan and sends through it, signed: an edXML
    /// message claiming to come from it is refused, so that no one can pass
    /// a forged dispatch of a congvan office through the gateway's copy
    /// seal. The gateway office must be one it names `gateway = true`.
    pub registry: Option<Registry>,
}

/// Imports the edXML message at `input` as a new dispatch at `out`, sealed
/// as an authenticated copy (`copy`) by the gateway office `gateway`.
pub fn import_message(
    input: &Path,
    out: &Path,
    gateway: &Credential,
    at: OffsetDateTime,
    options: &ImportOptions,
) -> Result<ImportReport, Error> {
    let limits = &options.limits;
    refuse_existing(out)?;
    let gateway_org = gateway.cert().org().cloned().ok_or_else(|| {
        Error::mapping(
            "gateway",
            "the gateway certificate names no organization; use the office certificate",
        )
    })?;
    let scratch = scratch_beside(out)?;
    let (message, mut notes) = read_message(input, scratch.path(), limits)?;
    let mut metadata = to_metadata(&message.header, &gateway_org, at)?;
    if let Some(registry) = &options.registry {
        let from = &metadata.from.id;
        if registry.get(from).is_some_and(|o| !o.external) {
            return Err(Error::mapping(
                "From/OrganId",
                format!(
                    "{from} is an office on congvan; its dispatches come signed through \
                     congvan, so an edXML message in its name is refused (ask it to send \
                     through its relay)"
                ),
            ));
        }
        if !registry.is_gateway(&gateway_org) {
            return Err(Error::mapping(
                "gateway",
                format!(
                    "the registry does not name {gateway_org} as an edXML gateway \
                     (gateway = true), so relays would refuse its copies"
                ),
            ));
        }
    }
    let mut sources = Vec::new();
    let mut originals = Vec::new();
    let mut unpacked = 0u64;
    for (i, attachment) in message.attachments.iter().enumerate() {
        // A ZIP wrapper as senders use it: declared as a ZIP, not named as
        // one, and not a document that is a ZIP by design (.docx, .odt).
        let declared_zip = matches!(
            attachment.content_type.to_ascii_lowercase().as_str(),
            "application/zip" | "application/x-zip-compressed"
        );
        let zipped = declared_zip
            && !attachment.name.to_lowercase().ends_with(".zip")
            && is_zip(&attachment.path)?
            && !is_packaged_document(&attachment.path)?;
        let mut members = Vec::new();
        if zipped {
            let dir = scratch.path().join(format!("unpacked-{}", i + 1));
            std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
            for member in unpack(
                &attachment.name,
                &attachment.path,
                &dir,
                limits,
                &mut unpacked,
            )? {
                sources.push(AttachmentSource {
                    path: member.path,
                    name: Some(member.name.clone()),
                    media_type: None,
                });
                members.push(member.name);
            }
            notes.push(format!(
                "attachment {:?} is a ZIP: unpacked into {}",
                attachment.name,
                members.join(", ")
            ));
        } else {
            let media_type = congvan_envelope::check_media_type(&attachment.content_type)
                .map(|()| attachment.content_type.clone())
                .unwrap_or_else(|_| guess_media_type(&attachment.name).to_string());
            sources.push(AttachmentSource {
                path: attachment.path.clone(),
                name: Some(attachment.name.clone()),
                media_type: Some(media_type),
            });
            members.push(attachment.name.clone());
        }
        originals.push(OriginalAttachment {
            content_id: attachment.content_id.clone(),
            name: attachment.name.clone(),
            description: attachment.description.clone(),
            media_type: attachment.content_type.clone(),
            zipped,
            members,
        });
    }
    if let Some(origin) = metadata.details.origin.as_mut() {
        origin.attachments = originals;
    }
    let problems = metadata.problems();
    if let Some(first) = problems.first() {
        let all: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(Error::mapping(
            "the message",
            format!(
                "it does not make a valid dispatch under Decree 30 ({} problem(s)): {}",
                all.len(),
                if all.len() == 1 {
                    first.to_string()
                } else {
                    all.join("; ")
                }
            ),
        ));
    }
    // Written inside the scratch folder, sealed, then moved into place.
    let staged = scratch.path().join("import.cvd");
    create_dispatch(&metadata, &sources, &staged, &mut |_| {})?;
    let mut envelope = Envelope::open(&staged)?;
    sign_dispatch(
        &mut envelope,
        gateway,
        &[],
        SignatureRole::Copy,
        at,
        &mut |_| {},
    )?;
    drop(envelope);
    refuse_existing(out)?;
    std::fs::rename(&staged, out).map_err(|e| Error::io(out, e))?;
    Ok(ImportReport {
        id: metadata.id.clone(),
        from: format!("{} ({})", metadata.from.name, metadata.from.id),
        number: metadata.number.clone(),
        attachments: sources.iter().filter_map(|s| s.name.clone()).collect(),
        notes,
    })
}

/// What an export did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExportReport {
    /// The dispatch's id.
    pub id: String,
    /// The edXML `DocumentId` written.
    pub document_id: Option<String>,
    /// The attachments as the message lists them.
    pub attachments: Vec<String>,
}

/// Exports the dispatch at `input` as an edXML message at `out`. The
/// attachments are checked against the manifest as they are copied out.
pub fn export_dispatch(input: &Path, out: &Path) -> Result<ExportReport, Error> {
    refuse_existing(out)?;
    let mut envelope = Envelope::open(input)?;
    let metadata: Metadata = envelope.metadata().clone();
    let header = to_header(&metadata)?;
    let scratch = scratch_beside(out)?;
    let mut files = Vec::new();
    for (i, stored) in envelope.attachments().to_vec().iter().enumerate() {
        let path = scratch.path().join(format!("attachment-{}", i + 1));
        let mut file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        envelope.copy_attachment(&stored.name, &mut file, &mut |_| {})?;
        let media_type = envelope
            .manifest()
            .attachments
            .iter()
            .find(|e| e.name.ends_with(&format!("/{}", stored.name)))
            .map(|e| e.media_type.clone())
            .unwrap_or_else(|| "application/octet-stream".into());
        files.push((stored.name.clone(), path, stored.size, media_type));
    }
    let originals: &[OriginalAttachment] = metadata
        .details
        .origin
        .as_ref()
        .map(|o| o.attachments.as_slice())
        .unwrap_or(&[]);
    let mut attachments = Vec::new();
    let mut used = vec![false; files.len()];
    for (i, original) in originals.iter().enumerate() {
        let mut members = Vec::new();
        for name in &original.members {
            let index = files.iter().position(|f| &f.0 == name).ok_or_else(|| {
                Error::mapping(
                    "details.origin.attachments",
                    format!("names the attachment {name:?}, which the dispatch does not carry"),
                )
            })?;
            used[index] = true;
            members.push((files[index].0.clone(), files[index].1.clone()));
        }
        let path = if original.zipped {
            let zip = scratch.path().join(format!("packed-{}", i + 1));
            pack(&members, &zip)?;
            zip
        } else {
            members[0].1.clone()
        };
        let size = std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
        attachments.push(Attachment {
            content_id: original.content_id.clone(),
            name: original.name.clone(),
            description: original.description.clone(),
            content_type: original.media_type.clone(),
            path,
            size,
        });
    }
    for (index, (name, path, size, media_type)) in files.into_iter().enumerate() {
        if !used[index] {
            attachments.push(Attachment {
                content_id: format!("cid:{}", attachments.len() + 1),
                description: Some(name.clone()),
                name,
                content_type: media_type,
                path,
                size,
            });
        }
    }
    let message = Message {
        header,
        attachments,
    };
    let staged = scratch.path().join("export.edxml");
    write_message(&message, &staged)?;
    refuse_existing(out)?;
    std::fs::rename(&staged, out).map_err(|e| Error::io(out, e))?;
    Ok(ExportReport {
        id: metadata.id,
        document_id: message.header.document_id.clone(),
        attachments: message.attachments.iter().map(|a| a.name.clone()).collect(),
    })
}
