use std::path::Path;

use congvan_org::OrgId;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use time::OffsetDateTime;
use webpki::{
    CertRevocationList, EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeIdIter,
    OwnedCertRevocationList, RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};

use crate::revocation::rfc3339;
use crate::{pem_file, Certificate, Error, Role};

/// What a certificate must be good for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purpose {
    /// The role it must have been issued for; `None` accepts any role.
    pub role: Option<Role>,
    /// The organization it must bind; `None` accepts any organization.
    pub org: Option<OrgId>,
}

/// A certificate revocation list, parsed once and checked for its issuer's
/// signature during validation.
pub struct Crl {
    list: CertRevocationList<'static>,
    der: Vec<u8>,
}

impl Crl {
    /// Reads every CRL in a PEM (or DER) file.
    pub fn load_all(path: &Path) -> Result<Vec<Crl>, Error> {
        let mut crls = Vec::new();
        for block in pem_file::read_blocks(path)? {
            if !matches!(block.tag(), "X509 CRL" | "DER") {
                return Err(Error::malformed(
                    path,
                    format!("expected X509 CRL PEM blocks, found {:?}", block.tag()),
                ));
            }
            crls.push(Crl::from_der(block.contents(), path)?);
        }
        if crls.is_empty() {
            return Err(Error::malformed(path, "no CRL found"));
        }
        Ok(crls)
    }

    /// Parses one DER CRL; `origin` names it in errors.
    pub fn from_der(der: &[u8], origin: &Path) -> Result<Crl, Error> {
        let list = OwnedCertRevocationList::from_der(der)
            .map_err(|e| Error::malformed(origin, format!("not a valid CRL: {e:?}")))?;
        Ok(Crl {
            list: CertRevocationList::Owned(list),
            der: der.to_vec(),
        })
    }

    /// The DER encoding, e.g. for a TLS stack that checks revocation itself.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
}

/// A chain that validated, from the end entity up to the trust anchor.
#[derive(Clone, Debug)]
pub struct ValidatedChain {
    /// The end entity first, then each CA, ending with the trust anchor.
    pub certificates: Vec<Certificate>,
}

impl ValidatedChain {
    /// The end-entity certificate.
    pub fn end_entity(&self) -> &Certificate {
        &self.certificates[0]
    }
}

/// Trust anchors, known intermediate CAs and CRLs: everything needed to
/// decide whether a certificate is valid for a purpose at a time.
///
/// Chain building, signatures, validity periods, basic constraints and CRLs
/// are checked by rustls-webpki. keyUsage, the congvan role and the
/// organization subtree are checked here, since webpki does not look at them.
pub struct TrustStore {
    anchors: Vec<Certificate>,
    webpki_anchors: Vec<TrustAnchor<'static>>,
    intermediates: Vec<Certificate>,
    crls: Vec<Crl>,
}

impl TrustStore {
    /// A store trusting these root certificates.
    pub fn new(anchors: Vec<Certificate>) -> Result<TrustStore, Error> {
        let mut webpki_anchors = Vec::with_capacity(anchors.len());
        for anchor in &anchors {
            let der = CertificateDer::from(anchor.der());
            let ta = webpki::anchor_from_trusted_cert(&der).map_err(|e| {
                Error::malformed(
                    anchor.display_name(),
                    format!("cannot be used as a trust anchor: {e:?}"),
                )
            })?;
            webpki_anchors.push(ta.to_owned());
        }
        Ok(TrustStore {
            anchors,
            webpki_anchors,
            intermediates: Vec::new(),
            crls: Vec::new(),
        })
    }

    /// Adds CA certificates that may be used to build chains (not trusted by themselves).
    pub fn add_intermediates(&mut self, certs: impl IntoIterator<Item = Certificate>) {
        for cert in certs {
            if !self.intermediates.contains(&cert) && !self.anchors.contains(&cert) {
                self.intermediates.push(cert);
            }
        }
    }

    /// Adds revocation lists.
    pub fn add_crls(&mut self, crls: impl IntoIterator<Item = Crl>) {
        self.crls.extend(crls);
    }

