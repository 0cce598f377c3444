//! The 29 types of administrative document of Decree 30/2020/NĐ-CP.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::text::{fold, fold_abbreviation, to_nfc};
use crate::Error;

/// A type of administrative document ("thể loại văn bản hành chính") as listed
/// in Appendix III of Decree 30/2020/NĐ-CP.
///
/// The type decides the title printed on the document and the abbreviation
/// that must open the notation of its number (`15/QĐ-UBND` for a Quyết định).
/// Công văn and Thư công have no abbreviation. In JSON a type is its ASCII
/// slug (`"quyet-dinh"`), which survives any text pipeline unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentType {
    /// Nghị quyết (cá biệt), NQ.
    NghiQuyet,
    /// Quyết định (cá biệt), QĐ.
    QuyetDinh,
    /// Chỉ thị, CT.
    ChiThi,
    /// Quy chế, QC.
    QuyChe,
    /// Quy định, QyĐ.
    QuyDinh,
    /// Thông cáo, TC.
    ThongCao,
    /// Thông báo, TB.
    ThongBao,
    /// Hướng dẫn, HD.
    HuongDan,
    /// Chương trình, CTr.
    ChuongTrinh,
    /// Kế hoạch, KH.
    KeHoach,
    /// Phương án, PA.
    PhuongAn,
    /// Đề án, ĐA.
    DeAn,
    /// Dự án, DA.
    DuAn,
    /// Báo cáo, BC.
    BaoCao,
    /// Biên bản, BB.
    BienBan,
    /// Tờ trình, TTr.
    ToTrinh,
    /// Hợp đồng, HĐ.
    HopDong,
    /// Công văn: no abbreviation.
    CongVan,
    /// Công điện, CĐ.
    CongDien,
    /// Bản ghi nhớ, BGN.
    BanGhiNho,
    /// Bản thỏa thuận, BTT.
    BanThoaThuan,
    /// Giấy ủy quyền, GUQ.
    GiayUyQuyen,
    /// Giấy mời, GM.
    GiayMoi,
    /// Giấy giới thiệu, GGT.
    GiayGioiThieu,
    /// Giấy nghỉ phép, GNP.
    GiayNghiPhep,
    /// Phiếu gửi, PG.
    PhieuGui,
    /// Phiếu chuyển, PC.
    PhieuChuyen,
    /// Phiếu báo, PB.
    PhieuBao,
    /// Thư công: no abbreviation.
    ThuCong,
}

/// Everything known about one type; `TABLE[t as usize]` describes `t`.
struct Info {
    ty: DocumentType,
    abbreviation: Option<&'static str>,
    name: &'static str,
    slug: &'static str,
    title_upper: &'static str,
}

const fn info(
    ty: DocumentType,
    abbreviation: Option<&'static str>,
    name: &'static str,
    slug: &'static str,
    title_upper: &'static str,
) -> Info {
    Info {
        ty,
        abbreviation,
        name,
        slug,
        title_upper,
    }
}

use DocumentType as T;

