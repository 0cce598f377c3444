//! Signature timestamps (JAdES B-T) as proof of existence: a signature
//! whose certificate expired or was revoked after its timestamp stays
//! PASSED; without the timestamp the same signature is INDETERMINATE; a
//! revocation before the timestamp is FAILED/REVOKED; a timestamp that
//! does not belong to the signature fails it; a stripped timestamp, or one
//! from a revoked or subordinate TSA, proves nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use congvan_envelope::{Envelope, Indication, SignatureRole, SubIndication};
use congvan_sign::{Credential, Role, TrustStore};
use congvan_tsa::Authority;
use time::{Duration, OffsetDateTime};

struct Story {
    tmp: tempfile::TempDir,
    hierarchy: Hierarchy,
    /// An official whose certificate was valid from 100 to 70 days ago.
    official: Credential,
    tsa: Authority,
}

fn story() -> Story {
    let hierarchy = Hierarchy::from(days_ago(400));
    let official = hierarchy.leaf(Role::Official, "H99.01", days_ago(100), 30);
    let tsa = hierarchy.tsa(days_ago(300), 3000);
    Story {
        tmp: tempfile::tempdir().unwrap(),
        hierarchy,
        official,
        tsa,
    }
}

/// A dispatch the official signed 90 days ago, with a timestamp from then
/// (`stamped`) or without.
fn signed_90_days_ago(s: &Story, name: &str, stamped: bool) -> PathBuf {
    if stamped {
        return stamped_by(s, name, &s.tsa, Some(&s.hierarchy.trust()));
    }
    let at = days_ago(90);
    let meta = metadata_at("H99.01", &["H99.01.01"], at);
    let file = new_dispatch(s.tmp.path(), name, &meta, &[("a.pdf", b"%PDF-1.4\n")]);
    sign_at(&file, &s.official, SignatureRole::Signer, at);
    file
}

/// A dispatch the official signed 90 days ago, timestamped a minute later
/// by `tsa`, its reply checked under `trust` (or taken unchecked).
fn stamped_by(s: &Story, name: &str, tsa: &Authority, trust: Option<&TrustStore>) -> PathBuf {
    let at = days_ago(90);
    let meta = metadata_at("H99.01", &["H99.01.01"], at);
    let file = new_dispatch(s.tmp.path(), name, &meta, &[("a.pdf", b"%PDF-1.4\n")]);
    let stamp_at = at + Duration::minutes(1);
    sign_timestamped(
        &file,
        &s.official,
        SignatureRole::Signer,
        at,
        tsa,
        stamp_at,
        trust,
    );
    file
}

/// The hierarchy's trust store with a CRL of the provincial CA revoking
/// the official at `revoked_at`.
fn trust_revoking(s: &Story, revoked_at: OffsetDateTime) -> TrustStore {
    s.hierarchy
        .trust_revoking(&s.hierarchy.ca, &s.official, revoked_at, s.tmp.path())
}

/// A copy of `file` named `name` whose first signature carries `header` as
/// its unprotected header: the part of a signature anyone on the way can
/// change without breaking the signature.
fn with_header(
    s: &Story,
    file: &Path,
    name: &str,
    header: Option<congvan_envelope::UnprotectedHeader>,
) -> PathBuf {
    let envelope = Envelope::open(file).unwrap();
    let entry = envelope.signatures()[0].entry.clone();
    let mut jws = envelope.signatures()[0].jws.clone();
    jws.header = header;
    let altered = s.tmp.path().join(name);
    rewrite_container(file, &altered, |n, bytes| {
        Some(if n == entry {
            serde_json::to_vec(&jws).unwrap()
        } else {
            bytes
        })
    });
    altered
}

/// The unprotected header of the first signature of `file`.
fn header_of(file: &Path) -> Option<congvan_envelope::UnprotectedHeader> {
    Envelope::open(file).unwrap().signatures()[0]
        .jws
        .header
        .clone()
}

