//! `TrustStore` remembers successful validations. These tests pin down that
//! the cache never changes an answer: a remembered chain is returned only
//! inside the validity window of the path that validated, and new CRLs or
//! intermediates make the store forget.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use congvan_sign::{
    init_root_at, issue_ca_at, issue_leaf_at, Algorithm, Certificate, Credential, Crl, Error,
    LeafRequest, OrgId, Purpose, RevocationReason, RevocationRecord, Role, SigningKey, TrustStore,
};
use time::{Duration, OffsetDateTime};

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::EcdsaP256).unwrap()
}

/// A root, the H99 CA under it and an official of H99.01, all starting at
/// `start` (the CA at `ca_start`); the official's certificate lasts `days`.
fn hierarchy(
    start: OffsetDateTime,
    ca_start: OffsetDateTime,
    days: u32,
) -> (Credential, Credential, Credential) {
    let root = init_root_at("Root", key(), 3650, start).unwrap();
    let ca = issue_ca_at(
        &root,
        "CA H99",
        &OrgId::parse("H99").unwrap(),
        key(),
        3000,
        ca_start,
    )
    .unwrap();
    let request = LeafRequest {
        role: Role::Official,
        name: "Lê Văn Cường".into(),
        org: OrgId::parse("H99.01").unwrap(),
        organization_name: None,
        position: Some("Chủ tịch".into()),
        dns: Vec::new(),
        ips: Vec::new(),
        days,
    };
    let official = issue_leaf_at(&ca, &request, key(), start).unwrap();
    (root, ca, official)
}

fn official() -> Purpose {
    Purpose {
        role: Some(Role::Official),
        org: None,
    }
}

fn ders(certs: &[Certificate]) -> Vec<&[u8]> {
    certs.iter().map(Certificate::der).collect()
}

/// A whole-second time, as certificates carry.
fn start() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc() - Duration::days(1);
    now.replace_nanosecond(0).unwrap()
}

#[test]
fn trust_store_is_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<TrustStore>();
}

#[test]
fn cached_result_is_returned_inside_the_window() {
    let t0 = start();
    let (root, ca, official_cred) = hierarchy(t0, t0, 30);
    let leaf = official_cred.cert();
    let store = TrustStore::new(vec![root.cert().clone()]).unwrap();
    let presented = [ca.cert().clone()];

    let first = store
        .validate(leaf, &presented, &official(), t0 + Duration::days(1))
        .unwrap();
    assert_eq!(store.cached_validations(), 1);
    assert_eq!(store.cache_hits(), 0);
    assert_eq!(
        ders(&first.certificates),
        vec![leaf.der(), ca.cert().der(), root.cert().der()]
    );

    // Other times inside the window, both ends included, come from the cache.
    let inside = [
        t0 + Duration::days(2),
        leaf.not_before(),
        leaf.not_after(),
        // Sub-second parts are ignored, as webpki ignores them.
        leaf.not_after() + Duration::milliseconds(999),
    ];
    for (i, at) in inside.into_iter().enumerate() {
        let again = store.validate(leaf, &presented, &official(), at).unwrap();
        assert_eq!(ders(&again.certificates), ders(&first.certificates));
        assert_eq!(store.cache_hits(), i as u64 + 1, "at {at}");
    }
    assert_eq!(store.cached_validations(), 1);

    // A different purpose or a different presented chain is another key.
    let err = store
        .validate(
            leaf,
            &presented,
            &Purpose {
                role: Some(Role::Office),
                org: None,
            },
            t0 + Duration::days(1),
        )
        .unwrap_err();
    assert!(matches!(err, Error::WrongRole { .. }), "{err:?}");
    let err = store
        .validate(leaf, &[], &official(), t0 + Duration::days(1))
        .unwrap_err();
    assert!(matches!(err, Error::UnknownIssuer), "{err:?}");
    let h98 = Purpose {
        org: Some(OrgId::parse("H98.01").unwrap()),
        ..official()
    };
    let err = store
        .validate(leaf, &presented, &h98, t0 + Duration::days(1))
        .unwrap_err();
    assert!(matches!(err, Error::WrongOrg { .. }), "{err:?}");
    assert_eq!(
        store.cache_hits(),
        4,
        "failures are never answered from the cache"
    );
    assert_eq!(
        store.cached_validations(),
        1,
        "failures are never remembered"
    );
}

