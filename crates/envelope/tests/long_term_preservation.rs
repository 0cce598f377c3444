//! Long-term preservation: a dispatch preserved with its validation data
//! under an archive timestamp verifies offline, with nothing but the trust
//! anchor, long after every certificate in it has expired; altering what
//! was preserved fails it; `preserve` refuses what a later verifier could
//! not check, and leaves the file as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use congvan_envelope::{
    preserve_dispatch, verify_dispatch_offline, Envelope, Error, Indication, SignatureRole,
    SubIndication, VerificationReport,
};
use congvan_sign::{Credential, Crl, Role, TrustStore};
use congvan_tsa::Authority;
use time::{Duration, OffsetDateTime};

struct Story {
    tmp: tempfile::TempDir,
    hierarchy: Hierarchy,
    /// An official whose certificate was valid from 100 to 70 days ago.
    official: Credential,
    /// A timestamp authority valid for three years from 300 days ago.
    tsa: Authority,
}

/// A hierarchy whose root lasts ten years: by 2040 every certificate in
/// it has expired.
fn story() -> Story {
    let hierarchy = Hierarchy::lasting(days_ago(400), 10 * 365, 5 * 365);
    let official = hierarchy.leaf(Role::Official, "H99.01", days_ago(100), 30);
    let tsa = hierarchy.tsa(days_ago(300), 3 * 365);
    Story {
        tmp: tempfile::tempdir().unwrap(),
        hierarchy,
        official,
        tsa,
    }
}

fn year_2040() -> OffsetDateTime {
    time::macros::datetime!(2040-01-01 00:00 UTC)
}

/// A dispatch the official signed 90 days ago, timestamped a minute later.
fn signed_and_stamped(s: &Story, name: &str) -> PathBuf {
    let at = days_ago(90);
    let meta = metadata_at("H99.01", &["H99.01.01"], at);
    let file = new_dispatch(s.tmp.path(), name, &meta, &[("a.pdf", b"%PDF-1.4\n")]);
    let trust = s.hierarchy.trust();
    let stamp_at = at + Duration::minutes(1);
    sign_timestamped(
        &file,
        &s.official,
        SignatureRole::Signer,
        at,
        &s.tsa,
        stamp_at,
        Some(&trust),
    );
    file
}

/// The root with the lists of both CAs issued at `issued`, as an office
/// has them when it preserves.
fn trust_with_lists(s: &Story, issued: OffsetDateTime) -> TrustStore {
    let mut trust = s.hierarchy.trust();
    let lists = vec![
        s.hierarchy.crl(&s.hierarchy.ca, &[], issued),
        s.hierarchy.crl(&s.hierarchy.root, &[], issued),
    ];
    trust.add_crls(lists).unwrap();
    trust
}

/// Preserves `file` at `at` with `trust`, the archive timestamp made then
/// by the story's authority.
fn preserve_at(
    s: &Story,
    file: &Path,
    trust: &TrustStore,
    at: OffsetDateTime,
) -> Result<(), Error> {
    preserve_with(file, trust, at, &s.tsa)
}

fn preserve_with(
    file: &Path,
    trust: &TrustStore,
    at: OffsetDateTime,
    tsa: &Authority,
) -> Result<(), Error> {
    let mut envelope = Envelope::open(file).unwrap();
    let mut stamp = |imprint: &congvan_tsa::Imprint| {
        let request = congvan_tsa::TimestampRequest::new(imprint).unwrap();
        Ok(congvan_tsa::granted_token(&tsa.respond(&request.der, at)).unwrap())
    };
    preserve_dispatch(&mut envelope, trust, at, &mut |_| {}, &mut stamp).map(|_| ())
}

fn offline(s: &Story, file: &Path, at: OffsetDateTime) -> VerificationReport {
    let mut envelope = Envelope::open(file).unwrap();
    let anchors = vec![s.hierarchy.root.cert().clone()];
    verify_dispatch_offline(&mut envelope, anchors, at, &mut |_| {}).unwrap()
}

