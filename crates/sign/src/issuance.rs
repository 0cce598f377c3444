use std::net::IpAddr;

use congvan_org::OrgId;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer,
    KeyUsagePurpose, SanType, SerialNumber,
};
use ring::rand::SecureRandom;
use time::{Duration, OffsetDateTime};

use crate::certificate::ORG_URI_PREFIX;
use crate::{Certificate, Credential, Error, Role, SigningKey};

/// What a new end-entity certificate should say.
#[derive(Clone, Debug)]
pub struct LeafRequest {
    /// What the certificate is for.
    pub role: Role,
    /// The subject common name: the office's name, the official's full name,
    /// or the relay's name.
    pub name: String,
    /// The organization the certificate binds.
    pub org: OrgId,
    /// The office's name (subject O), when it differs from `name`.
    pub organization_name: Option<String>,
    /// An official's position (subject title), e.g. "Chủ tịch".
    pub position: Option<String>,
    /// DNS names a relay answers to (TLS).
    pub dns: Vec<String>,
    /// IP addresses a relay answers on (TLS).
    pub ips: Vec<IpAddr>,
    /// Days of validity; capped by the issuer's own validity.
    pub days: u32,
}

/// Makes a self-signed national root CA.
///
/// The root binds no organization: it anchors the whole tree.
pub fn init_root(name: &str, key: SigningKey, days: u32) -> Result<Credential, Error> {
    init_root_at(name, key, days, default_start())
}

/// [`init_root`] with an explicit start of validity, e.g. to back-date a
/// test hierarchy so that past signing times can be exercised.
pub fn init_root_at(
    name: &str,
    key: SigningKey,
    days: u32,
    not_before: OffsetDateTime,
) -> Result<Credential, Error> {
    let mut params = base_params(name, None, days, not_before)?;
    // Root -> provincial/ministry CA -> end entity: one CA level below the root.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    params.key_usages = ca_key_usages();
    let rc_key = key.to_rcgen()?;
    let cert = params
        .self_signed(&rc_key)
        .map_err(|e| Error::Issuance(e.to_string()))?;
    let cert = Certificate::from_der(cert.der(), "<root>".as_ref())?;
    Credential::new(cert, key, Vec::new())
}

/// Issues an intermediate CA limited to `org` and the offices below it.
pub fn issue_ca(
    issuer: &Credential,
    name: &str,
    org: &OrgId,
    key: SigningKey,
    days: u32,
) -> Result<Credential, Error> {
    issue_ca_at(issuer, name, org, key, days, default_start())
}

/// [`issue_ca`] with an explicit start of validity.
pub fn issue_ca_at(
    issuer: &Credential,
    name: &str,
    org: &OrgId,
    key: SigningKey,
    days: u32,
    not_before: OffsetDateTime,
) -> Result<Credential, Error> {
    check_can_issue_for(issuer, org)?;
    if issuer.cert().path_len() == Some(0) {
        return Err(Error::Refused(format!(
            "\"{}\" may not issue CA certificates (its pathLenConstraint is 0); issue the CA from the root",
            issuer.cert().display_name()
        )));
    }
    let mut params = base_params(name, Some(org), days, not_before)?;
    params.not_after = params.not_after.min(issuer.cert().not_after());
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = ca_key_usages();
    sign_with(issuer, params, key)
}

/// Issues an office, official or relay certificate.
pub fn issue_leaf(
    issuer: &Credential,
    request: &LeafRequest,
    key: SigningKey,
) -> Result<Credential, Error> {
    issue_leaf_at(issuer, request, key, default_start())
}

/// [`issue_leaf`] with an explicit start of validity.
pub fn issue_leaf_at(
    issuer: &Credential,
    request: &LeafRequest,
    key: SigningKey,
    not_before: OffsetDateTime,
) -> Result<Credential, Error> {
    check_can_issue_for(issuer, &request.org)?;
    if request.role == Role::Encryption && key.algorithm() != crate::Algorithm::EcdsaP256 {
        return Err(Error::Refused(
            "an encryption certificate needs a P-256 key (ECDH-ES on P-256); use --alg p256".into(),
        ));
    }
    if request.role == Role::Official && request.position.is_none() {
        return Err(Error::Refused(
            "an official's certificate needs a position (--position \"Chủ tịch\")".into(),
        ));
    }
    let mut params = base_params(&request.name, Some(&request.org), request.days, not_before)?;
    params.not_after = params.not_after.min(issuer.cert().not_after());
    if let Some(org_name) = &request.organization_name {
        params
            .distinguished_name
            .push(DnType::OrganizationName, org_name.as_str());
    }
    if let Some(position) = &request.position {
        params
            .distinguished_name
            .push(DnType::CustomDnType(vec![2, 5, 4, 12]), position.as_str());
    }
    for dns in &request.dns {
        let name = dns
            .clone()
            .try_into()
            .map_err(|_| Error::Refused(format!("{dns:?} is not a valid DNS name")))?;
        params.subject_alt_names.push(SanType::DnsName(name));
    }
    for ip in &request.ips {
        params.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = if request.role.signs_documents() {
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ]
    } else if request.role.signs() {
        vec![KeyUsagePurpose::DigitalSignature]
    } else {
        vec![KeyUsagePurpose::KeyAgreement]
    };
    let mut eku =
        CustomExtension::from_oid_content(&[2, 5, 29, 37], request.role.eku_extension_value());
    eku.set_criticality(request.role.eku_critical());
    params.custom_extensions.push(eku);
    sign_with(issuer, params, key)
}

