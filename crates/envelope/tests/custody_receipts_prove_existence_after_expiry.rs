//! Proof of existence: a signature whose certificate was valid when it
//! signed but has expired since is INDETERMINATE/OUT_OF_BOUNDS_NO_POE,
//! unless a valid custody receipt from before the expiry covers it.
//!
//! Only the dispatch's own custody chain counts: receipts from the relay
//! serving the sender, then each next relay on the route, in order. A
//! receipt any other relay signs (or back-dates) proves nothing.
//!
//! Uses a back-dated hierarchy: the official's certificate ran from 800 to
//! 435 days ago, and the dispatch was signed 500 days ago.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::*;
use congvan_envelope::{Indication, SignatureRole, SubIndication};
use congvan_sign::{Credential, Role};

struct Setup {
    demo_dir: tempfile::TempDir,
    hierarchy: Hierarchy,
    official: Credential,
    file: PathBuf,
}

fn setup() -> Setup {
    let demo_dir = tempfile::tempdir().unwrap();
    let hierarchy = Hierarchy::from(days_ago(1200));
    let official = hierarchy.leaf(Role::Official, "H99.01", days_ago(800), 365);
    assert!(official.cert().not_after() < days_ago(430));
    let meta = metadata_at("H99.01", &["H99.01.01"], days_ago(500));
    let file = new_dispatch(
        demo_dir.path(),
        "old.cvd",
        &meta,
        &[("ke-hoach.pdf", b"%PDF-1.4 ke hoach\n")],
    );
    sign_at(&file, &official, SignatureRole::Signer, days_ago(500));
    Setup {
        demo_dir,
        hierarchy,
        official,
        file,
    }
}

const NO_POE: (Indication, Option<SubIndication>) = (
    Indication::Indeterminate,
    Some(SubIndication::OutOfBoundsNoPoe),
);

#[test]
fn expired_since_signing_without_receipt_is_out_of_bounds_no_poe() {
    let s = setup();
    let report = verify(&s.file, &s.hierarchy.trust());
    assert_eq!(of_signature(&report, 0), NO_POE, "{report}");
    assert_eq!(overall(&report), NO_POE, "{report}");
    assert!(report.signatures[0]
        .detail
        .contains("no timestamp or relay receipt"));
    // At a time inside the validity it passes: the signature itself is fine.
    let report = verify_at(&s.file, &s.hierarchy.trust(), days_ago(450));
    assert_all_passed(&report, 1);
    let _ = (&s.official, s.demo_dir.path());
}

#[test]
fn custody_receipt_from_before_expiry_makes_it_pass() {
    let s = setup();
    let relay = s.hierarchy.leaf(Role::Relay, "H99.01", days_ago(800), 3000);
    let digest = signature_digests(&s.file);
    let receipt = custody_receipt(&s.file, &relay, "H99.01", digest, days_ago(499));
    append(&s.file, &receipt);
    let report = verify(&s.file, &s.hierarchy.trust());
    assert!(report.receipts[0].valid, "{report}");
    assert_all_passed(&report, 1);
    assert!(
        report.signatures[0].detail.contains("receipt proves"),
        "{}",
        report.signatures[0].detail
    );
}

#[test]
fn receipt_by_a_relay_whose_certificate_has_since_expired_still_counts() {
    let s = setup();
    // Valid from 600 to 400 days ago: at the receipt's time, not now.
    let relay = s.hierarchy.leaf(Role::Relay, "H99.01", days_ago(600), 200);
    let receipt = custody_receipt(
        &s.file,
        &relay,
        "H99.01",
        signature_digests(&s.file),
        days_ago(499),
    );
    append(&s.file, &receipt);
    let report = verify(&s.file, &s.hierarchy.trust());
    assert!(report.receipts[0].valid, "{report}");
    assert_all_passed(&report, 1);
}

