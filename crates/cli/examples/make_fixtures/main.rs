//! Builds the sample dispatches in `fixtures/` from the demo PKI in `certs/`.
//!
//! Run from the repository root:
//!
//! ```text
//! cargo run -p congvan --example make_fixtures -- certs fixtures
//! ```
//!
//! It issues two extra officials under `fixtures/pki/` (one revoked, one
//! already expired), records the revocation in `certs/ca-h99/` and writes
//! its CRL to `fixtures/pki/ca-h99.crl.pem`, then writes valid dispatches
//! and deliberately broken ones, and the hostile ones of `fixtures/hostile/`
//! (`hostile.rs`; it runs `openssl` for keys ring cannot make).
//! `fixtures/README.md` explains each.
#![allow(clippy::disallowed_macros)] // a measurement or test program prints its own output

use std::io::Write;
use std::path::{Path, PathBuf};

use congvan_envelope::metadata::{
    AuthorityPrefix, DocumentType, Draft, Metadata, Organization, SignerBlock, Urgency,
};
use congvan_envelope::{
    append_signature, create_dispatch, make_signature, sign_dispatch, AttachmentSource, Envelope,
    SignatureRole,
};
use congvan_sign::{
    Credential, LeafRequest, OrgId, RevocationReason, RevocationRecord, Role, SigningKey,
};
use time::{Date, Duration, OffsetDateTime};

