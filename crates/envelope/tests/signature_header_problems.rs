//! What verification says about signatures with a doctored protected
//! header: a claimed signing time in the future, a wrong or unsupported
//! `alg`, a missing, empty or unreadable `x5c`, a bad `sigT`, an unknown
//! role, a `covers` naming a signature that is not there.
//!
//! Each forged signature is a real signature by the right key over the real
//! manifest, so only the header is wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use congvan_envelope::{
    append_signature, make_signature, Envelope, Indication, Jws, SignatureRole, SubIndication,
    VerificationReport,
};
use congvan_sign::Credential;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

/// A fresh unsigned dispatch and the demo PKI.
fn setup() -> (Demo, PathBuf) {
    let demo = Demo::new();
    let file = simple_dispatch(demo.tmp.path(), "a.cvd");
    (demo, file)
}

/// The protected header a genuine signer signature by `cred` would have.
fn genuine_header(file: &Path, cred: &Credential) -> Value {
    let envelope = Envelope::open(file).unwrap();
    let jws = make_signature(
        envelope.manifest_bytes(),
        cred,
        &[],
        SignatureRole::Signer,
        Vec::new(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&jws.protected).unwrap()).unwrap()
}

/// Signs `header` over the file's manifest with `cred`'s key, appends it,
/// and returns the verification report.
fn append_with_header(file: &Path, cred: &Credential, header: &Value) -> VerificationReport {
    let mut envelope = Envelope::open(file).unwrap();
    let mut jws = Jws {
        protected: URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()),
        payload: None,
        signature: String::new(),
        header: None,
    };
    let signature = cred
        .key()
        .sign(&jws.signing_input(envelope.manifest_bytes()))
        .unwrap();
    jws.signature = URL_SAFE_NO_PAD.encode(signature);
    append_signature(&mut envelope, &jws).unwrap();
    let root =
        congvan_sign::Certificate::load(&file.parent().unwrap().join("pki/root/cert.pem")).unwrap();
    verify(file, &congvan_sign::TrustStore::new(vec![root]).unwrap())
}

/// Asserts the last signature and the dispatch both got `expected`, and
/// the detail mentions `says`.
/// The last signature FAILED with `sub`, saying `says`.
#[track_caller]
fn assert_failed(report: &VerificationReport, sub: SubIndication, says: &str) {
    assert_last(report, (Indication::Failed, sub), says);
}

fn assert_last(report: &VerificationReport, expected: (Indication, SubIndication), says: &str) {
    let last = report.signatures.len() - 1;
    assert_eq!(
        of_signature(report, last),
        (expected.0, Some(expected.1)),
        "{report}"
    );
    assert_eq!(overall(report), (expected.0, Some(expected.1)), "{report}");
    let detail = &report.signatures[last].detail;
    assert!(detail.contains(says), "{says:?} not in {detail:?}");
}

#[test]
fn signing_time_in_the_future_is_sig_constraints_failure() {
    let (demo, file) = setup();
    let official = demo.cred("H99.01", "official");
    let mut envelope = Envelope::open(&file).unwrap();
    let tomorrow = OffsetDateTime::now_utc() + Duration::days(1);
    let jws = make_signature(
        envelope.manifest_bytes(),
        &official,
        &[],
        SignatureRole::Signer,
        Vec::new(),
        tomorrow,
    )
    .unwrap();
    append_signature(&mut envelope, &jws).unwrap();
    let report = verify(&file, &demo.trust());
    assert_last(
        &report,
        (
            Indication::Indeterminate,
            SubIndication::SigConstraintsFailure,
        ),
        "is in the future",
    );
    // Verified tomorrow, the same file passes.
    assert_all_passed(
        &verify_at(&file, &demo.trust(), tomorrow + Duration::minutes(1)),
        1,
    );
}

#[test]
fn signing_time_a_little_ahead_is_clock_skew_and_passes() {
    let (demo, file) = setup();
    let mut envelope = Envelope::open(&file).unwrap();
    let jws = make_signature(
        envelope.manifest_bytes(),
        &demo.cred("H99.01", "official"),
        &[],
        SignatureRole::Signer,
        Vec::new(),
        OffsetDateTime::now_utc() + Duration::minutes(3),
    )
    .unwrap();
    append_signature(&mut envelope, &jws).unwrap();
    assert_all_passed(&verify(&file, &demo.trust()), 1);
}

