//! Reading a sealed (encrypted) dispatch container.
//!
//! A sealed container carries a dispatch that relays must not read. Its
//! entries are `mimetype` (`application/vnd.congvan.sealed+zip`),
//! `routing.json` (a [`Routing`] header), `jwe.json` (the JWE that wraps
//! the content key for each recipient, without its ciphertext),
//! `ciphertext.bin` (the encrypted inner `.cvd`), the manifest, the sender
//! office's seal and the relays' receipts. The manifest lists
//! `routing.json` and `jwe.json` with their SHA-256; `ciphertext.bin` is
//! bound by the authentication tags that `jwe.json` lists (see
//! `docs/FORMAT.md` §11), so that sealing a large file costs one pass of
//! AES-GCM and not a SHA-256 pass as well.
//!
//! This module reads and checks the container; encrypting and decrypting
//! are the `congvan-secret` crate's.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::archive::Archive;
use crate::container::{read_parts, receipt_room, Appendable, Kind, StoredJws};
use crate::hashing_writer::FileDigest;
use crate::layout::{JWE_ENTRY, ROUTING_ENTRY};
use crate::routing::Routing;
use crate::{Error, Jws, Limits, Manifest};

/// A container of either kind, as its `mimetype` entry says.
pub enum Opened {
    /// A dispatch in clear.
    Dispatch(Box<crate::Envelope>),
    /// A sealed (secret) dispatch.
    Sealed(Box<SealedEnvelope>),
}

impl Opened {
    /// Opens a container of either kind with the default limits: the one
    /// reader of the archive decides the kind, by its `mimetype`.
    pub fn open(path: &Path) -> Result<Opened, Error> {
        let limits = Limits::default();
        Opened::from_archive(Archive::open(path, limits.max_entries)?, path, &limits)
    }

    /// A container of either kind held in memory (a relay's small upload,
    /// never written to a file), with the default limits; `label` names
    /// it in errors. It cannot be appended to in place: a receipt is added
    /// with [`crate::receipt_appended_bytes`] or
    /// [`SealedEnvelope::receipt_appended_bytes`], which give the new bytes.
    pub fn from_bytes(bytes: Vec<u8>, label: &Path) -> Result<Opened, Error> {
        let limits = Limits::default();
        Opened::from_archive(
            Archive::from_bytes(bytes, label, limits.max_entries)?,
            label,
            &limits,
        )
    }

    fn from_archive(mut archive: Archive, path: &Path, limits: &Limits) -> Result<Opened, Error> {
        match crate::container::declared_kind(&mut archive)? {
            Some(Kind::Sealed) => Ok(Opened::Sealed(Box::new(SealedEnvelope::from_archive(
                archive, path, limits,
            )?))),
            // No stored mimetype first: the dispatch reader names what is wrong.
            Some(Kind::Dispatch) | None => Ok(Opened::Dispatch(Box::new(
                crate::Envelope::from_archive(archive, path, limits)?,
            ))),
        }
    }
}

/// An opened sealed dispatch whose structure has been checked.
pub struct SealedEnvelope {
    path: PathBuf,
    archive: Archive,
    routing: Routing,
    routing_bytes: Vec<u8>,
    jwe_bytes: Vec<u8>,
    ciphertext_index: usize,
    ciphertext_size: u64,
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    signatures: Vec<StoredJws>,
    receipts: Vec<StoredJws>,
    receipt_bytes: u64,
    limits: Limits,
}

impl SealedEnvelope {
    /// Opens and structure-checks a sealed container with the default limits.
    pub fn open(path: &Path) -> Result<SealedEnvelope, Error> {
        SealedEnvelope::open_with(path, &Limits::default())
    }

    /// Opens and structure-checks a sealed container: the closed layout,
    /// the routing header's own rules, and a manifest that lists exactly
    /// `routing.json` and `jwe.json` under the routing header's id.
    pub fn open_with(path: &Path, limits: &Limits) -> Result<SealedEnvelope, Error> {
        SealedEnvelope::from_archive(Archive::open(path, limits.max_entries)?, path, limits)
    }

    /// Structure-checks an archive already read; `path` is its file, or
    /// the label of bytes held in memory.
    pub(crate) fn from_archive(
        archive: Archive,
        path: &Path,
        limits: &Limits,
    ) -> Result<SealedEnvelope, Error> {
        let (parts, routing) = read_parts(archive, path, limits, Kind::Sealed, |bytes| {
            let routing: Routing = serde_json::from_slice(bytes).map_err(|e| {
                Error::Format(format!(
                    "{ROUTING_ENTRY} is not a valid routing header: {e}"
                ))
            })?;
            routing.check()?;
            Ok(routing)
        })?;
        let (ciphertext_index, ciphertext_size) = parts
            .ciphertext
            .ok_or_else(|| Error::Format("ciphertext.bin is missing".into()))?;
        let manifest = parts.manifest;
        if manifest.dispatch_id != routing.id {
            return Err(Error::Format(format!(
                "the manifest is for dispatch {} but the routing header says {}",
                manifest.dispatch_id, routing.id
            )));
        }
        if manifest.metadata.name != ROUTING_ENTRY {
            return Err(Error::Format(format!(
                "the manifest's first entry is {:?}, not {ROUTING_ENTRY}",
                manifest.metadata.name
            )));
        }
        match manifest.attachments.as_slice() {
            [only] if only.name == JWE_ENTRY => {}
            _ => {
                return Err(Error::Format(format!(
                    "the manifest of a sealed dispatch lists exactly {JWE_ENTRY} besides \
                     {ROUTING_ENTRY}"
                )))
            }
        }
        Ok(SealedEnvelope {
            path: path.to_path_buf(),
            archive: parts.archive,
            routing,
            routing_bytes: parts.cover_bytes,
            jwe_bytes: parts.jwe_bytes,
            ciphertext_index,
            ciphertext_size,
            manifest,
            manifest_bytes: parts.manifest_bytes,
            signatures: parts.signatures,
            receipts: parts.receipts,
            receipt_bytes: parts.receipt_bytes,
            limits: *limits,
        })
    }