// Order must match the enum's declaration order (checked by a test).
// Kept one type per line so the table reads like Appendix III of the decree.
#[rustfmt::skip]
const TABLE: [Info; 29] = [
    info(T::NghiQuyet, Some("NQ"), "Nghị quyết", "nghi-quyet", "NGHỊ QUYẾT"),
    info(T::QuyetDinh, Some("QĐ"), "Quyết định", "quyet-dinh", "QUYẾT ĐỊNH"),
    info(T::ChiThi, Some("CT"), "Chỉ thị", "chi-thi", "CHỈ THỊ"),
    info(T::QuyChe, Some("QC"), "Quy chế", "quy-che", "QUY CHẾ"),
    info(T::QuyDinh, Some("QyĐ"), "Quy định", "quy-dinh", "QUY ĐỊNH"),
    info(T::ThongCao, Some("TC"), "Thông cáo", "thong-cao", "THÔNG CÁO"),
    info(T::ThongBao, Some("TB"), "Thông báo", "thong-bao", "THÔNG BÁO"),
    info(T::HuongDan, Some("HD"), "Hướng dẫn", "huong-dan", "HƯỚNG DẪN"),
    info(T::ChuongTrinh, Some("CTr"), "Chương trình", "chuong-trinh", "CHƯƠNG TRÌNH"),
    info(T::KeHoach, Some("KH"), "Kế hoạch", "ke-hoach", "KẾ HOẠCH"),
    info(T::PhuongAn, Some("PA"), "Phương án", "phuong-an", "PHƯƠNG ÁN"),
    info(T::DeAn, Some("ĐA"), "Đề án", "de-an", "ĐỀ ÁN"),
    info(T::DuAn, Some("DA"), "Dự án", "du-an", "DỰ ÁN"),
    info(T::BaoCao, Some("BC"), "Báo cáo", "bao-cao", "BÁO CÁO"),
    info(T::BienBan, Some("BB"), "Biên bản", "bien-ban", "BIÊN BẢN"),
    info(T::ToTrinh, Some("TTr"), "Tờ trình", "to-trinh", "TỜ TRÌNH"),
    info(T::HopDong, Some("HĐ"), "Hợp đồng", "hop-dong", "HỢP ĐỒNG"),
    info(T::CongVan, None, "Công văn", "cong-van", "CÔNG VĂN"),
    info(T::CongDien, Some("CĐ"), "Công điện", "cong-dien", "CÔNG ĐIỆN"),
    info(T::BanGhiNho, Some("BGN"), "Bản ghi nhớ", "ban-ghi-nho", "BẢN GHI NHỚ"),
    info(T::BanThoaThuan, Some("BTT"), "Bản thỏa thuận", "ban-thoa-thuan", "BẢN THỎA THUẬN"),
    info(T::GiayUyQuyen, Some("GUQ"), "Giấy ủy quyền", "giay-uy-quyen", "GIẤY ỦY QUYỀN"),
    info(T::GiayMoi, Some("GM"), "Giấy mời", "giay-moi", "GIẤY MỜI"),
    info(T::GiayGioiThieu, Some("GGT"), "Giấy giới thiệu", "giay-gioi-thieu", "GIẤY GIỚI THIỆU"),
    info(T::GiayNghiPhep, Some("GNP"), "Giấy nghỉ phép", "giay-nghi-phep", "GIẤY NGHỈ PHÉP"),
    info(T::PhieuGui, Some("PG"), "Phiếu gửi", "phieu-gui", "PHIẾU GỬI"),
    info(T::PhieuChuyen, Some("PC"), "Phiếu chuyển", "phieu-chuyen", "PHIẾU CHUYỂN"),
    info(T::PhieuBao, Some("PB"), "Phiếu báo", "phieu-bao", "PHIẾU BÁO"),
    info(T::ThuCong, None, "Thư công", "thu-cong", "THƯ CÔNG"),
];

const ALL: [DocumentType; 29] = {
    let mut all = [DocumentType::CongVan; 29];
    let mut i = 0;
    while i < TABLE.len() {
        all[i] = TABLE[i].ty;
        i += 1;
    }
    all
};

impl DocumentType {
    fn info(self) -> &'static Info {
        &TABLE[self as usize]
    }

    /// The abbreviation that opens the notation of this type's number ("QĐ"),
    /// or `None` for Công văn and Thư công, whose notation carries none.
    pub fn abbreviation(self) -> Option<&'static str> {
        self.info().abbreviation
    }

    /// The Vietnamese name as written in Decree 30, e.g. "Quyết định"; what a
    /// clerk reads in lists and error messages.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The ASCII slug used in JSON and accepted on the command line, e.g.
    /// "quyet-dinh"; typeable on any keyboard.
    pub fn slug(self) -> &'static str {
        self.info().slug
    }

    /// The title as printed in capitals on the document, e.g. "QUYẾT ĐỊNH".
    /// (A công văn prints no title; "CÔNG VĂN" is given for lists and reports.)
    pub fn title_upper(self) -> &'static str {
        self.info().title_upper
    }

    /// Every type, in the order of Decree 30's Appendix III; for menus, help
    /// text and exhaustive tests.
    pub fn all() -> &'static [DocumentType] {
        &ALL
    }

    /// Reads a type as a person would type it: the Vietnamese name in any case
    /// or Unicode form ("Quyết định", "QUYẾT ĐỊNH", "quyet dinh"), the slug
    /// ("quyet-dinh") or the abbreviation ("QĐ", also "qđ", and "QD" typed
    /// without the Vietnamese "Đ").
    ///
    /// The abbreviations are exact first: "QyĐ" is Quy định and "QĐ" Quyết
    /// định. Folding "Đ" to "D" is only a fallback and never overrides a real
    /// abbreviation, so "DA" is Dự án (not Đề án) and "HD" is Hướng dẫn (not
    /// Hợp đồng): type "ĐA"/"de-an" or "HĐ"/"hop-dong" for those.
    pub fn from_user_text(text: &str) -> Option<DocumentType> {
        let text = to_nfc(text.trim());
        if text.is_empty() {
            return None;
        }
        let by_abbreviation = |matches: &dyn Fn(&str) -> bool| {
            let mut found = TABLE
                .iter()
                .filter(|i| i.abbreviation.is_some_and(matches))
                .map(|i| i.ty);
            match (found.next(), found.next()) {
                (Some(ty), None) => Some(ty),
                _ => None,
            }
        };
        if let Some(ty) = by_abbreviation(&|a| a == text) {
            return Some(ty);
        }
        let upper = text.to_uppercase();
        if let Some(ty) = by_abbreviation(&|a| a.to_uppercase() == upper) {
            return Some(ty);
        }
        let slug = fold(&text);
        if let Some(info) = TABLE.iter().find(|i| i.slug == slug) {
            return Some(info.ty);
        }
        let folded = fold_abbreviation(&text);
        by_abbreviation(&|a| fold_abbreviation(a) == folded)
    }
}