/// A copy of `file` named `name` with `entry`'s bytes passed through `change`.
fn altered(
    s: &Story,
    file: &Path,
    name: &str,
    entry: &str,
    change: impl Fn(Vec<u8>) -> Vec<u8>,
) -> PathBuf {
    let out = s.tmp.path().join(name);
    rewrite_container(file, &out, |n, bytes| {
        Some(if n == entry { change(bytes) } else { bytes })
    });
    out
}

/// A copy of `file` named `name` whose first preservation record went
/// through `change`.
fn with_record(
    s: &Story,
    file: &Path,
    name: &str,
    change: impl Fn(&mut congvan_envelope::PreservationRecord),
) -> PathBuf {
    altered(s, file, name, "META-INF/preservation/0001.json", |bytes| {
        let mut record: congvan_envelope::PreservationRecord =
            serde_json::from_slice(&bytes).unwrap();
        change(&mut record);
        record.to_bytes().unwrap()
    })
}

/// Offline in 2040, `file` is FAILED/HASH_FAILURE; the report.
#[track_caller]
fn fails_as_altered(s: &Story, file: &Path) -> VerificationReport {
    let report = offline(s, file, year_2040());
    assert_eq!(
        overall(&report),
        (Indication::Failed, Some(SubIndication::HashFailure)),
        "{report}"
    );
    report
}

#[test]
fn a_preserved_dispatch_verifies_offline_in_2040() {
    let s = story();
    let file = signed_and_stamped(&s, "preserved.cvd");
    let trust = trust_with_lists(&s, days_ago(89));
    preserve_at(&s, &file, &trust, days_ago(10)).unwrap();

    let report = offline(&s, &file, year_2040());
    assert_eq!(overall(&report), (Indication::Passed, None), "{report}");
    assert!(report.offline);
    let archive = &report.archive_timestamps[0];
    assert!(archive.used && archive.anchor_of_proof, "{report}");
    assert_eq!(archive.crls, 2, "{report}");
    assert!(
        report.signatures[0].detail.contains("timestamp proves"),
        "{report}"
    );
    let text = report.to_text();
    assert!(text.contains("stands on the trust anchor alone"), "{text}");
    assert!(text.contains("Validated offline"), "{text}");
}

#[test]
fn without_preservation_an_offline_verifier_has_nothing_to_go_on() {
    let s = story();
    let file = signed_and_stamped(&s, "bare.cvd");
    // Not even the signature's own timestamp can be used: nothing shows
    // its authority unrevoked.
    let report = offline(&s, &file, year_2040());
    assert_eq!(
        overall(&report),
        (
            Indication::Indeterminate,
            Some(SubIndication::OutOfBoundsNoPoe)
        ),
        "{report}"
    );
    assert!(report.summary.contains("no CRL of"), "{report}");
}

#[test]
fn an_altered_embedded_crl_or_timestamp_fails_the_dispatch() {
    let s = story();
    let file = signed_and_stamped(&s, "preserved.cvd");
    let trust = trust_with_lists(&s, days_ago(89));
    preserve_at(&s, &file, &trust, days_ago(10)).unwrap();

    // Another genuine list of the same CA, issued later, in place of the
    // embedded one: signed by the CA, but not what was timestamped.
    let other = s.hierarchy.crl(&s.hierarchy.ca, &[], days_ago(5));
    let swapped = with_record(&s, &file, "crl-swapped.cvd", |record| {
        use base64::Engine;
        record.crls[0] = base64::engine::general_purpose::STANDARD.encode(other.der());
    });
    let report = fails_as_altered(&s, &swapped);
    assert!(
        report.summary.contains("0001.tst is not a valid token"),
        "{report}"
    );

    // One bit of the token flipped, near its end (the TSA's signature).
    let flipped = altered(
        &s,
        &file,
        "token-flipped.cvd",
        "META-INF/preservation/0001.tst",
        |mut bytes| {
            let n = bytes.len() - 3;
            bytes[n] ^= 0x01;
            bytes
        },
    );
    fails_as_altered(&s, &flipped);

    // The signature's own timestamp stripped after preservation: the
    // record covers the signature entry as it was.
    let stripped = altered(
        &s,
        &file,
        "sigtst-stripped.cvd",
        "META-INF/signatures/0001.json",
        |bytes| {
            let mut jws: congvan_envelope::Jws = serde_json::from_slice(&bytes).unwrap();
            jws.header = None;
            serde_json::to_vec(&jws).unwrap()
        },
    );
    let report = fails_as_altered(&s, &stripped);
    assert!(
        report
            .summary
            .contains("was altered or removed after it was preserved"),
        "{report}"
    );
}