    /// The trusted roots.
    pub fn anchors(&self) -> &[Certificate] {
        &self.anchors
    }

    /// Decides whether `cert` is valid for `purpose` at time `at`, using
    /// `presented` (e.g. a signature's x5c) as extra intermediates.
    ///
    /// Every refusal names its reason in the returned error.
    pub fn validate(
        &self,
        cert: &Certificate,
        presented: &[Certificate],
        purpose: &Purpose,
        at: OffsetDateTime,
    ) -> Result<ValidatedChain, Error> {
        let ee_der = CertificateDer::from(cert.der());
        let ee = EndEntityCert::try_from(&ee_der)
            .map_err(|e| Error::ChainRejected(format!("unusable certificate: {e:?}")))?;
        let candidates: Vec<&Certificate> = presented
            .iter()
            .filter(|c| *c != cert && !self.anchors.contains(c))
            .chain(self.intermediates.iter())
            .collect();
        let intermediate_ders: Vec<CertificateDer<'_>> = candidates
            .iter()
            .map(|c| CertificateDer::from(c.der()))
            .collect();
        let crl_refs: Vec<&CertRevocationList<'_>> = self.crls.iter().map(|c| &c.list).collect();
        let revocation = RevocationOptionsBuilder::new(&crl_refs)
            .ok()
            .map(|builder| {
                builder
                    .with_depth(RevocationCheckDepth::Chain)
                    .with_status_policy(UnknownStatusPolicy::Allow)
                    .build()
            });
        let seconds = u64::try_from(at.unix_timestamp()).unwrap_or(0);
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds));

        let path = ee
            .verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &self.webpki_anchors,
                &intermediate_ders,
                time,
                AnyPurpose,
                revocation,
                None,
            )
            .map_err(|e| self.explain(e, cert, at))?;

        let mut chain = vec![cert.clone()];
        for inter in path.intermediate_certificates() {
            let der = inter.der();
            if let Some(found) = candidates.iter().find(|c| c.der() == der.as_ref()) {
                chain.push((*found).clone());
            }
        }
        let anchor_spki = path.anchor().subject_public_key_info.as_ref();
        if let Some(anchor) = self
            .anchors
            .iter()
            .zip(&self.webpki_anchors)
            .find(|(_, ta)| ta.subject_public_key_info.as_ref() == anchor_spki)
            .map(|(a, _)| a)
        {
            chain.push(anchor.clone());
        }

        check_key_usage(cert, purpose)?;
        check_role(cert, purpose)?;
        check_org(&chain, purpose)?;
        Ok(ValidatedChain {
            certificates: chain,
        })
    }

    fn explain(&self, e: webpki::Error, cert: &Certificate, at: OffsetDateTime) -> Error {
        use webpki::Error as W;
        match e {
            W::CertExpired { .. } => Error::Expired {
                not_after: rfc3339(cert.not_after()),
                at: rfc3339(at),
            },
            W::CertNotValidYet { .. } => Error::NotYetValid {
                not_before: rfc3339(cert.not_before()),
                at: rfc3339(at),
            },
            W::UnknownIssuer => Error::UnknownIssuer,
            W::InvalidSignatureForPublicKey
            | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
                Error::BadCertificateSignature
            }
            W::CertRevoked => self.revocation_details(cert),
            W::CaUsedAsEndEntity => Error::NotACa(
                "a CA certificate was given where an end-entity certificate is needed".into(),
            ),
            W::EndEntityUsedAsCa => Error::NotACa(
                "an issuing certificate in the chain is not a CA (its basicConstraints does not say cA)"
                    .into(),
            ),
            W::PathLenConstraintViolated => Error::PathLenExceeded,
            other => Error::ChainRejected(format!("{other:?}")),
        }
    }

    fn revocation_details(&self, cert: &Certificate) -> Error {
        for crl in &self.crls {
            if let Ok(Some(entry)) = crl.list.find_serial(cert.serial()) {
                let secs = entry.revocation_date.as_secs();
                let revoked_at = OffsetDateTime::from_unix_timestamp(secs as i64)
                    .ok()
                    .map(rfc3339);
                return Error::Revoked {
                    ca: false,
                    serial: cert.serial_hex(),
                    revoked_at,
                    reason: entry.reason_code.map(rfc5280_reason),
                };
            }
        }
        Error::Revoked {
            ca: true,
            serial: cert.serial_hex(),
            revoked_at: None,
            reason: None,
        }
    }
}

