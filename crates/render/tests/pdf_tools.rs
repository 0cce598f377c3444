//! Checks the PDFs with real tools, as a reader's software would see them:
//! `pdftotext` must extract the exact Vietnamese text, `qpdf --check` must find no error,
//! `pdffonts` must show embedded subset CID TrueType fonts with a Unicode map, `pdftoppm` must
//! render the page (kept as a PNG under `target/render-artifacts/`), and the QR code on the
//! rendered page must decode back to the payload.
//!
//! Needs poppler-utils and qpdf (`apt-get install -y poppler-utils qpdf`); a missing tool fails
//! the test with a message naming the package.

#![allow(clippy::expect_used, clippy::unwrap_used)] // Tests may panic on setup failures.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use congvan_render::{
    render_dispatch, render_verification_report, CalendarDate, DispatchView, Error,
};
use unicode_normalization::UnicodeNormalization;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Where PDFs and PNGs are kept for people to look at: `target/render-artifacts/`.
fn artifacts() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target>/tmp`; its parent is the target directory.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join("render-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/render-artifacts");
    dir
}

/// Runs `tool` with `args`, failing with the Debian package to install if it is missing.
fn run(tool: &str, package: &str, args: &[&str]) -> std::process::Output {
    match Command::new(tool).args(args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{tool}` is not installed: install the Debian package `{package}` \
             (apt-get install -y {package})"
        ),
        Err(e) => panic!("could not run {tool}: {e}"),
    }
}

/// Writes a PDF to the artifacts directory and returns its path.
fn save(name: &str, pdf: &[u8]) -> PathBuf {
    let path = artifacts().join(name);
    std::fs::write(&path, pdf).expect("write PDF artifact");
    path
}

