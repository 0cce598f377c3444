//! Writing a new `.cvd` container, streaming attachments through SHA-256.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::archive::ZipWriter;
use crate::hashing_writer::{FileDigest, HashingWriter};
use crate::layout::{
    check_attachment_name, ATTACHMENT_DIR, MANIFEST_ENTRY, METADATA_ENTRY, MIMETYPE, MIMETYPE_ENTRY,
};
use crate::manifest::{ManifestEntry, MANIFEST_FORMAT};
use crate::metadata::Metadata;
use crate::partial_file::PartialFile;
use crate::{Error, Manifest};

/// A file to attach to a new dispatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentSource {
    /// Where the file is.
    pub path: PathBuf,
    /// The name it gets in the dispatch; defaults to the file's own name.
    pub name: Option<String>,
    /// Its media type; guessed from the extension when absent.
    pub media_type: Option<String>,
}

impl AttachmentSource {
    /// Attaches a file under its own name and guessed media type.
    pub fn file(path: impl Into<PathBuf>) -> AttachmentSource {
        AttachmentSource {
            path: path.into(),
            name: None,
            media_type: None,
        }
    }

    fn resolved_name(&self) -> Result<String, Error> {
        let name = match &self.name {
            Some(name) => name.clone(),
            None => self
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| Error::BadAttachment {
                    path: self.path.clone(),
                    problem: "the file name is not valid UTF-8; give the attachment a name".into(),
                })?
                .to_string(),
        };
        let name = crate::metadata::to_nfc(&name);
        check_attachment_name(&name).map_err(|problem| Error::BadAttachment {
            path: self.path.clone(),
            problem,
        })?;
        Ok(name)
    }
}

/// Writes a new, unsigned dispatch container at `out`.
///
/// The metadata must validate. Attachments are streamed from disk through
/// SHA-256 into the container (stored, not recompressed), so memory stays
/// flat however large they are; the JSON entries are stored too. The file appears at `out` only when
/// complete; a failure leaves nothing behind.
pub fn create_dispatch(
    metadata: &Metadata,
    attachments: &[AttachmentSource],
    out: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Manifest, Error> {
    metadata.validate()?;
    let mut names = HashSet::new();
    let mut resolved = Vec::with_capacity(attachments.len());
    for source in attachments {
        let name = source.resolved_name()?;
        if !names.insert(crate::layout::name_key(&name)) {
            return Err(Error::BadAttachment {
                path: source.path.clone(),
                problem: format!(
                    "another attachment is already named {name:?} (names that differ only in \
                     case are the same file on Windows and macOS)"
                ),
            });
        }
        let meta = std::fs::metadata(&source.path).map_err(|e| Error::io(&source.path, e))?;
        if !meta.is_file() {
            return Err(Error::BadAttachment {
                path: source.path.clone(),
                problem: "is not a regular file".into(),
            });
        }
        let media_type = source
            .media_type
            .clone()
            .unwrap_or_else(|| guess_media_type(&name).to_string());
        crate::manifest::check_media_type(&media_type).map_err(|problem| Error::BadAttachment {
            path: source.path.clone(),
            problem,
        })?;
        resolved.push((source, name, media_type, meta.len()));
    }

    let metadata_bytes = serde_json::to_vec_pretty(metadata)
        .map_err(|e| Error::Format(format!("cannot encode the metadata: {e}")))?;
    let mut temp = PartialFile::new(out)?;
    let file = temp.create()?;
    let mut zip = ZipWriter::new(BufWriter::with_capacity(crate::digest::STREAM_BUFFER, file));
    // Everything is stored, JSON included: metadata, manifest, signatures and
    // receipts are a few KB, and inflating them cost a verifier more time
    // than their compression saved (readers still accept deflate).
    let io_err = |e: std::io::Error| Error::io(out, e);
    zip.add_bytes(MIMETYPE_ENTRY, MIMETYPE.as_bytes())
        .map_err(io_err)?;
    zip.add_bytes(METADATA_ENTRY, &metadata_bytes)
        .map_err(io_err)?;

    let mut entries = Vec::with_capacity(resolved.len());
    for (source, name, media_type, len) in resolved {
        let entry_name = format!("{ATTACHMENT_DIR}{name}");
        let mut input = File::open(&source.path).map_err(|e| Error::io(&source.path, e))?;
        let sha256 = zip
            .add_streamed(&entry_name, len, &mut input, progress)
            .map_err(|e| Error::io(&source.path, e))?;
        entries.push(ManifestEntry {
            name: entry_name,
            media_type,
            size: len,
            sha256,
        });
    }

    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_string(),
        dispatch_id: metadata.id.clone(),
        metadata: ManifestEntry {
            name: METADATA_ENTRY.to_string(),
            media_type: "application/json".to_string(),
            size: metadata_bytes.len() as u64,
            sha256: crate::digest::sha256_hex(&metadata_bytes),
        },
        attachments: entries,
    };
    zip.add_bytes(MANIFEST_ENTRY, &manifest.canonical_bytes()?)
        .map_err(io_err)?;
    let writer = zip.finish().map_err(io_err)?;
    let file = writer
        .into_inner()
        .map_err(|e| Error::io(temp.path(), e.into_error()))?;
    temp.commit(file, Durability::Synced)?;
    Ok(manifest)
}

