//! The two ends of encryption: a recipient's certificate, and an office's
//! decryption key.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use congvan_org::OrgId;
use congvan_sign::{Certificate, Credential, Purpose, Role, TrustStore};
use p256::pkcs8::DecodePrivateKey;
use time::OffsetDateTime;

use crate::Error;

/// An office's encryption certificate, validated, to encrypt to.
///
/// Made only by [`Recipient::validated`]: a sender never encrypts to a key
/// it has not checked against its own trust store (the role, the office,
/// the CA's subtree, the CRLs), whoever handed it the certificate.
#[derive(Clone, Debug)]
pub struct Recipient {
    org: OrgId,
    thumbprint: String,
    public: p256::PublicKey,
}

impl Recipient {
    /// Validates `cert` (with `chain` as presented intermediates) as the
    /// encryption certificate of an office at `at`, and takes its key.
    pub fn validated(
        cert: &Certificate,
        chain: &[Certificate],
        trust: &TrustStore,
        at: OffsetDateTime,
    ) -> Result<Recipient, Error> {
        let org = cert.org().cloned().ok_or_else(|| {
            Error::Key(format!(
                "certificate \"{}\" binds no office, so nothing can be encrypted to it",
                cert.display_name()
            ))
        })?;
        let purpose = Purpose {
            role: Some(Role::Encryption),
            org: Some(org.clone()),
        };
        trust.validate(cert, chain, &purpose, at).map_err(|e| {
            Error::Key(format!(
                "the encryption certificate of {org} (\"{}\") is refused: {e}",
                cert.display_name()
            ))
        })?;
        let public = p256::PublicKey::from_sec1_bytes(cert.public_key()).map_err(|_| {
            Error::Key(format!(
                "the encryption certificate of {org} does not hold a P-256 key"
            ))
        })?;
        Ok(Recipient {
            org,
            thumbprint: thumbprint(cert),
            public,
        })
    }

    /// Validates the encryption certificate of `office` given as PEM (the
    /// certificate, then its chain), as a relay publishes it: the
    /// certificate must be `office`'s, whatever the relay says, and valid
    /// with this trust store. `origin` names where the PEM came from.
    pub fn from_pem(
        pem: &[u8],
        office: &OrgId,
        origin: &str,
        trust: &TrustStore,
        at: OffsetDateTime,
    ) -> Result<Recipient, Error> {
        let mut certs = Certificate::parse_all(pem, Path::new(origin))?;
        if certs.is_empty() {
            return Err(Error::Key(format!(
                "{origin} gave no encryption certificate for {office}"
            )));
        }
        let cert = certs.remove(0);
        if cert.org() != Some(office) {
            return Err(Error::Key(format!(
                "{origin} gave a certificate of {} as the encryption certificate of {office}",
                cert.org()
                    .map_or("no office".to_string(), |o| o.to_string())
            )));
        }
        Recipient::validated(&cert, &certs, trust, at)
    }

    /// The office it belongs to.
    pub fn org(&self) -> &OrgId {
        &self.org
    }

    /// Its `x5t#S256`: the base64url SHA-256 of the certificate.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    pub(crate) fn public(&self) -> &p256::PublicKey {
        &self.public
    }
}

/// An office's decryption key with its certificate.
pub struct DecryptionKey {
    org: Option<OrgId>,
    thumbprint: String,
    secret: p256::SecretKey,
}

impl DecryptionKey {
    /// Loads an encryption credential folder (`cert.pem`, `key.pem`), the
    /// key optionally encrypted with `password`.
    pub fn load(dir: &Path, password: Option<&[u8]>) -> Result<DecryptionKey, Error> {
        let credential = Credential::load(dir, password)?;
        DecryptionKey::from_credential(&credential)
    }

    /// Takes the key of an encryption credential; refuses any other role.
    pub fn from_credential(credential: &Credential) -> Result<DecryptionKey, Error> {
        let cert = credential.cert();
        if cert.role() != Some(Role::Encryption) {
            return Err(Error::Key(format!(
                "\"{}\" is a {} certificate, not an encryption certificate: secret dispatches \
                 are decrypted with the office's encryption key (its encryption/ folder)",
                cert.display_name(),
                cert.role()
                    .map_or("non-congvan".to_string(), |r| r.to_string())
            )));
        }
        let secret = p256::SecretKey::from_pkcs8_der(credential.key().pkcs8_der())
            .map_err(|_| Error::Key("the encryption key is not a P-256 key".into()))?;
        if secret.public_key().to_sec1_bytes().as_ref() != cert.public_key() {
            return Err(Error::Key(
                "the encryption key does not belong to its certificate".into(),
            ));
        }
        Ok(DecryptionKey {
            org: cert.org().cloned(),
            thumbprint: thumbprint(cert),
            secret,
        })
    }

    /// The office it belongs to, if its certificate names one.
    pub fn org(&self) -> Option<&OrgId> {
        self.org.as_ref()
    }

    /// The `x5t#S256` of its certificate.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    pub(crate) fn secret(&self) -> &p256::SecretKey {
        &self.secret
    }
}

/// The JOSE `x5t#S256` of a certificate.
pub fn thumbprint(cert: &Certificate) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, cert.der()))
}
