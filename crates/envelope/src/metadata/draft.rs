//! A new dispatch's metadata with the ordinary parts filled in once.
//!
//! Most dispatches are made the same way apart from who sends what to whom:
//! a new id, the creation time now, today's date in Vietnam, no secrecy,
//! due date, appointment or replies, and the signer's block read from the
//! signing official's certificate. The demo, the benchmarks, the examples
//! and the tests all start from a [`Draft`], so that a change to the format
//! is made in one place and every caller makes the dispatch the same way.

use congvan_org::OrgId;
use congvan_sign::Certificate;
use time::{OffsetDateTime, UtcOffset};

use super::{
    AuthorityPrefix, DocumentType, Metadata, Organization, SignerBlock, SteeringType, Urgency,
};

/// Vietnam's offset (UTC+7), in which a dispatch's date is counted.
const VIETNAM: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// What differs from one ordinary dispatch to the next.
#[derive(Clone, Debug)]
pub struct Draft {
    /// The issuing office.
    pub from: Organization,
    /// The recipient offices.
    pub to: Vec<Organization>,
    /// The document type.
    pub doc_type: DocumentType,
    /// Number and notation ("15/QĐ-UBND"; a công văn: "05/UBND-VP").
    pub number: String,
    /// Where it is issued ("Cẩm Xuyên").
    pub place: String,
    /// The subject excerpt (trích yếu).
    pub subject: String,
    /// The content.
    pub content: String,
    /// The urgency.
    pub urgency: Urgency,
    /// The signer's block.
    pub signer: SignerBlock,
}

impl Draft {
    /// An ordinary công văn from `from` to `to`, signed for the office ("TM.
    /// ỦY BAN NHÂN DÂN") by `signer`; change the fields that differ.
    pub fn cong_van(from: Organization, to: Vec<Organization>, signer: SignerBlock) -> Draft {
        Draft {
            from,
            to,
            doc_type: DocumentType::CongVan,
            number: "05/UBND-VP".to_string(),
            place: "Hà Tĩnh".to_string(),
            subject: "Về việc báo cáo số liệu thống kê định kỳ".to_string(),
            content: "Đề nghị các cơ quan, đơn vị báo cáo số liệu thống kê định kỳ theo biểu mẫu."
                .to_string(),
            urgency: Urgency::Thuong,
            signer,
        }
    }

    /// The demo PKI's district, H99.01, writing to its commune H99.01.01,
    /// signed by `official`: the small dispatch that benchmarks and examples
    /// measure (see `congvan_sign::build_demo`).
    pub fn demo(official: &Certificate) -> Draft {
        let org = |code: &str, name: &str| OrgId::parse(code).map(|id| Organization::new(id, name));
        // Both codes are constants that parse.
        let (Ok(from), Ok(to)) = (
            org("H99.01", "Ủy ban nhân dân huyện Cẩm Xuyên"),
            org("H99.01.01", "Ủy ban nhân dân xã Cẩm Thạch"),
        ) else {
            unreachable!("the demo organization codes parse")
        };
        Draft {
            place: "Cẩm Xuyên".to_string(),
            ..Draft::cong_van(from, vec![to], SignerBlock::for_the_committee(official))
        }
    }

    /// The metadata, made now: a new id, the creation time now and today's
    /// date in Vietnam, text in NFC.
    pub fn metadata(self) -> Metadata {
        self.metadata_at(OffsetDateTime::now_utc())
    }

    /// The metadata as if made at `created` (for tests of time: expiry,
    /// back-dated archives).
    pub fn metadata_at(self, created: OffsetDateTime) -> Metadata {
        let mut metadata = Metadata {
            format_version: Metadata::FORMAT_VERSION,
            id: Metadata::new_id(),
            from: self.from,
            to: self.to,
            number: self.number,
            place: self.place,
            date: created.to_offset(VIETNAM).date(),
            doc_type: self.doc_type,
            subject: self.subject,
            content: self.content,
            signer: self.signer,
            urgency: self.urgency,
            secrecy: None,
            due: None,
            appointment: None,
            steering: SteeringType::None,
            in_reply_to: Vec::new(),
            created_at: Metadata::timestamp_at(created),
            details: super::Details::default(),
        };
        metadata.normalize_text();
        metadata
    }
}

impl Organization {
    /// An organization by id and name.
    pub fn new(id: OrgId, name: impl Into<String>) -> Organization {
        Organization {
            id,
            name: name.into(),
        }
    }
}

impl SignerBlock {
    /// The block of an official signing for the office's collective
    /// ("TM. ỦY BAN NHÂN DÂN"), with the position and name their
    /// certificate gives ("CHỦ TỊCH", "Nguyễn Văn A").
    pub fn for_the_committee(official: &Certificate) -> SignerBlock {
        SignerBlock {
            authority_prefix: Some(AuthorityPrefix::Tm),
            authority: Some("ỦY BAN NHÂN DÂN".to_string()),
            on_behalf_of: None,
            position: official.position().unwrap_or("Chủ tịch").to_uppercase(),
            full_name: official.common_name().unwrap_or("?").to_string(),
        }
    }
}
