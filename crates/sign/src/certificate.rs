use std::path::Path;
use std::sync::Arc;

use ::time::OffsetDateTime;
use congvan_org::OrgId;
use x509_parser::prelude::{
    AttributeTypeAndValue, FromDer, GeneralName, X509Certificate, X509Error,
};

use crate::profile::ProfileFacts;
use crate::{pem_file, Algorithm, Error, Role};

/// URI prefix of the subjectAltName that binds a certificate to an organization.
pub const ORG_URI_PREFIX: &str = "urn:congvan:org:";

/// The keyUsage bits congvan cares about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyUsageBits {
    /// digitalSignature: any signature by the key.
    pub digital_signature: bool,
    /// contentCommitment (nonRepudiation): the signer commits to the content.
    pub content_commitment: bool,
    /// keyCertSign: the key issues certificates.
    pub key_cert_sign: bool,
    /// cRLSign: the key signs revocation lists.
    pub crl_sign: bool,
    /// keyAgreement: the key agrees keys (ECDH), as an encryption key does.
    pub key_agreement: bool,
}

/// A parsed X.509 certificate with the facts congvan reads from it.
///
/// Parsing happens once, when the certificate is loaded. The facts are
/// immutable and shared, so cloning a certificate (into a validated chain, a
/// cache, a report) costs a reference count, not a copy of every field.
#[derive(Clone, Debug)]
pub struct Certificate {
    facts: Arc<CertificateFacts>,
}

/// What [`Certificate`] shares between its clones.
#[derive(Debug)]
struct CertificateFacts {
    der: Vec<u8>,
    /// SHA-256 of `der`, computed once: the certificate's identity in caches.
    fingerprint: [u8; 32],
    subject: String,
    issuer: String,
    /// The subject and issuer distinguished names as DER, for matching a
    /// certificate to its issuer by name.
    subject_der: Vec<u8>,
    issuer_der: Vec<u8>,
    /// The common name (or subject), escaped for display: see [`Certificate::display_name`].
    display_name: String,
    common_name: Option<String>,
    organization_name: Option<String>,
    position: Option<String>,
    org: Option<OrgId>,
    role: Option<Role>,
    key_usage: Option<KeyUsageBits>,
    extended_key_usages: Vec<String>,
    is_ca: bool,
    path_len: Option<u32>,
    serial: Vec<u8>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    public_key: Vec<u8>,
    key_algorithm: Option<Algorithm>,
    /// The EKU values (DER OID bytes), `None` without the extension.
    eku_oids: Option<Vec<Vec<u8>>>,
    /// The extendedKeyUsage extension is marked critical.
    eku_critical: bool,
    /// What the profile checks read (`profile.rs`).
    profile: ProfileFacts,
}

impl Certificate {
    /// Parses DER; `origin` names the source in errors.
    pub fn from_der(der: &[u8], origin: &Path) -> Result<Certificate, Error> {
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| Error::malformed(origin, format!("not a valid X.509 certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(Error::malformed(
                origin,
                "trailing bytes after the certificate",
            ));
        }
        // RFC 5280 §4.2: a certificate must not include an extension more
        // than once. Readers that take the first and readers that take the
        // last would see two different certificates; this one sees none.
        if let Err(X509Error::DuplicateExtensions) = cert.tbs_certificate.extensions_map() {
            return Err(Error::InvalidCertificate {
                path: origin.to_path_buf(),
                problem: "it includes an extension twice (RFC 5280 §4.2 forbids it), so readers \
                          could disagree on what it says"
                    .into(),
            });
        }
        let bad_ext = |e: X509Error| Error::InvalidCertificate {
            path: origin.to_path_buf(),
            problem: format!("an extension cannot be read: {e}"),
        };

        let key_usage = cert.key_usage().map_err(bad_ext)?.map(|ku| KeyUsageBits {
            digital_signature: ku.value.digital_signature(),
            content_commitment: ku.value.non_repudiation(),
            key_cert_sign: ku.value.key_cert_sign(),
            crl_sign: ku.value.crl_sign(),
            key_agreement: ku.value.key_agreement(),
        });

        let mut role = None;
        let mut extended_key_usages = Vec::new();
        let mut eku_oids = None;
        let mut eku_critical = false;
        if let Some(eku) = cert.extended_key_usage().map_err(bad_ext)? {
            eku_oids = Some(eku_values(eku.value));
            if eku.value.server_auth {
                extended_key_usages.push("serverAuth".to_string());
            }
            if eku.value.client_auth {
                extended_key_usages.push("clientAuth".to_string());
            }
            // A timestamp authority is marked by the standard purpose alone.
            if eku.value.time_stamping {
                extended_key_usages.push("timeStamping".to_string());
                role = Some(Role::Tsa);
            }
            eku_critical = eku.critical;
            for oid in &eku.value.other {
                if oid.as_bytes() == crate::role::OID_DOCUMENT_SIGNING {
                    extended_key_usages.push("documentSigning".to_string());
                } else if let Some(r) = Role::from_oid(oid.as_bytes()) {
                    role = Some(r);
                    extended_key_usages.push(format!("congvan-{r}"));
                } else {
                    extended_key_usages.push(oid.to_id_string());
                }
            }
        }

