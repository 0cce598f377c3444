use std::path::Path;

use pkcs8::der::Decode;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};

use crate::{pem_file, Algorithm, Error};

/// A private key that signs dispatches, receipts and certificates.
///
/// Holds the ring key pair ready to sign (so signing costs what ring costs)
/// and the PKCS#8 document it came from (so rcgen can issue with it and it can
/// be written back out).
pub struct SigningKey {
    pair: KeyPairKind,
    pkcs8: Vec<u8>,
    rng: SystemRandom,
}

enum KeyPairKind {
    Ecdsa(EcdsaKeyPair, Algorithm),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl SigningKey {
    /// Generates a fresh key. ring cannot generate RSA keys; RSA keys are imported.
    pub fn generate(alg: Algorithm) -> Result<SigningKey, Error> {
        let rng = SystemRandom::new();
        let generated = || Error::UnsupportedKey {
            path: "<generated>".into(),
            problem: format!("cannot generate a {alg} key"),
        };
        let pkcs8 = match alg {
            Algorithm::EcdsaP256 => EcdsaKeyPair::generate_pkcs8(
                &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &rng,
            )
            .map_err(|_| generated())?,
            Algorithm::EcdsaP384 => EcdsaKeyPair::generate_pkcs8(
                &ring::signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                &rng,
            )
            .map_err(|_| generated())?,
            Algorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| generated())?,
            Algorithm::RsaPkcs1Sha256 => {
                return Err(Error::UnsupportedKey {
                    path: "<generated>".into(),
                    problem: "RSA keys cannot be generated here; generate one with \
                              `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072` \
                              and pass it with --key"
                        .into(),
                })
            }
        };
        SigningKey::from_pkcs8_der(pkcs8.as_ref(), Path::new("<generated>"))
    }

    /// Reads a PKCS#8 private key from a PEM file, decrypting it with
    /// `password` when it is an `ENCRYPTED PRIVATE KEY`.
    pub fn from_pem_file(path: &Path, password: Option<&[u8]>) -> Result<SigningKey, Error> {
        let blocks = pem_file::read_blocks(path)?;
        let block = match blocks.as_slice() {
            [one] => one,
            [] => return Err(Error::malformed(path, "no PEM private key found")),
            _ => {
                return Err(Error::malformed(
                    path,
                    "more than one PEM block; a key file holds exactly one private key",
                ))
            }
        };
        // A DER file (`openssl pkcs8 -outform DER`) has no tag saying whether
        // it is encrypted: an EncryptedPrivateKeyInfo parses as one.
        let encrypted_der = block.tag() == "DER"
            && pkcs8::EncryptedPrivateKeyInfo::from_der(block.contents()).is_ok();
        match block.tag() {
            "PRIVATE KEY" => SigningKey::from_pkcs8_der(block.contents(), path),
            "DER" if !encrypted_der => SigningKey::from_pkcs8_der(block.contents(), path),
            "ENCRYPTED PRIVATE KEY" | "DER" => {
                let password = password.ok_or_else(|| Error::PasswordRequired {
                    path: path.to_path_buf(),
                })?;
                let info = pkcs8::EncryptedPrivateKeyInfo::from_der(block.contents())
                    .map_err(|e| Error::malformed(path, format!("bad encrypted key: {e}")))?;
                let plain = info.decrypt(password).map_err(|_| Error::WrongPassword {
                    path: path.to_path_buf(),
                })?;
                SigningKey::from_pkcs8_der(plain.as_bytes(), path)
            }
            "RSA PRIVATE KEY" | "EC PRIVATE KEY" => Err(Error::UnsupportedKey {
                path: path.to_path_buf(),
                problem: format!(
                    "this is a legacy {} file; convert it to PKCS#8 with \
                     `openssl pkcs8 -topk8 -nocrypt -in OLD.pem -out NEW.pem`",
                    block.tag()
                ),
            }),
            other => Err(Error::malformed(
                path,
                format!("expected a PRIVATE KEY PEM block, found {other:?}"),
            )),
        }
    }