/// Lets webpki accept any extended key usage: congvan checks roles itself.
struct AnyPurpose;

impl ExtendedKeyUsageValidator for AnyPurpose {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        // Still surface a malformed extension.
        for id in iter {
            id?;
        }
        Ok(())
    }
}

fn check_key_usage(cert: &Certificate, purpose: &Purpose) -> Result<(), Error> {
    let bits = cert.key_usage().unwrap_or_default();
    if !bits.digital_signature {
        return Err(Error::MissingKeyUsage {
            missing: "digitalSignature",
        });
    }
    let signs = purpose
        .role
        .or(cert.role())
        .is_some_and(Role::signs_documents);
    if signs && !bits.content_commitment {
        return Err(Error::MissingKeyUsage {
            missing: "contentCommitment (nonRepudiation)",
        });
    }
    Ok(())
}

fn check_role(cert: &Certificate, purpose: &Purpose) -> Result<(), Error> {
    let Some(expected) = purpose.role else {
        return Ok(());
    };
    let found = cert.role();
    if found != Some(expected) {
        return Err(Error::WrongRole {
            expected: expected.to_string(),
            found: found.map_or_else(|| "no congvan role".to_string(), |r| r.to_string()),
        });
    }
    let ekus = cert.extended_key_usages();
    let needed: &[&str] = match expected {
        Role::Office | Role::Official => &["documentSigning"],
        Role::Relay => &["serverAuth", "clientAuth"],
    };
    for eku in needed {
        if !ekus.iter().any(|e| e == eku) {
            return Err(Error::WrongRole {
                expected: format!("{expected} (which needs extended key usage {eku})"),
                found: format!("a certificate without {eku}"),
            });
        }
    }
    Ok(())
}

fn check_org(chain: &[Certificate], purpose: &Purpose) -> Result<(), Error> {
    let leaf_org = chain[0].org();
    if let Some(expected) = &purpose.org {
        if leaf_org != Some(expected) {
            return Err(Error::WrongOrg {
                expected: expected.to_string(),
                found: leaf_org.map_or_else(|| "no organization".to_string(), |o| o.to_string()),
            });
        }
    }
    // Each certificate must lie inside the subtree of every CA above it.
    for (i, cert) in chain.iter().enumerate() {
        let Some(org) = cert.org() else { continue };
        for ca in &chain[i + 1..] {
            if let Some(ca_org) = ca.org() {
                if !org.is_within(ca_org) {
                    return Err(Error::OrgOutsideSubtree {
                        org: org.to_string(),
                        ca: ca.display_name().to_string(),
                        ca_org: ca_org.to_string(),
                    });
                }
            }
        }
    }
    // A CA limited to a subtree cannot vouch for a certificate that binds no
    // organization at all when a role is asked for.
    if purpose.role.is_some() && leaf_org.is_none() {
        return Err(Error::WrongOrg {
            expected: purpose
                .org
                .as_ref()
                .map_or_else(|| "an organization".to_string(), |o| o.to_string()),
            found: "no organization".into(),
        });
    }
    Ok(())
}

/// The RFC 5280 name of a CRL reason code, as operators know it.
fn rfc5280_reason(reason: webpki::RevocationReason) -> String {
    use webpki::RevocationReason as R;
    match reason {
        R::Unspecified => "unspecified",
        R::KeyCompromise => "keyCompromise",
        R::CaCompromise => "cACompromise",
        R::AffiliationChanged => "affiliationChanged",
        R::Superseded => "superseded",
        R::CessationOfOperation => "cessationOfOperation",
        R::CertificateHold => "certificateHold",
        R::RemoveFromCrl => "removeFromCRL",
        R::PrivilegeWithdrawn => "privilegeWithdrawn",
        R::AaCompromise => "aACompromise",
    }
    .to_string()
}