#[test]
fn a_timestamped_signature_outlives_its_certificate() {
    let s = story();
    let stamped = signed_90_days_ago(&s, "stamped.cvd", true);
    let bare = signed_90_days_ago(&s, "bare.cvd", false);
    let trust = s.hierarchy.trust();
    // Today the certificate has been expired for 70 days.
    let report = verify(&stamped, &trust);
    assert_eq!(overall(&report), (Indication::Passed, None), "{report}");
    let signature = &report.signatures[0];
    assert!(
        signature.detail.contains("timestamp proves"),
        "{}",
        signature.detail
    );
    assert!(
        signature
            .timestamp
            .as_deref()
            .is_some_and(|t| t.contains("tsa H99")),
        "{report}"
    );
    // And a year from now.
    let report = verify_at(&stamped, &trust, days_ago(-365));
    assert_eq!(overall(&report), (Indication::Passed, None), "{report}");

    let report = verify(&bare, &trust);
    let expected = (
        Indication::Indeterminate,
        Some(SubIndication::OutOfBoundsNoPoe),
    );
    assert_eq!(overall(&report), expected, "{report}");
}

#[test]
fn a_timestamped_signature_survives_a_later_revocation_but_not_an_earlier_one() {
    let s = story();
    let stamped = signed_90_days_ago(&s, "stamped.cvd", true);
    let bare = signed_90_days_ago(&s, "bare.cvd", false);

    // Revoked 80 days ago, after the signature and its timestamp.
    let later = trust_revoking(&s, days_ago(80));
    let report = verify(&stamped, &later);
    assert_eq!(overall(&report), (Indication::Passed, None), "{report}");
    assert!(
        report.signatures[0].detail.contains("was revoked at"),
        "{}",
        report.signatures[0].detail
    );
    let report = verify(&bare, &later);
    let expected = (Indication::Indeterminate, Some(SubIndication::RevokedNoPoe));
    assert_eq!(overall(&report), expected, "{report}");

    // Revoked 95 days ago, before the signature: nothing saves it.
    let earlier = trust_revoking(&s, days_ago(95));
    let report = verify(&stamped, &earlier);
    let expected = (Indication::Failed, Some(SubIndication::Revoked));
    assert_eq!(overall(&report), expected, "{report}");

    // Revoked between the claimed signing time and the timestamp: the
    // timestamp is the first proof, and it comes after the revocation.
    let s2 = story();
    let at = days_ago(90);
    let meta = metadata_at("H99.01", &["H99.01.01"], at);
    let file = new_dispatch(
        s2.tmp.path(),
        "late.cvd",
        &meta,
        &[("a.pdf", b"%PDF-1.4\n")],
    );
    let trust = s2.hierarchy.trust();
    sign_timestamped(
        &file,
        &s2.official,
        SignatureRole::Signer,
        at,
        &s2.tsa,
        days_ago(85),
        Some(&trust),
    );
    let report = verify(&file, &trust_revoking(&s2, days_ago(88)));
    let expected = (Indication::Failed, Some(SubIndication::Revoked));
    assert_eq!(overall(&report), expected, "{report}");
}

#[test]
fn a_timestamp_of_another_signature_or_from_an_untrusted_tsa_does_not_count() {
    let s = story();
    let stamped = signed_90_days_ago(&s, "stamped.cvd", true);
    let other = signed_90_days_ago(&s, "other.cvd", true);

    // Move the timestamp of one signature onto the other.
    let moved = with_header(&s, &other, "moved.cvd", header_of(&stamped));
    let report = verify(&moved, &s.hierarchy.trust());
    let expected = (Indication::Failed, Some(SubIndication::HashFailure));
    assert_eq!(overall(&report), expected, "{report}");
    assert!(report.summary.contains("does not belong"), "{report}");

    // A TSA under another root: the token is set aside, and the expired
    // certificate has no proof of existence.
    let stranger = Hierarchy::from(days_ago(400));
    let foreign = stranger.tsa(days_ago(300), 3000);
    let file = stamped_by(&s, "foreign.cvd", &foreign, Some(&stranger.trust()));
    let report = verify(&file, &s.hierarchy.trust());
    let expected = (
        Indication::Indeterminate,
        Some(SubIndication::OutOfBoundsNoPoe),
    );
    assert_eq!(overall(&report), expected, "{report}");
    assert!(report.summary.contains("not used"), "{report}");
}

