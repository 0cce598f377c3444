//! `sign_dispatch` refuses a signature that would not verify (wrong
//! certificate role, another office, an expired certificate, altered
//! content), names the reason, and leaves the file byte for byte as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use congvan_envelope::{Envelope, Error, Limits, SignatureRole};
use congvan_sign::{Credential, LeafRequest, OrgId, Role, SigningKey};
use time::OffsetDateTime;

/// Tries to sign `file`; asserts a refusal whose text contains `why` and
/// that the file is unchanged.
fn assert_refused(file: &Path, cred: &Credential, role: SignatureRole, why: &str) {
    let before = std::fs::read(file).unwrap();
    let mut envelope = Envelope::open(file).unwrap();
    let err = sign_in(&mut envelope, cred, role, OffsetDateTime::now_utc()).unwrap_err();
    assert!(matches!(err, Error::Refused(_)), "not a refusal: {err:?}");
    let text = err.to_string();
    assert!(text.contains(why), "{why:?} not in {text:?}");
    assert!(!err.is_input_error());
    assert_eq!(std::fs::read(file).unwrap(), before, "the file changed");
    assert_no_partial_files(file.parent().unwrap());
}

fn assert_no_partial_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name();
        let name = name.to_string_lossy();
        assert!(!name.ends_with(".partial"), "left behind: {name}");
    }
}

#[test]
fn signer_with_an_office_certificate_is_refused() {
    let demo = Demo::new();
    let file = simple_dispatch(demo.tmp.path(), "a.cvd");
    assert_refused(
        &file,
        &demo.cred("H99.01", "office"),
        SignatureRole::Signer,
        "a signer signature needs a certificate of role official",
    );
    assert_refused(
        &file,
        &demo.cred("H99.01", "relay"),
        SignatureRole::Countersign,
        "needs a certificate of role official",
    );
}

#[test]
fn seal_with_an_official_certificate_is_refused() {
    let demo = Demo::new();
    let file = simple_dispatch(demo.tmp.path(), "a.cvd");
    demo.sign(&file, "H99.01/official", SignatureRole::Signer);
    assert_refused(
        &file,
        &demo.cred("H99.01", "official"),
        SignatureRole::Seal,
        "a seal signature needs a certificate of role office",
    );
    assert_refused(
        &file,
        &demo.cred("H99.01", "official"),
        SignatureRole::Copy,
        "needs a certificate of role office",
    );
}

#[test]
fn signer_or_seal_from_another_office_is_refused() {
    let demo = Demo::new();
    let file = simple_dispatch(demo.tmp.path(), "a.cvd");
    assert_refused(
        &file,
        &demo.cred("H99.02", "official"),
        SignatureRole::Signer,
        "must come from the issuing office H99.01",
    );
    assert_refused(
        &file,
        &demo.cred("H99.02", "office"),
        SignatureRole::Seal,
        "belongs to H99.02",
    );
}

#[test]
fn expired_certificate_is_refused() {
    let demo = Demo::new();
    let file = simple_dispatch(demo.tmp.path(), "a.cvd");
    // Issued by the demo CA: valid for 30 days, from 200 days ago.
    let expired = congvan_sign::issue_leaf_at(
        &demo.ca(),
        &LeafRequest {
            role: Role::Official,
            name: "Lê Văn Cũ".into(),
            org: OrgId::parse("H99.01").unwrap(),
            organization_name: None,
            position: Some("Chủ tịch".into()),
            dns: Vec::new(),
            ips: Vec::new(),
            days: 30,
        },
        SigningKey::generate(congvan_sign::Algorithm::EcdsaP256).unwrap(),
        days_ago(200),
    )
    .unwrap();
    assert_refused(
        &file,
        &expired,
        SignatureRole::Signer,
        "is not valid at the signing time",
    );
}

#[test]
fn altered_attachment_is_refused() {
    let demo = Demo::new();
    let original = simple_dispatch(demo.tmp.path(), "a.cvd");
    demo.sign(&original, "H99.01/official", SignatureRole::Signer);
    // A forger's edit: same size, one byte changed, CRCs recomputed.
    let file = demo.path("altered.cvd");
    rewrite_container(&original, &file, |name, mut bytes| {
        if name == "attachments/cong-van.pdf" {
            bytes[0] ^= 0x20;
        }
        Some(bytes)
    });
    assert_refused(
        &file,
        &demo.cred("H99.01", "office"),
        SignatureRole::Seal,
        "refusing to sign: attachment \"cong-van.pdf\" its SHA-256 is",
    );
    // An attachment of another size.
    let file = demo.path("longer.cvd");
    rewrite_container(&original, &file, |name, mut bytes| {
        if name == "attachments/cong-van.pdf" {
            bytes.push(b'\n');
        }
        Some(bytes)
    });
    assert_refused(
        &file,
        &demo.cred("H99.01", "office"),
        SignatureRole::Seal,
        "but the manifest lists",
    );
    // Edited metadata.
    let file = demo.path("metadata.cvd");
    rewrite_container(&original, &file, |name, bytes| {
        if name == "metadata.json" {
            let text = String::from_utf8(bytes).unwrap();
            return Some(text.replace("thử nghiệm", "thử-nghiệm").into_bytes());
        }
        Some(bytes)
    });
    assert_refused(
        &file,
        &demo.cred("H99.01", "office"),
        SignatureRole::Seal,
        "refusing to sign: metadata.json has SHA-256",
    );
}

/// A byte flipped in place, without fixing the ZIP's CRC-32, is refused
/// the same way.
#[test]
fn attachment_altered_in_place_is_refused() {
    let demo = Demo::new();
    let file = simple_dispatch(demo.tmp.path(), "a.cvd");
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes
        .windows(8)
        .position(|w| w == b"%PDF-1.7")
        .expect("stored attachment");
    bytes[at + 1] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    assert_refused(
        &file,
        &demo.cred("H99.01", "official"),
        SignatureRole::Signer,
        "attachment \"cong-van.pdf\" its stored bytes are altered or damaged",
    );
}

/// A dispatch at the reader's signature limit takes no more: the signer
/// would otherwise write a file that no reader opens.
#[test]
fn signature_beyond_the_reader_limit_is_refused() {
    let demo = Demo::new();
    let file = simple_dispatch(demo.tmp.path(), "a.cvd");
    let limits = Limits {
        max_signatures: 1,
        ..Limits::default()
    };
    let mut envelope = Envelope::open_with(&file, &limits).unwrap();
    let now = OffsetDateTime::now_utc();
    sign_in(
        &mut envelope,
        &demo.cred("H99.01", "official"),
        SignatureRole::Signer,
        now,
    )
    .unwrap();
    let before = std::fs::read(&file).unwrap();
    let err = sign_in(
        &mut envelope,
        &demo.cred("H99.01", "office"),
        SignatureRole::Seal,
        now,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Refused(_)), "{err:?}");
    assert!(
        err.to_string().contains("already carries 1 signatures"),
        "{err}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
    Envelope::open_with(&file, &limits).unwrap();
}