#[test]
fn time_outside_the_window_still_fails() {
    let t0 = start();
    let (root, ca, official_cred) = hierarchy(t0, t0, 30);
    let leaf = official_cred.cert();
    let store = TrustStore::new(vec![root.cert().clone()]).unwrap();
    let presented = [ca.cert().clone()];
    store
        .validate(leaf, &presented, &official(), t0 + Duration::days(1))
        .unwrap();
    assert_eq!(store.cached_validations(), 1);

    let after = leaf.not_after() + Duration::seconds(1);
    let err = store
        .validate(leaf, &presented, &official(), after)
        .unwrap_err();
    assert!(matches!(err, Error::Expired { .. }), "{err:?}");

    let before = leaf.not_before() - Duration::seconds(1);
    let err = store
        .validate(leaf, &presented, &official(), before)
        .unwrap_err();
    assert!(matches!(err, Error::NotYetValid { .. }), "{err:?}");

    assert_eq!(store.cache_hits(), 0);
    // And the remembered success is still there for times inside.
    store
        .validate(leaf, &presented, &official(), t0 + Duration::days(3))
        .unwrap();
    assert_eq!(store.cache_hits(), 1);
}

/// The window covers the intermediates too: here the CA's certificate starts
/// ten days after the official's, so a time in between is refused although
/// the official's certificate alone is valid then.
#[test]
fn window_includes_the_intermediate_certificates() {
    let t0 = start() - Duration::days(20);
    let (root, ca, official_cred) = hierarchy(t0, t0 + Duration::days(10), 60);
    let leaf = official_cred.cert();
    assert!(ca.cert().not_before() > leaf.not_before());
    let store = TrustStore::new(vec![root.cert().clone()]).unwrap();
    let presented = [ca.cert().clone()];

    store
        .validate(leaf, &presented, &official(), t0 + Duration::days(15))
        .unwrap();
    assert_eq!(store.cached_validations(), 1);

    let between = t0 + Duration::days(5);
    assert!(leaf.not_before() <= between && between <= leaf.not_after());
    let err = store
        .validate(leaf, &presented, &official(), between)
        .unwrap_err();
    assert!(
        matches!(err, Error::NotYetValid { .. } | Error::UnknownIssuer),
        "{err:?}"
    );
    assert_eq!(store.cache_hits(), 0);
}

#[test]
fn new_crl_revoking_a_cached_certificate_is_obeyed() {
    let t0 = start();
    let (root, ca, official_cred) = hierarchy(t0, t0, 30);
    let leaf = official_cred.cert();
    let mut store = TrustStore::new(vec![root.cert().clone()]).unwrap();
    store.add_intermediates([ca.cert().clone()]);
    let at = t0 + Duration::days(2);

    store.validate(leaf, &[], &official(), at).unwrap();
    store.validate(leaf, &[], &official(), at).unwrap();
    assert_eq!(store.cached_validations(), 1);
    assert_eq!(store.cache_hits(), 1);

    // Revoked before the validation time.
    let mut record = RevocationRecord::default();
    record
        .revoke(
            &ca,
            leaf,
            RevocationReason::KeyCompromise,
            t0 + Duration::days(1),
        )
        .unwrap();
    let pem_text = record.issue_crl(&ca, t0 + Duration::days(1), 7).unwrap();
    let der = pem::parse(pem_text).unwrap().into_contents();
    store
        .add_crls([Crl::from_der(&der, "<test crl>".as_ref()).unwrap()])
        .unwrap();
    assert_eq!(store.cached_validations(), 0, "a new CRL empties the cache");

    let err = store.validate(leaf, &[], &official(), at).unwrap_err();
    match &err {
        Error::Revoked {
            ca: false, serial, ..
        } => assert_eq!(serial, &leaf.serial_hex()),
        other => panic!("expected Revoked, got {other:?}"),
    }
    // Past the CRL's nextUpdate (t0 + 8 days) the list is stale: no answer
    // until a current one is loaded ...
    let late = t0 + Duration::days(20);
    let err = store.validate(leaf, &[], &official(), late).unwrap_err();
    assert!(matches!(err, Error::CrlStale { .. }), "{err:?}");
    assert_eq!(store.stale_crls_at(late).len(), 1);
    // ... unless stale lists are accepted, when it still says revoked.
    store.set_stale_crls(congvan_sign::StaleCrls::Accept);
    let err = store.validate(leaf, &[], &official(), late).unwrap_err();
    assert!(matches!(err, Error::Revoked { ca: false, .. }), "{err:?}");
    assert_eq!(store.cache_hits(), 1);
    assert_eq!(store.cached_validations(), 0);
}

