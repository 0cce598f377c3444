//! The gateway clerk and the national exchange: edXML messages come in as
//! `.cvd` dispatches sealed by the gateway office, dispatches go out as
//! edXML, status messages convert both ways, and hostile messages are
//! refused with the reason and nothing written.
//!
//! The messages are the project's own fixtures in `fixtures/edxml/`
//! (`make_fixtures.py`), shaped like the national platform SDK's samples.

use std::path::{Path, PathBuf};
use std::process::Command;

use congvan_edxml::{read_message, read_status, Limits, Message};
use congvan_envelope::Envelope;

use crate::support::process::{
    cli_dispatch, congvan, congvan_bin, run_measuring_peak_rss, tempdir,
};
use crate::support::relays::{certs, root_pem};

fn edxml_fixture(name: &str) -> PathBuf {
    crate::support::process::repo()
        .join("fixtures/edxml")
        .join(name)
}

fn gateway() -> String {
    certs().join("H99/office").display().to_string()
}

fn registry() -> String {
    certs().join("registry.toml").display().to_string()
}

/// The arguments of `congvan edxml import` as the province's gateway office.
fn import_args(message: &Path, out: &Path) -> Vec<String> {
    vec![
        "edxml".into(),
        "import".into(),
        message.display().to_string(),
        "--identity".into(),
        gateway(),
        "--registry".into(),
        registry(),
        "--out".into(),
        out.display().to_string(),
    ]
}

fn export_args(cvd: &Path, out: &Path) -> Vec<String> {
    vec![
        "edxml".into(),
        "export".into(),
        cvd.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ]
}

fn import(message: &Path, out: &Path) -> crate::support::process::Run {
    congvan(import_args(message, out))
}

fn export(cvd: &Path, out: &Path) -> crate::support::process::Run {
    congvan(export_args(cvd, out))
}

/// Reads a message with congvan's reader; its attachment contents live in
/// the returned folder, which must outlive the comparison.
fn read(path: &Path) -> (Message, tempfile::TempDir) {
    let scratch = tempdir();
    let (message, _notes) = read_message(path, scratch.path(), &Limits::default()).unwrap();
    (message, scratch)
}

/// The files inside an attachment: itself, or what its ZIP holds.
fn contents(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    if !bytes.starts_with(b"PK\x03\x04") {
        return vec![(String::new(), bytes)];
    }
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            (entry.name().to_string(), data)
        })
        .collect()
}

fn verify(cvd: &Path) -> crate::support::process::Run {
    congvan([
        "dispatch",
        "verify",
        cvd.to_str().unwrap(),
        "--trust",
        root_pem().to_str().unwrap(),
    ])
}

const MESSAGES: [&str; 7] = [
    "new.edxml",
    "revoke.edxml",
    "update.edxml",
    "replace.edxml",
    "multi-recipient.edxml",
    "zipped-attachments.edxml",
    "via-hub.edxml",
];

#[test]
fn every_message_survives_import_then_export() {
    let dir = tempdir();
    for name in MESSAGES {
        let original = edxml_fixture(name);
        let cvd = dir.path().join(format!("{name}.cvd"));
        let again = dir.path().join(format!("{name}.out.edxml"));
        import(&original, &cvd).assert_ok();
        // The copy verifies on its own: the gateway's seal, not the
        // (placeholder) XML signature, is what congvan vouches for.
        let verdict = verify(&cvd);
        verdict.assert_ok();
        assert!(
            verdict
                .stdout
                .contains("valid authenticated copy by the gateway office H99"),
            "{verdict}"
        );
        export(&cvd, &again).assert_ok();

        let (before, _b) = read(&original);
        let (after, _a) = read(&again);
        assert_eq!(before.header, after.header, "{name}: the header changed");
        assert_eq!(before.attachments.len(), after.attachments.len(), "{name}");
        for (b, a) in before.attachments.iter().zip(&after.attachments) {
            assert_eq!(
                (&b.content_id, &b.name, &b.description, &b.content_type),
                (&a.content_id, &a.name, &a.description, &a.content_type),
                "{name}"
            );
            assert_eq!(contents(&b.path), contents(&a.path), "{name}: {}", b.name);
        }
    }
}

