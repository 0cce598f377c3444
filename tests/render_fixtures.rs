//! The committed fixtures rendered to PDF through the command line, checked
//! with real tools: pdftotext for the text, qpdf for the structure, pdftoppm
//! for the page image (kept as an artifact) and rqrr for the QR code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::process::{congvan, pdftotext, render_verified, repo, run};
use unicode_normalization::UnicodeNormalization;

fn artifacts() -> PathBuf {
    let dir = repo().join("target/render-artifacts/fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn qpdf_check(pdf: &Path) {
    let out = run(Command::new("qpdf").arg("--check").arg(pdf));
    out.assert_ok();
    assert!(
        out.stdout.contains("No syntax or stream encoding errors"),
        "{out}"
    );
}

fn decode_qr(pdf: &Path, stem: &str) -> String {
    let prefix = artifacts().join(stem);
    run(Command::new("pdftoppm")
        .args(["-png", "-r", "150", "-f", "1", "-l", "1"])
        .arg(pdf)
        .arg(&prefix))
    .assert_ok();
    let png = std::fs::read_dir(artifacts())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{stem}-"))
                && p.extension().is_some_and(|e| e == "png")
        })
        .expect("pdftoppm wrote no page");
    let img = image::open(&png).unwrap().to_luma8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        img.get_pixel(x as u32, y as u32)[0]
    });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code on {}", png.display());
    let (_, content) = grids[0].decode().unwrap();
    content
}

/// Subject, number, signer and recipients come out of the PDF exactly, the
/// file passes qpdf, and the QR code gives back the dispatch id and the
/// manifest digest.
#[test]
fn valid_fixtures_render_with_exact_vietnamese_text_and_a_qr_code() {
    let tmp = tempfile::tempdir().unwrap();
    let root = repo().join("certs/root/cert.pem");
    for name in [
        "valid-cong-van-pdf",
        "valid-quyet-dinh-signed-sealed",
        "valid-hoa-toc-thong-bao",
    ] {
        let cvd = repo().join(format!("fixtures/{name}.cvd"));
        let pdf = tmp.path().join(format!("{name}.pdf"));
        congvan([
            "dispatch".as_ref(),
            "render".as_ref(),
            cvd.as_os_str(),
            "--out".as_ref(),
            pdf.as_os_str(),
            "--trust".as_ref(),
            root.as_os_str(),
        ])
        .assert_ok();
        std::fs::copy(&pdf, artifacts().join(format!("{name}.pdf"))).unwrap();
        assert!(
            std::fs::metadata(&pdf).unwrap().len() < 100_000,
            "{name}: PDF over 100 KB"
        );
        qpdf_check(&pdf);

        let show = congvan([
            "dispatch".as_ref(),
            "show".as_ref(),
            cvd.as_os_str(),
            "--json".as_ref(),
        ]);
        show.assert_ok();
        let meta: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
        let text = pdftotext(&pdf);
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for field in [
            &meta["subject"],
            &meta["number"],
            &meta["signer"]["full_name"],
        ] {
            let want: String = field.as_str().unwrap().nfc().collect();
            assert!(
                flat.contains(&want),
                "{name}: {want:?} not in the PDF text:\n{text}"
            );
        }
        for recipient in meta["to"].as_array().unwrap() {
            let want: String = recipient["name"].as_str().unwrap().nfc().collect();
            assert!(
                flat.contains(&want),
                "{name}: recipient {want:?} not in the PDF text:\n{text}"
            );
        }
        if meta["urgency"] == 3 {
            assert!(flat.contains("HỎA TỐC"), "{name}: urgency mark missing");
        }

        let envelope = congvan_envelope::Envelope::open(&cvd).unwrap();
        let expected = format!(
            "congvan:1:{}:{}",
            meta["id"].as_str().unwrap(),
            congvan_envelope::sha256_hex(envelope.manifest_bytes())
        );
        assert_eq!(decode_qr(&pdf, name), expected, "{name}");
    }
}

/// A dispatch that fails verification is not rendered when --trust is given.
#[test]
fn a_failing_dispatch_is_not_rendered() {
    let tmp = tempfile::tempdir().unwrap();
    let pdf = tmp.path().join("x.pdf");
    let out = congvan([
        "dispatch".as_ref(),
        "render".as_ref(),
        repo().join("fixtures/tampered-metadata.cvd").as_os_str(),
        "--out".as_ref(),
        pdf.as_os_str(),
        "--trust".as_ref(),
        repo().join("certs/root/cert.pem").as_os_str(),
    ]);
    out.assert_code(1);
    assert!(out.stderr.contains("did not verify"), "{out}");
    assert!(!pdf.exists());
}

