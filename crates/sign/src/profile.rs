//! The certificate profile every certificate of a validated path must meet,
//! besides what rustls-webpki checks.
//!
//! webpki builds and verifies the chain; it does not look at the trust
//! anchor beyond its name and key, nor at several RFC 5280 "MUST"s it
//! leaves to policy. A government PKI should be held to them, and the
//! public x509-limbo suite holds validators to them:
//!
//! - every certificate: a positive serial number of at most 20 octets, a
//!   non-empty issuer, readable extensions, authority and subject key
//!   identifiers not critical, an authority key identifier that names the
//!   issuer's key only, a subject or (if the subject is empty) a critical
//!   subjectAltName, and a key congvan accepts (`key_strength.rs`);
//! - an end entity: an authority key identifier; no keyCertSign and no
//!   name constraints (it is not a CA); an extended key usage that names
//!   its purposes (not anyExtendedKeyUsage) without joining purposes that
//!   must stand apart (serverAuth with codeSigning, emailProtection,
//!   OCSPSigning or precertificate signing; codeSigning with
//!   emailProtection; timeStamping with anything);
//! - every certificate with policyConstraints: marked critical;
//! - every CA with nameConstraints: marked critical, not empty, and no
//!   dNSName constraint with a leading period;
//! - an intermediate CA: authority and subject key identifiers, a critical
//!   basicConstraints, keyCertSign in its keyUsage, a non-empty subject;
//! - a trust anchor: an X.509 v3 CA certificate with a critical
//!   basicConstraints saying cA, keyCertSign if it has a keyUsage, a subject
//!   key identifier, an authority key identifier unless it is self-issued
//!   (when it has one: with a keyIdentifier, equal to its subject key
//!   identifier if it is self-issued),
//!   no extended key usage (a root issues CAs; it serves no purpose of its
//!   own) and no critical extension congvan does not know.
//!
//! The facts are read once, when the certificate is parsed
//! ([`ProfileFacts`]); [`check`] judges them for the certificate's place in
//! the path.

use x509_parser::prelude::{
    ExtendedKeyUsage, GeneralName, NameConstraints, ParsedExtension, X509Certificate,
};

use crate::{Certificate, Error};

/// Where a certificate sits in a validated path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Position {
    /// The certificate being validated.
    EndEntity,
    /// A CA between it and the trust anchor.
    Intermediate,
    /// The trust anchor itself.
    Anchor,
}

/// What the profile checks need of a certificate.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProfileFacts {
    /// X.509 version as encoded (0 = v1, 2 = v3).
    version: u32,
    /// The serial number's problem, if any.
    serial_problem: Option<String>,
    empty_subject: bool,
    empty_issuer: bool,
    /// Subject and issuer names are the same bytes.
    self_issued: bool,
    /// The authority key identifier: (critical, names issuer or serial).
    aki: Option<(bool, bool)>,
    /// The subject key identifier's criticality.
    ski: Option<bool>,
    /// basicConstraints' criticality.
    basic_constraints: Option<bool>,
    /// subjectAltName's criticality.
    san: Option<bool>,
    /// The certificate has an extendedKeyUsage extension.
    has_eku: bool,
    /// keyUsage asserts keyCertSign.
    key_cert_sign: Option<bool>,
    /// Critical extensions x509-parser does not know, by OID.
    unknown_critical: Vec<String>,
    /// Extensions whose value does not parse, by OID.
    unreadable: Vec<String>,
    /// Why the key is refused, if it is (`key_strength.rs`).
    pub(crate) key_problem: Option<String>,
    /// The authority key identifier's keyIdentifier, when the extension has one.
    aki_key_id: Option<Vec<u8>>,
    /// The subject key identifier's value.
    ski_value: Option<Vec<u8>>,
    /// Why its nameConstraints extension is unacceptable, or `Some(None)`
    /// when it has an acceptable one.
    name_constraints: Option<Option<String>>,
    /// policyConstraints' criticality.
    policy_constraints: Option<bool>,
    /// Why its extended key usage is unacceptable in an end entity.
    eku_problem: Option<String>,
}