/// Serial numbers are unique per CA only. When a CA of the path is revoked,
/// another CA's list that names the official's serial (by chance, or a
/// hostile CA choosing a date) must not be taken for the official's own
/// revocation: the reason is the revoked CA.
#[test]
fn another_cas_list_naming_the_same_serial_is_not_the_certificates_revocation() {
    let t0 = start();
    let (root, ca, official_cred) = hierarchy(t0, t0, 30);
    let leaf = official_cred.cert();
    let mut store = TrustStore::new(vec![root.cert().clone()]).unwrap();
    store.add_intermediates([ca.cert().clone()]);
    let to_crl = |pem_text: String| {
        let der = pem::parse(pem_text).unwrap().into_contents();
        Crl::from_der(&der, "<test crl>".as_ref()).unwrap()
    };

    // The root revokes the provincial CA.
    let mut by_root = RevocationRecord::default();
    by_root
        .revoke(&root, ca.cert(), RevocationReason::CaCompromise, t0)
        .unwrap();
    // Another root lists the official's serial, dated before everything.
    let other = init_root_at("Other root", key(), 3650, t0).unwrap();
    let mut by_other = RevocationRecord::default();
    by_other.revoked.push(congvan_sign::RevokedEntry {
        serial: leaf.serial_hex(),
        subject: leaf.subject().to_string(),
        revoked_at: "2000-01-01T00:00:00Z".into(),
        reason: RevocationReason::KeyCompromise,
    });
    store
        .add_crls([
            to_crl(by_other.issue_crl(&other, t0, 7).unwrap()),
            to_crl(by_root.issue_crl(&root, t0, 7).unwrap()),
        ])
        .unwrap();

    let err = store
        .validate(leaf, &[], &official(), t0 + Duration::hours(1))
        .unwrap_err();
    match &err {
        Error::Revoked {
            ca: true,
            serial,
            certificate: Some(name),
            revoked_at: Some(_),
            reason: Some(reason),
        } => {
            assert_eq!(serial, &ca.cert().serial_hex());
            assert!(name.contains("CA H99"), "{name}");
            assert_eq!(reason, "cACompromise");
        }
        other => panic!("expected the provincial CA's revocation, got {other:?}"),
    }
    assert!(err.to_string().contains("\"CA H99\""), "{err}");
}

/// A validation remembered while a CRL was current is not reused once it
/// is stale: the cache window ends at the CRL's nextUpdate.
#[test]
fn a_remembered_validation_ends_when_a_crl_goes_stale() {
    let t0 = start();
    let (root, ca, official_cred) = hierarchy(t0, t0, 30);
    let leaf = official_cred.cert();
    let mut store = TrustStore::new(vec![root.cert().clone()]).unwrap();
    store.add_intermediates([ca.cert().clone()]);
    let mut record = RevocationRecord::default();
    let pem_text = record.issue_crl(&ca, t0, 7).unwrap();
    let der = pem::parse(pem_text).unwrap().into_contents();
    store
        .add_crls([Crl::from_der(&der, "<test crl>".as_ref()).unwrap()])
        .unwrap();
    store
        .validate(leaf, &[], &official(), t0 + Duration::days(1))
        .unwrap();
    assert_eq!(store.cached_validations(), 1);
    let err = store
        .validate(leaf, &[], &official(), t0 + Duration::days(10))
        .unwrap_err();
    assert!(matches!(err, Error::CrlStale { .. }), "{err:?}");
}

/// A signature names a time when a CRL was current, but the verifier looks
/// later, after that list was superseded (the key may have been revoked
/// since and the signing time back-dated): the list must be current at the
/// verification time too. A newer list from the same CA answers.
#[test]
fn a_crl_must_be_current_when_the_verifier_looks() {
    let t0 = start();
    let (root, ca, official_cred) = hierarchy(t0, t0, 60);
    let leaf = official_cred.cert();
    let mut store = TrustStore::new(vec![root.cert().clone()]).unwrap();
    store.add_intermediates([ca.cert().clone()]);
    let mut record = RevocationRecord::default();
    let old_list = record.issue_crl(&ca, t0, 7).unwrap();
    let old_der = pem::parse(old_list).unwrap().into_contents();
    store
        .add_crls([Crl::from_der(&old_der, "<old crl>".as_ref()).unwrap()])
        .unwrap();
    let signed = t0 + Duration::days(1);
    let looking = t0 + Duration::days(30);

    // Without a verification time only the signing time counts.
    store.validate(leaf, &[], &official(), signed).unwrap();

    store.set_verification_time(congvan_sign::VerificationTime::At(looking));
    let err = store.validate(leaf, &[], &official(), signed).unwrap_err();
    match &err {
        Error::CrlStale { at, .. } => assert!(at.starts_with(&looking.year().to_string())),
        other => panic!("expected CrlStale, got {other:?}"),
    }
    assert!(err.to_string().contains("load a current CRL"), "{err}");

    // The operator's choice to accept stale lists covers this case too.
    store.set_stale_crls(congvan_sign::StaleCrls::Accept);
    store.validate(leaf, &[], &official(), signed).unwrap();
    store.set_stale_crls(congvan_sign::StaleCrls::TryLater);

    // A current list from the same CA supersedes the old one.
    let new_list = record.issue_crl(&ca, t0 + Duration::days(29), 7).unwrap();
    let der = pem::parse(new_list).unwrap().into_contents();
    store
        .add_crls([Crl::from_der(&der, "<new crl>".as_ref()).unwrap()])
        .unwrap();
    store.validate(leaf, &[], &official(), signed).unwrap();

    // One list per CA is kept, the newer, even when the old one comes
    // again later: it is the one the TLS layer is given too.
    let newest = store.crls()[0].next_update();
    store
        .add_crls([Crl::from_der(&old_der, "<old crl>".as_ref()).unwrap()])
        .unwrap();
    assert_eq!(store.crls().len(), 1);
    assert_eq!(store.crls()[0].next_update(), newest);
    store.validate(leaf, &[], &official(), signed).unwrap();
}