/// Refuses a certificate that `issuer` did not sign.
pub(crate) fn check_issued_by(cert: &Certificate, issuer: &Certificate) -> Result<(), Error> {
    use x509_parser::prelude::*;
    let not_ours = || {
        Error::Refused(format!(
            "certificate \"{}\" was not issued by \"{}\"",
            cert.display_name(),
            issuer.display_name()
        ))
    };
    let (_, parsed) = X509Certificate::from_der(cert.der()).map_err(|_| not_ours())?;
    let (_, issuer_parsed) = X509Certificate::from_der(issuer.der()).map_err(|_| not_ours())?;
    parsed
        .verify_signature(Some(issuer_parsed.public_key()))
        .map_err(|_| not_ours())
}

pub(crate) fn rcgen_issuer(ca: &Credential) -> Result<Issuer<'static, rcgen::KeyPair>, Error> {
    let der = rustls_pki_types::CertificateDer::from(ca.cert().der().to_vec());
    Issuer::from_ca_cert_der(&der, ca.key().to_rcgen()?)
        .map_err(|e| Error::Issuance(format!("the issuer certificate cannot be used: {e}")))
}

fn check_can_issue_for(issuer: &Credential, org: &OrgId) -> Result<(), Error> {
    let cert = issuer.cert();
    if !cert.is_ca() {
        return Err(Error::Refused(format!(
            "\"{}\" is not a CA certificate and cannot issue",
            cert.display_name()
        )));
    }
    if let Some(ca_org) = cert.org() {
        if !org.is_within(ca_org) {
            return Err(Error::OrgOutsideSubtree {
                org: org.to_string(),
                ca: cert.display_name().to_string(),
                ca_org: ca_org.to_string(),
            });
        }
    }
    Ok(())
}

fn sign_with(
    issuer: &Credential,
    params: CertificateParams,
    key: SigningKey,
) -> Result<Credential, Error> {
    let rc_issuer = rcgen_issuer(issuer)?;
    let rc_key = key.to_rcgen()?;
    let cert = params
        .signed_by(&rc_key, &rc_issuer)
        .map_err(|e| Error::Issuance(e.to_string()))?;
    let cert = Certificate::from_der(cert.der(), "<issued>".as_ref())?;
    let mut chain = Vec::with_capacity(issuer.chain().len() + 1);
    if issuer.cert().subject() != issuer.cert().issuer() {
        // The issuer is an intermediate: it goes first in the chain.
        chain.push(issuer.cert().clone());
    }
    chain.extend(issuer.chain().iter().cloned());
    Credential::new(cert, key, chain)
}

/// Back-date a little so a freshly issued certificate is valid on a peer
/// whose clock runs slightly behind.
fn default_start() -> OffsetDateTime {
    OffsetDateTime::now_utc() - Duration::minutes(5)
}

fn base_params(
    name: &str,
    org: Option<&OrgId>,
    days: u32,
    not_before: OffsetDateTime,
) -> Result<CertificateParams, Error> {
    if name.trim().is_empty() {
        return Err(Error::Refused(
            "the certificate name (--name) is empty".into(),
        ));
    }
    if days == 0 {
        return Err(Error::Refused("--days must be at least 1".into()));
    }
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "VN");
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params.not_before = not_before.replace_nanosecond(0).unwrap_or(not_before);
    params.not_after = params.not_before + Duration::days(i64::from(days));
    params.serial_number = Some(random_serial()?);
    params.use_authority_key_identifier_extension = true;
    if let Some(org) = org {
        let uri = format!("{ORG_URI_PREFIX}{org}")
            .try_into()
            .map_err(|_| Error::Refused(format!("organization id {org} cannot go in a URI")))?;
        params.subject_alt_names.push(SanType::URI(uri));
    }
    Ok(params)
}

fn ca_key_usages() -> Vec<KeyUsagePurpose> {
    vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ]
}

fn random_serial() -> Result<SerialNumber, Error> {
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Issuance("the system random generator failed".into()))?;
    // A positive INTEGER with no leading zero byte.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}
