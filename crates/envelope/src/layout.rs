//! Where things live inside a `.cvd` container, and which names are allowed.
//!
//! The layout is closed: a reader refuses any entry it does not expect, so
//! nothing can ride along unsigned.

/// The first entry, stored uncompressed, so the file type can be sniffed.
pub const MIMETYPE_ENTRY: &str = "mimetype";
/// The content of the `mimetype` entry.
pub const MIMETYPE: &str = "application/vnd.congvan.dispatch+zip";
/// The content of the `mimetype` entry of a sealed (encrypted) dispatch.
pub const SEALED_MIMETYPE: &str = "application/vnd.congvan.sealed+zip";
/// The dispatch metadata (JSON).
pub const METADATA_ENTRY: &str = "metadata.json";
/// A sealed dispatch's routing header (JSON), in place of the metadata.
pub const ROUTING_ENTRY: &str = "routing.json";
/// A sealed dispatch's JWE (general JSON serialization) without its
/// ciphertext, which follows as [`CIPHERTEXT_ENTRY`].
pub const JWE_ENTRY: &str = "jwe.json";
/// A sealed dispatch's ciphertext: the encrypted inner `.cvd`, stored.
pub const CIPHERTEXT_ENTRY: &str = "ciphertext.bin";
/// The folder of attachments; each is stored, never recompressed.
pub const ATTACHMENT_DIR: &str = "attachments/";
/// The manifest (RFC 8785 canonical JSON) that signatures cover.
pub const MANIFEST_ENTRY: &str = "META-INF/manifest.json";
/// The folder of signatures, one JWS per file.
pub const SIGNATURE_DIR: &str = "META-INF/signatures/";
/// The folder of receipts, one JWS per file.
pub const RECEIPT_DIR: &str = "META-INF/receipts/";

/// The folder of preservation records (`NNNN.json`, the validation data
/// and what they cover) and their archive timestamps (`NNNN.tst`, an RFC
/// 3161 token over the record).
pub const PRESERVATION_DIR: &str = "META-INF/preservation/";

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
    /// `routing.json` (sealed dispatches only).
    Routing,
    /// `jwe.json` (sealed dispatches only).
    Jwe,
    /// `ciphertext.bin` (sealed dispatches only).
    Ciphertext,
    /// `META-INF/preservation/NNNN.json`, with its sequence number.
    PreservationRecord(u32),
    /// `META-INF/preservation/NNNN.tst`, with its sequence number.
    ArchiveTimestamp(u32),
}