mod hostile;
#[path = "../../../envelope/tests/common/zip_surgery.rs"]
mod zip_surgery;
use zip_surgery::{RawEntry, RawZip};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let certs = PathBuf::from(args.get(1).map_or("certs", String::as_str));
    let out = PathBuf::from(args.get(2).map_or("fixtures", String::as_str));
    std::fs::create_dir_all(out.join("pki"))?;
    let now = OffsetDateTime::now_utc();

    let cred = |path: &str| Credential::load(&certs.join(path), None);
    let district_official = cred("H99.01/official")?;
    let district_office = cred("H99.01/office")?;
    let other_official = cred("H99.02/official")?;
    let province_official = cred("H99/official")?;
    let province_office = cred("H99/office")?;
    let ca = cred("ca-h99")?;

    // Fixture-only officials: one to revoke, one that expired long ago.
    let revoked = issue_official(&ca, "Ngô Văn Thu", now - Duration::days(30), 365)?;
    revoked.write(&out.join("pki/revoked-official"))?;
    let mut record = RevocationRecord::load(&certs.join("ca-h99"))?;
    record.revoke(
        &ca,
        revoked.cert(),
        RevocationReason::KeyCompromise,
        now - Duration::days(2),
    )?;
    let crl = record.issue_crl(&ca, now, 3650)?;
    record.save(&certs.join("ca-h99"))?;
    std::fs::write(out.join("pki/ca-h99.crl.pem"), crl)?;
    let expired = issue_official(&ca, "Đỗ Thị Hết Hạn", now - Duration::days(300), 30)?;
    expired.write(&out.join("pki/expired-official"))?;

    let pdf = out.join("pki/ke-hoach.pdf");
    std::fs::write(&pdf, sample_pdf())?;

    let today = now.date();
    let district = Organization {
        id: OrgId::parse("H99.01")?,
        name: "Ủy ban nhân dân huyện Cẩm Xuyên".into(),
    };
    let communes = vec![
        Organization {
            id: OrgId::parse("H99.01.01")?,
            name: "Ủy ban nhân dân xã Cẩm Thạch".into(),
        },
        Organization {
            id: OrgId::parse("H99.01.02")?,
            name: "Ủy ban nhân dân xã Cẩm Duệ".into(),
        },
    ];
    let province = Organization {
        id: OrgId::parse("H99")?,
        name: "Ủy ban nhân dân tỉnh Hà Tĩnh".into(),
    };
    let districts = vec![
        district.clone(),
        Organization {
            id: OrgId::parse("H99.02")?,
            name: "Ủy ban nhân dân huyện Thạch Hà".into(),
        },
    ];
    let district_signer = SignerBlock {
        authority_prefix: Some(AuthorityPrefix::Tm),
        authority: Some("ỦY BAN NHÂN DÂN".into()),
        on_behalf_of: None,
        position: "CHỦ TỊCH".into(),
        full_name: "Lê Văn Cường".into(),
    };

    // 1. A công văn with a PDF attachment, signed and sealed.
    let cong_van = out.join("valid-cong-van-pdf.cvd");
    let meta = metadata(MetaSpec {
        from: district.clone(),
        to: communes.clone(),
        number: "05/UBND-VP",
        doc_type: DocumentType::CongVan,
        subject: "Về việc triển khai kế hoạch chuyển đổi số năm 2026",
        content: "Ủy ban nhân dân huyện đề nghị Ủy ban nhân dân các xã triển khai kế hoạch kèm theo.\nBáo cáo kết quả trước ngày 30 tháng 12.",
        urgency: Urgency::Thuong,
        signer: district_signer.clone(),
        place: "Cẩm Xuyên",
        date: today,
    });
    create(&meta, &[AttachmentSource::file(&pdf)], &cong_van)?;
    let cong_van_meta = meta.clone();
    sign(&cong_van, &district_official, SignatureRole::Signer)?;
    sign(&cong_van, &district_office, SignatureRole::Seal)?;

    // 2. A quyết định signed by the official, then sealed by the office.
    let quyet_dinh = out.join("valid-quyet-dinh-signed-sealed.cvd");
    let meta = metadata(MetaSpec {
        from: district.clone(),
        to: communes.clone(),
        number: "15/QĐ-UBND",
        doc_type: DocumentType::QuyetDinh,
        subject: "Về việc ban hành Quy chế công tác văn thư",
        content: "Điều 1. Ban hành kèm theo Quyết định này Quy chế công tác văn thư.\nĐiều 2. Quyết định có hiệu lực kể từ ngày ký.\nĐiều 3. Chánh Văn phòng và Chủ tịch Ủy ban nhân dân các xã chịu trách nhiệm thi hành Quyết định này.",
        urgency: Urgency::Thuong,
        signer: district_signer.clone(),
        place: "Cẩm Xuyên",
        date: today,
    });
    create(&meta, &[], &quyet_dinh)?;
    sign(&quyet_dinh, &district_official, SignatureRole::Signer)?;
    sign(&quyet_dinh, &district_office, SignatureRole::Seal)?;

    // 3. An urgent (Hỏa tốc) thông báo from the province.
    let hoa_toc = out.join("valid-hoa-toc-thong-bao.cvd");
    let meta = metadata(MetaSpec {
        from: province,
        to: districts,
        number: "20/TB-UBND",
        doc_type: DocumentType::ThongBao,
        subject: "Thông báo khẩn về phòng, chống bão số 5",
        content:
            "Yêu cầu Ủy ban nhân dân các huyện triển khai ngay các biện pháp phòng, chống bão.",
        urgency: Urgency::HoaToc,
        signer: SignerBlock {
            authority_prefix: Some(AuthorityPrefix::Tm),
            authority: Some("ỦY BAN NHÂN DÂN".into()),
            on_behalf_of: None,
            position: "CHỦ TỊCH".into(),
            full_name: "Nguyễn Văn An".into(),
        },
        place: "Hà Tĩnh",
        date: today,
    });
    create(&meta, &[], &hoa_toc)?;
    sign(&hoa_toc, &province_official, SignatureRole::Signer)?;
    sign(&hoa_toc, &province_office, SignatureRole::Seal)?;

    // Broken ones.
    rewrite(
        &cong_van,
        &out.join("tampered-attachment.cvd"),
        |name, mut bytes| {
            if name == "attachments/ke-hoach.pdf" {
                let at = bytes.len() / 2;
                bytes[at] ^= 0x01;
            }
            Some((name.to_string(), bytes))
        },
        Vec::new(),
    )?;
    rewrite(
        &quyet_dinh,
        &out.join("tampered-metadata.cvd"),
        |name, bytes| {
            if name == "metadata.json" {
                let text = String::from_utf8_lossy(&bytes)
                    .replace("Quy chế công tác văn thư", "Quy chế công tác thi đua");
                return Some((name.to_string(), text.into_bytes()));
            }
            Some((name.to_string(), bytes))
        },
        Vec::new(),
    )?;
    rewrite(
        &quyet_dinh,
        &out.join("removed-signature.cvd"),
        |name, bytes| (name != "META-INF/signatures/0001.json").then(|| (name.to_string(), bytes)),
        Vec::new(),
    )?;
    rewrite(
        &cong_van,
        &out.join("missing-attachment.cvd"),
        |name, bytes| (name != "attachments/ke-hoach.pdf").then(|| (name.to_string(), bytes)),
        Vec::new(),
    )?;
    rewrite(
        &cong_van,
        &out.join("extra-unlisted-file.cvd"),
        |name, bytes| Some((name.to_string(), bytes)),
        vec![RawEntry::stored(
            "attachments/ghi-chu.txt",
            b"not covered by any signature",
        )],
    )?;
    rewrite(
        &cong_van,
        &out.join("path-traversal.cvd"),
        |name, bytes| Some((name.to_string(), bytes)),
        vec![RawEntry::stored("../evil", b"escaped")],
    )?;
    zip_bomb(&cong_van, &out.join("zip-bomb.cvd"))?;

    // Signed by a revoked official, after the revocation.
    let path = out.join("revoked-signer.cvd");
    let meta = metadata(MetaSpec {
        number: "16/QĐ-UBND",
        ..spec_like(&district, &communes, &district_signer, today)
    });
    create(&meta, &[], &path)?;
    sign_at(
        &path,
        &revoked,
        SignatureRole::Signer,
        now - Duration::days(1),
    )?;

    // Signed as the district's signer by an official of another district.
    let path = out.join("other-office-signer.cvd");
    let meta = metadata(MetaSpec {
        number: "17/QĐ-UBND",
        ..spec_like(&district, &communes, &district_signer, today)
    });
    create(&meta, &[], &path)?;
    sign_at(&path, &other_official, SignatureRole::Signer, now)?;

    // Signed when the official's certificate had already expired.
    let path = out.join("expired-at-signing.cvd");
    let meta = metadata(MetaSpec {
        number: "18/QĐ-UBND",
        ..spec_like(&district, &communes, &district_signer, today)
    });
    create(&meta, &[], &path)?;
    sign_at(
        &path,
        &expired,
        SignatureRole::Signer,
        now - Duration::days(100),
    )?;

    hostile::write_all(&hostile::Inputs {
        certs: &certs,
        out: &out,
        metadata: &cong_van_meta,
        district_official: &district_official,
        district_office: &district_office,
        now,
    })?;

    println!("fixtures written to {}", out.display());
    Ok(())
}

