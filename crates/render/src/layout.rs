//! Line breaking: splitting text into lines that fit a column, measured with real glyph widths.
//!
//! Greedy first-fit on spaces, which is what word processors do for official documents; a word
//! wider than the column (a long digest or URL) is broken between characters rather than left
//! sticking out of the column.

use unicode_normalization::UnicodeNormalization;

use crate::font::{self, Face};
use crate::Error;

/// One laid-out line: its words and its natural width (single spaces between words).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    /// The words in order, without spaces.
    pub(crate) words: Vec<String>,
    /// Width in points with one space between words.
    pub(crate) width: f32,
}

impl Line {
    /// The line's text with single spaces, as it is drawn when not justified.
    pub(crate) fn text(&self) -> String {
        self.words.join(" ")
    }
}

/// Wraps `text` to lines no wider than `max_width` points in `face` at `size`.
///
/// Runs of whitespace (including newlines and tabs) count as one space; empty text gives no
/// lines. The result is never empty for non-blank text, and every line fits unless a single
/// character is wider than the column.
pub(crate) fn wrap(text: &str, face: Face, size: f32, max_width: f32) -> Result<Vec<Line>, Error> {
    wrap_indented(text, face, size, max_width, max_width)
}

/// Like [`wrap`], but the first line may be narrower or wider than the rest: `first_width`
/// for a first-line indent, or a hanging indent when the rest are narrower.
pub(crate) fn wrap_indented(
    text: &str,
    face: Face,
    size: f32,
    first_width: f32,
    rest_width: f32,
) -> Result<Vec<Line>, Error> {
    // Normalise first so that a character is never split from its combining marks.
    let text: String = text.nfc().collect();
    let space = font::measure(face, size, " ")?;
    let limit = |lines: &Vec<Line>| {
        if lines.is_empty() {
            first_width
        } else {
            rest_width
        }
    };
    let mut lines = Vec::new();
    let mut current = Line {
        words: Vec::new(),
        width: 0.0,
    };
    for word in text.split_whitespace() {
        let width = font::measure(face, size, word)?;
        if !current.words.is_empty() {
            if current.width + space + width <= limit(&lines) {
                current.width += space + width;
                current.words.push(word.to_owned());
                continue;
            }
            lines.push(std::mem::replace(
                &mut current,
                Line {
                    words: Vec::new(),
                    width: 0.0,
                },
            ));
        }
        // `current` is empty: the word starts a line.
        if width <= limit(&lines) {
            current.words.push(word.to_owned());
            current.width = width;
            continue;
        }
        // Break an over-long word between characters; the last piece stays open so that
        // following words can join it.
        let mut rest = word;
        while !rest.is_empty() {
            let (piece, piece_width, tail) = fit_prefix(rest, face, size, limit(&lines))?;
            rest = tail;
            let line = Line {
                words: vec![piece.to_owned()],
                width: piece_width,
            };
            if rest.is_empty() {
                current = line;
            } else {
                lines.push(line);
            }
        }
    }
    if !current.words.is_empty() {
        lines.push(current);
    }
    Ok(lines)
}

/// Like [`wrap`], but with lines of even length: the same number of lines as greedy wrapping
/// gives, at the narrowest width that keeps that count. Centred headings read better this way
/// ("ỦY BAN NHÂN DÂN / TỈNH HÀ TĨNH" rather than "ỦY BAN NHÂN DÂN TỈNH / HÀ TĨNH").
pub(crate) fn wrap_balanced(
    text: &str,
    face: Face,
    size: f32,
    max_width: f32,
) -> Result<Vec<Line>, Error> {
    let greedy = wrap(text, face, size, max_width)?;
    if greedy.len() < 2 {
        return Ok(greedy);
    }
    // Bisect the width; a dozen steps bring it within a fraction of a point.
    let (mut lo, mut hi) = (0.0_f32, max_width);
    let mut best = greedy;
    for _ in 0..12 {
        let mid = (lo + hi) / 2.0;
        let attempt = wrap(text, face, size, mid)?;
        if attempt.len() <= best.len() && attempt.iter().all(|l| l.width <= mid) {
            hi = mid;
            best = attempt;
        } else {
            lo = mid;
        }
    }
    Ok(best)
}

