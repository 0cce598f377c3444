//! Receipts appended after signing (a relay's custody receipt, a
//! recipient's status message) keep every signature valid, and a bad
//! receipt is reported invalid without failing the dispatch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use congvan_envelope::{
    make_receipt, Envelope, Indication, Jws, SignatureRole, Statement, StatusCode,
    VerificationReport,
};
use congvan_sign::OrgId;
use time::OffsetDateTime;

/// A signed and sealed dispatch from H99.01 to H99.01.01.
fn signed(demo: &Demo) -> PathBuf {
    let file = simple_dispatch(demo.tmp.path(), "a.cvd");
    demo.sign(&file, "H99.01/official", SignatureRole::Signer);
    demo.sign(&file, "H99.01/office", SignatureRole::Seal);
    file
}

fn status_statement(file: &Path, code: StatusCode, by: &str) -> Statement {
    let envelope = Envelope::open(file).unwrap();
    Statement::Status {
        dispatch_id: envelope.metadata().id.clone(),
        manifest_sha256: envelope.manifest().digest().unwrap(),
        code,
        by: OrgId::parse(by).unwrap(),
        time: utc_text(OffsetDateTime::now_utc()),
        note: Some("Đã vào sổ văn bản đến".to_string()),
    }
}

/// Asserts the dispatch still passes, and receipt `i` is invalid for a
/// reason containing `why`.
fn assert_receipt_invalid(report: &VerificationReport, i: usize, why: &str) {
    assert_all_passed(report, 2);
    let receipt = &report.receipts[i];
    assert!(!receipt.valid, "{report}");
    let problem = receipt.problem.as_deref().unwrap_or_default();
    assert!(problem.contains(why), "{why:?} not in {problem:?}");
    assert!(
        report.summary.contains("could not be verified"),
        "{}",
        report.summary
    );
}

#[test]
fn custody_and_status_receipts_keep_every_signature_valid() {
    let demo = Demo::new();
    let file = signed(&demo);
    let digests = signature_digests(&file);
    assert_eq!(digests.len(), 2);

    let custody = custody_receipt(
        &file,
        &demo.cred("H99.01", "relay"),
        "H99.01",
        digests.clone(),
        OffsetDateTime::now_utc(),
    );
    append(&file, &custody);
    let status = make_receipt(
        &status_statement(&file, StatusCode::Accepted, "H99.01.01"),
        &demo.cred("H99.01.01", "office"),
    )
    .unwrap();
    append(&file, &status);

    // The signatures' bytes and digests are untouched.
    assert_eq!(signature_digests(&file), digests);
    let report = verify(&file, &demo.trust());
    assert_all_passed(&report, 2);
    assert_eq!(report.receipts.len(), 2, "{report}");
    for r in &report.receipts {
        assert!(r.valid, "{report}");
        assert_eq!(r.problem, None);
    }
    assert_eq!(report.receipts[0].kind, "custody");
    assert_eq!(report.receipts[1].kind, "status");
    assert_eq!(report.receipts[1].code.as_deref(), Some("03"));
    assert!(!report.summary.contains("could not be verified"));

    // Signing after receipts still works and keeps everything valid: an
    // authenticated copy by the recipient commune.
    demo.sign(&file, "H99.01.01/office", SignatureRole::Copy);
    let report = verify(&file, &demo.trust());
    assert_all_passed(&report, 3);
    assert!(report.receipts.iter().all(|r| r.valid), "{report}");
}

#[test]
fn custody_receipt_signed_by_an_office_is_invalid() {
    let demo = Demo::new();
    let file = signed(&demo);
    // The office certificate of H99.01, not its relay certificate.
    let wrong = custody_receipt(
        &file,
        &demo.cred("H99.01", "office"),
        "H99.01",
        signature_digests(&file),
        OffsetDateTime::now_utc(),
    );
    append(&file, &wrong);
    assert_receipt_invalid(&verify(&file, &demo.trust()), 0, "wrong role");
}

