//! Reading a `.cvd` container: structure checks first, content on demand.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::archive::{Archive, Method};
use crate::digest::{hash_reader, sha256_hex};
use crate::jws::Jws;
use crate::layout::{
    classify, EntryKind, CIPHERTEXT_ENTRY, JWE_ENTRY, MANIFEST_ENTRY, METADATA_ENTRY, MIMETYPE,
    ROUTING_ENTRY, SEALED_MIMETYPE,
};
use crate::metadata::Metadata;
use crate::{Error, Limits, Manifest};

/// A stored signature or receipt: its entry name, sequence number and JWS.
#[derive(Clone, Debug)]
pub struct StoredJws {
    /// The entry name, e.g. `META-INF/signatures/0001.json`.
    pub entry: String,
    /// The sequence number from the entry name.
    pub number: u32,
    /// The parsed JWS.
    pub jws: Jws,
}

/// A preservation record and its archive timestamp, as stored: the bytes
/// the token's imprint is over, and the token.
#[derive(Clone, Debug)]
pub struct StoredPreservation {
    /// The sequence number shared by the two entries.
    pub number: u32,
    /// The record's entry name, `META-INF/preservation/NNNN.json`.
    pub record_entry: String,
    /// The record's bytes, exactly as stored.
    pub record: Vec<u8>,
    /// The token's entry name, `META-INF/preservation/NNNN.tst`.
    pub token_entry: String,
    /// The RFC 3161 token (DER).
    pub token: Vec<u8>,
}

/// An attachment as found in the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAttachment {
    /// Its file name (without `attachments/`).
    pub name: String,
    /// Its size in bytes as the container declares it.
    pub size: u64,
    index: usize,
}

/// The outcome of hashing one attachment against the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentCheck {
    /// The attachment name (without `attachments/`).
    pub name: String,
    /// Size in the manifest.
    pub size: u64,
    /// SHA-256 in the manifest.
    pub sha256: String,
    /// `None` when the bytes match; otherwise what differs.
    pub problem: Option<String>,
}

/// An opened dispatch container whose structure has been checked.
///
/// Opening reads the ZIP directory, refuses anything outside the closed
/// layout (path traversal, duplicates, unlisted files, compressed
/// attachments, oversized JSON), and parses the metadata, manifest,
/// signatures and receipts. Attachments are only streamed when checked or
/// extracted, so opening costs the same for a 1 KB and a 1 GB dispatch.
pub struct Envelope {
    path: PathBuf,
    archive: Archive,
    metadata: Metadata,
    metadata_bytes: Vec<u8>,
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    signatures: Vec<StoredJws>,
    receipts: Vec<StoredJws>,
    /// The receipt entries' total size.
    receipt_bytes: u64,
    attachments: Vec<StoredAttachment>,
    preservations: Vec<StoredPreservation>,
    /// SHA-256 of every entry a preservation record may cover.
    entry_digests: std::collections::BTreeMap<String, String>,
    limits: Limits,
}

impl Envelope {
    /// Opens and structure-checks a container with the default [`Limits`].
    pub fn open(path: &Path) -> Result<Envelope, Error> {
        Envelope::open_with(path, &Limits::default())
    }

    /// Opens and structure-checks a container.
    ///
    /// A sealed (encrypted) dispatch is refused here with the advice to
    /// decrypt it: it is opened as a [`crate::SealedEnvelope`].
    pub fn open_with(path: &Path, limits: &Limits) -> Result<Envelope, Error> {
        Envelope::from_archive(Archive::open(path, limits.max_entries)?, path, limits)
    }

