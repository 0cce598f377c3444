use serde::{Deserialize, Serialize};

use crate::Error;

/// The format tag in every manifest, so that readers can refuse what they
/// do not understand.
pub const MANIFEST_FORMAT: &str = "congvan-dispatch/1";

/// One part of the dispatch as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// The entry's name inside the container.
    pub name: String,
    /// Its media type (e.g. `application/pdf`).
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

/// What the signatures cover: the metadata's digest and every attachment's
/// name, media type, size and SHA-256.
///
/// It is serialised as RFC 8785 canonical JSON, so the same manifest always
/// has the same bytes, and any JSON library can reproduce them. Attachments
/// are therefore hashed once and never loaded whole to sign or verify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// The dispatch id, as in the metadata.
    pub dispatch_id: String,
    /// The metadata entry.
    pub metadata: ManifestEntry,
    /// The attachments, in container order.
    pub attachments: Vec<ManifestEntry>,
}

impl Manifest {
    /// The canonical (RFC 8785) bytes: what is written and signed.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, Error> {
        serde_json_canonicalizer::to_vec(self)
            .map_err(|e| Error::Format(format!("cannot encode the manifest: {e}")))
    }

    /// Parses manifest bytes, insisting they are already canonical: a
    /// manifest with other bytes than its canonical form is refused, so
    /// there is exactly one byte string per manifest.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, Error> {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| {
            Error::Format(format!(
                "META-INF/manifest.json is not a valid manifest: {e}"
            ))
        })?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(Error::Format(format!(
                "manifest format {:?} is not supported; this version reads {MANIFEST_FORMAT}",
                manifest.format
            )));
        }
        if manifest.canonical_bytes()? != bytes {
            return Err(Error::Format(
                "META-INF/manifest.json is not in RFC 8785 canonical form".into(),
            ));
        }
        Ok(manifest)
    }

    /// SHA-256 (hex) of the canonical bytes; receipts refer to the manifest by it.
    pub fn digest(&self) -> Result<String, Error> {
        Ok(crate::digest::sha256_hex(&self.canonical_bytes()?))
    }
}