impl fmt::Display for DocumentType {
    /// Writes the Vietnamese name ("Quyết định").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DocumentType {
    type Err = Error;

    /// Same as [`DocumentType::from_user_text`], with an error that shows
    /// what is accepted.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocumentType::from_user_text(s).ok_or_else(|| Error::InvalidMetadata {
            field: "doc_type".to_string(),
            problem: format!(
                "unknown document type {s:?}; give a Vietnamese name (\"Công văn\", \
                 \"Quyết định\"), a slug (cong-van, quyet-dinh, thong-bao) or an \
                 abbreviation (QĐ, TB, KH); the 29 types of Decree 30/2020/NĐ-CP are \
                 accepted"
            ),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn table_matches_enum_order_and_is_consistent() {
        assert_eq!(DocumentType::all().len(), 29);
        for (i, ty) in DocumentType::all().iter().enumerate() {
            assert_eq!(*ty as usize, i);
            assert_eq!(TABLE[i].ty, *ty);
            // serde's kebab-case name is the slug.
            assert_eq!(
                serde_json::to_string(ty).unwrap(),
                format!("\"{}\"", ty.slug())
            );
            assert_eq!(fold(ty.name()), ty.slug());
            assert_eq!(ty.name().to_uppercase(), ty.title_upper());
        }
        let without: Vec<_> = DocumentType::all()
            .iter()
            .filter(|t| t.abbreviation().is_none())
            .collect();
        assert_eq!(without, [&T::CongVan, &T::ThuCong]);
    }

    #[test]
    fn every_type_round_trips_through_user_text() {
        for &ty in DocumentType::all() {
            let name = ty.name();
            assert_eq!(DocumentType::from_user_text(name), Some(ty), "{name}");
            assert_eq!(DocumentType::from_user_text(&name.to_lowercase()), Some(ty));
            assert_eq!(DocumentType::from_user_text(ty.title_upper()), Some(ty));
            let nfd: String = name.nfd().collect();
            assert_eq!(DocumentType::from_user_text(&nfd), Some(ty), "NFD {name}");
            assert_eq!(DocumentType::from_user_text(ty.slug()), Some(ty));
            assert_eq!(ty.slug().parse::<DocumentType>().unwrap(), ty);
            if let Some(abbr) = ty.abbreviation() {
                assert_eq!(DocumentType::from_user_text(abbr), Some(ty), "{abbr}");
            }
            let back: DocumentType =
                serde_json::from_str(&serde_json::to_string(&ty).unwrap()).unwrap();
            assert_eq!(back, ty);
        }
    }

    #[test]
    fn abbreviations_are_precise() {
        let p = DocumentType::from_user_text;
        assert_eq!(p("QĐ"), Some(T::QuyetDinh));
        assert_eq!(p("QD"), Some(T::QuyetDinh));
        assert_eq!(p("qđ"), Some(T::QuyetDinh));
        assert_eq!(p("QyĐ"), Some(T::QuyDinh));
        assert_eq!(p("QyD"), Some(T::QuyDinh));
        assert_eq!(p("CT"), Some(T::ChiThi));
        assert_eq!(p("CTr"), Some(T::ChuongTrinh));
        assert_eq!(p("DA"), Some(T::DuAn));
        assert_eq!(p("ĐA"), Some(T::DeAn));
        assert_eq!(p("HD"), Some(T::HuongDan));
        assert_eq!(p("HĐ"), Some(T::HopDong));
        assert_eq!(p("CD"), Some(T::CongDien));
        assert_eq!(p("Bản thoả thuận"), Some(T::BanThoaThuan));
        assert_eq!(p(" công văn "), Some(T::CongVan));
        assert_eq!(p("CV"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("Nghị định"), None);
    }

    #[test]
    fn from_str_error_lists_examples() {
        let err = "nghi-dinh".parse::<DocumentType>().unwrap_err().to_string();
        assert!(err.contains("doc_type"), "{err}");
        assert!(err.contains("quyet-dinh") && err.contains("QĐ"), "{err}");
    }

    #[test]
    fn serde_rejects_unknown_slug() {
        let err = serde_json::from_str::<DocumentType>("\"Quyết định\"").unwrap_err();
        assert!(err.to_string().contains("quyet-dinh"), "{err}");
    }
}