/// Writes a sealed (encrypted) dispatch container in one pass:
/// `routing.json`; `ciphertext.bin` of exactly `ciphertext_size` bytes,
/// which `encrypt` writes and which returns the bytes of `jwe.json` (whose
/// tags are known only once the ciphertext is written); `jwe.json`; the
/// manifest; and the sending office's seal over it, which `seal` makes from
/// the manifest's bytes. The file is synced. Sealing in the same pass
/// spares a large file the rewrite that appending a signature costs.
pub fn create_sealed(
    routing: &crate::Routing,
    ciphertext_size: u64,
    encrypt: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<Vec<u8>>,
    seal: impl FnOnce(&[u8]) -> Result<crate::Jws, Error>,
    out: &Path,
) -> Result<Manifest, Error> {
    use crate::layout::{CIPHERTEXT_ENTRY, JWE_ENTRY, ROUTING_ENTRY, SEALED_MIMETYPE};
    routing.check()?;
    let routing_bytes = routing.to_bytes()?;
    let mut temp = PartialFile::new(out)?;
    let file = temp.create()?;
    let mut zip = ZipWriter::new(BufWriter::with_capacity(crate::digest::STREAM_BUFFER, file));
    let io_err = |e: std::io::Error| Error::io(out, e);
    zip.add_bytes(MIMETYPE_ENTRY, SEALED_MIMETYPE.as_bytes())
        .map_err(io_err)?;
    zip.add_bytes(ROUTING_ENTRY, &routing_bytes)
        .map_err(io_err)?;
    let jwe_bytes = zip
        .add_written(CIPHERTEXT_ENTRY, ciphertext_size, encrypt)
        .map_err(io_err)?;
    zip.add_bytes(JWE_ENTRY, &jwe_bytes).map_err(io_err)?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_string(),
        dispatch_id: routing.id.clone(),
        metadata: ManifestEntry {
            name: ROUTING_ENTRY.to_string(),
            media_type: "application/json".to_string(),
            size: routing_bytes.len() as u64,
            sha256: crate::digest::sha256_hex(&routing_bytes),
        },
        attachments: vec![ManifestEntry {
            name: JWE_ENTRY.to_string(),
            media_type: "application/jose+json".to_string(),
            size: jwe_bytes.len() as u64,
            sha256: crate::digest::sha256_hex(&jwe_bytes),
        }],
    };
    let manifest_bytes = manifest.canonical_bytes()?;
    zip.add_bytes(MANIFEST_ENTRY, &manifest_bytes)
        .map_err(io_err)?;
    let signature = serde_json::to_vec(&seal(&manifest_bytes)?)
        .map_err(|e| Error::Format(format!("cannot encode the seal: {e}")))?;
    zip.add_bytes(&crate::layout::signature_entry(1), &signature)
        .map_err(io_err)?;
    let writer = zip.finish().map_err(io_err)?;
    let file = writer
        .into_inner()
        .map_err(|e| Error::io(temp.path(), e.into_error()))?;
    temp.commit(file, Durability::Synced)?;
    Ok(manifest)
}

/// Rewrites a container with extra entries appended, e.g. a signature or a
/// receipt. Existing entries are copied byte for byte, so earlier
/// signatures stay valid; the original is replaced only once the new file
/// is complete (and, with [`Durability::Synced`], synced). With `digest`,
/// also returns the new file's size and SHA-256, mostly hashed as it is
/// written rather than read again (see `hashing_file.rs`).
pub(crate) fn append_entries(
    envelope: &mut dyn crate::container::Appendable,
    additions: &[(String, Vec<u8>)],
    durability: Durability,
    digest: bool,
) -> Result<Option<FileDigest>, Error> {
    let out = envelope.path().to_path_buf();
    if envelope.archive_mut().in_memory() {
        return Err(Error::Format(format!(
            "{} was read from memory and has no file to append to",
            out.display()
        )));
    }
    check_entry_count(envelope, additions)?;
    let mut temp = PartialFile::new(&out)?;
    let file = temp.create()?;
    let file = if digest {
        HashingWriter::new(file)
    } else {
        HashingWriter::plain(file)
    };
    let writer = BufWriter::with_capacity(crate::digest::STREAM_BUFFER, file);
    let writer = envelope
        .archive_mut()
        .write_appended(writer, additions)
        .map_err(|e| Error::io(temp.path(), e))?;
    let (file, digest) = writer
        .into_inner()
        .map_err(|e| Error::io(temp.path(), e.into_error()))?
        .finish();
    temp.commit(file, durability)?;
    // The file on disk has changed: read it again, or a second append
    // through the same `Envelope` would copy the replaced file and number
    // its entry as if the first had never happened, losing it.
    envelope.reopen()?;
    Ok(digest)
}

