use serde::{Deserialize, Serialize};

use crate::Error;

/// The format tag in every manifest, so that readers can refuse what they
/// do not understand.
pub const MANIFEST_FORMAT: &str = "congvan-dispatch/1";

/// The largest integer an RFC 8785 number holds exactly (2^53 - 1): JCS
/// numbers are IEEE 754 doubles, so a larger size has no canonical form.
pub const MAX_CANONICAL_INTEGER: u64 = (1 << 53) - 1;

/// One part of the dispatch as the manifest lists it.
///
/// The fields are declared in the order RFC 8785 sorts their names; see
/// [`Manifest::canonical_bytes`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// Its media type (e.g. `application/pdf`).
    pub media_type: String,
    /// The entry's name inside the container.
    pub name: String,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// What the signatures cover: the metadata's digest and every attachment's
/// name, media type, size and SHA-256.
///
/// It is serialised as RFC 8785 canonical JSON, so the same manifest always
/// has the same bytes, and any JSON library can reproduce them. Attachments
/// are therefore hashed once and never loaded whole to sign or verify.
///
/// The fields here and in [`ManifestEntry`] are declared in the order
/// RFC 8785 sorts their names, because that is the order they are written in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The attachments, in container order.
    pub attachments: Vec<ManifestEntry>,
    /// The dispatch id, as in the metadata.
    pub dispatch_id: String,
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// The metadata entry.
    pub metadata: ManifestEntry,
}

impl Manifest {
    /// The canonical (RFC 8785) bytes: what is written and signed.
    ///
    /// For this fixed shape, compact `serde_json` output is the JCS form:
    /// the members are declared in JCS's sorted order, strings are escaped
    /// the way both specify (`\"`, `\\`, the five short control escapes,
    /// other control characters as lowercase `\u00xx`, everything else as
    /// raw UTF-8), and the only numbers are sizes, integers that JCS writes
    /// as plain digits up to [`MAX_CANONICAL_INTEGER`]; a larger one has no
    /// canonical form and is refused. `tests/manifest_is_rfc8785_canonical.rs`
    /// checks the equivalence against an independent JCS implementation.
    /// Verifying every dispatch re-encodes its manifest, so this is on the
    /// hot path.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, Error> {
        for entry in std::iter::once(&self.metadata).chain(&self.attachments) {
            if entry.size > MAX_CANONICAL_INTEGER {
                return Err(Error::Format(format!(
                    "the manifest lists {} with {} bytes, more than RFC 8785 numbers hold exactly ({MAX_CANONICAL_INTEGER})",
                    entry.name, entry.size
                )));
            }
        }
        serde_json::to_vec(self)
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
        for entry in std::iter::once(&manifest.metadata).chain(&manifest.attachments) {
            check_media_type(&entry.media_type).map_err(|problem| {
                Error::Format(format!("the manifest entry {:?}: {problem}", entry.name))
            })?;
            if !is_sha256_hex(&entry.sha256) {
                return Err(Error::Format(format!(
                    "the manifest entry {:?} has a SHA-256 that is not 64 lowercase hex digits",
                    entry.name
                )));
            }
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

/// Checks a media type as the manifest may carry it: `type/subtype` in the
/// restricted-name syntax of RFC 6838 §4.2 (letters, digits and
/// `!#$&-^_.+`, starting with a letter or digit, at most 127 each), without
/// parameters. Anything else (free text, controls, spaces) could not be
/// shown or used as a media type safely.
pub fn check_media_type(media_type: &str) -> Result<(), String> {
    let restricted = |part: &str| {
        (1..=127).contains(&part.len())
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match media_type.split_once('/') {
        Some((kind, subtype)) if restricted(kind) && restricted(subtype) => Ok(()),
        _ => Err(format!(
            "media type {} is not of the form type/subtype (RFC 6838), e.g. application/pdf",
            congvan_text::Line(media_type)
        )),
    }
}

/// True for 64 lowercase hex digits.
pub(crate) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_rfc_6838_names() {
        for ok in [
            "application/pdf",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "text/plain",
            "image/svg+xml",
        ] {
            assert_eq!(check_media_type(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "pdf",
            "text/plain; charset=utf-8",
            "application/pdf\u{1b}[2K",
            "application/\u{202e}fdp",
            "a/b/c",
            "/pdf",
            "application/",
            "văn bản/pdf",
        ] {
            assert!(check_media_type(bad).is_err(), "{bad}");
        }
        assert!(check_media_type("application/pdf\u{1b}")
            .unwrap_err()
            .contains("\\u{001B}"));
    }
}