    /// Builds a key from PKCS#8 DER; `origin` names it in errors.
    pub fn from_pkcs8_der(der: &[u8], origin: &Path) -> Result<SigningKey, Error> {
        let rng = SystemRandom::new();
        let info = pkcs8::PrivateKeyInfo::from_der(der)
            .map_err(|e| Error::malformed(origin, format!("not a PKCS#8 private key: {e}")))?;
        let oid = info.algorithm.oid.to_string();
        let unsupported = |problem: String| Error::UnsupportedKey {
            path: origin.to_path_buf(),
            problem,
        };
        let pair = match oid.as_str() {
            // id-ecPublicKey: the curve is in the parameters.
            "1.2.840.10045.2.1" => {
                let curve = info
                    .algorithm
                    .parameters_oid()
                    .map(|c| c.to_string())
                    .unwrap_or_else(|_| "none".into());
                let (ring_alg, alg) = match curve.as_str() {
                    "1.2.840.10045.3.1.7" => (
                        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        Algorithm::EcdsaP256,
                    ),
                    "1.3.132.0.34" => (
                        &ring::signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                        Algorithm::EcdsaP384,
                    ),
                    other => {
                        return Err(unsupported(format!(
                            "EC curve {other}; congvan signs with P-256 or P-384"
                        )))
                    }
                };
                let pair = EcdsaKeyPair::from_pkcs8(ring_alg, der, &rng)
                    .map_err(|e| unsupported(format!("EC key rejected: {e}")))?;
                KeyPairKind::Ecdsa(pair, alg)
            }
            "1.3.101.112" => KeyPairKind::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .map_err(|e| unsupported(format!("Ed25519 key rejected: {e}")))?,
            ),
            "1.2.840.113549.1.1.1" => {
                let pair = RsaKeyPair::from_pkcs8(der)
                    .map_err(|e| unsupported(format!("RSA key rejected: {e}")))?;
                let bits = pair.public().modulus_len() * 8;
                if bits < 2048 {
                    return Err(unsupported(format!(
                        "RSA-{bits} is too short; use at least 2048 bits"
                    )));
                }
                KeyPairKind::Rsa(pair)
            }
            other => {
                return Err(unsupported(format!(
                    "algorithm {other}; congvan signs with P-256, P-384, Ed25519 or RSA"
                )))
            }
        };
        Ok(SigningKey {
            pair,
            pkcs8: der.to_vec(),
            rng,
        })
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match &self.pair {
            KeyPairKind::Ecdsa(_, alg) => *alg,
            KeyPairKind::Ed25519(_) => Algorithm::Ed25519,
            KeyPairKind::Rsa(_) => Algorithm::RsaPkcs1Sha256,
        }
    }

    /// Signs `message`; ECDSA signatures are in the fixed `r || s` form JWS uses.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let failed = |_| Error::Issuance("the signing operation failed".into());
        match &self.pair {
            // Always the low-s form: see `low_s.rs`.
            KeyPairKind::Ecdsa(pair, _) => Ok(crate::low_s::normalize(
                self.algorithm(),
                pair.sign(&self.rng, message)
                    .map_err(failed)?
                    .as_ref()
                    .to_vec(),
            )),
            KeyPairKind::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            KeyPairKind::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public().modulus_len()];
                pair.sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &self.rng,
                    message,
                    &mut sig,
                )
                .map_err(failed)?;
                Ok(sig)
            }
        }
    }

    /// The raw public key bytes as ring reports them.
    pub fn public_key_bytes(&self) -> &[u8] {
        match &self.pair {
            KeyPairKind::Ecdsa(pair, _) => pair.public_key().as_ref(),
            KeyPairKind::Ed25519(pair) => pair.public_key().as_ref(),
            KeyPairKind::Rsa(pair) => pair.public().as_ref(),
        }
    }

    /// The PKCS#8 document, for writing the key out. Treat it as secret.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The key as rcgen wants it for issuing certificates and CRLs.
    pub(crate) fn to_rcgen(&self) -> Result<rcgen::KeyPair, Error> {
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(self.pkcs8.as_slice());
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, self.algorithm().rcgen())
            .map_err(|e| Error::Issuance(format!("the key cannot issue certificates: {e}")))
    }

    /// Writes the key as unencrypted PKCS#8 PEM, readable by its owner only (0600).
    pub fn write_pem(&self, path: &Path) -> Result<(), Error> {
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", self.pkcs8.clone()));
        pem_file::write_private(path, pem.as_bytes())
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "SigningKey({})", self.algorithm())
    }
}