#[test]
fn an_imported_message_becomes_a_dispatch_with_every_field_in_its_place() {
    let dir = tempdir();
    let cvd = dir.path().join("multi.cvd");
    import(&edxml_fixture("multi-recipient.edxml"), &cvd).assert_ok();
    let envelope = Envelope::open(&cvd).unwrap();
    let m = envelope.metadata();
    assert_eq!(m.from.id.to_string(), "G99");
    let to: Vec<String> = m.to.iter().map(|o| o.id.to_string()).collect();
    assert_eq!(to, ["H99", "H99.01", "H99.01.01"]);
    assert_eq!(m.number, "1234/BMH-VP");
    assert_eq!(m.date.to_string(), "2026-11-02");
    assert_eq!(m.due.unwrap().to_string(), "2026-11-30");
    assert_eq!(m.urgency.code(), 1);
    assert_eq!(m.steering.code(), 1);
    // The three-line signature block of Decree 30.
    assert_eq!(
        m.signer.title_lines(),
        ["TM. BAN CHỈ ĐẠO", "KT. TRƯỞNG BAN", "PHÓ TRƯỞNG BAN"]
    );
    assert_eq!(m.signer.full_name, "Nguyễn Văn Minh");
    assert_eq!(
        m.details.places,
        [
            "Như trên;",
            "UBND các huyện (để biết);",
            "Lưu: VT, VP, KSTT."
        ]
    );
    assert_eq!(m.details.typist.as_deref(), Some("NVM"));
    assert_eq!((m.details.copies, m.details.pages), (Some(3), Some(2)));
    let origin = m.details.origin.as_ref().unwrap();
    assert_eq!(origin.gateway.to_string(), "H99");
    assert_eq!(
        origin.document_id.as_deref(),
        Some("000.00.00.G99,2026/11/02,1234/BMH-VP")
    );
    assert_eq!(
        m.details.contact(&m.from.id).unwrap().email.as_deref(),
        Some("vanthu@bominhhoa.example")
    );
    // Importing the same message again gives the same id: a relay drops
    // the second as a duplicate.
    let twice = dir.path().join("twice.cvd");
    import(&edxml_fixture("multi-recipient.edxml"), &twice).assert_ok();
    assert_eq!(Envelope::open(&twice).unwrap().metadata().id, m.id);
}

#[test]
fn zipped_attachments_are_unpacked_and_a_real_zip_is_kept() {
    let dir = tempdir();
    let cvd = dir.path().join("zipped.cvd");
    let run = import(&edxml_fixture("zipped-attachments.edxml"), &cvd);
    run.assert_ok();
    assert!(
        run.stdout
            .contains("\"phu-luc.doc\" is a ZIP: unpacked into phu-luc-1.docx, phu-luc-2.pdf"),
        "{run}"
    );
    let envelope = Envelope::open(&cvd).unwrap();
    let names: Vec<&str> = envelope
        .attachments()
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "1234-KH-BMH.pdf",
            "phu-luc-1.docx",
            "phu-luc-2.pdf",
            "bang-tinh.zip"
        ]
    );
}

#[test]
fn a_congvan_dispatch_survives_export_then_import() {
    let dir = tempdir();
    let pki = certs();
    let body = dir.path().join("body.txt");
    std::fs::write(
        &body,
        "Đề nghị các xã báo cáo trước ngày 15.\nTrân trọng.\n",
    )
    .unwrap();
    let pdf = dir.path().join("ke-hoach.pdf");
    std::fs::write(&pdf, b"%PDF-1.4\n%%EOF\n").unwrap();
    let csv = dir.path().join("so-lieu.csv");
    std::fs::write(&csv, b"xa,so\nCam Thach,3\n").unwrap();
    let cvd = dir.path().join("sent.cvd");
    cli_dispatch(
        &pki,
        &cvd,
        "H99.01.01,H99.01.02",
        "1234/CT-TTHT",
        &[
            "--subject",
            "V/v báo cáo số liệu thuế quý IV",
            "--body",
            body.to_str().unwrap(),
            "--attach",
            pdf.to_str().unwrap(),
            "--attach",
            csv.to_str().unwrap(),
            "--urgency",
            "khan",
            "--due",
            "2099-12-31",
            "--signer-prefix",
            "KT",
            "--signer-authority",
            "CHỦ TỊCH",
            "--signer-on-behalf-of",
            "ỦY BAN NHÂN DÂN",
            "--place-line",
            "Như trên;",
            "--place-line",
            "Lưu: VT, TH.",
        ],
        &["signer", "seal"],
    );
    let sent = Envelope::open(&cvd).unwrap().metadata().clone();
    let message = dir.path().join("sent.edxml");
    export(&cvd, &message).assert_ok();
    // Back in through the gateway of another province's view: H99 imports
    // what H99.01 exported, as it would from a hub. H99.01 is on congvan,
    // so the registry check is what refuses it…
    let back = dir.path().join("back.cvd");
    let refused = import(&message, &back);
    refused.assert_code(1);
    assert!(
        refused.stderr.contains("is an office on congvan"),
        "{refused}"
    );
    assert!(!back.exists());
    // …and with a registry that lists only the gateway (H99.01 then being
    // outside it), every mapped field comes back.
    let empty_registry = dir.path().join("registry.toml");
    std::fs::write(
        &empty_registry,
        "[[office]]\ncode = \"H99\"\nname = \"Tỉnh\"\nlevel = \"province\"\nrelay = \"relay-h99\"\ngateway = true\n",
    )
    .unwrap();
    congvan([
        "edxml",
        "import",
        message.to_str().unwrap(),
        "--identity",
        &gateway(),
        "--registry",
        empty_registry.to_str().unwrap(),
        "--out",
        back.to_str().unwrap(),
    ])
    .assert_ok();
    let mut envelope = Envelope::open(&back).unwrap();
    let got = envelope.metadata().clone();
    assert_eq!(got.from, sent.from);
    assert_eq!(got.to, sent.to);
    assert_eq!(got.number, "1234/CT-TTHT");
    assert_eq!(
        (
            got.place.as_str(),
            got.date,
            got.doc_type,
            got.subject.as_str()
        ),
        (
            sent.place.as_str(),
            sent.date,
            sent.doc_type,
            sent.subject.as_str()
        )
    );
    assert_eq!(got.content, sent.content);
    assert_eq!(got.signer, sent.signer);
    assert_eq!(
        (got.urgency, got.due, got.steering),
        (sent.urgency, sent.due, sent.steering)
    );
    assert_eq!(got.details.places, sent.details.places);
    let names: Vec<String> = envelope
        .attachments()
        .iter()
        .map(|a| a.name.clone())
        .collect();
    assert_eq!(names, ["ke-hoach.pdf", "so-lieu.csv"]);
    let mut pdf_back = Vec::new();
    envelope
        .copy_attachment("ke-hoach.pdf", &mut pdf_back, &mut |_| {})
        .unwrap();
    assert_eq!(pdf_back, std::fs::read(&pdf).unwrap());
}