/// Appends `additions` to the container's own file, in place: the bytes
/// before its central directory stay where they are, and only the new
/// entries and a new directory are written after them. Nothing is synced.
///
/// For a file nobody else relies on yet (a relay's upload, kept only once
/// it is synced and committed): a crash in the middle leaves it torn, where
/// [`append_entries`] would leave the old file whole. The digest of the
/// result comes from `arrival` (the upload hashed as it came) when that
/// still holds the bytes before the directory, else from reading them.
pub(crate) fn append_entries_in_place(
    envelope: &mut dyn crate::container::Appendable,
    additions: &[(String, Vec<u8>)],
    arrival: Option<&crate::ArrivalDigest>,
) -> Result<FileDigest, Error> {
    let path = envelope.path().to_path_buf();
    if envelope.archive_mut().in_memory() {
        return Err(Error::Format(format!(
            "{} was read from memory and has no file to append to",
            path.display()
        )));
    }
    check_entry_count(envelope, additions)?;
    let (prefix_len, tail) = envelope
        .archive_mut()
        .appended_tail(additions)
        .map_err(|e| Error::io(&path, e))?;
    // The digest first, while the file is still as it was read.
    let file_len = std::fs::metadata(&path)
        .map_err(|e| Error::io(&path, e))?
        .len();
    let received = arrival
        .filter(|a| a.len() == file_len)
        .and_then(|a| a.prefix(prefix_len));
    let mut hashed = match received {
        Some(context) => HashingWriter::continuing(std::io::sink(), context, prefix_len),
        None => {
            let mut hashed = HashingWriter::new(std::io::sink());
            envelope
                .archive_mut()
                .copy_prefix(prefix_len, &mut hashed)
                .map_err(|e| Error::io(&path, e))?;
            hashed
        }
    };
    std::io::Write::write_all(&mut hashed, &tail).map_err(|e| Error::io(&path, e))?;
    let digest = hashed
        .finish()
        .1
        .ok_or_else(|| Error::Format("the appended container was not hashed".into()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(prefix_len))
        .and_then(|_| std::io::Write::write_all(&mut file, &tail))
        .map_err(|e| Error::io(&path, e))?;
    file.set_len(digest.size).map_err(|e| Error::io(&path, e))?;
    drop(file);
    // Read the directory again, as after any append (see append_entries).
    envelope.reopen()?;
    Ok(digest)
}

/// The container with `additions` appended, in memory, with the size and
/// SHA-256 of the result: what [`append_entries`] would write, for a
/// caller that keeps the bytes rather than a file.
pub(crate) fn appended_bytes(
    envelope: &mut dyn crate::container::Appendable,
    additions: &[(String, Vec<u8>)],
) -> Result<(Vec<u8>, FileDigest), Error> {
    check_entry_count(envelope, additions)?;
    let path = envelope.path().to_path_buf();
    let writer = HashingWriter::new(Vec::new());
    let writer = envelope
        .archive_mut()
        .write_appended(writer, additions)
        .map_err(|e| Error::io(&path, e))?;
    match writer.finish() {
        // The buffer doubled as it grew: give back what the container
        // does not use, since a relay holds it until its commit.
        (mut bytes, Some(digest)) => {
            bytes.shrink_to_fit();
            Ok((bytes, digest))
        }
        (_, None) => Err(Error::Format(
            "the appended container was not hashed".into(),
        )),
    }
}

/// Refuses an append that would leave more entries than readers accept.
fn check_entry_count(
    envelope: &mut dyn crate::container::Appendable,
    additions: &[(String, Vec<u8>)],
) -> Result<(), Error> {
    let limits = *envelope.limits();
    let entries = envelope.archive_mut().entries().len() + additions.len();
    if entries > limits.max_entries {
        return Err(Error::Refused(format!(
            "the dispatch would have {entries} entries; readers accept at most {}",
            limits.max_entries
        )));
    }
    Ok(())
}

/// Whether a rewritten file is fsynced before it replaces the original.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// fsync the file and its folder: the file itself is the durable copy.
    Synced,
    /// Only rename into place: for callers that make the result durable
    /// themselves (a relay stores it in its database or syncs it as a blob).
    Unsynced,
}

/// A media type from a file name's extension, for the common office formats.
pub fn guess_media_type(name: &str) -> &'static str {
    let ext = match name.rsplit_once('.') {
        Some((_, ext)) => ext.to_ascii_lowercase(),
        None => return "application/octet-stream",
    };
    match ext.as_str() {
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "txt" => "text/plain",
        "xml" => "application/xml",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "tif" | "tiff" => "image/tiff",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}