    /// Structure-checks an archive already read; `path` is its file, or
    /// the label of bytes held in memory.
    pub(crate) fn from_archive(
        archive: Archive,
        path: &Path,
        limits: &Limits,
    ) -> Result<Envelope, Error> {
        let (parts, metadata) = read_parts(archive, path, limits, Kind::Dispatch, |bytes| {
            serde_json::from_slice::<Metadata>(bytes)
                .map_err(|e| Error::Format(format!("{METADATA_ENTRY} is not valid metadata: {e}")))
        })?;
        let envelope = Envelope {
            path: path.to_path_buf(),
            archive: parts.archive,
            metadata,
            metadata_bytes: parts.cover_bytes,
            manifest: parts.manifest,
            manifest_bytes: parts.manifest_bytes,
            signatures: parts.signatures,
            receipts: parts.receipts,
            receipt_bytes: parts.receipt_bytes,
            attachments: parts.attachments,
            preservations: parts.preservations,
            entry_digests: parts.entry_digests,
            limits: *limits,
        };
        envelope.check_listing()?;
        Ok(envelope)
    }

    /// Every attachment in the container must be in the manifest and vice
    /// versa, and the manifest must describe this metadata and dispatch.
    fn check_listing(&self) -> Result<(), Error> {
        let manifest = &self.manifest;
        if manifest.dispatch_id != self.metadata.id {
            return Err(Error::Format(format!(
                "the manifest is for dispatch {} but the metadata says {}",
                manifest.dispatch_id, self.metadata.id
            )));
        }
        if manifest.metadata.name != METADATA_ENTRY {
            return Err(Error::Format(format!(
                "the manifest's metadata entry is {:?}, not {METADATA_ENTRY}",
                manifest.metadata.name
            )));
        }
        // Names exactly as listed, and as compared for case-only twins.
        let mut listed = HashSet::new();
        let mut keys = HashSet::new();
        for entry in &manifest.attachments {
            let name = entry
                .name
                .strip_prefix(crate::layout::ATTACHMENT_DIR)
                .ok_or_else(|| {
                    Error::Format(format!(
                        "manifest entry {:?} is not an attachment",
                        entry.name
                    ))
                })?;
            crate::layout::check_attachment_name(name).map_err(Error::Format)?;
            if !keys.insert(crate::layout::name_key(name)) || !listed.insert(name) {
                return Err(Error::Format(format!(
                    "the manifest lists {name:?} twice (names that differ only in case are the \
                     same file on Windows and macOS)"
                )));
            }
            if !self.attachments.iter().any(|a| a.name == name) {
                return Err(Error::MissingAttachment(name.to_string()));
            }
        }
        for att in &self.attachments {
            if !listed.contains(att.name.as_str()) {
                return Err(Error::UnexpectedEntry(format!(
                    "attachments/{} is not listed in the manifest, so no signature covers it",
                    att.name
                )));
            }
        }
        Ok(())
    }

    /// The container's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The dispatch metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The metadata entry's bytes, exactly as stored.
    pub fn metadata_bytes(&self) -> &[u8] {
        &self.metadata_bytes
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest's canonical bytes: the detached payload of every signature.
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest_bytes
    }

    /// The signatures, in sequence order.
    pub fn signatures(&self) -> &[StoredJws] {
        &self.signatures
    }

    /// The receipts, in sequence order.
    pub fn receipts(&self) -> &[StoredJws] {
        &self.receipts
    }

    /// The preservation records with their archive timestamps, in order.
    pub fn preservations(&self) -> &[StoredPreservation] {
        &self.preservations
    }

    /// SHA-256 (hex) of the stored bytes of every entry a preservation
    /// record covers: the metadata, the manifest, each signature and
    /// receipt, and each earlier preservation entry. (Attachments are
    /// covered through the manifest, which lists their digests.)
    pub fn entry_digests(&self) -> &std::collections::BTreeMap<String, String> {
        &self.entry_digests
    }

    /// How many more receipts this container can take before a reader
    /// refuses it: bounded by [`Limits::max_receipts`] and by the four-digit
    /// entry numbers (a new receipt is numbered one above the highest).
    /// A relay refuses a dispatch with no room for the receipts its route
    /// still needs, rather than accept what the next hop cannot.
    pub fn receipt_room(&self) -> usize {
        receipt_room(&self.receipts, &self.limits)
    }

    /// The receipt entries' total size in bytes.
    pub(crate) fn receipt_bytes(&self) -> u64 {
        self.receipt_bytes
    }

    /// The attachments as found in the container.
    pub fn attachments(&self) -> &[StoredAttachment] {
        &self.attachments
    }

