//! PDF output for congvan: an official dispatch ("công văn", decision, …) laid out the way
//! Decree 30/2020/NĐ-CP prescribes, and a one-page verification report for auditors.
//!
//! The drawing code knows nothing about the envelope format: it draws plain view
//! structs ([`DispatchView`], [`VerificationReportView`]) with owned strings and numbers, and get
//! PDF bytes back from [`render_dispatch`] or [`render_verification_report`]. Keeping the views
//! free of envelope types means the layout can be tested, benchmarked and evolved on its own, and
//! the envelope can change its metadata model without touching any drawing code. The one place
//! that knows both is [`dispatch_view`] / [`report_view`], which map an opened `.cvd` and its
//! verification report onto the views.
//!
//! Every PDF embeds subsets of the DejaVu Serif Condensed faces (from the `dejavu` crate) as
//! `CIDFontType2` fonts with Identity-H encoding, glyph widths and a ToUnicode map, so the
//! Vietnamese text is both displayed with the right glyphs and extracted exactly (for example by
//! `pdftotext`). No system font is ever read, so the output is the same on every machine, and the
//! same view always produces the same bytes.
//!
//! ```
//! use congvan_render::{render_dispatch, CalendarDate, DispatchView, SignerView};
//!
//! let view = DispatchView {
//!     parent_authority: None,
//!     issuing_authority: "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH".into(),
//!     number: "15/QĐ-UBND".into(),
//!     place: "Hà Tĩnh".into(),
//!     date: CalendarDate { year: 2026, month: 1, day: 5 },
//!     document_type: Some("QUYẾT ĐỊNH".into()),
//!     subject: "Về việc ban hành Quy chế công tác văn thư".into(),
//!     content: vec!["Ban hành kèm theo Quyết định này Quy chế công tác văn thư.".into()],
//!     signer: SignerView {
//!         authority_lines: vec!["TM. ỦY BAN NHÂN DÂN".into()],
//!         position: "CHỦ TỊCH".into(),
//!         full_name: "Nguyễn Văn An".into(),
//!         digital_signature: None,
//!     },
//!     seal: None,
//!     recipients: vec!["Như Điều 3;".into(), "Lưu: VT, VP.".into()],
//!     urgency: None,
//!     secrecy: None,
//!     qr_payload: Some("congvan:1:example".into()),
//!     verified: true,
//!     marks: Vec::new(),
//! };
//! let pdf = render_dispatch(&view).unwrap();
//! assert!(pdf.starts_with(b"%PDF-"));
//! ```
#![forbid(unsafe_code)]

mod canvas;
mod date;
mod dispatch;
mod error;
mod font;
mod from_envelope;
mod layout;
mod qr;
mod report;
mod table;
mod view;

pub use date::place_and_date_line;
pub use dispatch::render_dispatch;
pub use error::Error;
pub use from_envelope::{dispatch_view, qr_payload, report_view, verification_url};
pub use report::render_verification_report;
pub use view::{
    AttachmentView, CalendarDate, DigitalSignatureView, DispatchView, Indication, ReceiptView,
    SealView, Secrecy, SignatureReportView, SignerView, Urgency, VerificationReportView,
};