#[test]
fn receipts_that_prove_nothing_leave_it_indeterminate() {
    let s = setup();
    let relay = s.hierarchy.leaf(Role::Relay, "H99.01", days_ago(800), 3000);
    let digest = signature_digests(&s.file);
    // Before the expiry, but not covering this signature.
    append(
        &s.file,
        &custody_receipt(
            &s.file,
            &relay,
            "H99.01",
            vec!["ab".repeat(32)],
            days_ago(499),
        ),
    );
    // The next hop (the province relay), covering it, but after the expiry:
    // valid, and too late to prove anything.
    let province = s.hierarchy.leaf(Role::Relay, "H99", days_ago(800), 3000);
    append(
        &s.file,
        &custody_receipt(&s.file, &province, "H99", digest.clone(), days_ago(400)),
    );
    // Before the expiry and covering it, but by a relay whose certificate
    // only began 300 days ago: the receipt itself is invalid.
    let young = s.hierarchy.leaf(Role::Relay, "H99.01", days_ago(300), 3000);
    append(
        &s.file,
        &custody_receipt(&s.file, &young, "H99.01", digest.clone(), days_ago(499)),
    );
    // Before the expiry and covering it, but signed by the office, not a relay.
    let office = s
        .hierarchy
        .leaf(Role::Office, "H99.01", days_ago(800), 3000);
    append(
        &s.file,
        &custody_receipt(&s.file, &office, "H99.01", digest, days_ago(499)),
    );
    let report = verify(&s.file, &s.hierarchy.trust());
    let valid: Vec<bool> = report.receipts.iter().map(|r| r.valid).collect();
    assert_eq!(valid, [true, true, false, false], "{report}");
    assert_eq!(of_signature(&report, 0), NO_POE, "{report}");
    assert_eq!(overall(&report), NO_POE);
}

#[test]
fn a_back_dated_receipt_from_a_relay_off_the_route_proves_nothing() {
    let s = setup();
    let digest = signature_digests(&s.file);
    // Another district's relay, and a commune relay below the sender that
    // the dispatch never passed first: valid certificates, wrong place.
    for (org, name) in [("H99.02", "other district"), ("H99.01.02", "other commune")] {
        let relay = s.hierarchy.leaf(Role::Relay, org, days_ago(800), 3000);
        let file = s.demo_dir.path().join(format!("{org}.cvd"));
        std::fs::copy(&s.file, &file).unwrap();
        append(
            &file,
            &custody_receipt(&file, &relay, org, digest.clone(), days_ago(499)),
        );
        let report = verify(&file, &s.hierarchy.trust());
        assert!(!report.receipts[0].valid, "{name}: {report}");
        let problem = report.receipts[0].problem.as_deref().unwrap();
        assert!(
            problem.contains("cannot be the first on the route"),
            "{problem}"
        );
        assert_eq!(overall(&report), NO_POE, "{name}: {report}");
    }
}

#[test]
fn a_later_hop_back_dated_before_the_chain_proves_nothing() {
    let s = setup();
    let digest = signature_digests(&s.file);
    let district = s.hierarchy.leaf(Role::Relay, "H99.01", days_ago(800), 3000);
    let commune = s
        .hierarchy
        .leaf(Role::Relay, "H99.01.01", days_ago(800), 3000);
    // The sender's relay took custody after the expiry (too late) ...
    append(
        &s.file,
        &custody_receipt(&s.file, &district, "H99.01", digest.clone(), days_ago(420)),
    );
    // ... and the next hop claims an earlier time than its predecessor.
    append(
        &s.file,
        &custody_receipt(&s.file, &commune, "H99.01.01", digest, days_ago(499)),
    );
    let report = verify(&s.file, &s.hierarchy.trust());
    assert!(report.receipts[0].valid, "{report}");
    assert!(!report.receipts[1].valid, "{report}");
    assert!(
        report.receipts[1]
            .problem
            .as_deref()
            .unwrap()
            .contains("dated before"),
        "{report}"
    );
    assert_eq!(overall(&report), NO_POE, "{report}");
}