/// Classifies an entry name, or says why it does not belong.
pub fn classify(name: &str) -> Result<EntryKind, String> {
    match name {
        MIMETYPE_ENTRY => return Ok(EntryKind::Mimetype),
        METADATA_ENTRY => return Ok(EntryKind::Metadata),
        MANIFEST_ENTRY => return Ok(EntryKind::Manifest),
        ROUTING_ENTRY => return Ok(EntryKind::Routing),
        JWE_ENTRY => return Ok(EntryKind::Jwe),
        CIPHERTEXT_ENTRY => return Ok(EntryKind::Ciphertext),
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
    if let Some(n) = numbered_with(name, PRESERVATION_DIR, ".json") {
        return Ok(EntryKind::PreservationRecord(n));
    }
    if let Some(n) = numbered_with(name, PRESERVATION_DIR, ".tst") {
        return Ok(EntryKind::ArchiveTimestamp(n));
    }
    Err(format!(
        "entry {name:?} is not part of the dispatch format (only mimetype, metadata.json, \
         attachments/*, META-INF/manifest.json, META-INF/signatures/NNNN.json and \
         META-INF/receipts/NNNN.json and META-INF/preservation/NNNN.json and .tst may \
         appear; in a sealed dispatch routing.json, jwe.json \
         and ciphertext.bin take the place of metadata.json and attachments/*)"
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

/// The entry name of the n-th preservation record.
pub fn preservation_record_entry(n: u32) -> String {
    format!("{PRESERVATION_DIR}{n:04}.json")
}

/// The entry name of the n-th archive timestamp (over record n).
pub fn archive_timestamp_entry(n: u32) -> String {
    format!("{PRESERVATION_DIR}{n:04}.tst")
}

fn numbered(name: &str, dir: &str) -> Option<u32> {
    numbered_with(name, dir, ".json")
}

fn numbered_with(name: &str, dir: &str, suffix: &str) -> Option<u32> {
    let stem = name.strip_prefix(dir)?.strip_suffix(suffix)?;
    if stem.len() != 4 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// Checks that an attachment name is a plain file name that is safe to
/// extract on any system and shows as what it is: no folders, no `..`, no
/// control, invisible or direction characters, nothing Windows refuses or
/// treats specially, no look-alike slashes, NFC, not too long. (Two names
/// that differ only in case are refused by the caller, which sees them all:
/// see [`name_key`].)
pub fn check_attachment_name(name: &str) -> Result<(), String> {
    let problem = |why: &str| {
        Err(format!(
            "attachment name {} {why}",
            congvan_text::Line(&format!("{name:?}"))
        ))
    };
    if name.is_empty() {
        return problem("is empty");
    }
    if name.len() > MAX_ATTACHMENT_NAME {
        return problem("is longer than 200 bytes");
    }
    if name.contains('/') || name.contains('\\') {
        return problem("contains a path separator; attachments are plain file names");
    }
    if name.chars().any(is_lookalike_slash) {
        return problem("contains a character that looks like a slash");
    }
    if name == "." || name == ".." || name.starts_with('.') {
        return problem("starts with a dot");
    }
    if name.chars().any(congvan_text::is_unsafe) {
        return problem("contains a control, invisible or direction character");
    }
    if let Some(c) = name.chars().find(|c| WINDOWS_RESERVED_CHARS.contains(*c)) {
        return problem(&format!(
            "contains {c:?}, which Windows does not allow in file names"
        ));
    }
    if !unicode_normalization::is_nfc(name) {
        return problem("is not in Unicode NFC form");
    }
    if name.ends_with(' ') || name.ends_with('.') {
        return problem("ends with a space or dot");
    }
    if is_windows_device_name(name) {
        return problem("is a Windows device name (CON, PRN, AUX, NUL, COM1, LPT1, ...)");
    }
    Ok(())
}

/// The form two attachment names are compared in: names that differ only
/// in case are the same file on Windows and macOS, so a container may not
/// hold both.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Characters Windows refuses in file names (`:` also names NTFS streams).
const WINDOWS_RESERVED_CHARS: &str = "<>:\"|?*";

/// Device names Windows opens instead of a file, whatever the extension.
fn is_windows_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = stem.to_uppercase();
    if matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) {
        return true;
    }
    let chars: Vec<char> = upper.chars().collect();
    let prefix: String = chars.iter().take(3).collect();
    (prefix == "COM" || prefix == "LPT")
        && chars.len() == 4
        && matches!(chars[3], '0'..='9' | '\u{B9}' | '\u{B2}' | '\u{B3}')
}

/// Slashes and backslashes from other blocks, and the combining overlays
/// that draw one: a name showing `a/b` must not be a plain file name.
fn is_lookalike_slash(c: char) -> bool {
    matches!(
        c,
        '\u{2044}' // FRACTION SLASH
            | '\u{2215}' // DIVISION SLASH
            | '\u{2571}' // BOX DRAWINGS LIGHT DIAGONAL UPPER RIGHT TO LOWER LEFT
            | '\u{29F8}' // BIG SOLIDUS
            | '\u{FF0F}' // FULLWIDTH SOLIDUS
            | '\u{2216}' // SET MINUS
            | '\u{29F5}' // REVERSE SOLIDUS OPERATOR
            | '\u{29F9}' // BIG REVERSE SOLIDUS
            | '\u{FE68}' // SMALL REVERSE SOLIDUS
            | '\u{FF3C}' // FULLWIDTH REVERSE SOLIDUS
            | '\u{0337}' // COMBINING SHORT SOLIDUS OVERLAY
            | '\u{0338}' // COMBINING LONG SOLIDUS OVERLAY
    )
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
        assert_eq!(
            classify("META-INF/preservation/0001.json"),
            Ok(EntryKind::PreservationRecord(1))
        );
        assert_eq!(
            classify("META-INF/preservation/0001.tst"),
            Ok(EntryKind::ArchiveTimestamp(1))
        );
        for bad in [
            "../evil",
            "attachments/../evil",
            "attachments/a/b.pdf",
            "attachments/..",
            "attachments/",
            "META-INF/signatures/1.json",
            "META-INF/preservation/0001.pem",
            "META-INF/preservation/1.tst",
            "evil.txt",
            "/etc/passwd",
            "attachments/x\u{202E}fdp.exe",
        ] {
            assert!(classify(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn attachment_names_must_be_safe_on_every_system() {
        for ok in [
            "Quyết định số 15.pdf",
            "bao-cao_2026 (1).docx",
            "COM10.txt",
            "console.txt",
            "a.b.c",
            "Kế hoạch — đợt 1.pdf",
        ] {
            assert_eq!(check_attachment_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "CON",
            "con.txt",
            "Nul.pdf",
            "COM1.txt",
            "lpt9",
            "COM\u{B9}.txt",
            "AUX .txt",
            "a<b.pdf",
            "what?.pdf",
            "star*.pdf",
            "pipe|.pdf",
            "quote\".pdf",
            "stream:x",
            "a\u{2215}b.pdf",
            "a\u{FF0F}b.pdf",
            "a\u{2044}b.pdf",
            "a\u{0338}b.pdf",
            "x\u{200B}.pdf",
            "x\u{061C}.pdf",
            "x\u{2028}.pdf",
            "x\u{3164}.pdf",
            "x\u{00AD}.pdf",
            "\u{1b}[2K.pdf",
        ] {
            assert!(check_attachment_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(!check_attachment_name("\u{1b}[2K.pdf")
            .unwrap_err()
            .contains('\u{1b}'));
        assert_eq!(name_key("Báo Cáo.PDF"), name_key("báo cáo.pdf"));
    }
}
