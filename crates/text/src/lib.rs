//! Text that came from someone else, shown to a person.
//!
//! A dispatch, a receipt, a certificate or a relay's answer can carry any
//! Unicode. Printed raw, some of it acts instead of being read: an escape
//! sequence moves the cursor and rewrites "Result: FAILED" as "PASSED"; a
//! bidi override reverses what follows (`gpj.exe` shown for `exe.jpg`); a
//! line break in a one-line field makes a line of its own. This crate is the
//! one place that decides which characters are unsafe to show
//! ([`is_unsafe`]) and how they are shown instead (`\u{202E}`):
//!
//! - [`line`] / [`Line`] for a value printed within a line: every unsafe
//!   character is escaped, line breaks and tabs too;
//! - [`block`] / [`Block`] for multi-line text (a dispatch body, a whole
//!   report): line breaks and tabs stay, the rest is escaped;
//! - [`json`] for machine output: the same characters written as `\uXXXX`
//!   escapes, so the JSON means the same and its bytes are safe on a
//!   terminal.
//!
//! The format rules of `.cvd` files refuse the same characters in the fields
//! they govern (`congvan-envelope` uses [`is_unsafe`]), so a valid dispatch
//! shows as written; escaping is what keeps an invalid one harmless.
#![forbid(unsafe_code)]

pub mod json;

use std::borrow::Cow;
use std::fmt;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// True for a character that must not reach a terminal or a page as is:
/// controls (C0, DEL, C1), format characters (Unicode category Cf: bidi
/// controls and isolates, zero-width characters, the BOM, soft hyphen,
/// tags), line and paragraph separators (Zl, Zp), and the invisible Hangul
/// fillers that render as blank letters.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c.general_category(),
            GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
        || matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}')
}

/// `text` with every unsafe character escaped, line breaks included: for a
/// value shown within a line. Borrowed when nothing needed escaping.
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// `text` with every unsafe character escaped except line breaks (`\n`) and
/// tabs: for multi-line text.
pub fn block(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn escape(text: &str, keep_lines: bool) -> Cow<'_, str> {
    let kept = |c: char| keep_lines && (c == '\n' || c == '\t');
    if !text.chars().any(|c| is_unsafe(c) && !kept(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !is_unsafe(c) || kept(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push_str(&format!("\\u{{{:04X}}}", u32::from(c))),
        }
    }
    Cow::Owned(out)
}

/// Displays a value within a line, escaped as [`line`] does:
/// `format!("Subject: {}", Line(&subject))`.
#[derive(Clone, Copy, Debug)]
pub struct Line<'a>(pub &'a str);

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&line(self.0))
    }
}

/// Displays multi-line text, escaped as [`block`] does.
#[derive(Clone, Copy, Debug)]
pub struct Block<'a>(pub &'a str);

impl fmt::Display for Block<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&block(self.0))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_text_is_shown_as_written() {
        for text in [
            "Ủy ban nhân dân xã Cẩm Thạch",
            "Về việc triển khai kế hoạch năm 2026 (đợt 1) — 15/QĐ-UBND",
            "Quyết định.pdf",
            "",
        ] {
            assert!(matches!(line(text), Cow::Borrowed(_)), "{text}");
            assert_eq!(line(text), text);
        }
    }

    #[test]
    fn escapes_and_bidi_controls_are_shown_not_obeyed() {
        assert_eq!(
            line("ok\x1b[1A\x1b[2KResult: PASSED"),
            "ok\\u{001B}[1A\\u{001B}[2KResult: PASSED"
        );
        assert_eq!(line("a\u{202E}fdp.exe"), "a\\u{202E}fdp.exe");
        assert_eq!(line("bell\x07"), "bell\\u{0007}");
        assert_eq!(line("c1\u{9b}31m"), "c1\\u{009B}31m");
        assert_eq!(line("del\x7f"), "del\\u{007F}");
        assert_eq!(line("two\nlines\r\tx"), "two\\nlines\\r\\tx");
        assert_eq!(block("two\nlines\r\tx"), "two\nlines\\r\tx");
        for c in [
            '\u{061C}',
            '\u{200B}',
            '\u{200D}',
            '\u{200E}',
            '\u{2066}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{2028}',
            '\u{2029}',
            '\u{3164}',
            '\u{E0041}',
            '\u{FFF9}',
        ] {
            assert!(is_unsafe(c), "U+{:04X}", u32::from(c));
            assert!(!line(&c.to_string()).contains(c));
        }
        for c in ['a', 'Đ', 'ế', ' ', '—', '«', '/', '\u{00A0}'] {
            assert!(!is_unsafe(c), "{c}");
        }
    }

    #[test]
    fn display_wrappers_escape_and_pad() {
        assert_eq!(format!("[{:<6}]", Line("a\u{1b}")), "[a\\u{001B}]");
        assert_eq!(format!("[{:<4}]", Line("ab")), "[ab  ]");
        assert_eq!(Block("x\ny\u{7}").to_string(), "x\ny\\u{0007}");
    }
}