/// Without --trust nothing is verified, so nothing may look signed: the
/// page says "CHƯA XÁC THỰC" and carries no signature or seal box, for a
/// genuine, a tampered and a forged dispatch alike. With --trust, a valid
/// one shows its signatures and no stamp.
#[test]
fn an_unverified_render_is_stamped_and_shows_no_signature() {
    let tmp = tempfile::tempdir().unwrap();
    for name in [
        "valid-cong-van-pdf.cvd",
        "tampered-metadata.cvd",
        "other-office-signer.cvd",
    ] {
        let pdf = tmp.path().join(format!("{name}.pdf"));
        let out = congvan([
            "dispatch".as_ref(),
            "render".as_ref(),
            repo().join("fixtures").join(name).as_os_str(),
            "--out".as_ref(),
            pdf.as_os_str(),
        ]);
        out.assert_ok();
        let text = pdftotext(&pdf);
        assert!(text.contains("CHƯA XÁC THỰC"), "{name}: {text}");
        assert!(!text.contains("Ký số bởi"), "{name}: {text}");
        assert!(!text.contains("Thời gian ký"), "{name}: {text}");
        qpdf_check(&pdf);
    }
    let pdf = tmp.path().join("verified.pdf");
    congvan([
        "dispatch".as_ref(),
        "render".as_ref(),
        repo().join("fixtures/valid-cong-van-pdf.cvd").as_os_str(),
        "--out".as_ref(),
        pdf.as_os_str(),
        "--trust".as_ref(),
        repo().join("certs/root/cert.pem").as_os_str(),
    ])
    .assert_ok();
    let text = pdftotext(&pdf);
    assert!(text.contains("Ký số bởi"), "{text}");
    assert!(!text.contains("CHƯA XÁC THỰC"), "{text}");
}

/// The auditor's report names the result, each signature and attachment hash.
#[test]
fn verification_report_pdf_states_the_findings() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, code, words) in [
        (
            "valid-cong-van-pdf",
            0,
            vec!["PASSED", "Lê Văn Cường", "ke-hoach.pdf"],
        ),
        ("tampered-attachment", 1, vec!["FAILED", "HASH_FAILURE"]),
    ] {
        let pdf = tmp.path().join(format!("{name}-report.pdf"));
        let out = congvan([
            "dispatch".as_ref(),
            "verify".as_ref(),
            repo().join(format!("fixtures/{name}.cvd")).as_os_str(),
            "--trust".as_ref(),
            repo().join("certs/root/cert.pem").as_os_str(),
            "--report-pdf".as_ref(),
            pdf.as_os_str(),
        ]);
        out.assert_code(code);
        qpdf_check(&pdf);
        std::fs::copy(&pdf, artifacts().join(format!("{name}-report.pdf"))).unwrap();
        let text = pdftotext(&pdf);
        for word in words {
            assert!(
                text.contains(word),
                "{name}: {word:?} missing from the report:\n{text}"
            );
        }
        let pages = run(Command::new("pdfinfo").arg(&pdf));
        pages.assert_ok();
        assert!(
            pages
                .stdout
                .lines()
                .any(|l| l.starts_with("Pages:") && l.trim_end().ends_with(" 1")),
            "{pages}"
        );
    }
}

/// Decree 30's three-line signature block ("TM. …" / "KT. …" / the deputy's
/// position) and the "Nơi nhận" block as the issuer wrote it, ending with
/// its archive line, print in that order: here on a dispatch that came in
/// from the national exchange carrying both.
#[test]
fn a_three_line_signer_block_and_the_archive_line_print_as_decree_30_lays_them_out() {
    let tmp = tempfile::tempdir().unwrap();
    let cvd = tmp.path().join("imported.cvd");
    congvan([
        "edxml".as_ref(),
        "import".as_ref(),
        repo()
            .join("fixtures/edxml/multi-recipient.edxml")
            .as_os_str(),
        "--identity".as_ref(),
        repo().join("certs/H99/office").as_os_str(),
        "--registry".as_ref(),
        repo().join("certs/registry.toml").as_os_str(),
        "--out".as_ref(),
        cvd.as_os_str(),
    ])
    .assert_ok();
    let pdf = tmp.path().join("imported.pdf");
    render_verified(&cvd, &pdf);
    qpdf_check(&pdf);
    let text = pdftotext(&pdf);
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from:\n{text}"))
    };
    assert!(at("TM. BAN CHỈ ĐẠO") < at("KT. TRƯỞNG BAN"), "{text}");
    assert!(at("KT. TRƯỞNG BAN") < at("PHÓ TRƯỞNG BAN"), "{text}");
    assert!(at("PHÓ TRƯỞNG BAN") < at("Nguyễn Văn Minh"), "{text}");
    assert!(at("Như trên;") < at("Lưu: VT, VP, KSTT."), "{text}");
    assert!(text.contains("UBND các huyện (để biết);"), "{text}");
    // The subject came with its own "V/v": printed once.
    assert!(text.contains("V/v triển khai"), "{text}");
    assert!(!text.contains("V/v V/v"), "{text}");
}
