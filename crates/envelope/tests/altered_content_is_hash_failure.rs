//! Content changed after signing makes every signature FAILED/HASH_FAILURE
//! (the signatures still verify over the manifest, but the manifest no
//! longer describes the content): an attachment edited by a forger who
//! fixes the ZIP CRCs, an attachment with a byte flipped in place (bad
//! CRC), and edited metadata. The verifier reports; it does not give up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use congvan_envelope::{Indication, SignatureRole, SubIndication};

const HASH_FAILURE: (Indication, Option<SubIndication>) =
    (Indication::Failed, Some(SubIndication::HashFailure));

fn signed_and_sealed(demo: &Demo) -> std::path::PathBuf {
    let file = new_dispatch(
        demo.tmp.path(),
        "a.cvd",
        &metadata(),
        &[
            ("Kế hoạch.pdf", b"%PDF-1.7 ke hoach 2025\n"),
            ("b.txt", b"ok"),
        ],
    );
    demo.sign(&file, "H99.01/official", SignatureRole::Signer);
    demo.sign(&file, "H99.01/office", SignatureRole::Seal);
    assert_all_passed(&verify(&file, &demo.trust()), 2);
    file
}

fn assert_hash_failure(report: &congvan_envelope::VerificationReport, bad: Option<&str>) {
    assert_eq!(overall(report), HASH_FAILURE, "{report}");
    for i in 0..2 {
        assert_eq!(of_signature(report, i), HASH_FAILURE, "{report}");
    }
    for att in &report.attachments {
        assert_eq!(att.ok, Some(att.name.as_str()) != bad, "{report}");
    }
}

#[test]
fn attachment_rewritten_with_correct_crcs_is_hash_failure() {
    let demo = Demo::new();
    let file = signed_and_sealed(&demo);
    let forged = demo.path("forged.cvd");
    rewrite_container(&file, &forged, |name, mut bytes| {
        if name == "attachments/Kế hoạch.pdf" {
            let at = bytes.len() - 2;
            bytes[at] = b'6'; // 2025 -> 2026
        }
        Some(bytes)
    });
    let report = verify(&forged, &demo.trust());
    assert_hash_failure(&report, Some("Kế hoạch.pdf"));
    let problem = report.attachments[0].problem.as_deref().unwrap();
    assert!(problem.contains("its SHA-256 is"), "{problem}");
}

#[test]
fn attachment_flipped_in_place_is_hash_failure_not_an_error() {
    let demo = Demo::new();
    let file = signed_and_sealed(&demo);
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.windows(9).position(|w| w == b"ke hoach ").unwrap();
    bytes[at] = b'K';
    std::fs::write(&file, &bytes).unwrap();
    let report = verify(&file, &demo.trust());
    assert_hash_failure(&report, Some("Kế hoạch.pdf"));
    let problem = report.attachments[0].problem.as_deref().unwrap();
    assert!(problem.contains("altered or damaged"), "{problem}");
    assert!(report.signatures[0].detail.contains("Kế hoạch.pdf"));
}

#[test]
fn edited_metadata_is_hash_failure() {
    let demo = Demo::new();
    let file = signed_and_sealed(&demo);
    let forged = demo.path("forged.cvd");
    rewrite_container(&file, &forged, |name, bytes| {
        if name == "metadata.json" {
            let text = String::from_utf8(bytes).unwrap();
            let edited = text.replace("05/UBND-VP", "06/UBND-VP");
            assert_ne!(edited, text);
            return Some(edited.into_bytes());
        }
        Some(bytes)
    });
    let report = verify(&forged, &demo.trust());
    assert_hash_failure(&report, None);
    assert!(
        report.signatures[0].detail.contains("metadata.json"),
        "{}",
        report.signatures[0].detail
    );
}
