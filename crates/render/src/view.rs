//! The view models: what a caller fills in to get a PDF.
//!
//! They are plain data (owned `String`s, `Vec`s and numbers, no borrowed or envelope types) so
//! that the glue from any metadata model is a straightforward field-by-field copy, and so that
//! tests and benchmarks can build them literally. All text is expected in Vietnamese with full
//! diacritics; it is normalised to NFC before it is drawn, so decomposed input renders the same.

/// A calendar day, as written in the place-and-date line of a dispatch.
///
/// A separate type (rather than a timestamp) because Decree 30 dates a document by its
/// signing day in the issuing office, with no time of day or zone; it is validated when the
/// document is rendered and an impossible day is reported as [`crate::Error::InvalidDate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CalendarDate {
    /// The year, e.g. `2026`.
    pub year: i32,
    /// The month, `1` to `12`.
    pub month: u8,
    /// The day of the month, `1` to `31` (checked against the month and year).
    pub day: u8,
}

/// Urgency ("độ khẩn") of a dispatch, printed in red under the number and notation.
///
/// An enum rather than free text because Decree 30 fixes the wording, and the envelope encodes
/// it as a small number (see [`Urgency::from_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Urgency {
    /// "KHẨN" (urgent; envelope code 1).
    Urgent,
    /// "THƯỢNG KHẨN" (very urgent; envelope code 2).
    VeryUrgent,
    /// "HỎA TỐC" (flash; envelope code 3).
    Flash,
    /// "HỎA TỐC HẸN GIỜ" (flash, delivery at a set time; envelope code 4).
    FlashScheduled,
}

impl Urgency {
    /// Maps the envelope's urgency code (0 ordinary … 4 flash at a set time) to a mark;
    /// `0` and unknown codes give `None`, because an ordinary dispatch carries no mark.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Urgent),
            2 => Some(Self::VeryUrgent),
            3 => Some(Self::Flash),
            4 => Some(Self::FlashScheduled),
            _ => None,
        }
    }

    /// The wording stamped on the document, in capitals as Decree 30 requires.
    pub fn label(self) -> &'static str {
        match self {
            Self::Urgent => "KHẨN",
            Self::VeryUrgent => "THƯỢNG KHẨN",
            Self::Flash => "HỎA TỐC",
            Self::FlashScheduled => "HỎA TỐC HẸN GIỜ",
        }
    }
}

/// Secrecy grade ("độ mật") of a dispatch, printed in red under the number and notation.
///
/// An enum because the law on protecting state secrets fixes exactly three grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Secrecy {
    /// "MẬT" (confidential).
    Confidential,
    /// "TỐI MẬT" (secret).
    Secret,
    /// "TUYỆT MẬT" (top secret).
    TopSecret,
}

impl Secrecy {
    /// The wording stamped on the document, in capitals.
    pub fn label(self) -> &'static str {
        match self {
            Self::Confidential => "MẬT",
            Self::Secret => "TỐI MẬT",
            Self::TopSecret => "TUYỆT MẬT",
        }
    }
}

/// The visible trace of the signer's digital signature, shown in the signature space between
/// the signer's position and name (where a paper document carries the handwritten signature).
///
/// The caller passes what it verified; this crate only displays it, it does not check it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigitalSignatureView {
    /// Who signed, as a person reads it, e.g. `"Nguyễn Văn An"` (usually the certificate's
    /// common name).
    pub signer: String,
    /// When the signature was made, in Unix seconds (UTC); shown in Vietnam time (UTC+7),
    /// e.g. `05/01/2026 09:30:00 +07:00`.
    pub signed_at_unix: i64,
}

/// The issuing organization's digital signature ("chữ ký số của cơ quan", the electronic seal).
///
/// Drawn as a small box in the top-right corner of the first page, with the organization name
/// and the signing time in ISO 8601 with the Vietnam offset, which is how Decree 30 (Appendix I)
/// shows an organization's signature on an electronic file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SealView {
    /// The organization that sealed, e.g. `"Ủy ban nhân dân tỉnh Hà Tĩnh"`.
    pub organization: String,
    /// When the seal was applied, in Unix seconds (UTC).
    pub signed_at_unix: i64,
}

/// The signature block at the end of a dispatch ("thể thức chữ ký").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignerView {
    /// Authority lines above the position, each printed on its own line in bold capitals, e.g.
    /// `["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"]`; empty when the head signs in their own name.
    /// The prefixes (TM., KT., TL., TUQ., Q.) are part of the text the caller passes.
    pub authority_lines: Vec<String>,
    /// The signer's position, e.g. `"PHÓ CHỦ TỊCH"` (printed as given; Decree 30 wants capitals).
    pub position: String,
    /// The signer's full name, e.g. `"Nguyễn Văn An"`.
    pub full_name: String,
    /// The digital signature to show in the signature space, if the document is signed.
    pub digital_signature: Option<DigitalSignatureView>,
}

