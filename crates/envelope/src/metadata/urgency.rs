//! Urgency ("độ khẩn") of a dispatch, with the edXML integer codes.

use std::fmt;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use super::text::fold;
use crate::Error;

/// How fast a dispatch must be delivered and handled (Decree 30/2020/NĐ-CP;
/// edXML `Priority` codes 0-4).
///
/// Stored in JSON as the integer code so that export to edXML is a copy.
/// There is deliberately no `Ord`: whether "greater" means "more urgent" or
/// "larger code" is a trap; use [`Urgency::priority`] to order a queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Urgency {
    /// 0 — Thường: ordinary.
    #[default]
    Thuong,
    /// 1 — Khẩn: urgent.
    Khan,
    /// 2 — Thượng khẩn: very urgent.
    ThuongKhan,
    /// 3 — Hỏa tốc: immediate.
    HoaToc,
    /// 4 — Hỏa tốc hẹn giờ: immediate, to arrive by an appointed time
    /// (the metadata's `appointment`).
    HoaTocHenGio,
}

const ALL: [Urgency; 5] = [
    Urgency::Thuong,
    Urgency::Khan,
    Urgency::ThuongKhan,
    Urgency::HoaToc,
    Urgency::HoaTocHenGio,
];

impl Urgency {
    /// Every urgency, from 0 to 4.
    pub fn all() -> &'static [Urgency] {
        &ALL
    }

    /// The edXML code, 0-4.
    pub fn code(self) -> u8 {
        match self {
            Urgency::Thuong => 0,
            Urgency::Khan => 1,
            Urgency::ThuongKhan => 2,
            Urgency::HoaToc => 3,
            Urgency::HoaTocHenGio => 4,
        }
    }

    /// The urgency with edXML code `code`, if it is 0-4.
    pub fn from_code(code: u8) -> Option<Urgency> {
        ALL.get(usize::from(code)).copied()
    }

    /// The Vietnamese name, e.g. "Thượng khẩn".
    pub fn name(self) -> &'static str {
        match self {
            Urgency::Thuong => "Thường",
            Urgency::Khan => "Khẩn",
            Urgency::ThuongKhan => "Thượng khẩn",
            Urgency::HoaToc => "Hỏa tốc",
            Urgency::HoaTocHenGio => "Hỏa tốc hẹn giờ",
        }
    }

    /// The ASCII slug accepted on the command line, e.g. "thuong-khan".
    pub fn slug(self) -> &'static str {
        match self {
            Urgency::Thuong => "thuong",
            Urgency::Khan => "khan",
            Urgency::ThuongKhan => "thuong-khan",
            Urgency::HoaToc => "hoa-toc",
            Urgency::HoaTocHenGio => "hoa-toc-hen-gio",
        }
    }

    /// The mark stamped on the document ("KHẨN", "THƯỢNG KHẨN", "HỎA TỐC",
    /// "HỎA TỐC HẸN GIỜ"); `None` for an ordinary dispatch, which carries no
    /// mark.
    pub fn mark(self) -> Option<&'static str> {
        match self {
            Urgency::Thuong => None,
            Urgency::Khan => Some("KHẨN"),
            Urgency::ThuongKhan => Some("THƯỢNG KHẨN"),
            Urgency::HoaToc => Some("HỎA TỐC"),
            Urgency::HoaTocHenGio => Some("HỎA TỐC HẸN GIỜ"),
        }
    }

    /// Delivery priority: **larger means more urgent and goes first**
    /// (Thường 0 … Hỏa tốc hẹn giờ 4, which also has a hard deadline).
    ///
    /// Relay queues sort by this descending (`ORDER BY priority DESC`, or
    /// `sort_by_key(|d| Reverse(d.priority()))`) so Hỏa tốc leaves first.
    /// It equals the code today, but code that orders queues should use this
    /// method, not [`Urgency::code`], so that the two meanings stay separate.
    pub fn priority(self) -> u8 {
        self.code()
    }

    /// Reads an urgency as a person would type it: the code "0"-"4", the slug
    /// (`thuong`, `khan`, `thuong-khan`, `hoa-toc`, `hoa-toc-hen-gio`) or the
    /// Vietnamese name or mark in any case or Unicode form ("Hỏa tốc", "HOẢ TỐC").
    pub fn from_user_text(text: &str) -> Option<Urgency> {
        let text = text.trim();
        if let Ok(code) = text.parse::<u8>() {
            return Urgency::from_code(code);
        }
        let slug = fold(text);
        ALL.iter().copied().find(|u| u.slug() == slug)
    }
}

impl fmt::Display for Urgency {
    /// Writes the Vietnamese name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Urgency {
    type Err = Error;

    /// Same as [`Urgency::from_user_text`], with an error that lists the choices.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Urgency::from_user_text(s).ok_or_else(|| Error::InvalidMetadata {
            field: "urgency".to_string(),
            problem: format!(
                "unknown urgency {s:?}; use 0-4 or a name: 0 thuong (Thường), 1 khan (Khẩn), \
                 2 thuong-khan (Thượng khẩn), 3 hoa-toc (Hỏa tốc), 4 hoa-toc-hen-gio \
                 (Hỏa tốc hẹn giờ)"
            ),
        })
    }
}

impl Serialize for Urgency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for Urgency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = u64::deserialize(deserializer)?;
        u8::try_from(code)
            .ok()
            .and_then(Urgency::from_code)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "invalid urgency code {code}: expected 0 (Thường), 1 (Khẩn), \
                     2 (Thượng khẩn), 3 (Hỏa tốc) or 4 (Hỏa tốc hẹn giờ)"
                ))
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_slugs_and_names() {
        for &u in Urgency::all() {
            assert_eq!(Urgency::from_user_text(&u.code().to_string()), Some(u));
            assert_eq!(Urgency::from_user_text(u.slug()), Some(u));
            assert_eq!(Urgency::from_user_text(u.name()), Some(u));
            if let Some(mark) = u.mark() {
                assert_eq!(Urgency::from_user_text(mark), Some(u));
            }
            assert_eq!(u.slug().parse::<Urgency>().unwrap(), u);
        }
        assert_eq!(Urgency::from_user_text("Hoả tốc"), Some(Urgency::HoaToc));
        assert_eq!(
            Urgency::from_user_text(" thượng khẩn "),
            Some(Urgency::ThuongKhan)
        );
        assert_eq!(Urgency::from_user_text("5"), None);
        assert_eq!(Urgency::from_user_text("-1"), None);
        assert_eq!(Urgency::from_user_text("urgent"), None);
        let err = "9".parse::<Urgency>().unwrap_err().to_string();
        assert!(err.contains("urgency") && err.contains("hoa-toc"), "{err}");
    }

    #[test]
    fn marks_and_priority() {
        assert_eq!(Urgency::Thuong.mark(), None);
        assert_eq!(Urgency::HoaTocHenGio.mark(), Some("HỎA TỐC HẸN GIỜ"));
        let mut queue = [Urgency::Khan, Urgency::HoaToc, Urgency::Thuong];
        queue.sort_by_key(|u| std::cmp::Reverse(u.priority()));
        assert_eq!(queue[0], Urgency::HoaToc);
    }

    #[test]
    fn serialises_as_integer_code() {
        assert_eq!(serde_json::to_string(&Urgency::HoaToc).unwrap(), "3");
        assert_eq!(
            serde_json::from_str::<Urgency>("2").unwrap(),
            Urgency::ThuongKhan
        );
        let err = serde_json::from_str::<Urgency>("7")
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid urgency code 7"), "{err}");
        assert!(serde_json::from_str::<Urgency>("\"khan\"").is_err());
    }
}