#[test]
fn preserve_refuses_what_a_later_verifier_could_not_check() {
    let s = story();
    let file = signed_and_stamped(&s, "a.cvd");
    let before = std::fs::read(&file).unwrap();

    // No lists at all.
    let e = preserve_at(&s, &file, &s.hierarchy.trust(), days_ago(10)).unwrap_err();
    assert!(e.to_string().contains("no CRL of"), "{e}");

    // Lists issued before the signature's timestamp: they cannot say the
    // official was not revoked when the dispatch was signed.
    let e = preserve_at(&s, &file, &trust_with_lists(&s, days_ago(95)), days_ago(10)).unwrap_err();
    assert!(e.to_string().contains("before"), "{e}");
    assert!(e.to_string().contains("preserve again"), "{e}");

    // The official revoked before signing: nothing worth preserving.
    let mut trust = s.hierarchy.trust();
    let lists = vec![
        s.hierarchy.crl(
            &s.hierarchy.ca,
            &[(&s.official, days_ago(95))],
            days_ago(89),
        ),
        s.hierarchy.crl(&s.hierarchy.root, &[], days_ago(89)),
    ];
    trust.add_crls(lists).unwrap();
    let e = preserve_at(&s, &file, &trust, days_ago(10)).unwrap_err();
    assert!(e.to_string().contains("REVOKED"), "{e}");

    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "a refused preserve changed the file"
    );
}

#[test]
fn a_revocation_after_the_timestamp_is_embedded_and_does_not_matter() {
    let s = story();
    let file = signed_and_stamped(&s, "a.cvd");
    let mut trust = s.hierarchy.trust();
    let lists: Vec<Crl> = vec![
        s.hierarchy.crl(
            &s.hierarchy.ca,
            &[(&s.official, days_ago(80))],
            days_ago(79),
        ),
        s.hierarchy.crl(&s.hierarchy.root, &[], days_ago(79)),
    ];
    trust.add_crls(lists).unwrap();
    preserve_at(&s, &file, &trust, days_ago(10)).unwrap();
    let report = offline(&s, &file, year_2040());
    assert_eq!(overall(&report), (Indication::Passed, None), "{report}");
    assert!(
        report.signatures[0].detail.contains("revoked at"),
        "{report}"
    );
}

#[test]
fn preserving_again_covers_the_earlier_archive_timestamp() {
    let s = story();
    let file = signed_and_stamped(&s, "a.cvd");
    preserve_at(&s, &file, &trust_with_lists(&s, days_ago(89)), days_ago(60)).unwrap();

    // Years later a second authority renews the proof. The lists it embeds
    // are issued after the first archive timestamp, so they show the first
    // authority unrevoked when it stamped.
    let renewal = s.hierarchy.tsa(days_ago(30), 3 * 365);
    let early = preserve_with(
        &file,
        &trust_with_lists(&s, days_ago(70)),
        days_ago(5),
        &renewal,
    );
    let e = early.unwrap_err();
    assert!(e.to_string().contains("not verify offline"), "{e}");
    preserve_with(
        &file,
        &trust_with_lists(&s, days_ago(40)),
        days_ago(5),
        &renewal,
    )
    .unwrap();

    let report = offline(&s, &file, year_2040());
    assert_eq!(overall(&report), (Indication::Passed, None), "{report}");
    let [first, second] = report.archive_timestamps.as_slice() else {
        panic!("{report}")
    };
    assert!(first.used && !first.anchor_of_proof, "{report}");
    assert!(second.used && second.anchor_of_proof, "{report}");

    // The first record altered under the second: both timestamps see it.
    let swapped = with_record(&s, &file, "first-altered.cvd", |record| {
        record.crls.pop();
    });
    fails_as_altered(&s, &swapped);
}