/// Everything needed to draw one administrative document in the Decree 30/2020/NĐ-CP layout.
///
/// Strings are printed as given (no case change), except where noted, so the caller decides the
/// exact wording; the renderer only adds the fixed words the decree prescribes ("Số:", "V/v",
/// "ngày … tháng … năm …", "Nơi nhận:", the national title and motto).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DispatchView {
    /// The governing authority above the issuer ("tên cơ quan chủ quản"), e.g.
    /// `"UBND TỈNH HÀ TĨNH"` above a department; `None` when the issuer has none.
    pub parent_authority: Option<String>,
    /// The issuing authority ("tên cơ quan ban hành"), e.g. `"ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH"`;
    /// printed in bold and wrapped over several lines if long.
    pub issuing_authority: String,
    /// Number and notation without the "Số:" prefix, e.g. `"15/QĐ-UBND"` or `"05/UBND-VP"`.
    pub number: String,
    /// The place name for the date line, e.g. `"Hà Tĩnh"`.
    pub place: String,
    /// The issuing date; formatted as "Hà Tĩnh, ngày 05 tháng 01 năm 2026" by the renderer.
    pub date: CalendarDate,
    /// The document type name in capitals, e.g. `"QUYẾT ĐỊNH"`, printed centred above the
    /// subject. `None` for a công văn, whose subject is printed under the number as "V/v …".
    pub document_type: Option<String>,
    /// The subject excerpt ("trích yếu nội dung"), e.g. `"Về việc ban hành Quy chế công tác
    /// văn thư"`. For a công văn pass it without the "V/v" prefix.
    pub subject: String,
    /// The body, one string per paragraph. Paragraphs are justified with a first-line indent
    /// and flow onto further pages. A short paragraph (up to 80 characters) with no lower-case
    /// letter, such as `"QUYẾT ĐỊNH:"` or the authority line `"CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH"`
    /// above the preamble, is a heading and is centred in bold instead, as in the decree's
    /// templates.
    pub content: Vec<String>,
    /// The signature block.
    pub signer: SignerView,
    /// The organization's digital seal, if applied.
    pub seal: Option<SealView>,
    /// The "Nơi nhận" list, one entry per line, without the leading dash (the renderer adds
    /// "- "), with the caller's punctuation, e.g. `["Như Điều 3;", "Lưu: VT, VP."]`.
    pub recipients: Vec<String>,
    /// Urgency mark, if any.
    pub urgency: Option<Urgency>,
    /// Secrecy mark, if any.
    pub secrecy: Option<Secrecy>,
    /// Text to encode in a QR code on the first page, e.g.
    /// `"congvan:1:<dispatch-id>:<manifest-sha256-hex>"`, so a printed copy can be traced back
    /// to its electronic original; `None` for no QR code.
    pub qr_payload: Option<String>,
    /// Whether the signatures were verified before rendering. When `false`, every page is
    /// stamped "CHƯA XÁC THỰC" (not verified) and no digital signature or seal is drawn,
    /// whatever `signer.digital_signature` and `seal` say: a PDF never looks signed when no
    /// one checked that it is.
    pub verified: bool,
    /// Marks printed in red in the top margin of the first page, one line
    /// each (two at most): what happened to the dispatch after it was issued
    /// ("ĐỀ NGHỊ THU HỒI …", "THAY THẾ VĂN BẢN …"). Printed only when
    /// `verified`; an unverified copy carries its stamp instead.
    pub marks: Vec<String>,
}

/// The outcome of a validation, in the terms of ETSI EN 319 102-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Indication {
    /// Every check succeeded (shown in green).
    Passed,
    /// A check failed for certain, e.g. a broken hash or a revoked certificate (shown in red).
    Failed,
    /// The checks could not conclude, e.g. a missing chain or revocation data (shown in amber).
    Indeterminate,
}

impl Indication {
    /// The ETSI name, e.g. `"PASSED"`; kept in English because auditors and tools know these
    /// exact words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Passed => "PASSED",
            Self::Failed => "FAILED",
            Self::Indeterminate => "INDETERMINATE",
        }
    }
}

/// One signature in a verification report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignatureReportView {
    /// The signer as a person reads it, e.g. `"Nguyễn Văn An"`.
    pub signer_name: String,
    /// The signer's organization, e.g. `"Ủy ban nhân dân tỉnh Hà Tĩnh"`.
    pub organization: String,
    /// The signature's role, e.g. `"signer"`, `"seal"`, `"countersign"`, `"copy"`.
    pub role: String,
    /// The claimed signing time in Unix seconds (UTC), if the signature carries one; shown in
    /// Vietnam time.
    pub signing_time_unix: Option<i64>,
    /// The certificate chain as subject names, signer's certificate first, trust anchor last.
    pub certificate_chain: Vec<String>,
    /// The result for this signature.
    pub indication: Indication,
    /// The ETSI sub-indication or a short reason, e.g. `"REVOKED"`; `None` when passed.
    pub sub_indication: Option<String>,
}

/// One attachment in a verification report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttachmentView {
    /// The file name inside the envelope, e.g. `"quy-che-van-thu.pdf"`.
    pub name: String,
    /// The size in bytes.
    pub size_bytes: u64,
    /// The SHA-256 digest, lower-case hex (64 characters), printed in full in a monospace face.
    pub sha256_hex: String,
}

/// One entry of the receipts timeline in a verification report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReceiptView {
    /// When it happened, in Unix seconds (UTC); shown in Vietnam time.
    pub time_unix: i64,
    /// Who acted, e.g. a relay or an office name.
    pub actor: String,
    /// What happened, e.g. `"01 Đã đến (arrived)"`.
    pub event: String,
}

/// Everything needed to draw the one-page verification report.
///
/// The report is meant to be printed and filed, so it always fits one A4 page: fonts shrink
/// first, then long lists are cut with a "… và N mục khác" (and N more) line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerificationReportView {
    /// The verified file's name, e.g. `"15-QD-UBND.cvd"`.
    pub file_name: String,
    /// The dispatch's globally unique id.
    pub dispatch_id: String,
    /// The overall result.
    pub indication: Indication,
    /// The overall sub-indication or reason, if any.
    pub sub_indication: Option<String>,
    /// Each signature, in the order found in the envelope.
    pub signatures: Vec<SignatureReportView>,
    /// Each attachment, in manifest order.
    pub attachments: Vec<AttachmentView>,
    /// The receipts timeline, oldest first.
    pub receipts: Vec<ReceiptView>,
    /// When the report was made, in Unix seconds (UTC); shown in Vietnam time.
    pub generated_at_unix: i64,
}