    /// Total attachment bytes, for progress bars.
    pub fn attachment_bytes(&self) -> u64 {
        self.attachments.iter().map(|a| a.size).sum()
    }

    /// Checks the metadata digest against the manifest.
    pub fn check_metadata_digest(&self) -> Option<String> {
        let entry = &self.manifest.metadata;
        let actual = crate::digest::sha256_hex(&self.metadata_bytes);
        if entry.size != self.metadata_bytes.len() as u64 || entry.sha256 != actual {
            return Some(format!(
                "{METADATA_ENTRY} has SHA-256 {actual}, but the manifest lists {}",
                entry.sha256
            ));
        }
        None
    }

    /// Streams every attachment through SHA-256 and compares it with the
    /// manifest. `progress` is told how many bytes went by.
    pub fn check_attachments(
        &mut self,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Vec<AttachmentCheck>, Error> {
        let mut checks = Vec::with_capacity(self.manifest.attachments.len());
        for listed in self.manifest.attachments.clone() {
            let name = listed
                .name
                .strip_prefix(crate::layout::ATTACHMENT_DIR)
                .unwrap_or(&listed.name)
                .to_string();
            let stored = self
                .attachments
                .iter()
                .find(|a| a.name == name)
                .cloned()
                .ok_or_else(|| Error::MissingAttachment(name.clone()))?;
            let mut problem = None;
            if stored.size != listed.size {
                problem = Some(format!(
                    "it is {} bytes, but the manifest lists {} bytes",
                    stored.size, listed.size
                ));
            } else {
                let mut entry = self
                    .archive
                    .entry(stored.index)
                    .map_err(|e| corrupt(&self.path, &listed.name, e))?;
                let hashed = match hash_reader(&mut entry, Some(stored.size), progress) {
                    Ok(hashed) => Some(hashed),
                    // The stored bytes no longer match the ZIP's own CRC-32:
                    // the attachment was altered in place (or damaged). That
                    // is a finding about this attachment, reported like any
                    // other mismatch, not a reason to give up on the file.
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        problem = Some(format!(
                            "its stored bytes are altered or damaged ({e}); they are not \
                             what was signed"
                        ));
                        None
                    }
                    Err(e) => {
                        return Err(Error::Format(format!("cannot read {}: {e}", listed.name)))
                    }
                };
                let Some((size, digest)) = hashed else {
                    checks.push(AttachmentCheck {
                        name,
                        size: listed.size,
                        sha256: listed.sha256.clone(),
                        problem,
                    });
                    continue;
                };
                if size != listed.size {
                    problem = Some(format!(
                        "it is {size} bytes, but the manifest lists {} bytes",
                        listed.size
                    ));
                } else if digest != listed.sha256 {
                    problem = Some(format!(
                        "its SHA-256 is {digest}, but the manifest lists {}",
                        listed.sha256
                    ));
                }
            }
            checks.push(AttachmentCheck {
                name,
                size: listed.size,
                sha256: listed.sha256.clone(),
                problem,
            });
        }
        Ok(checks)
    }

    /// Streams one attachment into `writer`, verifying it against the
    /// manifest as it goes. The caller must discard the output on error.
    pub fn copy_attachment(
        &mut self,
        name: &str,
        writer: &mut dyn std::io::Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let listed = self
            .manifest
            .attachments
            .iter()
            .find(|e| e.name.strip_prefix(crate::layout::ATTACHMENT_DIR) == Some(name))
            .cloned()
            .ok_or_else(|| Error::MissingAttachment(name.to_string()))?;
        let stored = self
            .attachments
            .iter()
            .find(|a| a.name == name)
            .cloned()
            .ok_or_else(|| Error::MissingAttachment(name.to_string()))?;
        let mut entry = self
            .archive
            .entry(stored.index)
            .map_err(|e| corrupt(&self.path, &listed.name, e))?;
        let (size, digest) =
            crate::digest::copy_hashing(&mut entry, writer, Some(stored.size), progress)
                .map_err(|e| Error::Format(format!("cannot copy {}: {e}", listed.name)))?;
        if size != listed.size || digest != listed.sha256 {
            return Err(Error::AttachmentMismatch {
                name: name.to_string(),
                problem: format!(
                    "{size} bytes with SHA-256 {digest}; the manifest lists {} bytes with {}",
                    listed.size, listed.sha256
                ),
            });
        }
        Ok(())
    }