/// `src` with `extra` entries appended, as anyone holding the file can
/// append them.
fn with_entries_added(src: &Path, dst: &Path, extra: &[(String, Vec<u8>)]) {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut writer = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        writer.start_file(name.as_str(), stored).unwrap();
        writer.write_all(&bytes).unwrap();
    }
    for (name, bytes) in extra {
        writer.start_file(name.as_str(), stored).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap();
}

/// A stolen key signs with a signing time back-dated to before its
/// revocation, the thief embeds a genuine list from before the revocation
/// and has a public authority stamp that record (it stamps any digest)
/// before the certificate expires. Offline in 2040 this is not PASSED: the
/// signing time is a claim, the archive timestamp is the first proof, and
/// the list is older than it.
#[test]
fn a_back_dated_signature_under_a_forged_record_is_not_passed_offline() {
    let s = story();
    let file = s.tmp.path().join("stolen.cvd");
    let claimed = days_ago(95);
    let meta = metadata_at("H99.01", &["H99.01.01"], claimed);
    let plain = new_dispatch(
        s.tmp.path(),
        "plain.cvd",
        &meta,
        &[("a.pdf", b"%PDF-1.4\n")],
    );
    sign_at(&plain, &s.official, SignatureRole::Signer, claimed);

    // Unsigned by anyone but the thief: preserve itself refuses it.
    let mut trust = s.hierarchy.trust();
    let lists = vec![
        s.hierarchy.crl(&s.hierarchy.ca, &[], days_ago(90)),
        s.hierarchy.crl(&s.hierarchy.root, &[], days_ago(90)),
    ];
    let ders: Vec<Vec<u8>> = lists.iter().map(|c| c.der().to_vec()).collect();
    trust.add_crls(lists).unwrap();
    let e = preserve_at(&s, &plain, &trust, days_ago(75)).unwrap_err();
    assert!(
        e.to_string()
            .contains("nothing proves when the signature existed"),
        "{e}"
    );

    // The thief's own record, stamped 75 days ago (revoked 80 days ago,
    // expiring 70 days ago).
    use base64::Engine;
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let envelope = Envelope::open(&plain).unwrap();
    let record = congvan_envelope::PreservationRecord {
        format: congvan_envelope::PRESERVATION_FORMAT.into(),
        created: utc_text(days_ago(75)),
        digest_algorithm: "sha256".into(),
        covers: envelope.entry_digests().clone(),
        certificates: vec![
            b64(s.official.cert().der()),
            b64(s.hierarchy.ca.cert().der()),
        ],
        crls: ders.iter().map(|d| b64(d)).collect(),
    };
    let bytes = record.to_bytes().unwrap();
    let request =
        congvan_tsa::TimestampRequest::new(&congvan_envelope::archive_timestamp_imprint(&bytes))
            .unwrap();
    let token = congvan_tsa::granted_token(&s.tsa.respond(&request.der, days_ago(75))).unwrap();
    with_entries_added(
        &plain,
        &file,
        &[
            ("META-INF/preservation/0001.json".into(), bytes),
            ("META-INF/preservation/0001.tst".into(), token),
        ],
    );
    let report = offline(&s, &file, year_2040());
    assert_eq!(report.archive_timestamps.len(), 1, "{report}");
    assert_eq!(
        overall(&report),
        (Indication::Indeterminate, Some(SubIndication::TryLater)),
        "{report}"
    );
    assert!(report.summary.contains("was issued at"), "{report}");
}