#[test]
fn status_receipt_signed_by_a_relay_or_for_another_office_is_invalid() {
    let demo = Demo::new();
    let file = signed(&demo);
    let by_relay = make_receipt(
        &status_statement(&file, StatusCode::Arrived, "H99.01.01"),
        &demo.cred("H99.01.01", "relay"),
    )
    .unwrap();
    append(&file, &by_relay);
    // Signed by commune H99.01.02's office but claiming to be from H99.01.01.
    let impostor = make_receipt(
        &status_statement(&file, StatusCode::Completed, "H99.01.01"),
        &demo.cred("H99.01.02", "office"),
    )
    .unwrap();
    append(&file, &impostor);
    let report = verify(&file, &demo.trust());
    // A relay certificate lacks contentCommitment, which an office needs.
    assert_receipt_invalid(&report, 0, "certificate is not valid");
    assert_receipt_invalid(&report, 1, "wrong organization");
}

#[test]
fn receipt_about_another_dispatch_or_manifest_is_invalid() {
    let demo = Demo::new();
    let file = signed(&demo);
    let relay = demo.cred("H99.01", "relay");
    let envelope = Envelope::open(&file).unwrap();
    let id = envelope.metadata().id.clone();
    let digest = envelope.manifest().digest().unwrap();
    drop(envelope);
    let statement = |dispatch_id: String, manifest_sha256: String| Statement::Custody {
        dispatch_id,
        manifest_sha256,
        signatures: signature_digests(&file),
        relay: OrgId::parse("H99.01").unwrap(),
        relay_name: "relay-h99-01".into(),
        time: utc_text(OffsetDateTime::now_utc()),
    };
    let other_id = congvan_envelope::metadata::Metadata::new_id();
    append(
        &file,
        &make_receipt(&statement(other_id, digest), &relay).unwrap(),
    );
    append(
        &file,
        &make_receipt(&statement(id, "00".repeat(32)), &relay).unwrap(),
    );
    let report = verify(&file, &demo.trust());
    assert_receipt_invalid(&report, 0, "another dispatch");
    assert_receipt_invalid(&report, 1, "another dispatch or another version");
}

#[test]
fn receipt_with_an_altered_signature_is_invalid() {
    let demo = Demo::new();
    let file = signed(&demo);
    let good = custody_receipt(
        &file,
        &demo.cred("H99.01", "relay"),
        "H99.01",
        signature_digests(&file),
        OffsetDateTime::now_utc(),
    );
    let mut signature = URL_SAFE_NO_PAD.decode(&good.signature).unwrap();
    signature[5] ^= 0x01;
    let altered = Jws {
        signature: URL_SAFE_NO_PAD.encode(&signature),
        ..good.clone()
    };
    append(&file, &altered);
    // And one whose statement was edited after signing (a later time).
    let mut payload = URL_SAFE_NO_PAD
        .decode(good.payload.as_deref().unwrap())
        .unwrap();
    let text = String::from_utf8(payload.clone()).unwrap();
    let edited = text.replace("relay-H99.01", "relay-H99.02");
    assert_ne!(edited, text);
    payload = edited.into_bytes();
    let edited = Jws {
        payload: Some(URL_SAFE_NO_PAD.encode(&payload)),
        ..good
    };
    append(&file, &edited);
    let report = verify(&file, &demo.trust());
    assert_receipt_invalid(&report, 0, "does not verify");
    assert_receipt_invalid(&report, 1, "does not verify");
    assert_eq!(report.indication, Indication::Passed);
}

/// A statement with a member its type does not define is refused, even
/// when properly signed: receipts are a closed format too.
#[test]
fn statement_with_an_unknown_member_is_invalid() {
    let demo = Demo::new();
    let file = signed(&demo);
    let relay = demo.cred("H99.01", "relay");
    let good = custody_receipt(
        &file,
        &relay,
        "H99.01",
        signature_digests(&file),
        OffsetDateTime::now_utc(),
    );
    let payload = URL_SAFE_NO_PAD
        .decode(good.payload.as_deref().unwrap())
        .unwrap();
    let mut statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    statement["hop"] = 3.into();
    let payload = serde_json::to_vec(&statement).unwrap();
    let mut jws = Jws {
        protected: good.protected.clone(),
        payload: Some(URL_SAFE_NO_PAD.encode(&payload)),
        signature: String::new(),
        header: None,
    };
    let input = jws.signing_input(&payload);
    jws.signature = URL_SAFE_NO_PAD.encode(relay.key().sign(&input).unwrap());
    append(&file, &jws);
    assert_receipt_invalid(&verify(&file, &demo.trust()), 0, "unknown field `hop`");
}