#[test]
fn an_unreadable_or_overlong_etsiu_is_a_format_failure() {
    let s = story();
    let stamped = signed_90_days_ago(&s, "stamped.cvd", true);
    let good_element = header_of(&stamped).unwrap().etsi_u[0].clone();
    let cases = [
        ("garbage.cvd", vec!["not*base64".to_string()]),
        // BASE64URL of {"arcTst":{}}: a property congvan does not read.
        ("unknown.cvd", vec!["eyJhcmNUc3QiOnt9fQ".to_string()]),
        ("overlong.cvd", vec![good_element; 5]),
    ];
    for (name, etsi_u) in cases {
        let header = Some(congvan_envelope::UnprotectedHeader { etsi_u });
        let altered = with_header(&s, &stamped, name, header);
        let report = verify(&altered, &s.hierarchy.trust());
        let expected = (Indication::Failed, Some(SubIndication::FormatFailure));
        assert_eq!(overall(&report), expected, "{name}: {report}");
    }
}

#[test]
fn a_timestamp_from_a_tsa_of_a_provincial_ca_is_not_proof() {
    // A province certifying its own TSA could back-date timestamps for its
    // officials' expired or revoked keys: only a TSA the root certifies counts.
    let s = story();
    let provincial = Authority::new(
        s.hierarchy.leaf(Role::Tsa, "H99", days_ago(300), 3000),
        "1.2.3.4.1",
    )
    .unwrap();
    let file = stamped_by(&s, "provincial.cvd", &provincial, None);
    let report = verify(&file, &s.hierarchy.trust());
    let expected = (
        Indication::Indeterminate,
        Some(SubIndication::OutOfBoundsNoPoe),
    );
    assert_eq!(overall(&report), expected, "{report}");
    assert!(report.summary.contains("subordinate CA"), "{report}");
}

#[test]
fn a_stripped_timestamp_leaves_the_signature_without_proof_not_failed() {
    // The unprotected header is not signed: a relay or anyone on the way
    // can remove the timestamp. The signature itself stays intact, so the
    // result falls back to what the signature alone proves (INDETERMINATE
    // once the certificate has expired), never to FAILED and never PASSED.
    let s = story();
    let stamped = signed_90_days_ago(&s, "stamped.cvd", true);
    assert!(header_of(&stamped).is_some());
    let stripped = with_header(&s, &stamped, "stripped.cvd", None);
    let report = verify(&stripped, &s.hierarchy.trust());
    let expected = (
        Indication::Indeterminate,
        Some(SubIndication::OutOfBoundsNoPoe),
    );
    assert_eq!(overall(&report), expected, "{report}");
    assert!(report.signatures[0].timestamp.is_none(), "{report}");
}

#[test]
fn a_timestamp_from_a_revoked_tsa_is_not_proof_unless_the_tsa_merely_stopped() {
    // RFC 3161 §4. A TSA whose key was compromised could date anything:
    // once the root revokes its certificate for that (or with no reason),
    // all its tokens are set aside, even those made before, and the expired
    // signature they were to save has no proof of existence.
    use congvan_sign::RevocationReason as Reason;
    let s = story();
    let stamped = signed_90_days_ago(&s, "stamped.cvd", true);
    let revoked = |at: OffsetDateTime, reason: Reason| {
        let (root, tsa) = (&s.hierarchy.root, s.tsa.credential());
        s.hierarchy
            .trust_revoking_for(root, tsa, at, reason, s.tmp.path())
    };
    let no_proof = (
        Indication::Indeterminate,
        Some(SubIndication::OutOfBoundsNoPoe),
    );
    for (at, reason) in [
        (days_ago(200), Reason::KeyCompromise),
        (days_ago(30), Reason::KeyCompromise),
        (days_ago(200), Reason::CessationOfOperation),
    ] {
        let report = verify(&stamped, &revoked(at, reason));
        assert_eq!(overall(&report), no_proof, "{reason:?}: {report}");
        assert!(report.summary.contains("not used"), "{report}");
        assert!(report.signatures[0].timestamp.is_none(), "{report}");
    }

    // A TSA that stopped (or was superseded) 30 days ago, its key safe:
    // its token from 90 days ago still proves the signature existed.
    for reason in [Reason::CessationOfOperation, Reason::Superseded] {
        let report = verify(&stamped, &revoked(days_ago(30), reason));
        assert_eq!(overall(&report), (Indication::Passed, None), "{report}");
        assert!(report.signatures[0].timestamp.is_some(), "{report}");
    }
}
