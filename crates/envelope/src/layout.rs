//! Where things live inside a `.cvd` container, and which names are allowed.
//!
//! The layout is closed: a reader refuses any entry it does not expect, so
//! nothing can ride along unsigned.

/// The first entry, stored uncompressed, so the file type can be sniffed.
pub const MIMETYPE_ENTRY: &str = "mimetype";
/// The content of the `mimetype` entry.
pub const MIMETYPE: &str = "application/vnd.congvan.dispatch+zip";
/// The dispatch metadata (JSON).
pub const METADATA_ENTRY: &str = "metadata.json";
/// The folder of attachments; each is stored, never recompressed.
pub const ATTACHMENT_DIR: &str = "attachments/";
/// The manifest (RFC 8785 canonical JSON) that signatures cover.
pub const MANIFEST_ENTRY: &str = "META-INF/manifest.json";
/// The folder of signatures, one JWS per file.
pub const SIGNATURE_DIR: &str = "META-INF/signatures/";
/// The folder of receipts, one JWS per file.
pub const RECEIPT_DIR: &str = "META-INF/receipts/";

/// Highest sequence number of a signature or receipt entry (four digits).
pub const MAX_SEQUENCE: u32 = 9999;

/// Longest attachment name, in bytes.
pub const MAX_ATTACHMENT_NAME: usize = 200;

/// What an entry of the container is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// `mimetype`.
    Mimetype,
    /// `metadata.json`.
    Metadata,
    /// `META-INF/manifest.json`.
    Manifest,
    /// `attachments/<name>`, with the attachment's name.
    Attachment(String),
    /// `META-INF/signatures/NNNN.json`, with its sequence number.
    Signature(u32),
    /// `META-INF/receipts/NNNN.json`, with its sequence number.
    Receipt(u32),
}

/// Classifies an entry name, or says why it does not belong.
pub fn classify(name: &str) -> Result<EntryKind, String> {
    match name {
        MIMETYPE_ENTRY => return Ok(EntryKind::Mimetype),
        METADATA_ENTRY => return Ok(EntryKind::Metadata),
        MANIFEST_ENTRY => return Ok(EntryKind::Manifest),
        _ => {}
    }
    if let Some(rest) = name.strip_prefix(ATTACHMENT_DIR) {
        check_attachment_name(rest)?;
        return Ok(EntryKind::Attachment(rest.to_string()));
    }
    if let Some(n) = numbered(name, SIGNATURE_DIR) {
        return Ok(EntryKind::Signature(n));
    }
    if let Some(n) = numbered(name, RECEIPT_DIR) {
        return Ok(EntryKind::Receipt(n));
    }
    Err(format!(
        "entry {name:?} is not part of the dispatch format (only mimetype, metadata.json, \
         attachments/*, META-INF/manifest.json, META-INF/signatures/NNNN.json and \
         META-INF/receipts/NNNN.json may appear)"
    ))
}

/// The entry name of the n-th signature.
pub fn signature_entry(n: u32) -> String {
    format!("{SIGNATURE_DIR}{n:04}.json")
}

/// The entry name of the n-th receipt.
pub fn receipt_entry(n: u32) -> String {
    format!("{RECEIPT_DIR}{n:04}.json")
}

fn numbered(name: &str, dir: &str) -> Option<u32> {
    let stem = name.strip_prefix(dir)?.strip_suffix(".json")?;
    if stem.len() != 4 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// Checks that an attachment name is a plain file name that is safe to
/// extract anywhere: no folders, no `..`, no control or invisible
/// characters, NFC, not too long.
pub fn check_attachment_name(name: &str) -> Result<(), String> {
    let problem = |why: &str| Err(format!("attachment name {name:?} {why}"));
    if name.is_empty() {
        return problem("is empty");
    }
    if name.len() > MAX_ATTACHMENT_NAME {
        return problem("is longer than 200 bytes");
    }
    if name.contains('/') || name.contains('\\') {
        return problem("contains a path separator; attachments are plain file names");
    }
    if name == "." || name == ".." || name.starts_with('.') {
        return problem("starts with a dot");
    }
    if name.chars().any(|c| c.is_control() || is_invisible(c)) {
        return problem("contains a control or invisible character");
    }
    if name.contains(':') {
        return problem("contains ':' (not portable to Windows)");
    }
    if !unicode_normalization::is_nfc(name) {
        return problem("is not in Unicode NFC form");
    }
    if name.ends_with(' ') || name.ends_with('.') {
        return problem("ends with a space or dot");
    }
    Ok(())
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_closed_layout() {
        assert_eq!(classify("mimetype"), Ok(EntryKind::Mimetype));
        assert_eq!(
            classify("attachments/Quyết định.pdf"),
            Ok(EntryKind::Attachment("Quyết định.pdf".into()))
        );
        assert_eq!(
            classify("META-INF/signatures/0002.json"),
            Ok(EntryKind::Signature(2))
        );
        assert_eq!(
            classify("META-INF/receipts/0010.json"),
            Ok(EntryKind::Receipt(10))
        );
        for bad in [
            "../evil",
            "attachments/../evil",
            "attachments/a/b.pdf",
            "attachments/..",
            "attachments/",
            "META-INF/signatures/1.json",
            "evil.txt",
            "/etc/passwd",
            "attachments/x\u{202E}fdp.exe",
        ] {
            assert!(classify(bad).is_err(), "{bad} accepted");
        }
    }
}