impl ProfileFacts {
    /// Reads the facts of a parsed certificate.
    pub(crate) fn of(cert: &X509Certificate<'_>) -> ProfileFacts {
        let mut facts = ProfileFacts {
            version: cert.version().0,
            serial_problem: serial_problem(cert.raw_serial()),
            empty_subject: cert.subject().iter().next().is_none(),
            empty_issuer: cert.issuer().iter().next().is_none(),
            self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
            key_problem: crate::key_strength::problem(cert.public_key()),
            ..ProfileFacts::default()
        };
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    let names_issuer =
                        aki.authority_cert_issuer.is_some() || aki.authority_cert_serial.is_some();
                    facts.aki = Some((ext.critical, names_issuer));
                    facts.aki_key_id = aki.key_identifier.as_ref().map(|k| k.0.to_vec());
                }
                ParsedExtension::SubjectKeyIdentifier(ski) => {
                    facts.ski = Some(ext.critical);
                    facts.ski_value = Some(ski.0.to_vec());
                }
                ParsedExtension::NameConstraints(nc) => {
                    facts.name_constraints = Some(name_constraints_problem(nc, ext.critical));
                }
                ParsedExtension::PolicyConstraints(_) => {
                    facts.policy_constraints = Some(ext.critical)
                }
                ParsedExtension::BasicConstraints(_) => {
                    facts.basic_constraints = Some(ext.critical)
                }
                ParsedExtension::SubjectAlternativeName(_) => facts.san = Some(ext.critical),
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    facts.has_eku = true;
                    facts.eku_problem = end_entity_eku_problem(eku);
                }
                ParsedExtension::KeyUsage(ku) => facts.key_cert_sign = Some(ku.key_cert_sign()),
                ParsedExtension::ParseError { .. } => facts.unreadable.push(ext.oid.to_id_string()),
                ParsedExtension::UnsupportedExtension { .. } if ext.critical => {
                    facts.unknown_critical.push(ext.oid.to_id_string())
                }
                _ => {}
            }
        }
        facts
    }
}

/// Name constraints are for CAs, MUST be critical and MUST constrain
/// something (RFC 5280 §4.2.1.10: a GeneralSubtrees has at least one
/// element, and a dNSName constraint is a domain name, without the leading
/// period only URI constraints may have).
fn name_constraints_problem(nc: &NameConstraints<'_>, critical: bool) -> Option<String> {
    if !critical {
        return Some("its nameConstraints is not marked critical".into());
    }
    let permitted = nc.permitted_subtrees.as_deref();
    let excluded = nc.excluded_subtrees.as_deref();
    if permitted.is_some_and(<[_]>::is_empty) || excluded.is_some_and(<[_]>::is_empty) {
        return Some("its nameConstraints has an empty list of subtrees".into());
    }
    if permitted.is_none() && excluded.is_none() {
        return Some("its nameConstraints constrains nothing".into());
    }
    let subtrees = permitted.into_iter().chain(excluded).flatten();
    for subtree in subtrees {
        if let GeneralName::DNSName(name) = subtree.base {
            if name.starts_with('.') {
                return Some(format!(
                    "its nameConstraints has the DNS name {:?}, with a leading period (a dNSName \
                     constraint names a domain: \"example.com\" covers its subdomains)",
                    congvan_text::line(name)
                ));
            }
        }
    }
    None
}

/// The CT precertificate signing purpose (RFC 6962 §3.1).
const PRECERTIFICATE_SIGNING: &str = "1.3.6.1.4.1.11129.2.4.4";

/// What an end entity's extended key usage may not say: anyExtendedKeyUsage
/// (a certificate for everything), and purposes that must stand apart
/// because one key should not serve both (the CA/Browser Forum rules for
/// TLS server and S/MIME certificates; RFC 3161 §2.3 for time stamping,
/// which must be the only purpose).
fn end_entity_eku_problem(eku: &ExtendedKeyUsage<'_>) -> Option<String> {
    if eku.any {
        return Some(
            "its extended key usage includes anyExtendedKeyUsage; an end-entity certificate must \
             name its purposes"
                .into(),
        );
    }
    let others = eku.server_auth as usize
        + eku.client_auth as usize
        + eku.code_signing as usize
        + eku.email_protection as usize
        + eku.ocsp_signing as usize
        + eku.other.len();
    if eku.time_stamping && others > 0 {
        return Some("its extended key usage combines timeStamping with other purposes".into());
    }
    let precertificate = eku
        .other
        .iter()
        .any(|oid| oid.to_id_string() == PRECERTIFICATE_SIGNING);
    let apart = [
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.ocsp_signing, "OCSPSigning"),
        (precertificate, "precertificate signing"),
    ];
    if eku.server_auth {
        if let Some((_, name)) = apart.iter().find(|(set, _)| *set) {
            return Some(format!(
                "its extended key usage combines serverAuth with {name}"
            ));
        }
    }
    if eku.code_signing && eku.email_protection {
        return Some("its extended key usage combines codeSigning with emailProtection".into());
    }
    None
}

/// A serial number must be a positive integer of at most 20 octets
/// (RFC 5280 §4.1.2.2); `raw` is the DER INTEGER's content.
fn serial_problem(raw: &[u8]) -> Option<String> {
    if raw.first().is_some_and(|b| b & 0x80 != 0) {
        return Some("its serial number is negative".into());
    }
    let significant = raw.iter().skip_while(|&&b| b == 0).count();
    if significant == 0 {
        return Some("its serial number is zero".into());
    }
    // A leading zero octet only keeps the integer positive.
    let octets = if raw.first() == Some(&0) {
        raw.len() - 1
    } else {
        raw.len()
    };
    (octets > 20).then(|| format!("its serial number has {octets} octets; at most 20 are allowed"))
}

/// Judges `cert` for its `position`; the error names the certificate.
pub(crate) fn check(cert: &Certificate, position: Position) -> Result<(), Error> {
    let f = cert.profile();
    let problem = first_problem(f, cert.is_ca(), position);
    match problem {
        None => Ok(()),
        Some(problem) => Err(Error::CertificateProfile {
            certificate: certificate_name(cert, position),
            problem,
        }),
    }
}