    /// The container's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The routing header.
    pub fn routing(&self) -> &Routing {
        &self.routing
    }

    /// `routing.json` exactly as stored: the JWE's additional data.
    pub fn routing_bytes(&self) -> &[u8] {
        &self.routing_bytes
    }

    /// `jwe.json` exactly as stored.
    pub fn jwe_bytes(&self) -> &[u8] {
        &self.jwe_bytes
    }

    /// The size of `ciphertext.bin`.
    pub fn ciphertext_size(&self) -> u64 {
        self.ciphertext_size
    }

    /// Streams `ciphertext.bin` (its ZIP CRC-32 is checked at its end).
    pub fn ciphertext(&mut self) -> Result<impl Read + '_, Error> {
        let path = self.path.clone();
        self.archive
            .entry(self.ciphertext_index)
            .map_err(|e| Error::NotAContainer {
                path,
                problem: format!("ciphertext.bin: {e}"),
            })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest's canonical bytes, which the sender's seal covers.
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest_bytes
    }

    /// The signatures (the sender office's seal), in sequence order.
    pub fn signatures(&self) -> &[StoredJws] {
        &self.signatures
    }

    /// The receipts, in sequence order.
    pub fn receipts(&self) -> &[StoredJws] {
        &self.receipts
    }

    /// How many more receipts fit (see [`crate::Envelope::receipt_room`]).
    pub fn receipt_room(&self) -> usize {
        receipt_room(&self.receipts, &self.limits)
    }

    /// The limits it was opened with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Checks `routing.json` and `jwe.json` against the manifest; `None`
    /// when they match. (The ciphertext is bound by the tags in `jwe.json`,
    /// which only a recipient can check.)
    pub fn check_digests(&self) -> Option<String> {
        let check = |name: &str, entry: &crate::ManifestEntry, bytes: &[u8]| {
            let actual = crate::digest::sha256_hex(bytes);
            (entry.size != bytes.len() as u64 || entry.sha256 != actual).then(|| {
                format!(
                    "{name} has SHA-256 {actual}, but the manifest lists {}",
                    entry.sha256
                )
            })
        };
        check(ROUTING_ENTRY, &self.manifest.metadata, &self.routing_bytes).or_else(|| {
            self.manifest
                .attachments
                .first()
                .and_then(|entry| check(JWE_ENTRY, entry, &self.jwe_bytes))
        })
    }

    /// Appends a receipt (a relay's custody), giving the new file's size
    /// and SHA-256, as [`crate::append_receipt_digested`] does for a
    /// dispatch in clear.
    pub fn append_receipt_digested(
        &mut self,
        jws: &Jws,
        durability: crate::Durability,
    ) -> Result<(String, FileDigest), Error> {
        let (entry, bytes) = crate::receipt::receipt_addition(self, jws)?;
        let digest =
            crate::builder::append_entries(self, &[(entry.clone(), bytes)], durability, true)?
                .ok_or_else(|| Error::Format("the rewritten container was not hashed".into()))?;
        Ok((entry, digest))
    }

    /// Appends a receipt to this container's own file in place, as
    /// [`crate::append_receipt_in_place`] does for a dispatch in clear.
    pub fn append_receipt_in_place(
        &mut self,
        jws: &Jws,
        arrival: Option<&crate::ArrivalDigest>,
    ) -> Result<(String, FileDigest), Error> {
        let (entry, bytes) = crate::receipt::receipt_addition(self, jws)?;
        let digest =
            crate::builder::append_entries_in_place(self, &[(entry.clone(), bytes)], arrival)?;
        Ok((entry, digest))
    }

    /// This container with a receipt appended, as new bytes in memory,
    /// with their size and SHA-256; nothing is written. For a relay that
    /// keeps a small sealed dispatch in its database.
    pub fn receipt_appended_bytes(
        &mut self,
        jws: &Jws,
    ) -> Result<(String, Vec<u8>, FileDigest), Error> {
        let (entry, bytes) = crate::receipt::receipt_addition(self, jws)?;
        let (bytes, digest) = crate::builder::appended_bytes(self, &[(entry.clone(), bytes)])?;
        Ok((entry, bytes, digest))
    }
}

impl Appendable for SealedEnvelope {
    fn path(&self) -> &Path {
        &self.path
    }
    fn limits(&self) -> &Limits {
        &self.limits
    }
    fn archive_mut(&mut self) -> &mut Archive {
        &mut self.archive
    }
    fn reopen(&mut self) -> Result<(), Error> {
        let path = self.path.clone();
        *self = SealedEnvelope::open_with(&path, &self.limits)?;
        Ok(())
    }
    fn receipts(&self) -> &[StoredJws] {
        &self.receipts
    }
    fn receipt_bytes(&self) -> u64 {
        self.receipt_bytes
    }
    fn receipt_room(&self) -> usize {
        SealedEnvelope::receipt_room(self)
    }
}
