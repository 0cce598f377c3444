//! Attachments at the edges round-trip through create, open, sign, verify
//! and `copy_attachment`: an empty (0-byte) file, and names with Vietnamese
//! diacritics, given in NFC or NFD, stored in NFC.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use congvan_envelope::{create_dispatch, sha256_hex, AttachmentSource, Envelope, SignatureRole};

/// Streams an attachment out through `copy_attachment`.
fn copy_out(envelope: &mut Envelope, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    envelope
        .copy_attachment(name, &mut out, &mut |_| {})
        .unwrap();
    out
}

#[test]
fn empty_attachment_round_trips_and_verifies() {
    let demo = Demo::new();
    let file = new_dispatch(
        demo.tmp.path(),
        "a.cvd",
        &metadata(),
        &[("rỗng.txt", b""), ("nội dung.txt", b"x")],
    );
    demo.sign(&file, "H99.01/official", SignatureRole::Signer);
    demo.sign(&file, "H99.01/office", SignatureRole::Seal);

    let mut envelope = Envelope::open(&file).unwrap();
    let listed = &envelope.manifest().attachments[0];
    assert_eq!(listed.name, "attachments/rỗng.txt");
    assert_eq!(listed.size, 0);
    assert_eq!(listed.sha256, sha256_hex(b""));
    assert_eq!(
        listed.sha256,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(listed.media_type, "text/plain");
    assert_eq!(envelope.attachments()[0].size, 0);
    assert_eq!(copy_out(&mut envelope, "rỗng.txt"), b"");
    assert_eq!(copy_out(&mut envelope, "nội dung.txt"), b"x");
    let checks = envelope.check_attachments(&mut |_| {}).unwrap();
    assert!(checks.iter().all(|c| c.problem.is_none()), "{checks:?}");
    assert_all_passed(&verify(&file, &demo.trust()), 2);
}

#[test]
fn vietnamese_names_are_stored_in_nfc_and_round_trip() {
    let demo = Demo::new();
    let nfc = "Quyết định số 15 – Kế hoạch phòng chống lụt bão.pdf";
    let nfd_input = "Bie\u{302}n ba\u{309}n ho\u{323}p.docx"; // "Biên bản họp.docx" decomposed
    let nfd_stored = "Biên bản họp.docx";
    let pdf = b"%PDF-1.7\n% tai lieu\n".to_vec();
    let docx = vec![0x50, 0x4b, 3, 4, 0xff, 0x00, 0x10];

    // One attached under a given name, one under its own (NFC) file name.
    let src = demo.path("src");
    std::fs::create_dir_all(&src).unwrap();
    let pdf_path = src.join(nfc);
    std::fs::write(&pdf_path, &pdf).unwrap();
    let docx_path = src.join("b.bin");
    std::fs::write(&docx_path, &docx).unwrap();
    let file = demo.path("vi.cvd");
    let manifest = create_dispatch(
        &metadata(),
        &[
            AttachmentSource::file(&pdf_path),
            AttachmentSource {
                path: docx_path,
                name: Some(nfd_input.to_string()),
                media_type: None,
            },
        ],
        &file,
        &mut |_| {},
    )
    .unwrap();
    let names: Vec<&str> = manifest
        .attachments
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            format!("attachments/{nfc}"),
            format!("attachments/{nfd_stored}")
        ]
    );
    assert_eq!(manifest.attachments[0].media_type, "application/pdf");
    assert_eq!(
        manifest.attachments[1].media_type,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );

    demo.sign(&file, "H99.01/official", SignatureRole::Signer);
    let mut envelope = Envelope::open(&file).unwrap();
    let stored: Vec<&str> = envelope
        .attachments()
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(stored, [nfc, nfd_stored]);
    assert_eq!(copy_out(&mut envelope, nfc), pdf);
    assert_eq!(copy_out(&mut envelope, nfd_stored), docx);
    // The decomposed spelling is not a second name for it.
    let mut sink = Vec::new();
    assert!(envelope
        .copy_attachment(nfd_input, &mut sink, &mut |_| {})
        .is_err());
    assert_all_passed(&verify(&file, &demo.trust()), 1);

    // The ZIP entry name is the NFC UTF-8 bytes, flagged as UTF-8, so any
    // unzip tool shows the same name.
    let bytes = std::fs::read(&file).unwrap();
    let needle = format!("attachments/{nfd_stored}");
    assert!(bytes.windows(needle.len()).any(|w| w == needle.as_bytes()));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&file).unwrap()).unwrap();
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().to_string())
        .collect();
    assert!(names.contains(&format!("attachments/{nfc}")), "{names:?}");
}