        let mut org = None;
        if let Some(san) = cert.subject_alternative_name().map_err(bad_ext)? {
            for name in &san.value.general_names {
                if let GeneralName::URI(uri) = name {
                    if let Some(code) = uri.strip_prefix(ORG_URI_PREFIX) {
                        if org.is_some() {
                            return Err(Error::malformed(
                                origin,
                                "the certificate binds more than one organization",
                            ));
                        }
                        org = Some(OrgId::parse(code).map_err(|e| {
                            Error::malformed(origin, format!("bad organization binding: {e}"))
                        })?);
                    }
                }
            }
        }

        let spki = cert.public_key();
        let key_algorithm = match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => Some(Algorithm::Ed25519),
            "1.2.840.113549.1.1.1" => Some(Algorithm::RsaPkcs1Sha256),
            "1.2.840.10045.2.1" => match spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
            {
                Some(curve) if curve.to_id_string() == "1.2.840.10045.3.1.7" => {
                    Some(Algorithm::EcdsaP256)
                }
                Some(curve) if curve.to_id_string() == "1.3.132.0.34" => Some(Algorithm::EcdsaP384),
                _ => None,
            },
            _ => None,
        };

        let path_len = cert
            .basic_constraints()
            .map_err(bad_ext)?
            .and_then(|bc| bc.value.path_len_constraint);
        let position = cert
            .subject()
            .iter_attributes()
            .find(|a| a.attr_type().to_id_string() == "2.5.4.12")
            .and_then(|a| a.as_str().ok())
            .map(str::to_string);
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, der).as_ref());
        let subject = cert.subject().to_string();
        let common_name = first_attr(cert.subject().iter_common_name());
        let display_name =
            congvan_text::line(common_name.as_deref().unwrap_or(&subject)).into_owned();
        let facts = CertificateFacts {
            der: der.to_vec(),
            fingerprint,
            subject,
            issuer: cert.issuer().to_string(),
            subject_der: cert.subject().as_raw().to_vec(),
            issuer_der: cert.issuer().as_raw().to_vec(),
            display_name,
            common_name,
            organization_name: first_attr(cert.subject().iter_organization()),
            position,
            org,
            role,
            key_usage,
            extended_key_usages,
            is_ca: cert.is_ca(),
            path_len,
            serial: cert.raw_serial().to_vec(),
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            public_key: spki.subject_public_key.data.to_vec(),
            key_algorithm,
            eku_oids,
            eku_critical,
            profile: ProfileFacts::of(&cert),
        };
        Ok(Certificate {
            facts: Arc::new(facts),
        })
    }

    /// Reads every certificate in a PEM (or DER) file.
    pub fn load_all(path: &Path) -> Result<Vec<Certificate>, Error> {
        Certificate::from_blocks(pem_file::read_blocks(path)?, path)
    }

    /// Every certificate in PEM (or DER) bytes that came from `origin`
    /// (what error messages name: a file, or a peer such as a relay).
    pub fn parse_all(bytes: &[u8], origin: &Path) -> Result<Vec<Certificate>, Error> {
        Certificate::from_blocks(pem_file::parse_blocks(bytes.to_vec(), origin)?, origin)
    }

    fn from_blocks(blocks: Vec<pem::Pem>, path: &Path) -> Result<Vec<Certificate>, Error> {
        let mut certs = Vec::new();
        for block in blocks {
            match block.tag() {
                "CERTIFICATE" | "DER" => certs.push(Certificate::from_der(block.contents(), path)?),
                "TRUSTED CERTIFICATE" => {
                    return Err(Error::malformed(
                        path,
                        "OpenSSL TRUSTED CERTIFICATE blocks are not supported; \
                         export with `openssl x509 -in CERT -out PLAIN.pem`",
                    ))
                }
                other => {
                    return Err(Error::malformed(
                        path,
                        format!("expected CERTIFICATE PEM blocks, found {other:?}"),
                    ))
                }
            }
        }
        Ok(certs)
    }

    /// Reads a file that must hold exactly one certificate.
    pub fn load(path: &Path) -> Result<Certificate, Error> {
        let mut certs = Certificate::load_all(path)?;
        match certs.len() {
            1 => Ok(certs.remove(0)),
            0 => Err(Error::malformed(path, "no certificate found")),
            n => Err(Error::malformed(
                path,
                format!("holds {n} certificates where one was expected; put the CA certificates in a --chain file"),
            )),
        }
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.facts.der
    }

    /// The PEM encoding.
    pub fn to_pem(&self) -> String {
        ::pem::encode(&::pem::Pem::new("CERTIFICATE", self.facts.der.clone()))
    }

    /// The subject distinguished name, as text.
    pub fn subject(&self) -> &str {
        &self.facts.subject
    }

    /// The subject distinguished name, as DER.
    pub fn subject_der(&self) -> &[u8] {
        &self.facts.subject_der
    }

    /// The issuer distinguished name, as DER.
    pub fn issuer_der(&self) -> &[u8] {
        &self.facts.issuer_der
    }

    /// The issuer distinguished name, as text.
    pub fn issuer(&self) -> &str {
        &self.facts.issuer
    }

    /// The subject common name: the office's or person's name.
    pub fn common_name(&self) -> Option<&str> {
        self.facts.common_name.as_deref()
    }

    /// The subject organization name (O).
    pub fn organization_name(&self) -> Option<&str> {
        self.facts.organization_name.as_deref()
    }

    /// An official's position (subject title), e.g. "Chủ tịch".
    pub fn position(&self) -> Option<&str> {
        self.facts.position.as_deref()
    }

    /// A display name: the common name, or the whole subject if it has
    /// none, with anything unsafe to show escaped (`congvan_text::line`).
    /// A certificate arriving in a dispatch's `x5c` may be anyone's, and its
    /// name ends up in reports, errors, timelines and PDFs: this is the name
    /// to show. [`Certificate::common_name`] is the raw value.
    pub fn display_name(&self) -> &str {
        &self.facts.display_name
    }

    /// The organization this certificate is bound to, if any.
    pub fn org(&self) -> Option<&OrgId> {
        self.facts.org.as_ref()
    }

    /// The congvan role the certificate was issued for, if any.
    pub fn role(&self) -> Option<Role> {
        self.facts.role
    }

    /// The keyUsage bits, or `None` when the extension is absent.
    pub fn key_usage(&self) -> Option<KeyUsageBits> {
        self.facts.key_usage
    }

    /// The extended key usages by name (dotted OIDs for unknown ones).
    pub fn extended_key_usages(&self) -> &[String] {
        &self.facts.extended_key_usages
    }

    /// True for a CA certificate (basicConstraints cA).
    pub fn is_ca(&self) -> bool {
        self.facts.is_ca
    }

    /// A CA's pathLenConstraint: how many CA levels may sit below it.
    pub fn path_len(&self) -> Option<u32> {
        self.facts.path_len
    }

    /// The serial number bytes.
    pub fn serial(&self) -> &[u8] {
        &self.facts.serial
    }

    /// The serial number as lowercase hex.
    pub fn serial_hex(&self) -> String {
        hex(&self.facts.serial)
    }

    /// Start of validity.
    pub fn not_before(&self) -> OffsetDateTime {
        self.facts.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.facts.not_after
    }

    /// The subjectPublicKey bits, in the form ring verifies with.
    pub fn public_key(&self) -> &[u8] {
        &self.facts.public_key
    }

    /// The signature algorithm the public key is for, when congvan supports it.
    pub fn key_algorithm(&self) -> Option<Algorithm> {
        self.facts.key_algorithm
    }

    /// The extended key usage values (DER OID bytes), `None` when the
    /// certificate has no such extension (it is then not limited).
    pub fn eku_oids(&self) -> Option<&[Vec<u8>]> {
        self.facts.eku_oids.as_deref()
    }

    /// True when the extendedKeyUsage extension is marked critical (RFC
    /// 3161 §2.3 requires it of a timestamp authority).
    pub fn eku_critical(&self) -> bool {
        self.facts.eku_critical
    }

    /// Why congvan refuses this certificate's key (RSA under 2048 bits,
    /// P-192, DSA, ...), or `None`.
    pub fn key_problem(&self) -> Option<&str> {
        self.facts.profile.key_problem.as_deref()
    }

    /// The facts the profile checks judge (`profile.rs`).
    pub(crate) fn profile(&self) -> &ProfileFacts {
        &self.facts.profile
    }

    /// SHA-256 of the DER, the usual certificate fingerprint, as hex.
    pub fn sha256_fingerprint(&self) -> String {
        hex(&self.facts.fingerprint)
    }

    /// SHA-256 of the DER, as bytes: a collision-resistant identity for
    /// caches keyed by certificate.
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.facts.fingerprint
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.facts, &other.facts) || self.facts.der == other.facts.der
    }
}

impl Eq for Certificate {}

fn first_attr<'a>(mut it: impl Iterator<Item = &'a AttributeTypeAndValue<'a>>) -> Option<String> {
    it.next().and_then(|a| a.as_str().ok()).map(str::to_string)
}

/// The DER OID values an extendedKeyUsage extension lists.
fn eku_values(eku: &x509_parser::extensions::ExtendedKeyUsage<'_>) -> Vec<Vec<u8>> {
    const ID_KP: [u8; 7] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03];
    let kp = |n: u8| {
        let mut oid = ID_KP.to_vec();
        oid.push(n);
        oid
    };
    let mut out = Vec::new();
    if eku.any {
        out.push(crate::path_eku::OID_ANY.to_vec());
    }
    for (set, n) in [
        (eku.server_auth, 1),
        (eku.client_auth, 2),
        (eku.code_signing, 3),
        (eku.email_protection, 4),
        (eku.time_stamping, 8),
        (eku.ocsp_signing, 9),
    ] {
        if set {
            out.push(kp(n));
        }
    }
    out.extend(eku.other.iter().map(|oid| oid.as_bytes().to_vec()));
    out
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
