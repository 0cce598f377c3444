use std::path::{Path, PathBuf};

use crate::{pem_file, Certificate, Error, SigningKey};

/// File names inside a credential directory made by the `pki` commands.
pub const CERT_FILE: &str = "cert.pem";
/// The private key, PKCS#8 PEM, mode 0600.
pub const KEY_FILE: &str = "key.pem";
/// The CA certificates between this certificate and the root, nearest first;
/// empty when the issuer is the root itself.
pub const CHAIN_FILE: &str = "chain.pem";

/// A certificate with its private key and issuing chain: what an office, an
/// official, a relay or a CA holds.
///
/// On disk it is a directory of `cert.pem`, `key.pem` and `chain.pem`.
#[derive(Debug)]
pub struct Credential {
    cert: Certificate,
    key: SigningKey,
    chain: Vec<Certificate>,
}

impl Credential {
    /// Puts a credential together, checking the key belongs to the certificate.
    pub fn new(
        cert: Certificate,
        key: SigningKey,
        chain: Vec<Certificate>,
    ) -> Result<Credential, Error> {
        if !public_keys_match(&cert, &key) {
            return Err(Error::Refused(format!(
                "the private key does not belong to the certificate \"{}\"",
                cert.display_name()
            )));
        }
        Ok(Credential { cert, key, chain })
    }

    /// Loads `cert.pem`, `key.pem` and `chain.pem` from a directory.
    pub fn load(dir: &Path, password: Option<&[u8]>) -> Result<Credential, Error> {
        if !dir.is_dir() {
            return Err(Error::malformed(
                dir,
                "is not a credential directory (expected a directory holding cert.pem, key.pem and chain.pem)",
            ));
        }
        let cert = Certificate::load(&dir.join(CERT_FILE))?;
        let key = SigningKey::from_pem_file(&dir.join(KEY_FILE), password)?;
        let chain_path = dir.join(CHAIN_FILE);
        let chain = if chain_path.exists() {
            Certificate::load_all(&chain_path)?
        } else {
            Vec::new()
        };
        Credential::new(cert, key, chain).map_err(|e| match e {
            Error::Refused(problem) => Error::malformed(dir.join(KEY_FILE), problem),
            other => other,
        })
    }

    /// Writes the credential into `dir` (created if needed); the key gets mode 0600.
    pub fn write(&self, dir: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        pem_file::write_public(&dir.join(CERT_FILE), self.cert.to_pem().as_bytes())?;
        let chain: String = self.chain.iter().map(Certificate::to_pem).collect();
        pem_file::write_public(&dir.join(CHAIN_FILE), chain.as_bytes())?;
        self.key.write_pem(&dir.join(KEY_FILE))
    }

    /// The certificate.
    pub fn cert(&self) -> &Certificate {
        &self.cert
    }

    /// The private key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The issuing CA certificates, nearest first, without the root.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// Where a credential directory keeps a given file.
    pub fn file(dir: &Path, name: &str) -> PathBuf {
        dir.join(name)
    }
}

fn public_keys_match(cert: &Certificate, key: &SigningKey) -> bool {
    let public = key.public_key_bytes();
    // ring reports RSA public keys as the DER RSAPublicKey, which is also
    // what the certificate's subjectPublicKey bit string holds.
    cert.public_key() == public
}