    /// The limits this envelope was opened with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Reads the container again from its path, with the same limits: after
    /// entries were appended, so that this value describes the new file
    /// (its signatures, receipts and archive) and not the replaced one.
    pub(crate) fn reopen(&mut self) -> Result<(), Error> {
        let path = self.path.clone();
        *self = Envelope::open_with(&path, &self.limits)?;
        Ok(())
    }

    /// The archive, for code that rewrites the container.
    pub(crate) fn archive_mut(&mut self) -> &mut Archive {
        &mut self.archive
    }
}

/// What appending an entry needs of a container of either kind: where it
/// is, what it holds, and a way to read it again afterwards.
pub(crate) trait Appendable {
    fn path(&self) -> &Path;
    fn limits(&self) -> &Limits;
    fn archive_mut(&mut self) -> &mut Archive;
    fn reopen(&mut self) -> Result<(), Error>;
    fn receipts(&self) -> &[StoredJws];
    fn receipt_bytes(&self) -> u64;
    fn receipt_room(&self) -> usize;
}

impl Appendable for Envelope {
    fn path(&self) -> &Path {
        Envelope::path(self)
    }
    fn limits(&self) -> &Limits {
        Envelope::limits(self)
    }
    fn archive_mut(&mut self) -> &mut Archive {
        Envelope::archive_mut(self)
    }
    fn reopen(&mut self) -> Result<(), Error> {
        Envelope::reopen(self)
    }
    fn receipts(&self) -> &[StoredJws] {
        Envelope::receipts(self)
    }
    fn receipt_bytes(&self) -> u64 {
        Envelope::receipt_bytes(self)
    }
    fn receipt_room(&self) -> usize {
        Envelope::receipt_room(self)
    }
}

/// How many more receipts fit: bounded by the limit on their number and by
/// the four-digit entry numbers (a new receipt is numbered one above the
/// highest).
pub(crate) fn receipt_room(receipts: &[StoredJws], limits: &Limits) -> usize {
    let by_count = limits.max_receipts.saturating_sub(receipts.len());
    let highest = receipts.iter().map(|r| r.number).max().unwrap_or(0);
    let by_number = crate::layout::MAX_SEQUENCE.saturating_sub(highest) as usize;
    by_count.min(by_number)
}

/// Which of the two containers of the format a file must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A dispatch: metadata and attachments in clear.
    Dispatch,
    /// A sealed dispatch: a routing header and a JWE of a dispatch.
    Sealed,
}

/// What both kinds of container share, read and structure-checked.
pub(crate) struct Parts {
    pub(crate) archive: Archive,
    /// `metadata.json` of a dispatch, `routing.json` of a sealed one.
    pub(crate) cover_bytes: Vec<u8>,
    pub(crate) manifest: Manifest,
    pub(crate) manifest_bytes: Vec<u8>,
    pub(crate) signatures: Vec<StoredJws>,
    pub(crate) receipts: Vec<StoredJws>,
    pub(crate) receipt_bytes: u64,
    pub(crate) attachments: Vec<StoredAttachment>,
    /// `jwe.json` of a sealed dispatch.
    pub(crate) jwe_bytes: Vec<u8>,
    /// `ciphertext.bin` of a sealed dispatch: its entry index and size.
    pub(crate) ciphertext: Option<(usize, u64)>,
    /// The preservation records of a dispatch, with their tokens.
    pub(crate) preservations: Vec<StoredPreservation>,
    /// SHA-256 of every entry a preservation record may cover.
    pub(crate) entry_digests: std::collections::BTreeMap<String, String>,
}

