//! Adding a signature never breaks the ones already there, whatever the
//! order: signer then seal, seal then signer, a countersignature by an
//! official of another office, and an authenticated copy by another office.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use congvan_envelope::{Envelope, SignatureRole};

/// The raw JWS entries of a file, to show earlier ones are kept byte for byte.
fn jws_entries(file: &std::path::Path) -> Vec<(String, congvan_envelope::Jws)> {
    Envelope::open(file)
        .unwrap()
        .signatures()
        .iter()
        .map(|s| (s.entry.clone(), s.jws.clone()))
        .collect()
}

#[test]
fn signer_then_seal_both_pass_and_the_seal_covers_the_signer() {
    let demo = Demo::new();
    let file = simple_dispatch(demo.tmp.path(), "a.cvd");
    demo.sign(&file, "H99.01/official", SignatureRole::Signer);
    let before = jws_entries(&file);
    assert_all_passed(&verify(&file, &demo.trust()), 1);

    demo.sign(&file, "H99.01/office", SignatureRole::Seal);
    let report = verify(&file, &demo.trust());
    assert_all_passed(&report, 2);
    assert_eq!(report.signatures[0].role, Some(SignatureRole::Signer));
    assert_eq!(report.signatures[1].role, Some(SignatureRole::Seal));
    assert_eq!(report.signatures[0].covers, 0);
    assert_eq!(report.signatures[1].covers, 1);
    // The signer's entry is untouched by the seal.
    assert_eq!(jws_entries(&file)[..1], before[..]);
}

#[test]
fn seal_then_signer_passes_with_a_seal_covering_nothing() {
    let demo = Demo::new();
    let file = simple_dispatch(demo.tmp.path(), "a.cvd");
    demo.sign(&file, "H99.01/office", SignatureRole::Seal);
    // A seal alone is no complete dispatch: no official of the issuer signed.
    let report = verify(&file, &demo.trust());
    assert_eq!(
        overall(&report),
        (
            congvan_envelope::Indication::Indeterminate,
            Some(congvan_envelope::SubIndication::SigConstraintsFailure)
        ),
        "{report}"
    );
    assert_eq!(
        of_signature(&report, 0),
        (congvan_envelope::Indication::Passed, None)
    );

    demo.sign(&file, "H99.01/official", SignatureRole::Signer);
    let report = verify(&file, &demo.trust());
    assert_all_passed(&report, 2);
    assert_eq!(report.signatures[0].role, Some(SignatureRole::Seal));
    assert_eq!(report.signatures[0].covers, 0);
    assert_eq!(report.signatures[1].role, Some(SignatureRole::Signer));
    assert_eq!(report.signatures[1].covers, 0, "a signer covers nothing");
}

#[test]
fn signer_countersign_seal_then_copy_by_another_office_all_pass() {
    let demo = Demo::new();
    let file = simple_dispatch(demo.tmp.path(), "a.cvd");
    demo.sign(&file, "H99.01/official", SignatureRole::Signer);
    // An official of another office (district H99.02) countersigns.
    demo.sign(&file, "H99.02/official", SignatureRole::Countersign);
    let two = jws_entries(&file);
    assert_all_passed(&verify(&file, &demo.trust()), 2);

    demo.sign(&file, "H99.01/office", SignatureRole::Seal);
    let three = jws_entries(&file);
    assert_eq!(three[..2], two[..]);
    let report = verify(&file, &demo.trust());
    assert_all_passed(&report, 3);
    assert_eq!(report.signatures[2].covers, 2);

    // The commune that received it makes an authenticated copy (SAO Y).
    demo.sign(&file, "H99.01.01/office", SignatureRole::Copy);
    assert_eq!(jws_entries(&file)[..3], three[..]);
    let report = verify(&file, &demo.trust());
    assert_all_passed(&report, 4);
    let roles: Vec<_> = report.signatures.iter().map(|s| s.role.unwrap()).collect();
    assert_eq!(
        roles,
        [
            SignatureRole::Signer,
            SignatureRole::Countersign,
            SignatureRole::Seal,
            SignatureRole::Copy
        ]
    );
    assert_eq!(report.signatures[3].covers, 3);
    assert_eq!(report.signatures[3].org.as_deref(), Some("H99.01.01"));
    assert_eq!(report.signatures[1].org.as_deref(), Some("H99.02"));
}

#[test]
fn countersign_before_the_signer_is_fine_too() {
    let demo = Demo::new();
    let file = simple_dispatch(demo.tmp.path(), "a.cvd");
    demo.sign(&file, "H99.02/official", SignatureRole::Countersign);
    demo.sign(&file, "H99.01/official", SignatureRole::Signer);
    demo.sign(&file, "H99.01/office", SignatureRole::Seal);
    assert_all_passed(&verify(&file, &demo.trust()), 3);
}

/// Signing twice through the same opened `Envelope` must keep both
/// signatures: the second must not be written over the first.
#[test]
fn signing_twice_through_one_opened_envelope_keeps_both() {
    let demo = Demo::new();
    let file = simple_dispatch(demo.tmp.path(), "a.cvd");
    let mut envelope = Envelope::open(&file).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let first = sign_in(
        &mut envelope,
        &demo.cred("H99.01", "official"),
        SignatureRole::Signer,
        now,
    )
    .unwrap();
    let second = sign_in(
        &mut envelope,
        &demo.cred("H99.01", "office"),
        SignatureRole::Seal,
        now,
    )
    .unwrap();
    assert_ne!(first.entry, second.entry);
    assert_eq!(second.covers, 1, "the seal must cover the signer");
    assert_eq!(envelope.signatures().len(), 2);
    let report = verify(&file, &demo.trust());
    assert_all_passed(&report, 2);
    assert_eq!(report.signatures[1].covers, 1);
}
