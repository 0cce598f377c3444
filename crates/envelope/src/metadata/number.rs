//! Number and notation ("số, ký hiệu") of a dispatch: `15/QĐ-UBND`.
//!
//! Decree 30/2020/NĐ-CP, Appendix I: the number is the registration number
//! in the issuing office's yearly register (written with at least two digits,
//! so "05"); the notation is the type abbreviation, then the issuing body and,
//! optionally, the drafting unit, joined by hyphens. A công văn or thư công
//! has no type abbreviation: `05/UBND-VP`, and its notation is not checked
//! against the abbreviations, since issuing bodies have codes that are also
//! abbreviations (`1234/CT-TTHT`, a công văn of a tax department).
//!
//! Legal normative documents (Law 80/2015/QH13, art. 8) also carry the year
//! between number and notation: `15/2024/QĐ-UBND`. That form is accepted for
//! types with an abbreviation; a công văn never has it.

use super::document_type::DocumentType;
use super::text::fold_abbreviation;

/// Most digits in the registration number.
const MAX_NUMBER_DIGITS: usize = 6;
/// Most characters in the notation (after the "/").
const MAX_NOTATION_CHARS: usize = 60;

/// Splits `15/QĐ-UBND` into the number `15` and the notation `QĐ-UBND`
/// (edXML `CodeNumber` and `CodeNotation`), at the first "/".
pub(crate) fn split(number: &str) -> Option<(&str, &str)> {
    number.split_once('/')
}

/// An example of a well-formed number for `doc_type`, for error messages.
pub(crate) fn example(doc_type: DocumentType) -> String {
    match doc_type.abbreviation() {
        Some(abbr) => format!("15/{abbr}-UBND"),
        None => "05/UBND-VP".to_string(),
    }
}

fn type_with_abbreviation(group: &str) -> Option<DocumentType> {
    DocumentType::all()
        .iter()
        .copied()
        .find(|t| t.abbreviation() == Some(group))
}

fn is_notation_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == 'Đ' || c == 'đ'
}