/// The kind the archive's first entry, a stored `mimetype`, declares;
/// `None` when it has no such first entry (the entry checks then name the
/// problem). An unknown mimetype is refused.
pub(crate) fn declared_kind(archive: &mut Archive) -> Result<Option<Kind>, Error> {
    let first_is_mimetype = archive
        .entries()
        .first()
        .is_some_and(|e| e.name == crate::layout::MIMETYPE_ENTRY && e.method == Method::Stored);
    if !first_is_mimetype {
        return Ok(None);
    }
    let mimetype = read_entry(archive, 0, crate::layout::MIMETYPE_ENTRY, 256)?;
    match mimetype.as_slice() {
        m if m == MIMETYPE.as_bytes() => Ok(Some(Kind::Dispatch)),
        m if m == SEALED_MIMETYPE.as_bytes() => Ok(Some(Kind::Sealed)),
        m => Err(Error::Format(format!(
            "mimetype is {:?}, not {MIMETYPE} or {SEALED_MIMETYPE}",
            String::from_utf8_lossy(m)
        ))),
    }
}

/// Reads the entries of a container of `kind`, refusing every entry that
/// does not belong to that kind, and parses the manifest, signatures and
/// receipts. The caller parses the cover (metadata or routing header).
pub(crate) fn read_parts<T>(
    mut archive: Archive,
    path: &Path,
    limits: &Limits,
    kind: Kind,
    parse_cover: impl FnOnce(&[u8]) -> Result<T, Error>,
) -> Result<(Parts, T), Error> {
    // The mimetype decides which kind of container this is, before any
    // other entry is judged: a sealed dispatch where one in clear is
    // expected is named as such (with what to do), not by its first entry
    // out of place.
    match (declared_kind(&mut archive)?, kind) {
        (None, _) | (Some(Kind::Dispatch), Kind::Dispatch) | (Some(Kind::Sealed), Kind::Sealed) => {
        }
        (Some(Kind::Sealed), Kind::Dispatch) => return Err(Error::Sealed(path.to_path_buf())),
        (Some(Kind::Dispatch), Kind::Sealed) => {
            return Err(Error::Format(
                "this is a dispatch in clear, not a sealed (encrypted) one".into(),
            ))
        }
    }

    let mut has_mimetype = false;
    let mut cover_index = None;
    let mut manifest_index = None;
    let mut jwe_index = None;
    let mut ciphertext = None;
    let mut signature_entries = Vec::new();
    let mut receipt_entries = Vec::new();
    let mut record_entries = std::collections::BTreeMap::new();
    let mut token_entries = std::collections::BTreeMap::new();
    let mut attachments = Vec::new();
    let sealed = kind == Kind::Sealed;
    for (index, entry) in archive.entries().iter().enumerate() {
        let name = entry.name.clone();
        if name.ends_with('/') {
            return Err(Error::UnexpectedEntry(format!(
                "{name:?} is a folder entry"
            )));
        }
        let entry_kind = classify(&name).map_err(Error::UnexpectedEntry)?;
        let stored = entry.method == Method::Stored;
        let size = entry.size;
        let wrong_kind = || {
            Error::UnexpectedEntry(if sealed {
                format!("{name:?} has no place in a sealed dispatch, which holds only routing.json, jwe.json and ciphertext.bin besides META-INF/")
            } else {
                format!("{name:?} belongs to a sealed dispatch, not to a dispatch in clear")
            })
        };
        match entry_kind {
            EntryKind::Mimetype => {
                if index != 0 || !stored {
                    return Err(Error::Format(
                        "the mimetype entry must be the first entry and stored uncompressed".into(),
                    ));
                }
                has_mimetype = true;
            }
            EntryKind::Metadata if !sealed => cover_index = Some(index),
            EntryKind::Routing if sealed => cover_index = Some(index),
            EntryKind::Jwe if sealed => jwe_index = Some(index),
            EntryKind::Ciphertext if sealed => {
                if !stored {
                    return Err(Error::Format(
                        "ciphertext.bin is compressed; it is stored as it is".into(),
                    ));
                }
                if size > limits.max_attachment {
                    return Err(Error::TooLarge {
                        entry: name,
                        limit: limits.max_attachment,
                    });
                }
                ciphertext = Some((index, size));
            }
            EntryKind::Manifest => manifest_index = Some(index),
            EntryKind::Attachment(att) if !sealed => {
                if !stored {
                    return Err(Error::Format(format!(
                        "attachment {att:?} is compressed; attachments are stored as they are"
                    )));
                }
                if size > limits.max_attachment {
                    return Err(Error::TooLarge {
                        entry: name,
                        limit: limits.max_attachment,
                    });
                }
                attachments.push(StoredAttachment {
                    name: att,
                    size,
                    index,
                });
            }
            EntryKind::Signature(n) => signature_entries.push((index, n, name)),
            EntryKind::Receipt(n) => receipt_entries.push((index, n, name)),
            EntryKind::PreservationRecord(n) if !sealed => {
                record_entries.insert(n, (index, name));
            }
            EntryKind::ArchiveTimestamp(n) if !sealed => {
                token_entries.insert(n, (index, name));
            }
            EntryKind::PreservationRecord(_) | EntryKind::ArchiveTimestamp(_) => {
                return Err(Error::UnexpectedEntry(format!(
                    "{name:?}: a sealed dispatch is not preserved (preserve the dispatch inside)"
                )))
            }
            EntryKind::Metadata
            | EntryKind::Routing
            | EntryKind::Jwe
            | EntryKind::Ciphertext
            | EntryKind::Attachment(_) => return Err(wrong_kind()),
        }
    }
    if !has_mimetype {
        return Err(Error::Format(
            "the mimetype entry is missing: a container starts with it".into(),
        ));
    }
    if receipt_entries.len() > limits.max_receipts {
        return Err(Error::Format(format!(
            "the container has {} receipts; at most {} are accepted",
            receipt_entries.len(),
            limits.max_receipts
        )));
    }
    let receipt_bytes: u64 = receipt_entries
        .iter()
        .map(|(index, _, _)| archive.entries()[*index].size)
        .sum();
    if receipt_bytes > limits.max_receipt_bytes {
        return Err(Error::Format(format!(
            "the container's receipts take {receipt_bytes} bytes; at most {} are accepted",
            limits.max_receipt_bytes
        )));
    }
    if signature_entries.len() > limits.max_signatures {
        return Err(Error::Format(format!(
            "the container has {} signatures; at most {} are accepted",
            signature_entries.len(),
            limits.max_signatures
        )));
    }

    let cover_name = if sealed {
        ROUTING_ENTRY
    } else {
        METADATA_ENTRY
    };
    let cover_index =
        cover_index.ok_or_else(|| Error::Format(format!("{cover_name} is missing")))?;
    let cover_bytes = read_entry(&mut archive, cover_index, cover_name, limits.max_metadata)?;
    // The cover is parsed before anything else is read: a reader names a
    // broken metadata or routing header first.
    let cover = parse_cover(&cover_bytes)?;
    let jwe_bytes = match jwe_index {
        Some(index) => read_entry(&mut archive, index, JWE_ENTRY, limits.max_metadata)?,
        None if sealed => return Err(Error::Format(format!("{JWE_ENTRY} is missing"))),
        None => Vec::new(),
    };
    if sealed && ciphertext.is_none() {
        return Err(Error::Format(format!("{CIPHERTEXT_ENTRY} is missing")));
    }

    let manifest_index =
        manifest_index.ok_or_else(|| Error::Format(format!("{MANIFEST_ENTRY} is missing")))?;
    let manifest_bytes = read_entry(
        &mut archive,
        manifest_index,
        MANIFEST_ENTRY,
        limits.max_manifest,
    )?;
    let manifest = Manifest::parse(&manifest_bytes)?;

    let mut entry_digests = std::collections::BTreeMap::new();
    entry_digests.insert(cover_name.to_string(), sha256_hex(&cover_bytes));
    entry_digests.insert(MANIFEST_ENTRY.to_string(), sha256_hex(&manifest_bytes));
    let mut read_jws = |archive: &mut Archive,
                        entries: Vec<(usize, u32, String)>|
     -> Result<Vec<StoredJws>, Error> {
        let mut out = Vec::with_capacity(entries.len());
        for (index, number, entry) in entries {
            let bytes = read_entry(archive, index, &entry, limits.max_signature)?;
            let jws = Jws::parse(&bytes, &entry)?;
            entry_digests.insert(entry.clone(), sha256_hex(&bytes));
            out.push(StoredJws { entry, number, jws });
        }
        out.sort_by_key(|s| s.number);
        Ok(out)
    };
    let signatures = read_jws(&mut archive, signature_entries)?;
    let receipts = read_jws(&mut archive, receipt_entries)?;
    let preservations = read_preservations(
        &mut archive,
        record_entries,
        token_entries,
        limits,
        &mut entry_digests,
    )?;
    Ok((
        Parts {
            archive,
            cover_bytes,
            manifest,
            manifest_bytes,
            signatures,
            receipts,
            receipt_bytes,
            attachments,
            jwe_bytes,
            ciphertext,
            preservations,
            entry_digests,
        },
        cover,
    ))
}