#[test]
fn adding_intermediates_empties_the_cache() {
    let t0 = start();
    let (root, ca, official_cred) = hierarchy(t0, t0, 30);
    let mut store = TrustStore::new(vec![root.cert().clone()]).unwrap();
    store
        .validate(
            official_cred.cert(),
            &[ca.cert().clone()],
            &official(),
            t0 + Duration::days(1),
        )
        .unwrap();
    assert_eq!(store.cached_validations(), 1);
    store.add_intermediates([ca.cert().clone()]);
    assert_eq!(store.cached_validations(), 0);
}

/// One store shared by threads, as the relay shares it.
#[test]
fn shared_store_answers_the_same_from_every_thread() {
    let t0 = start();
    let (root, ca, official_cred) = hierarchy(t0, t0, 30);
    let store = std::sync::Arc::new(TrustStore::new(vec![root.cert().clone()]).unwrap());
    let presented = vec![ca.cert().clone()];
    let leaf = official_cred.cert().clone();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (store, presented, leaf) = (store.clone(), presented.clone(), leaf.clone());
            std::thread::spawn(move || {
                for day in 1..10 {
                    let chain = store
                        .validate(&leaf, &presented, &official(), t0 + Duration::days(day))
                        .unwrap();
                    assert_eq!(chain.certificates.len(), 3);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.cached_validations(), 1);
    assert!(store.cache_hits() >= 4 * 9 - 4);
}

#[test]
fn parse_x5c_returns_what_from_der_returns() {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let t0 = start();
    let (root, ca, official_cred) = hierarchy(t0, t0, 30);
    let store = TrustStore::new(vec![root.cert().clone()]).unwrap();
    for cert in [official_cred.cert(), ca.cert(), official_cred.cert()] {
        let direct = Certificate::from_der(cert.der(), "<direct>".as_ref()).unwrap();
        let encoded = STANDARD.encode(cert.der());
        for _ in 0..2 {
            let parsed = store.parse_x5c(&encoded, "<cached>".as_ref()).unwrap();
            assert_eq!(parsed.der(), direct.der());
            assert_eq!(parsed.subject(), direct.subject());
            assert_eq!(parsed.org(), direct.org());
            assert_eq!(parsed.role(), direct.role());
            assert_eq!(parsed.not_after(), direct.not_after());
            assert_eq!(parsed.public_key(), direct.public_key());
            assert_eq!(parsed.fingerprint(), direct.fingerprint());
        }
    }
    // Bad DER and bad base64 are refused every time, with the caller's
    // origin in the error.
    let mut bad = official_cred.cert().der().to_vec();
    bad.truncate(bad.len() - 10);
    let truncated = STANDARD.encode(&bad);
    for origin in ["first", "second"] {
        let err = store.parse_x5c(&truncated, origin.as_ref()).unwrap_err();
        assert!(err.to_string().contains(origin), "{err}");
        let err = store.parse_x5c("not base64!", origin.as_ref()).unwrap_err();
        assert!(err.to_string().contains("base64"), "{err}");
    }
    // A certificate whose encoding ends like another's (the cache's index)
    // is still parsed from its own bytes: the look-alike replaces the slot.
    let official = STANDARD.encode(official_cred.cert().der());
    let ca_text = STANDARD.encode(ca.cert().der());
    let tail = &official[official.len() - 48..];
    let look_alike = format!("{}{}", &ca_text[..ca_text.len() - 48], tail);
    assert_ne!(look_alike, official);
    // It may or may not parse (the signature bytes are not checked here),
    // but never as the remembered official certificate.
    if let Ok(parsed) = store.parse_x5c(&look_alike, "x".as_ref()) {
        assert_eq!(parsed.der(), STANDARD.decode(&look_alike).unwrap());
        assert_ne!(parsed.der(), official_cred.cert().der());
    }
    let again = store.parse_x5c(&official, "x".as_ref()).unwrap();
    assert_eq!(again.der(), official_cred.cert().der());
}
