//! Damaged input files are reported against the file, with the right kind of
//! error, instead of reading as "nothing there" or failing later.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use congvan_sign::{
    init_root, Algorithm, Certificate, Crl, Error, RevocationRecord, SigningKey, REVOKED_FILE,
};

fn assert_malformed(err: Error, path: &Path) {
    match &err {
        Error::Malformed { path: p, .. } => assert_eq!(p, path, "{err}"),
        other => panic!("expected Malformed for {}, got {other:?}", path.display()),
    }
    assert!(!err.is_rejection(), "an unreadable file is an input error");
}

#[test]
fn truncated_pem_is_malformed_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let root = init_root(
        "Root",
        SigningKey::generate(Algorithm::EcdsaP256).unwrap(),
        30,
    )
    .unwrap();
    let pem = root.cert().to_pem();
    let path = dir.path().join("half.pem");
    std::fs::write(&path, &pem[..pem.len() / 2]).unwrap();
    // Before, the incomplete block was skipped and the file read as holding
    // no certificate at all.
    let err = Certificate::load_all(&path).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    assert_malformed(err, &path);
    assert_malformed(Crl::load_all(&path).err().unwrap(), &path);
    assert_malformed(SigningKey::from_pem_file(&path, None).unwrap_err(), &path);

    // A complete certificate followed by a cut-off one is caught too.
    let two = dir.path().join("one-and-a-half.pem");
    std::fs::write(&two, format!("{pem}{}", &pem[..pem.len() / 2])).unwrap();
    assert_malformed(Certificate::load_all(&two).unwrap_err(), &two);

    // Whole files still read.
    let whole = dir.path().join("whole.pem");
    std::fs::write(&whole, format!("{pem}{pem}")).unwrap();
    assert_eq!(Certificate::load_all(&whole).unwrap().len(), 2);
}

#[test]
fn der_pkcs8_key_file_is_read_like_pem() {
    let dir = tempfile::tempdir().unwrap();
    for alg in [Algorithm::EcdsaP256, Algorithm::Ed25519] {
        let key = SigningKey::generate(alg).unwrap();
        let path = dir.path().join(format!("{alg:?}.der"));
        std::fs::write(&path, key.pkcs8_der()).unwrap();
        let read = SigningKey::from_pem_file(&path, None).unwrap();
        assert_eq!(read.algorithm(), alg);
        assert_eq!(read.public_key_bytes(), key.public_key_bytes());
    }
    // DER that is no key is malformed, and names the file.
    let path = dir.path().join("garbage.der");
    std::fs::write(&path, [0x30, 0x03, 0x02, 0x01, 0x05]).unwrap();
    assert_malformed(SigningKey::from_pem_file(&path, None).unwrap_err(), &path);
}

#[test]
fn damaged_revocation_record_is_malformed_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(REVOKED_FILE);
    let record = |serial: &str, at: &str| {
        format!(
            r#"{{"crl_number":1,"revoked":[{{"serial":"{serial}","subject":"CN=x","revoked_at":"{at}","reason":"keyCompromise"}}]}}"#
        )
    };
    for bad in [
        record("zz", "2026-01-05T09:30:00Z"),
        record("", "2026-01-05T09:30:00Z"),
        record("abc", "2026-01-05T09:30:00Z"),
        record("4a0b", "yesterday"),
        "{".to_string(),
    ] {
        std::fs::write(&path, &bad).unwrap();
        let err = RevocationRecord::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains(REVOKED_FILE), "{err}");
        assert_malformed(err, &path);
    }
    std::fs::write(&path, record("4a0b", "2026-01-05T09:30:00Z")).unwrap();
    let loaded = RevocationRecord::load(dir.path()).unwrap();
    assert_eq!(loaded.revoked.len(), 1);
}