#[test]
fn alg_that_does_not_fit_the_key_is_sig_crypto_failure() {
    let (demo, file) = setup();
    let official = demo.cred("H99.01", "official");
    let mut header = genuine_header(&file, &official);
    assert_eq!(header["alg"], "ES256");
    header["alg"] = json!("ES384");
    let report = append_with_header(&file, &official, &header);
    assert_failed(
        &report,
        SubIndication::SigCryptoFailure,
        "the header says ES384",
    );
}

#[test]
fn unsupported_alg_is_format_failure() {
    for alg in ["HS256", "none", "es256", "PS256"] {
        let (demo, file) = setup();
        let official = demo.cred("H99.01", "official");
        let mut header = genuine_header(&file, &official);
        header["alg"] = json!(alg);
        let report = append_with_header(&file, &official, &header);
        assert_failed(
            &report,
            SubIndication::FormatFailure,
            "unsupported algorithm",
        );
    }
}

#[test]
fn missing_empty_or_unreadable_x5c_is_no_signing_certificate_found() {
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "missing",
            Box::new(|h| {
                h.as_object_mut().unwrap().remove("x5c");
            }),
        ),
        ("empty", Box::new(|h| h["x5c"] = json!([]))),
        ("not base64", Box::new(|h| h["x5c"] = json!(["%%%"]))),
        (
            "not a certificate",
            Box::new(|h| h["x5c"] = json!(["AAECAwQ="])),
        ),
        (
            "BASE64URL instead of base64",
            Box::new(|h| {
                let std = h["x5c"][0].as_str().unwrap().to_string();
                let url = std.replace('+', "-").replace('/', "_");
                h["x5c"][0] = json!(url.trim_end_matches('='));
            }),
        ),
    ];
    for (what, change) in cases {
        let (demo, file) = setup();
        let official = demo.cred("H99.01", "official");
        let mut header = genuine_header(&file, &official);
        change(&mut header);
        if what.starts_with("BASE64URL")
            && header["x5c"][0] == genuine_header(&file, &official)["x5c"][0]
        {
            continue; // this certificate happened to have no '+' or '/'
        }
        let report = append_with_header(&file, &official, &header);
        let sig = &report.signatures[0];
        assert_eq!(
            (sig.indication, sig.sub_indication),
            (
                Indication::Indeterminate,
                Some(SubIndication::NoSigningCertificateFound)
            ),
            "x5c {what}: {report}"
        );
        assert_eq!(
            overall(&report),
            (
                Indication::Indeterminate,
                Some(SubIndication::NoSigningCertificateFound)
            ),
            "x5c {what}"
        );
        assert!(sig.detail.contains("x5c"), "x5c {what}: {}", sig.detail);
        assert_eq!(sig.role, Some(SignatureRole::Signer));
    }
}

#[test]
fn x5c_naming_another_certificate_is_sig_crypto_failure() {
    let (demo, file) = setup();
    let official = demo.cred("H99.01", "official");
    let other = demo.cred("H99.01", "office");
    let mut header = genuine_header(&file, &official);
    header["x5c"][0] = genuine_header(&file, &other)["x5c"][0].clone();
    let report = append_with_header(&file, &official, &header);
    assert_failed(&report, SubIndication::SigCryptoFailure, "does not verify");
}

#[test]
fn bad_sig_t_or_unknown_role_is_format_failure() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("sigT", json!("14/03/2025 08:30"), "not an RFC 3339 time"),
        (
            "congvan",
            json!({"role": "approver"}),
            "bad protected header",
        ),
        ("sigT", json!(1741941000), "bad protected header"),
    ];
    for (field, value, says) in cases {
        let (demo, file) = setup();
        let official = demo.cred("H99.01", "official");
        let mut header = genuine_header(&file, &official);
        header[field] = value;
        let report = append_with_header(&file, &official, &header);
        assert_failed(&report, SubIndication::FormatFailure, says);
    }
}

#[test]
fn covers_naming_a_missing_signature_is_hash_failure() {
    let (demo, file) = setup();
    demo.sign(&file, "H99.01/official", SignatureRole::Signer);
    let office = demo.cred("H99.01", "office");
    let mut header = genuine_header(&file, &office);
    header["congvan"] = json!({"role": "seal", "covers": ["cd".repeat(32)]});
    let report = append_with_header(&file, &office, &header);
    assert_eq!(of_signature(&report, 0), (Indication::Passed, None));
    assert_failed(
        &report,
        SubIndication::HashFailure,
        "not before it in the dispatch",
    );
}