#[test]
fn all_nine_status_codes_survive_read_then_write() {
    let dir = tempdir();
    for code in congvan_edxml::STATUS_CODES {
        let original = edxml_fixture(&format!("status-{code}.edxml"));
        let shown = congvan(["edxml", "status", original.to_str().unwrap(), "--json"]);
        shown.assert_ok();
        let json = dir.path().join(format!("{code}.json"));
        std::fs::write(&json, &shown.stdout).unwrap();
        let again = dir.path().join(format!("{code}.edxml"));
        congvan([
            "edxml",
            "status",
            "--from-json",
            json.to_str().unwrap(),
            "--out",
            again.to_str().unwrap(),
        ])
        .assert_ok();
        let scratch = tempdir();
        let before = read_status(&original, scratch.path(), &Limits::default()).unwrap();
        let after = read_status(&again, scratch.path(), &Limits::default()).unwrap();
        assert_eq!(before, after, "status {code}");
        assert_eq!(after.status_code, code);
        let human = congvan(["edxml", "status", again.to_str().unwrap()]);
        assert!(
            human.stdout.starts_with(&format!("Status {code} from")),
            "{human}"
        );
    }
}

/// Each hostile message, the words its refusal must contain.
const HOSTILE: [(&str, &str); 6] = [
    (
        "bytes-before-declaration.edxml",
        "before the XML declaration",
    ),
    ("dtd-entities.edxml", "declares a DTD"),
    ("malformed.edxml", "malformed edXML"),
    ("bad-base64.edxml", "base64 content is invalid"),
    ("zip-bomb.edxml", "refused as a ZIP bomb"),
    ("missing-attachment.edxml", "the attachment is missing"),
];

#[test]
fn hostile_messages_are_refused_with_the_reason_and_nothing_is_written() {
    for (name, reason) in HOSTILE {
        let dir = tempdir();
        let out = dir.path().join("out.cvd");
        let run = import(&edxml_fixture(&format!("hostile/{name}")), &out);
        run.assert_code(1);
        assert!(run.stderr.contains(reason), "{name}: {run}");
        assert!(!run.stderr.contains("panicked"), "{run}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{name} left {left:?}");
    }
}

#[test]
fn a_message_in_the_name_of_a_congvan_office_is_refused() {
    let dir = tempdir();
    let forged = dir.path().join("forged.edxml");
    let text = std::fs::read_to_string(edxml_fixture("new.edxml")).unwrap();
    // A hostile hub claims the district on congvan sent it.
    let text = text.replacen("000.00.00.G99", "000.00.01.H99", 1);
    std::fs::write(&forged, text).unwrap();
    let out = dir.path().join("forged.cvd");
    let run = import(&forged, &out);
    run.assert_code(1);
    assert!(
        run.stderr.contains("H99.01 is an office on congvan"),
        "{run}"
    );
    assert!(!out.exists());
}