/// Checks `number` against the shape `<number>/<notation>` and against
/// `doc_type`; returns the first problem, phrased for the `number` field.
pub(crate) fn check(number: &str, doc_type: DocumentType) -> Option<String> {
    let example = example(doc_type);
    let shape = format!(
        "must have the form <number>/<notation>, e.g. {example} for a {}",
        doc_type.name()
    );
    if number.trim().is_empty() {
        return Some(format!("is empty; it {shape}"));
    }
    if number.chars().any(char::is_whitespace) {
        return Some(format!(
            "contains spaces; write it without spaces, e.g. {example}"
        ));
    }
    let Some((digits, notation)) = split(number) else {
        return Some(format!("has no \"/\"; it {shape}"));
    };
    let notation = match notation.split_once('/') {
        None => notation,
        Some((year, rest)) => {
            if rest.contains('/') {
                return Some(format!("has more than two \"/\"; it {shape}, or <number>/<year>/<notation> for a legal normative document"));
            }
            if doc_type.abbreviation().is_none() {
                return Some(format!(
                    "has a year between number and notation, which only legal normative \
                     documents carry; a {}'s number {shape}",
                    doc_type.name()
                ));
            }
            let valid_year = year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && (1945..=2200).contains(&year.parse::<u32>().unwrap_or(0));
            if !valid_year {
                return Some(format!(
                    "has {year:?} where the year goes; write <number>/<year>/<notation>, \
                     e.g. 15/2024/{}-UBND",
                    doc_type.abbreviation().unwrap_or("QĐ")
                ));
            }
            rest
        }
    };
    if digits.is_empty()
        || digits.len() > MAX_NUMBER_DIGITS
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(format!(
            "starts with {digits:?}; the part before \"/\" must be 1-{MAX_NUMBER_DIGITS} \
             digits (the register number, e.g. 15 or 05)"
        ));
    }
    if digits.bytes().all(|b| b == b'0') {
        return Some(format!(
            "has the number {digits}; register numbers start at 01, e.g. {example}"
        ));
    }
    if notation.is_empty() {
        return Some(format!("has nothing after \"/\"; it {shape}"));
    }
    let length = notation.chars().count();
    if length > MAX_NOTATION_CHARS {
        return Some(format!(
            "has a notation of {length} characters; at most {MAX_NOTATION_CHARS} are allowed"
        ));
    }
    let groups: Vec<&str> = notation.split('-').collect();
    if groups.iter().any(|g| g.is_empty()) {
        return Some(format!(
            "has an empty group in the notation {notation:?}; join groups with single \
             hyphens, e.g. {example}"
        ));
    }
    if let Some(bad) = notation.chars().find(|&c| c != '-' && !is_notation_char(c)) {
        return Some(format!(
            "has {bad:?} in the notation; use only letters A-Z (and Đ), digits and \
             hyphens, e.g. {example}"
        ));
    }
    let first = groups[0];
    // A công văn's notation starts with the issuing body, and real bodies
    // have codes that are also type abbreviations: the tax department CT
    // writes 1234/CT-TTHT. The document type field says what the document
    // is; a notation without an abbreviation is not second-guessed (no
    // problem: `None`).
    let abbr = doc_type.abbreviation()?;
    if first != abbr {
        let found = match type_with_abbreviation(first) {
            Some(other) => format!("starts with {first}, the abbreviation of {}", other.name()),
            None if fold_abbreviation(first) == fold_abbreviation(abbr) => format!(
                "starts with {first} instead of the exact abbreviation {abbr} \
                 (letter case and Đ matter)"
            ),
            None => format!("starts its notation with {first}"),
        };
        return Some(format!(
            "{found}; a {}'s notation must start with the abbreviation \"{abbr}-\", \
             e.g. {example}",
            doc_type.name()
        ));
    }
    if groups.len() < 2 {
        return Some(format!(
            "has only the abbreviation {abbr} in its notation; add the issuing \
             body after a hyphen, e.g. {example}"
        ));
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use DocumentType as T;

    fn ok(number: &str, ty: DocumentType) {
        assert_eq!(check(number, ty), None, "{number} for {ty}");
    }

    fn bad(number: &str, ty: DocumentType, says: &str) {
        let problem = check(number, ty).unwrap_or_default();
        assert!(problem.contains(says), "{number} for {ty}: {problem:?}");
    }

    #[test]
    fn quyet_dinh() {
        ok("15/QĐ-UBND", T::QuyetDinh);
        ok("1/QĐ-UBND", T::QuyetDinh);
        ok("123456/QĐ-BTTTT-VP", T::QuyetDinh);
        bad("15/TB-UBND", T::QuyetDinh, "abbreviation of Thông báo");
        bad("15/TB-UBND", T::QuyetDinh, "\"QĐ-\"");
        bad(
            "15/QD-UBND",
            T::QuyetDinh,
            "instead of the exact abbreviation QĐ",
        );
        bad("15/qđ-UBND", T::QuyetDinh, "letter case and Đ matter");
        bad("15/QĐ", T::QuyetDinh, "add the issuing body");
        bad("15/UBND-VP", T::QuyetDinh, "\"QĐ-\"");
        bad("15 /QĐ-UBND", T::QuyetDinh, "spaces");
        bad("15-QĐ-UBND", T::QuyetDinh, "no \"/\"");
        ok("15/2024/QĐ-UBND", T::QuyetDinh);
        bad("15/2024/2025/QĐ-UBND", T::QuyetDinh, "more than two");
        bad("15/24/QĐ-UBND", T::QuyetDinh, "where the year goes");
        bad("15/2024/TB-UBND", T::QuyetDinh, "abbreviation");
        bad("05/2024/UBND-VP", T::CongVan, "only legal normative");
        bad("1234567/QĐ-UBND", T::QuyetDinh, "1-6");
        bad("A5/QĐ-UBND", T::QuyetDinh, "1-6");
        bad("/QĐ-UBND", T::QuyetDinh, "1-6");
        bad("00/QĐ-UBND", T::QuyetDinh, "start at 01");
        bad("15/", T::QuyetDinh, "nothing after");
        bad("15/QĐ--UBND", T::QuyetDinh, "empty group");
        bad("15/QĐ-UBND-", T::QuyetDinh, "empty group");
        bad("15/QĐ-ỦBND", T::QuyetDinh, "'Ủ'");
        bad("15/QĐ-UB_ND", T::QuyetDinh, "'_'");
        bad("", T::QuyetDinh, "empty");
        bad(
            &format!("1/QĐ-{}", "A".repeat(60)),
            T::QuyetDinh,
            "at most 60",
        );
    }

    #[test]
    fn quy_dinh_is_not_quyet_dinh() {
        ok("03/QyĐ-UBND", T::QuyDinh);
        bad("03/QĐ-UBND", T::QuyDinh, "abbreviation of Quyết định");
        bad("03/QĐ-UBND", T::QuyDinh, "\"QyĐ-\"");
        bad("03/QyĐ-UBND", T::QuyetDinh, "abbreviation of Quy định");
        bad(
            "03/QYĐ-UBND",
            T::QuyDinh,
            "instead of the exact abbreviation QyĐ",
        );
        ok("07/CTr-UBND", T::ChuongTrinh);
        bad("07/CT-UBND", T::ChuongTrinh, "abbreviation of Chỉ thị");
        ok("07/TTr-SNV", T::ToTrinh);
        ok("08/ĐA-UBND", T::DeAn);
        bad("08/DA-UBND", T::DeAn, "abbreviation of Dự án");
    }

    #[test]
    fn cong_van_and_thu_cong() {
        ok("05/UBND-VP", T::CongVan);
        ok("05/UBND", T::CongVan);
        ok("05/CV-UBND", T::CongVan);
        ok("1234/BTTTT-CĐSQG", T::CongVan);
        // Unit codes that are also type abbreviations (CT: Cục Thuế).
        ok("1234/CT-TTHT", T::CongVan);
        ok("05/TB-UBND", T::ThuCong);
        ok("02/UBND", T::ThuCong);
    }

    #[test]
    fn every_type_accepts_its_example() {
        for &ty in DocumentType::all() {
            ok(&example(ty), ty);
        }
        assert_eq!(split("15/QĐ-UBND"), Some(("15", "QĐ-UBND")));
    }
}