/// A seal or copy vouches for every signature before it: one that leaves
/// the signer out (`covers: []`) leaves it open to replacement.
#[test]
fn a_seal_or_copy_that_leaves_out_an_earlier_signature_fails() {
    for role in ["seal", "copy"] {
        let (demo, file) = setup();
        demo.sign(&file, "H99.01/official", SignatureRole::Signer);
        let office = demo.cred("H99.01", "office");
        let mut header = genuine_header(&file, &office);
        header["congvan"] = json!({"role": role});
        let report = append_with_header(&file, &office, &header);
        assert_failed(
            &report,
            SubIndication::HashFailure,
            "does not cover META-INF/signatures/0001.json",
        );
    }
}

#[test]
fn a_signer_that_covers_or_a_seal_that_covers_twice_is_format_failure() {
    let (demo, file) = setup();
    let official = demo.cred("H99.01", "official");
    let mut header = genuine_header(&file, &official);
    header["congvan"] = json!({"role": "signer", "covers": ["cd".repeat(32)]});
    let report = append_with_header(&file, &official, &header);
    assert_failed(
        &report,
        SubIndication::FormatFailure,
        "covers no other signature",
    );

    let (demo, file) = setup();
    demo.sign(&file, "H99.01/official", SignatureRole::Signer);
    let digest = signature_digests(&file).remove(0);
    let office = demo.cred("H99.01", "office");
    let mut header = genuine_header(&file, &office);
    header["congvan"] = json!({"role": "seal", "covers": [digest, digest]});
    let report = append_with_header(&file, &office, &header);
    assert_failed(&report, SubIndication::FormatFailure, "twice");
}

/// `crit` names extensions a verifier must understand; congvan knows none.
/// `"crit": null` is a `crit` member too (RFC 7515 allows only a non-empty
/// array), not an absent one.
#[test]
fn a_critical_header_extension_is_refused_even_when_null() {
    for crit in [json!(["exp"]), serde_json::Value::Null] {
        let (demo, file) = setup();
        let official = demo.cred("H99.01", "official");
        let mut header = genuine_header(&file, &official);
        header["crit"] = crit;
        header["exp"] = json!(1);
        let report = append_with_header(&file, &official, &header);
        assert_failed(&report, SubIndication::FormatFailure, "crit");
    }
}

/// The signature is checked with x5c[0] before the rest of the chain is
/// read: an unreadable CA certificate after a valid signer is a chain
/// problem, named as such.
#[test]
fn an_unreadable_chain_certificate_is_no_certificate_chain_found() {
    let (demo, file) = setup();
    let official = demo.cred("H99.01", "official");
    let mut header = genuine_header(&file, &official);
    header["x5c"]
        .as_array_mut()
        .unwrap()
        .push(json!("bm90IGEgY2VydA=="));
    let report = append_with_header(&file, &official, &header);
    assert_last(
        &report,
        (
            Indication::Indeterminate,
            SubIndication::NoCertificateChainFound,
        ),
        "x5c[2] is not a readable certificate",
    );
}

/// (r, n − s) verifies as ECDSA wherever (r, s) does; made without the key,
/// it would be a second "signature" with another digest. Refused.
#[test]
fn the_high_s_twin_of_a_valid_signature_is_sig_crypto_failure() {
    const P256_ORDER: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63,
        0x25, 0x51,
    ];
    let (demo, file) = setup();
    let official = demo.cred("H99.01", "official");
    let mut envelope = Envelope::open(&file).unwrap();
    let mut jws = make_signature(
        envelope.manifest_bytes(),
        &official,
        &[],
        SignatureRole::Signer,
        Vec::new(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let mut value = URL_SAFE_NO_PAD.decode(&jws.signature).unwrap();
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(P256_ORDER[i]) - i16::from(value[32 + i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        value[32 + i] = d as u8;
    }
    jws.signature = URL_SAFE_NO_PAD.encode(&value);
    append_signature(&mut envelope, &jws).unwrap();
    let report = verify(&file, &demo.trust());
    assert_failed(&report, SubIndication::SigCryptoFailure, "high-s");
}

#[test]
fn signature_over_another_manifest_is_sig_crypto_failure() {
    let (demo, file) = setup();
    let other = simple_dispatch(demo.tmp.path(), "b.cvd");
    let official = demo.cred("H99.01", "official");
    // A genuine signature, but of dispatch b, copied into dispatch a.
    let jws = make_signature(
        Envelope::open(&other).unwrap().manifest_bytes(),
        &official,
        &[],
        SignatureRole::Signer,
        Vec::new(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    append_signature(&mut Envelope::open(&file).unwrap(), &jws).unwrap();
    let report = verify(&file, &demo.trust());
    assert_failed(
        &report,
        SubIndication::SigCryptoFailure,
        "does not verify over the manifest",
    );
}