/// The longest prefix of `word` (at least one character) that fits `max_width`, its width,
/// and the remainder.
fn fit_prefix(
    word: &str,
    face: Face,
    size: f32,
    max_width: f32,
) -> Result<(&str, f32, &str), Error> {
    let mut width = 0.0;
    let mut end = 0;
    for (i, c) in word.char_indices() {
        let w = font::measure(face, size, &word[i..i + c.len_utf8()])?;
        if end > 0 && width + w > max_width {
            break;
        }
        width += w;
        end = i + c.len_utf8();
    }
    Ok((&word[..end], width, &word[end..]))
}

/// Cuts `lines` to at most `max` lines, ending the last kept one with "…" when anything was
/// dropped, so that a cell in a one-page report cannot grow without bound.
pub(crate) fn truncate_lines(
    mut lines: Vec<Line>,
    max: usize,
    face: Face,
    size: f32,
    max_width: f32,
) -> Result<Vec<Line>, Error> {
    if lines.len() <= max || max == 0 {
        lines.truncate(max);
        return Ok(lines);
    }
    lines.truncate(max);
    if let Some(last) = lines.last_mut() {
        let ellipsis = font::measure(face, size, "…")?;
        while last.width + ellipsis > max_width && !last.words.is_empty() {
            // Drop characters from the end until the ellipsis fits.
            if let Some(word) = last.words.last_mut() {
                word.pop();
                if word.is_empty() {
                    last.words.pop();
                }
            }
            last.width = font::measure(face, size, &last.text())?;
        }
        match last.words.last_mut() {
            Some(word) => word.push('…'),
            None => last.words.push("…".to_owned()),
        }
        last.width += ellipsis;
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fit_and_keep_every_word() -> Result<(), Error> {
        let text = "Quyết định này có hiệu lực thi hành kể từ ngày ký ban hành. Chánh Văn phòng \
                    Ủy ban nhân dân tỉnh, Thủ trưởng các sở, ban, ngành chịu trách nhiệm thi hành.";
        let lines = wrap(text, Face::Regular, 13.0, 200.0)?;
        assert!(lines.len() > 2);
        for line in &lines {
            assert!(line.width <= 200.0, "{line:?}");
            let measured = font::measure(Face::Regular, 13.0, &line.text())?;
            assert!((measured - line.width).abs() < 0.01);
        }
        let rejoined: Vec<String> = lines.iter().map(Line::text).collect();
        assert_eq!(
            rejoined.join(" "),
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        Ok(())
    }

    #[test]
    fn long_words_break_between_characters() -> Result<(), Error> {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let lines = wrap(hex, Face::Mono, 10.0, 100.0)?;
        assert!(lines.len() > 1);
        assert_eq!(lines.iter().map(Line::text).collect::<String>(), hex);
        assert!(lines.iter().all(|l| l.width <= 100.0));
        Ok(())
    }

    #[test]
    fn balanced_wrapping_keeps_the_line_count_and_evens_lengths() -> Result<(), Error> {
        let text = "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH";
        let width = font::measure(Face::Bold, 13.0, "ỦY BAN NHÂN DÂN TỈNH")? + 1.0;
        let greedy = wrap(text, Face::Bold, 13.0, width)?;
        let balanced = wrap_balanced(text, Face::Bold, 13.0, width)?;
        assert_eq!(greedy.len(), 2);
        assert_eq!(balanced.len(), 2);
        assert_eq!(balanced[0].text(), "ỦY BAN NHÂN DÂN");
        assert_eq!(balanced[1].text(), "TỈNH HÀ TĨNH");
        Ok(())
    }

    #[test]
    fn blank_text_has_no_lines() -> Result<(), Error> {
        assert!(wrap("  \n\t ", Face::Regular, 13.0, 100.0)?.is_empty());
        Ok(())
    }

    #[test]
    fn truncation_marks_dropped_text() -> Result<(), Error> {
        let lines = wrap(
            "một hai ba bốn năm sáu bảy tám chín mười",
            Face::Regular,
            10.0,
            40.0,
        )?;
        assert!(lines.len() > 2);
        let cut = truncate_lines(lines, 2, Face::Regular, 10.0, 40.0)?;
        assert_eq!(cut.len(), 2);
        assert!(cut[1].text().ends_with('…'));
        assert!(cut[1].width <= 40.0 + 0.01);
        Ok(())
    }
}