/// How a certificate is named in an error: what it is, and its name.
pub(crate) fn certificate_name(cert: &Certificate, position: Position) -> String {
    let what = match position {
        Position::EndEntity => "the certificate",
        Position::Intermediate => "the CA certificate",
        Position::Anchor => "the trust anchor",
    };
    format!("{what} \"{}\"", cert.display_name())
}

fn first_problem(f: &ProfileFacts, is_ca: bool, position: Position) -> Option<String> {
    let say = |text: &str| Some(text.to_string());
    if let Some(problem) = &f.serial_problem {
        return Some(problem.clone());
    }
    if f.empty_issuer {
        return say("its issuer name is empty");
    }
    if let Some(oid) = f.unreadable.first() {
        return Some(format!("its extension {oid} cannot be read"));
    }
    if let Some(problem) = &f.key_problem {
        return Some(problem.clone());
    }
    match f.aki {
        Some((true, _)) => return say("its authority key identifier is marked critical"),
        Some((_, true)) => {
            return say(
                "its authority key identifier names the issuer or its serial number; it must \
                 name the issuer's key only",
            )
        }
        _ => {}
    }
    if f.ski == Some(true) {
        return say("its subject key identifier is marked critical");
    }
    match (f.empty_subject, f.san) {
        (true, Some(true)) => {}
        (true, _) => {
            return say("its subject is empty without a critical subjectAltName naming it")
        }
        (false, Some(true)) => {
            return say("its subjectAltName is marked critical although its subject is not empty")
        }
        _ => {}
    }
    if f.policy_constraints == Some(false) {
        return say("its policyConstraints is not marked critical");
    }
    match position {
        Position::EndEntity => {
            if f.aki.is_none() {
                return say("it has no authority key identifier");
            }
            if f.key_cert_sign == Some(true) && !is_ca {
                return say("its keyUsage asserts keyCertSign, but it is not a CA");
            }
            if f.name_constraints.is_some() {
                return say("it has name constraints, which only a CA certificate may carry");
            }
            if !f.has_eku {
                return say(
                    "it has no extended key usage; an end-entity certificate must say what it is \
                     for",
                );
            }
            if let Some(problem) = &f.eku_problem {
                return Some(problem.clone());
            }
        }
        Position::Intermediate => {
            if f.aki.is_none() {
                return say("it has no authority key identifier");
            }
            if let Some(problem) = ca_problem(f) {
                return Some(problem);
            }
        }
        Position::Anchor => {
            if f.version != 2 {
                return say("it is not an X.509 v3 certificate");
            }
            if !is_ca {
                return say("its basicConstraints does not say it is a CA");
            }
            if let Some(problem) = ca_problem(f) {
                return Some(problem);
            }
            if f.aki.is_some() && f.aki_key_id.is_none() {
                return say("its authority key identifier has no keyIdentifier");
            }
            if f.self_issued && f.aki_key_id.is_some() && f.aki_key_id != f.ski_value {
                return say(
                    "it is self-issued, but its authority key identifier differs from its subject \
                     key identifier",
                );
            }
            if f.aki.is_none() && !f.self_issued {
                return say(
                    "it is not self-issued and has no authority key identifier (a CA certificate \
                     used as a trust anchor must say who issued it)",
                );
            }
            if f.has_eku {
                return say(
                    "it has an extended key usage; a root CA issues CAs and serves no purpose of \
                     its own",
                );
            }
            if let Some(oid) = f.unknown_critical.first() {
                return Some(format!(
                    "it has the critical extension {oid}, which congvan does not know"
                ));
            }
        }
    }
    None
}

/// What every CA certificate must have.
fn ca_problem(f: &ProfileFacts) -> Option<String> {
    if f.empty_subject {
        return Some("its subject is empty; a CA must be named".into());
    }
    match f.basic_constraints {
        None => return Some("it has no basicConstraints".into()),
        Some(false) => return Some("its basicConstraints is not marked critical".into()),
        Some(true) => {}
    }
    if f.key_cert_sign == Some(false) {
        return Some("its keyUsage lacks keyCertSign, so it may not issue certificates".into());
    }
    if f.ski.is_none() {
        return Some("it has no subject key identifier".into());
    }
    if let Some(Some(problem)) = &f.name_constraints {
        return Some(problem.clone());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers_are_positive_and_at_most_20_octets() {
        assert_eq!(serial_problem(&[1]), None);
        assert_eq!(serial_problem(&[0, 0x80]), None);
        assert_eq!(serial_problem(&[0x7f; 20]), None);
        let mut padded = vec![0];
        padded.extend([0xff; 20]);
        assert_eq!(serial_problem(&padded), None);
        assert!(serial_problem(&[0]).unwrap().contains("zero"));
        assert!(serial_problem(&[0x80]).unwrap().contains("negative"));
        assert!(serial_problem(&[0x7f; 21]).unwrap().contains("21 octets"));
    }
}
