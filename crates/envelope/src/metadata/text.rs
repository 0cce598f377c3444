//! Text rules shared by every metadata field: Unicode NFC, no control or
//! invisible direction characters, length bounds; and the folding used to
//! match friendly user input ("Quyết định", "quyet-dinh").
//!
//! Signatures cover bytes, not what a person sees, so two spellings of the
//! same Vietnamese word (precomposed "ế" versus "e" + two combining marks)
//! would give two different signed documents that look identical. Requiring
//! NFC everywhere removes that ambiguity; [`to_nfc`] is the fix to offer.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{is_nfc, UnicodeNormalization};

/// Longest organization name, place, signer position, authority or full name.
pub const MAX_NAME_CHARS: usize = 300;
/// Longest subject excerpt ("trích yếu").
pub const MAX_SUBJECT_CHARS: usize = 1_000;
/// Longest body text.
pub const MAX_CONTENT_CHARS: usize = 1_000_000;

/// Returns `text` in Unicode Normalization Form C.
///
/// Text typed on some systems (macOS file names, some input methods) arrives
/// decomposed (NFD); metadata must be NFC, so callers building metadata from
/// user input should pass it through here first.
pub fn to_nfc(text: &str) -> String {
    text.nfc().collect()
}

/// Whether a field is one line of text or may hold several lines.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lines {
    /// No line breaks or tabs allowed (names, subject, number).
    Single,
    /// Newline and tab allowed (the body).
    Multi,
}

/// The rules one text field must satisfy.
#[derive(Clone, Copy)]
pub(crate) struct TextRule {
    pub(crate) required: bool,
    pub(crate) max_chars: usize,
    pub(crate) lines: Lines,
}

impl TextRule {
    pub(crate) const fn name() -> TextRule {
        TextRule {
            required: true,
            max_chars: MAX_NAME_CHARS,
            lines: Lines::Single,
        }
    }
}

/// Checks `value` against `rule` and returns the first problem, phrased for
/// [`crate::Error::InvalidMetadata`]'s `problem`.
pub(crate) fn check(value: &str, rule: TextRule) -> Option<String> {
    for c in value.chars() {
        let allowed_control = rule.lines == Lines::Multi && (c == '\n' || c == '\t');
        if c.is_control() && !allowed_control {
            let hint = match (c, rule.lines) {
                ('\r', Lines::Multi) => "; use \\n line endings, not \\r\\n",
                ('\n' | '\t', Lines::Single) => "; this field must be a single line",
                _ => "",
            };
            return Some(format!(
                "contains the control character U+{:04X}, which is not allowed here{hint}",
                u32::from(c)
            ));
        }
        // Direction overrides and isolates, zero-width and other invisible
        // characters: never needed in Vietnamese, and usable to make a
        // signed text display differently from what was signed.
        if !allowed_control && congvan_text::is_unsafe(c) {
            return Some(format!(
                "contains the invisible direction/format character U+{:04X}; remove it",
                u32::from(c)
            ));
        }
    }
    if !is_nfc(value) {
        return Some("is not in Unicode NFC form; normalise it".to_string());
    }
    if rule.required && value.trim().is_empty() {
        return Some("is empty; it is required".to_string());
    }
    let count = value.chars().count();
    if count > rule.max_chars {
        return Some(format!(
            "is {count} characters long; at most {} are allowed",
            rule.max_chars
        ));
    }
    None
}

/// Folds Vietnamese text to a lowercase ASCII slug: diacritics removed,
/// "đ" → "d", runs of spaces, underscores, dots and hyphens → one "-".
///
/// "Quyết định", "quyết định" (NFD or NFC), "QUYET DINH" and "quyet-dinh"
/// all fold to "quyet-dinh", as do old and new tone placements ("thoả",
/// "thỏa" → "thoa").
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_dash = false;
    for c in text.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'đ' | 'Đ' => 'd',
            c => c.to_ascii_lowercase(),
        };
        if c.is_whitespace() || matches!(c, '-' | '_' | '.') {
            pending_dash = !out.is_empty();
            continue;
        }
        if pending_dash {
            out.push('-');
            pending_dash = false;
        }
        out.push(c);
    }
    out
}

/// Folds an abbreviation for lenient matching: "Đ" → "D", ASCII uppercase.
pub(crate) fn fold_abbreviation(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'đ' | 'Đ' => 'D',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn fold_handles_vietnamese() {
        assert_eq!(fold("Quyết định"), "quyet-dinh");
        assert_eq!(fold(&"Quyết định".nfd().collect::<String>()), "quyet-dinh");
        assert_eq!(fold("  Hỏa tốc  hẹn giờ "), "hoa-toc-hen-gio");
        assert_eq!(fold("Hoả tốc"), "hoa-toc");
        assert_eq!(fold("THƯỢNG KHẨN"), "thuong-khan");
        assert_eq!(fold("Đề án"), "de-an");
        assert_eq!(fold("TM."), "tm");
    }

    #[test]
    fn check_rules() {
        let name = TextRule::name();
        assert_eq!(check("Ủy ban nhân dân", name), None);
        let nfd: String = "Ủy ban".nfd().collect();
        assert!(check(&nfd, name).unwrap().contains("NFC"));
        assert!(check("  ", name).unwrap().contains("empty"));
        assert!(check("a\nb", name).unwrap().contains("single line"));
        assert!(check("a\u{202E}b", name).unwrap().contains("U+202E"));
        assert!(check(&"x".repeat(301), name).unwrap().contains("301"));
        let body = TextRule {
            required: false,
            max_chars: MAX_CONTENT_CHARS,
            lines: Lines::Multi,
        };
        assert_eq!(check("a\n\tb", body), None);
        assert_eq!(check("", body), None);
        assert!(check("a\r\nb", body).unwrap().contains("\\r\\n"));
        assert_eq!(to_nfc(&nfd), "Ủy ban");
    }
}