fn issue_official(
    ca: &Credential,
    name: &str,
    not_before: OffsetDateTime,
    days: u32,
) -> Result<Credential> {
    let request = LeafRequest {
        role: Role::Official,
        name: name.to_string(),
        org: OrgId::parse("H99.01")?,
        organization_name: Some("Ủy ban nhân dân huyện Cẩm Xuyên".into()),
        position: Some("Phó Chủ tịch".into()),
        dns: Vec::new(),
        ips: Vec::new(),
        days,
    };
    Ok(congvan_sign::issue_leaf_at(
        ca,
        &request,
        SigningKey::generate(congvan_sign::Algorithm::EcdsaP256)?,
        not_before,
    )?)
}

struct MetaSpec<'a> {
    from: Organization,
    to: Vec<Organization>,
    number: &'a str,
    doc_type: DocumentType,
    subject: &'a str,
    content: &'a str,
    urgency: Urgency,
    signer: SignerBlock,
    place: &'a str,
    date: Date,
}

fn spec_like<'a>(
    from: &Organization,
    to: &[Organization],
    signer: &SignerBlock,
    date: Date,
) -> MetaSpec<'a> {
    MetaSpec {
        from: from.clone(),
        to: to.to_vec(),
        number: "",
        doc_type: DocumentType::QuyetDinh,
        subject: "Về việc phân công nhiệm vụ",
        content: "Điều 1. Phân công nhiệm vụ theo danh sách kèm theo.",
        urgency: Urgency::Thuong,
        signer: signer.clone(),
        place: "Cẩm Xuyên",
        date,
    }
}

