//! Verifies one small signed+sealed dispatch many times with one trust
//! store, for profiling the warm verification path:
//! `cargo run --release -p congvan-envelope --example verify_loop -- [N]`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use congvan_envelope::metadata::{
    AuthorityPrefix, DocumentType, Metadata, Organization, SignerBlock, SteeringType, Urgency,
};
use congvan_envelope::{issue_dispatch, verify_dispatch, Envelope, Indication};
use congvan_sign::{Algorithm, Certificate, Credential, OrgId, TrustStore};
use time::OffsetDateTime;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(20_000, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    congvan_sign::build_demo(&pki, Algorithm::EcdsaP256).unwrap();
    let official = Credential::load(&pki.join("H99.01/official"), None).unwrap();
    let office = Credential::load(&pki.join("H99.01/office"), None).unwrap();
    let now = OffsetDateTime::now_utc();
    let metadata = Metadata {
        format_version: Metadata::FORMAT_VERSION,
        id: Metadata::new_id(),
        from: Organization {
            id: OrgId::parse("H99.01").unwrap(),
            name: "Ủy ban nhân dân huyện Cẩm Xuyên".into(),
        },
        to: vec![Organization {
            id: OrgId::parse("H99.01.01").unwrap(),
            name: "Ủy ban nhân dân xã Cẩm Thạch".into(),
        }],
        number: "05/UBND-VP".into(),
        place: "Cẩm Xuyên".into(),
        date: now.date(),
        doc_type: DocumentType::CongVan,
        subject: "Về việc đo thời gian kiểm tra".into(),
        content: "Nội dung ngắn.".into(),
        signer: SignerBlock {
            authority_prefix: Some(AuthorityPrefix::Tm),
            authority: Some("ỦY BAN NHÂN DÂN".into()),
            position: "CHỦ TỊCH".into(),
            full_name: "Lê Văn Cường".into(),
        },
        urgency: Urgency::Thuong,
        secrecy: None,
        due: None,
        appointment: None,
        steering: SteeringType::None,
        in_reply_to: Vec::new(),
        created_at: Metadata::timestamp_now(),
    };
    let file = dir.path().join("d.cvd");
    issue_dispatch(&metadata, &[], &file, &official, Some(&office), now).unwrap();
    let trust =
        TrustStore::new(vec![Certificate::load(&pki.join("root/cert.pem")).unwrap()]).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..n {
        let mut envelope = Envelope::open(&file).unwrap();
        let report = verify_dispatch(&mut envelope, &trust, now, &mut |_| {}).unwrap();
        assert_eq!(report.indication, Indication::Passed);
    }
    let per = start.elapsed().as_secs_f64() / n as f64;
    println!("{n} verifications, {:.1} µs each", per * 1e6);
}
