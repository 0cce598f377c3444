//! A provincial CA cannot make a certificate that validates for another
//! province's organization: congvan refuses to issue it, and a certificate
//! made anyway with the CA's own key (bypassing congvan's issuance check)
//! fails `TrustStore::validate` with `OrgOutsideSubtree`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use congvan_sign::{
    init_root, issue_ca, issue_leaf, Algorithm, Certificate, Credential, Error, LeafRequest, OrgId,
    Purpose, Role, SigningKey, TrustStore,
};
use rcgen::{CustomExtension, DnType, IsCa, KeyUsagePurpose, SanType};
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

/// DER value of id-kp-documentSigning (RFC 9336), 1.3.6.1.5.5.7.3.36.
const DOCUMENT_SIGNING: [u8; 8] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x24];

/// A root and the provincial CA for H99 under it.
fn root_and_h99_ca() -> (Credential, Credential) {
    let root = init_root(
        "Root",
        SigningKey::generate(Algorithm::EcdsaP256).unwrap(),
        3650,
    )
    .unwrap();
    let h99 = OrgId::parse("H99").unwrap();
    let ca = issue_ca(
        &root,
        "CA H99",
        &h99,
        SigningKey::generate(Algorithm::EcdsaP256).unwrap(),
        3650,
    )
    .unwrap();
    (root, ca)
}

/// An official's certificate for `org`, signed with the CA's key by rcgen
/// directly, so nothing checks that `org` lies within the CA's subtree.
fn forge_official(ca: &Credential, org: &str) -> Certificate {
    let ca_key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(ca.key().pkcs8_der()),
        &rcgen::PKCS_ECDSA_P256_SHA256,
    )
    .unwrap();
    let issuer =
        rcgen::Issuer::from_ca_cert_der(&CertificateDer::from(ca.cert().der()), ca_key).unwrap();

    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "Forged official");
    params.subject_alt_names.push(SanType::URI(
        format!("urn:congvan:org:{org}").try_into().unwrap(),
    ));
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    // ExtendedKeyUsage: documentSigning and congvan's official role.
    let mut oids = Vec::new();
    for oid in [&DOCUMENT_SIGNING[..], Role::Official.oid()] {
        oids.push(0x06);
        oids.push(oid.len() as u8);
        oids.extend_from_slice(oid);
    }
    let mut eku = vec![0x30, oids.len() as u8];
    eku.extend(oids);
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(&[2, 5, 29, 37], eku));
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(30);

    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&leaf_key, &issuer).unwrap();
    Certificate::from_der(cert.der(), "<forged>".as_ref()).unwrap()
}

fn official() -> Purpose {
    Purpose {
        role: Some(Role::Official),
        org: None,
    }
}

#[test]
fn certificate_forged_with_h99_ca_key_for_h98_is_org_outside_subtree() {
    let (root, ca) = root_and_h99_ca();
    let forged = forge_official(&ca, "H98.01");
    assert_eq!(forged.org(), Some(&OrgId::parse("H98.01").unwrap()));
    assert_eq!(forged.role(), Some(Role::Official));

    let mut store = TrustStore::new(vec![root.cert().clone()]).unwrap();
    store.add_intermediates([ca.cert().clone()]);
    let now = OffsetDateTime::now_utc();
    let h98 = Purpose {
        org: Some(OrgId::parse("H98.01").unwrap()),
        ..official()
    };
    let any = Purpose::default();
    for purpose in [official(), h98, any] {
        let err = store.validate(&forged, &[], &purpose, now).unwrap_err();
        match &err {
            Error::OrgOutsideSubtree { org, ca_org, .. } => {
                assert_eq!(org, "H98.01");
                assert_eq!(ca_org, "H99");
            }
            other => panic!("expected OrgOutsideSubtree for {purpose:?}, got {other:?}"),
        }
        assert_eq!(err.code(), "org_outside_subtree");
        assert!(err.is_rejection());
    }

    // The same when the CA comes with the certificate (as a signature's x5c).
    let bare = TrustStore::new(vec![root.cert().clone()]).unwrap();
    let err = bare
        .validate(&forged, &[ca.cert().clone()], &official(), now)
        .unwrap_err();
    assert_eq!(err.code(), "org_outside_subtree", "{err:?}");
}

#[test]
fn certificate_made_the_same_way_inside_h99_is_valid() {
    // Control for the test above: the forging itself is not what fails.
    let (root, ca) = root_and_h99_ca();
    let inside = forge_official(&ca, "H99.01.02");
    let mut store = TrustStore::new(vec![root.cert().clone()]).unwrap();
    store.add_intermediates([ca.cert().clone()]);
    let chain = store
        .validate(&inside, &[], &official(), OffsetDateTime::now_utc())
        .unwrap();
    assert_eq!(chain.certificates.len(), 3);
}

#[test]
fn issue_leaf_refuses_an_organization_outside_the_ca_subtree() {
    let (_root, ca) = root_and_h99_ca();
    let request = LeafRequest {
        role: Role::Official,
        name: "Nguyễn Văn Giả".into(),
        org: OrgId::parse("H98.01").unwrap(),
        organization_name: None,
        position: Some("Chủ tịch".into()),
        dns: Vec::new(),
        ips: Vec::new(),
        days: 30,
    };
    let err = issue_leaf(
        &ca,
        &request,
        SigningKey::generate(Algorithm::EcdsaP256).unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "org_outside_subtree", "{err:?}");
    assert!(err.to_string().contains("subtree"), "{err}");

    // Nor can it make a CA for the other province.
    let err = issue_ca(
        &ca,
        "CA H98",
        &OrgId::parse("H98").unwrap(),
        SigningKey::generate(Algorithm::EcdsaP256).unwrap(),
        30,
    )
    .unwrap_err();
    assert_eq!(err.code(), "org_outside_subtree", "{err:?}");
}