fn metadata(spec: MetaSpec<'_>) -> Metadata {
    let mut metadata = Draft {
        from: spec.from,
        to: spec.to,
        doc_type: spec.doc_type,
        number: spec.number.to_string(),
        place: spec.place.to_string(),
        subject: spec.subject.to_string(),
        content: spec.content.to_string(),
        urgency: spec.urgency,
        signer: spec.signer,
    }
    .metadata();
    metadata.date = spec.date;
    metadata
}

fn create(meta: &Metadata, attachments: &[AttachmentSource], path: &Path) -> Result<()> {
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    create_dispatch(meta, attachments, path, &mut |_| {})?;
    Ok(())
}

fn sign(path: &Path, cred: &Credential, role: SignatureRole) -> Result<()> {
    let mut envelope = Envelope::open(path)?;
    sign_dispatch(
        &mut envelope,
        cred,
        &[],
        role,
        OffsetDateTime::now_utc(),
        &mut |_| {},
    )?;
    Ok(())
}

/// Signs without the signer checks of `sign_dispatch`, as a forger or a
/// careless tool would, at a chosen claimed time.
fn sign_at(path: &Path, cred: &Credential, role: SignatureRole, at: OffsetDateTime) -> Result<()> {
    let mut envelope = Envelope::open(path)?;
    let jws = make_signature(envelope.manifest_bytes(), cred, &[], role, Vec::new(), at)?;
    append_signature(&mut envelope, &jws)?;
    Ok(())
}

/// Copies a container entry by entry through `change` (which may rename,
/// alter or drop an entry, keeping its other fields), then appends `extra`,
/// as a forger with a ZIP tool would: the result is a well-formed container
/// whose content no longer matches its signatures.
fn rewrite(
    src: &Path,
    dst: &Path,
    mut change: impl FnMut(&str, Vec<u8>) -> Option<(String, Vec<u8>)>,
    extra: Vec<RawEntry>,
) -> Result<()> {
    let original = RawZip::parse(&std::fs::read(src)?);
    let mut out = RawZip::default();
    for entry in original.entries {
        let name = entry.name_text();
        if let Some((name, bytes)) = change(&name, entry.data.clone()) {
            out.entries.push(RawEntry::stored(&name, &bytes));
        }
    }
    out.entries.extend(extra);
    std::fs::write(dst, out.to_bytes())?;
    Ok(())
}

/// Replaces the metadata with 256 MiB of spaces deflated to a few hundred
/// KiB, declaring its true size.
fn zip_bomb(src: &Path, dst: &Path) -> Result<()> {
    let mut raw = RawZip::parse(&std::fs::read(src)?);
    let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let spaces = vec![b' '; 1024 * 1024];
    let mut crc = crc32fast::Hasher::new();
    for _ in 0..256 {
        deflater.write_all(&spaces)?;
        crc.update(&spaces);
    }
    let entry = raw.entry_mut("metadata.json");
    entry.data = deflater.finish()?;
    entry.method = 8;
    entry.size = 256 * 1024 * 1024;
    entry.crc32 = crc.finalize();
    std::fs::write(dst, raw.to_bytes())?;
    Ok(())
}

/// A one-page PDF with a line of text: a stand-in for a scanned plan.
fn sample_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        {
            let text = "BT /F1 14 Tf 72 770 Td (Ke hoach chuyen doi so nam 2026 - illustrative attachment) Tj ET";
            format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len())
        },
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}