/// Reads the preservation records and their tokens: numbered 1, 2, 3...
/// without a gap, each record with its token, at most
/// [`Limits::max_preservations`].
fn read_preservations(
    archive: &mut Archive,
    records: std::collections::BTreeMap<u32, (usize, String)>,
    mut tokens: std::collections::BTreeMap<u32, (usize, String)>,
    limits: &Limits,
    digests: &mut std::collections::BTreeMap<String, String>,
) -> Result<Vec<StoredPreservation>, Error> {
    if records.len() > limits.max_preservations {
        return Err(Error::Format(format!(
            "the container has {} preservation records; at most {} are accepted",
            records.len(),
            limits.max_preservations
        )));
    }
    let total = records
        .values()
        .map(|(index, _)| archive.entries()[*index].size)
        .fold(0u64, u64::saturating_add);
    if total > limits.max_preservation_bytes {
        return Err(Error::Format(format!(
            "the container's preservation records take {total} bytes; at most {} are accepted",
            limits.max_preservation_bytes
        )));
    }
    let mut budget = limits.max_preservation_bytes;
    let mut out = Vec::with_capacity(records.len());
    for (expected, (number, (index, record_entry))) in (1u32..).zip(records) {
        if number != expected {
            return Err(Error::Format(format!(
                "{record_entry} follows preservation record {}: records are numbered from 0001 \
                 without a gap",
                expected - 1
            )));
        }
        let (token_index, token_entry) = tokens.remove(&number).ok_or_else(|| {
            Error::Format(format!(
                "{record_entry} has no archive timestamp ({})",
                crate::layout::archive_timestamp_entry(number)
            ))
        })?;
        // What is left of the budget, whatever the headers declared (a
        // deflate bomb stops at it).
        let record = read_entry(archive, index, &record_entry, budget)?;
        budget -= record.len() as u64;
        let token = read_entry(archive, token_index, &token_entry, limits.max_signature)?;
        digests.insert(record_entry.clone(), sha256_hex(&record));
        digests.insert(token_entry.clone(), sha256_hex(&token));
        out.push(StoredPreservation {
            number,
            record_entry,
            record,
            token_entry,
            token,
        });
    }
    if let Some((_, (_, entry))) = tokens.into_iter().next() {
        return Err(Error::Format(format!(
            "{entry} is an archive timestamp without its preservation record"
        )));
    }
    Ok(out)
}

fn corrupt(path: &Path, entry: &str, e: std::io::Error) -> Error {
    Error::NotAContainer {
        path: path.to_path_buf(),
        problem: format!("{entry}: {e}"),
    }
}

/// Reads a whole small entry, refusing it past `limit` bytes whatever its
/// header claims (a deflate bomb stops at the limit).
pub(crate) fn read_entry(
    archive: &mut Archive,
    index: usize,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, Error> {
    let entry = archive
        .entry(index)
        .map_err(|e| Error::Format(format!("{name}: {e}")))?;
    if entry.size() > limit {
        return Err(Error::TooLarge {
            entry: name.to_string(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Format(format!("cannot read {name}: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            entry: name.to_string(),
            limit,
        });
    }
    Ok(bytes)
}