#[test]
fn a_secret_dispatch_does_not_leave_as_edxml() {
    let dir = tempdir();
    let cvd = dir.path().join("mat.cvd");
    cli_dispatch(
        &certs(),
        &cvd,
        "H99.01.01",
        "07/UBND-VP",
        &[
            "--subject",
            "V/v bảo vệ bí mật nhà nước",
            "--secrecy",
            "mat",
        ],
        &["signer"],
    );
    let out = dir.path().join("mat.edxml");
    let run = export(&cvd, &out);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("a secret dispatch does not leave congvan as edXML"),
        "{run}"
    );
    assert!(!out.exists());
}

/// Writes an edXML message with one attachment of `size` pseudo-random
/// bytes (incompressible, so nothing shrinks it), base64 streamed.
fn message_with_large_attachment(path: &Path, size: usize) {
    use base64::Engine;
    use std::io::Write;
    let text = std::fs::read_to_string(edxml_fixture("new.edxml")).unwrap();
    let start = text.find("<edXML:ContentTransferEncoded").unwrap();
    let open_end = text[start..].find('>').unwrap() + start + 1;
    let close = text.find("</edXML:ContentTransferEncoded>").unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(&text.as_bytes()[..open_end]).unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; 3 * 1024 * 1024];
    let mut written = 0;
    while written < size {
        let n = chunk.len().min(size - written);
        for b in chunk[..n].iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(&chunk[..n]);
        out.write_all(encoded.as_bytes()).unwrap();
        written += n;
    }
    out.write_all(&text.as_bytes()[close..]).unwrap();
    out.flush().unwrap();
}

#[test]
fn a_100_mb_attachment_imports_and_exports_in_flat_memory() {
    const LIMIT: u64 = 64 * 1024 * 1024;
    let dir = tempdir();
    let message = dir.path().join("large.edxml");
    message_with_large_attachment(&message, 100 * 1024 * 1024);
    let cvd = dir.path().join("large.cvd");
    let (run, import_peak) =
        run_measuring_peak_rss(Command::new(congvan_bin()).args(import_args(&message, &cvd)));
    run.assert_ok();
    let again = dir.path().join("again.edxml");
    let (run, export_peak) =
        run_measuring_peak_rss(Command::new(congvan_bin()).args(export_args(&cvd, &again)));
    run.assert_ok();
    eprintln!(
        "100 MB attachment: import peak RSS {} MB, export {} MB",
        import_peak / (1024 * 1024),
        export_peak / (1024 * 1024)
    );
    assert!(import_peak > 0 && export_peak > 0, "no reading of VmHWM");
    assert!(import_peak < LIMIT, "import peaked at {import_peak} bytes");
    assert!(export_peak < LIMIT, "export peaked at {export_peak} bytes");
    let (before, _b) = read(&message);
    let (after, _a) = read(&again);
    assert_eq!(before.attachments[0].size, 100 * 1024 * 1024);
    assert_eq!(
        congvan_envelope::sha256_file(&before.attachments[0].path).unwrap(),
        congvan_envelope::sha256_file(&after.attachments[0].path).unwrap()
    );
}

/// A Word document is a ZIP by design: it stays whole, even declared as a
/// ZIP, instead of being taken apart into its XML parts.
#[test]
fn a_docx_attachment_is_kept_whole() {
    use base64::Engine;
    use std::io::Write;
    let dir = tempdir();
    let mut docx = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, text) in [
        ("[Content_Types].xml", "<Types/>"),
        ("_rels/.rels", "<Relationships/>"),
        ("word/document.xml", "<w:document/>"),
    ] {
        docx.start_file(name, options).unwrap();
        docx.write_all(text.as_bytes()).unwrap();
    }
    let bytes = docx.finish().unwrap().into_inner();
    let text = std::fs::read_to_string(edxml_fixture("new.edxml")).unwrap();
    let start = text.find("<edXML:ContentTransferEncoded").unwrap();
    let open_end = text[start..].find('>').unwrap() + start + 1;
    let close = text.find("</edXML:ContentTransferEncoded>").unwrap();
    let message = format!(
        "{}{}{}",
        &text[..open_end],
        base64::engine::general_purpose::STANDARD.encode(&bytes),
        &text[close..]
    )
    .replace("1234-BMH-VP.pdf", "ke-hoach.docx")
    .replace("application/pdf", "application/zip");
    let path = dir.path().join("docx.edxml");
    std::fs::write(&path, message).unwrap();
    let cvd = dir.path().join("docx.cvd");
    import(&path, &cvd).assert_ok();
    let mut envelope = Envelope::open(&cvd).unwrap();
    let names: Vec<String> = envelope
        .attachments()
        .iter()
        .map(|a| a.name.clone())
        .collect();
    assert_eq!(names, ["ke-hoach.docx"]);
    let mut back = Vec::new();
    envelope
        .copy_attachment("ke-hoach.docx", &mut back, &mut |_| {})
        .unwrap();
    assert_eq!(back, bytes);
}
