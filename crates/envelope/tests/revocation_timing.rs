//! Revocation against the claimed signing time: revoked before it is
//! FAILED/REVOKED; revoked after it is INDETERMINATE/REVOKED_NO_POE (the
//! claim alone proves nothing); a revoked CA is
//! INDETERMINATE/REVOKED_CA_NO_POE.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use congvan_envelope::{Indication, SignatureRole, SubIndication};
use congvan_sign::{Credential, Role, TrustStore};
use time::OffsetDateTime;

struct Setup {
    tmp: tempfile::TempDir,
    hierarchy: Hierarchy,
    official: Credential,
}

fn setup() -> Setup {
    let hierarchy = Hierarchy::from(days_ago(100));
    let official = hierarchy.leaf(Role::Official, "H99.01", days_ago(50), 365);
    Setup {
        tmp: tempfile::tempdir().unwrap(),
        hierarchy,
        official,
    }
}

/// A dispatch signed by `official` at `signed_at`.
fn signed_at(s: &Setup, signed_at: OffsetDateTime) -> PathBuf {
    let meta = metadata_at("H99.01", &["H99.01.01"], signed_at);
    let file = new_dispatch(s.tmp.path(), "d.cvd", &meta, &[("a.pdf", b"%PDF-1.4\n")]);
    sign_at(&file, &s.official, SignatureRole::Signer, signed_at);
    file
}

/// A trust store with a CRL from `issuer` revoking `revoked` at `at`.
fn trust_with_crl(
    s: &Setup,
    issuer: &Credential,
    revoked: &Credential,
    at: OffsetDateTime,
    dir: &Path,
) -> TrustStore {
    s.hierarchy.trust_revoking(issuer, revoked, at, dir)
}

#[test]
fn revoked_before_the_claimed_signing_time_is_failed_revoked() {
    let s = setup();
    let file = signed_at(&s, days_ago(1));
    let trust = trust_with_crl(&s, &s.hierarchy.ca, &s.official, days_ago(2), s.tmp.path());
    let report = verify(&file, &trust);
    let expected = (Indication::Failed, Some(SubIndication::Revoked));
    assert_eq!(of_signature(&report, 0), expected, "{report}");
    assert_eq!(overall(&report), expected, "{report}");
    // Without the CRL the same file passes: the verdict is the CRL's doing.
    assert_all_passed(&verify(&file, &s.hierarchy.trust()), 1);
}

#[test]
fn revoked_after_the_claimed_signing_time_is_revoked_no_poe() {
    let s = setup();
    let file = signed_at(&s, days_ago(2));
    let trust = trust_with_crl(&s, &s.hierarchy.ca, &s.official, days_ago(1), s.tmp.path());
    let report = verify(&file, &trust);
    let expected = (Indication::Indeterminate, Some(SubIndication::RevokedNoPoe));
    assert_eq!(of_signature(&report, 0), expected, "{report}");
    assert_eq!(overall(&report), expected, "{report}");

    // A custody receipt from before the revocation is not accepted as
    // proof for a revoked key (a signature timestamp is: see
    // signature_timestamps.rs): the result stays REVOKED_NO_POE, and the
    // report says so.
    let relay = s.hierarchy.leaf(Role::Relay, "H99.01", days_ago(50), 365);
    let receipt = custody_receipt(
        &file,
        &relay,
        "H99.01",
        signature_digests(&file),
        days_ago(2) + time::Duration::hours(1),
    );
    append(&file, &receipt);
    let report = verify(&file, &trust);
    assert!(report.receipts[0].valid, "{report}");
    assert_eq!(of_signature(&report, 0), expected, "{report}");
    assert!(
        report.signatures[0]
            .detail
            .contains("a receipt's own time is not accepted as proof against a revocation"),
        "{}",
        report.signatures[0].detail
    );
}

#[test]
fn revoked_ca_is_revoked_ca_no_poe() {
    let s = setup();
    let file = signed_at(&s, days_ago(2));
    // The root revokes the provincial CA that issued the official.
    let trust = trust_with_crl(
        &s,
        &s.hierarchy.root,
        &s.hierarchy.ca,
        days_ago(1),
        s.tmp.path(),
    );
    let report = verify(&file, &trust);
    let expected = (
        Indication::Indeterminate,
        Some(SubIndication::RevokedCaNoPoe),
    );
    assert_eq!(of_signature(&report, 0), expected, "{report}");
    assert_eq!(overall(&report), expected, "{report}");
}