/// The text `pdftotext` extracts (reading order, UTF-8), NFC-normalised.
fn extract_text(path: &Path) -> String {
    let out = run(
        "pdftotext",
        "poppler-utils",
        &["-enc", "UTF-8", path.to_str().expect("utf-8 path"), "-"],
    );
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Poppler reports malformed content or fonts ("Syntax Error", "Syntax Warning") on stderr.
    assert!(
        out.stderr.is_empty(),
        "pdftotext complained about {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("pdftotext gives UTF-8")
        .nfc()
        .collect()
}

/// Collapses all whitespace runs to one space, so wrapped lines compare as running text.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// NFC form of an expected string.
fn nfc(text: &str) -> String {
    text.nfc().collect()
}

/// Asserts that `qpdf --check` accepts the file without errors or warnings.
fn qpdf_check(path: &Path) {
    let out = run(
        "qpdf",
        "qpdf",
        &["--check", path.to_str().expect("utf-8 path")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("No syntax or stream encoding errors"),
        "qpdf --check {} failed (status {:?}):\n{stdout}\n{}",
        path.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Number of pages according to `pdfinfo`.
fn page_count(path: &Path) -> usize {
    let out = run(
        "pdfinfo",
        "poppler-utils",
        &[path.to_str().expect("utf-8 path")],
    );
    assert!(out.status.success(), "pdfinfo failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("pdfinfo prints Pages:")
}

/// Renders page 1 to `<stem>.png` at `dpi` with pdftoppm and returns the PNG path.
fn render_png(path: &Path, stem: &str, dpi: u32) -> PathBuf {
    let out_base = artifacts().join(stem);
    let dpi = dpi.to_string();
    let out = run(
        "pdftoppm",
        "poppler-utils",
        &[
            "-png",
            "-r",
            &dpi,
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            path.to_str().expect("utf-8 path"),
            out_base.to_str().expect("utf-8 path"),
        ],
    );
    assert!(
        out.status.success(),
        "pdftoppm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = out_base.with_extension("png");
    assert!(png.exists(), "pdftoppm wrote no {}", png.display());
    png
}

/// Decodes every QR code found in a PNG.
fn decode_qr(png: &Path) -> Vec<String> {
    let img = image::open(png).expect("load PNG").to_luma8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        img.get_pixel(x as u32, y as u32)[0]
    });
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, content)| content))
        .collect()
}

/// All the checks every PDF must pass; returns its path.
fn check_common(name: &str, pdf: &[u8]) -> PathBuf {
    assert!(
        pdf.starts_with(b"%PDF-"),
        "{name} does not start with a PDF header"
    );
    let path = save(&format!("{name}.pdf"), pdf);
    qpdf_check(&path);
    render_png(&path, name, 60);
    path
}

#[test]
fn decision_text_extracts_with_exact_diacritics() -> TestResult {
    let view = common::decision();
    let pdf = render_dispatch(&view)?;
    let path = check_common("decision", &pdf);
    assert!(
        pdf.len() < 100 * 1024,
        "one-page dispatch is {} bytes",
        pdf.len()
    );
    assert_eq!(page_count(&path), 1);

    let text = extract_text(&path);
    let squashed = squash(&text);
    for expected in [
        "ỦY BAN NHÂN DÂN TỈNH",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Số: 15/QĐ-UBND",
        "Hà Tĩnh, ngày 05 tháng 01 năm 2026",
        "HỎA TỐC",
        "QUYẾT ĐỊNH",
        "Về việc ban hành Quy chế công tác văn thư",
        "TM. ỦY BAN NHÂN DÂN",
        "KT. CHỦ TỊCH",
        "PHÓ CHỦ TỊCH",
        "Nguyễn Văn An",
        "Ký số bởi: Nguyễn Văn An",
        "Thời gian ký: 05/01/2026 09:30:00 +07:00",
        "Ủy ban nhân dân tỉnh Hà Tĩnh",
        "2026-01-05T09:32:00+07:00",
        "Nơi nhận:",
        "- Như Điều 3;",
        "- Chủ tịch, các PCT UBND tỉnh;",
        "- Lưu: VT, VP.",
    ] {
        assert!(
            text.contains(&nfc(expected)),
            "{expected:?} not extracted; got:\n{text}"
        );
    }
    // Whole paragraphs survive, across line breaks and justification, with single spaces.
    for paragraph in &view.content {
        assert!(
            squashed.contains(&squash(&nfc(paragraph))),
            "paragraph not extracted intact: {paragraph:?}\ngot:\n{text}"
        );
    }
    Ok(())
}

#[test]
fn cong_van_has_subject_under_number_and_red_marks() -> TestResult {
    let pdf = render_dispatch(&common::cong_van())?;
    let path = check_common("cong-van", &pdf);
    assert!(
        pdf.len() < 100 * 1024,
        "one-page dispatch is {} bytes",
        pdf.len()
    );
    assert_eq!(page_count(&path), 1);
    let text = extract_text(&path);
    let squashed = squash(&text);
    for expected in [
        "UBND TỈNH HÀ TĨNH",
        "SỞ NỘI VỤ",
        "Số: 05/SNV-VP",
        "V/v triển khai lưu trữ hồ sơ điện tử năm 2026",
        "Hà Tĩnh, ngày 03 tháng 3 năm 2026",
        "MẬT",
        "THƯỢNG KHẨN",
        "KT. GIÁM ĐỐC",
        "PHÓ GIÁM ĐỐC",
        "Trần Thị Bích Ngọc",
        "- Như trên;",
        "- Giám đốc Sở (để b/c);",
    ] {
        assert!(
            squashed.contains(&nfc(expected)),
            "{expected:?} not extracted; got:\n{text}"
        );
    }
    // A công văn has no document type line.
    assert!(!text.contains("QUYẾT ĐỊNH"));
    Ok(())
}

#[test]
fn qr_code_decodes_to_the_payload() -> TestResult {
    let pdf = render_dispatch(&common::decision())?;
    let path = save("decision-qr.pdf", &pdf);
    // 150 dpi is about 3 pixels per module, the lowest rqrr reads reliably; 200 dpi checks
    // that a sharper scan reads too.
    for dpi in [150, 200] {
        let png = render_png(&path, &format!("decision-qr-{dpi}dpi"), dpi);
        let decoded = decode_qr(&png);
        assert_eq!(
            decoded,
            vec![common::QR_PAYLOAD.to_owned()],
            "QR codes found at {dpi} dpi: {decoded:?}"
        );
    }
    Ok(())
}

#[test]
fn long_dispatch_flows_onto_numbered_pages() -> TestResult {
    let view = common::long_decision();
    let pdf = render_dispatch(&view)?;
    let path = check_common("long-decision", &pdf);
    let pages = page_count(&path);
    assert!(pages >= 3, "expected several pages, got {pages}");
    assert!(
        pdf.len() < 100 * 1024,
        "{pages}-page dispatch is {} bytes",
        pdf.len()
    );
    let text = extract_text(&path);
    // Pages are separated by form feeds; pages 2 and later start with their number, which
    // is dropped here so that paragraphs running across a page break read as one.
    let running: String = text
        .split('\u{c}')
        .enumerate()
        .map(|(i, page)| {
            let page = page.trim_start();
            if i == 0 {
                page.to_owned()
            } else {
                page.trim_start_matches(|c: char| c.is_ascii_digit())
                    .to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let squashed = squash(&running);
    for paragraph in &view.content {
        assert!(
            squashed.contains(&squash(&nfc(paragraph))),
            "lost paragraph {paragraph:?}"
        );
    }
    // The signature block comes after the last article, on the last page.
    let last_article = squashed
        .find(&nfc("Điều 39."))
        .ok_or("last article missing")?;
    let signer = squashed
        .rfind(&nfc("Nguyễn Văn An"))
        .ok_or("signer missing")?;
    assert!(signer > last_article);
    let page2 = text.split('\u{c}').nth(1).ok_or("no page 2")?;
    assert_eq!(page2.split_whitespace().next(), Some("2"));
    let page1 = text.split('\u{c}').next().ok_or("no page 1")?;
    assert!(
        !page1.trim_start().starts_with('1'),
        "page 1 must not be numbered"
    );
    Ok(())
}

#[test]
fn fonts_are_embedded_subset_cid_truetype_with_unicode_maps() -> TestResult {
    let pdf = render_dispatch(&common::decision())?;
    let path = save("decision-fonts.pdf", &pdf);
    let out = run("pdffonts", "poppler-utils", &[path.to_str().ok_or("path")?]);
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    let fonts: Vec<&str> = listing.lines().skip(2).collect();
    assert!(
        fonts.len() >= 4,
        "expected regular, bold, italic, bold italic:\n{listing}"
    );
    for line in fonts {
        // name  type  encoding  emb sub uni  object ID
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert!(
            cols[0].len() > 7 && cols[0].as_bytes()[6] == b'+',
            "not a subset name: {line}"
        );
        assert!(line.contains("CID TrueType"), "not CID TrueType: {line}");
        assert!(line.contains("Identity-H"), "not Identity-H: {line}");
        let flags = &cols[cols.len() - 5..cols.len() - 2];
        assert_eq!(
            flags,
            ["yes", "yes", "yes"],
            "emb/sub/uni not all yes: {line}"
        );
    }
    Ok(())
}

#[test]
fn decomposed_input_extracts_as_nfc() -> TestResult {
    let mut view = common::decision();
    view.signer.full_name = "Nguyễn Văn An".nfd().collect();
    view.subject = view.subject.nfd().collect();
    let pdf = render_dispatch(&view)?;
    let path = save("decision-nfd.pdf", &pdf);
    let text = extract_text(&path);
    assert!(text.contains(&nfc("Nguyễn Văn An")));
    assert!(squash(&text).contains(&nfc("Về việc ban hành Quy chế công tác văn thư")));
    Ok(())
}

#[test]
fn verification_report_fits_one_page_and_extracts() -> TestResult {
    let view = common::report();
    let pdf = render_verification_report(&view)?;
    let path = check_common("report", &pdf);
    assert_eq!(page_count(&path), 1);
    let text = extract_text(&path);
    let squashed = squash(&text);
    let no_space: String = text.split_whitespace().collect();
    for expected in [
        "BÁO CÁO KIỂM TRA CHỮ KÝ SỐ VĂN BẢN ĐIỆN TỬ",
        "15-QD-UBND.cvd",
        "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
        "Kết quả chung: FAILED",
        "REVOKED: chứng thư của chữ ký thứ 2 đã bị thu hồi",
        "Nguyễn Văn An",
        "Vai trò: seal",
        "PASSED",
        "INDETERMINATE",
        "CN=CA tỉnh Hà Tĩnh (minh họa)",
        "quy-che-van-thu.pdf",
        "482.113 byte",
        "Relay UBND huyện Cẩm Xuyên",
        "03 Đã tiếp nhận, vào sổ",
        "05/01/2026 09:30:00",
    ] {
        assert!(
            squashed.contains(&nfc(expected)),
            "{expected:?} not extracted; got:\n{text}"
        );
    }
    for a in &view.attachments {
        assert!(
            no_space.contains(&a.sha256_hex),
            "digest {} not extracted",
            a.sha256_hex
        );
    }
    Ok(())
}

#[test]
fn oversized_report_is_cut_to_one_page() -> TestResult {
    let view = common::huge_report();
    let pdf = render_verification_report(&view)?;
    let path = check_common("huge-report", &pdf);
    assert_eq!(page_count(&path), 1);
    let text = squash(&extract_text(&path));
    assert!(
        text.contains(&nfc("mục khác (and")),
        "no truncation marker:\n{text}"
    );
    assert!(text.contains(&nfc("Kết quả chung: FAILED")));
    // Nothing is drawn below the page: every glyph pdftotext finds is inside the media box,
    // checked through the bounding boxes it reports.
    let out = run(
        "pdftotext",
        "poppler-utils",
        &["-bbox", path.to_str().ok_or("path")?, "-"],
    );
    let html = String::from_utf8_lossy(&out.stdout);
    for word in html.lines().filter(|l| l.contains("<word")) {
        let y_max: f32 = word
            .split("yMax=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .ok_or("no yMax")?;
        assert!(y_max <= 841.9, "text below the page: {word}");
    }
    Ok(())
}

#[test]
fn output_is_deterministic() -> TestResult {
    let a = render_dispatch(&common::decision())?;
    let b = render_dispatch(&common::decision())?;
    assert_eq!(a, b);
    let a = render_verification_report(&common::report())?;
    let b = render_verification_report(&common::report())?;
    assert_eq!(a, b);
    Ok(())
}

#[test]
fn impossible_date_is_an_error() {
    let view = DispatchView {
        date: CalendarDate {
            year: 2026,
            month: 2,
            day: 30,
        },
        ..common::decision()
    };
    assert!(matches!(
        render_dispatch(&view),
        Err(Error::InvalidDate {
            year: 2026,
            month: 2,
            day: 30
        })
    ));
}

#[test]
fn dispatch_without_optional_parts_renders() -> TestResult {
    let mut view = common::decision();
    view.seal = None;
    view.qr_payload = None;
    view.urgency = None;
    view.signer.digital_signature = None;
    view.signer.authority_lines.clear();
    view.recipients.clear();
    let pdf = render_dispatch(&view)?;
    let path = check_common("decision-minimal", &pdf);
    let text = extract_text(&path);
    assert!(!text.contains("Nơi nhận"));
    assert!(text.contains(&nfc("Nguyễn Văn An")));
    Ok(())
}
