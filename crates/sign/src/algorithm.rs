use std::fmt;

/// A signature algorithm congvan signs and verifies with.
///
/// The names follow JWS (RFC 7518 / RFC 8037) because dispatch signatures are
/// JWS: an independent JOSE library must recognise them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256 (`ES256`): the default for new keys.
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384 (`ES384`), for imported keys.
    EcdsaP384,
    /// Ed25519 (`EdDSA`).
    Ed25519,
    /// RSA PKCS#1 v1.5 with SHA-256 (`RS256`), for imported keys of existing CAs.
    RsaPkcs1Sha256,
}

impl Algorithm {
    /// The JWS `alg` header value.
    pub fn jws_name(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256 => "ES256",
            Algorithm::EcdsaP384 => "ES384",
            Algorithm::Ed25519 => "EdDSA",
            Algorithm::RsaPkcs1Sha256 => "RS256",
        }
    }

    /// Parses a JWS `alg` header value.
    pub fn from_jws_name(name: &str) -> Option<Algorithm> {
        match name {
            "ES256" => Some(Algorithm::EcdsaP256),
            "ES384" => Some(Algorithm::EcdsaP384),
            "EdDSA" => Some(Algorithm::Ed25519),
            "RS256" => Some(Algorithm::RsaPkcs1Sha256),
            _ => None,
        }
    }

    /// The ring verification algorithm for signatures made with this algorithm.
    pub(crate) fn ring_verification(self) -> &'static dyn ring::signature::VerificationAlgorithm {
        match self {
            Algorithm::EcdsaP256 => &ring::signature::ECDSA_P256_SHA256_FIXED,
            Algorithm::EcdsaP384 => &ring::signature::ECDSA_P384_SHA384_FIXED,
            Algorithm::Ed25519 => &ring::signature::ED25519,
            Algorithm::RsaPkcs1Sha256 => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        }
    }

    /// The rcgen algorithm for certificates signed by a key of this algorithm.
    pub(crate) fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Algorithm::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Algorithm::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Algorithm::Ed25519 => &rcgen::PKCS_ED25519,
            Algorithm::RsaPkcs1Sha256 => &rcgen::PKCS_RSA_SHA256,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::EcdsaP256 => "ECDSA P-256",
            Algorithm::EcdsaP384 => "ECDSA P-384",
            Algorithm::Ed25519 => "Ed25519",
            Algorithm::RsaPkcs1Sha256 => "RSA PKCS#1 v1.5 SHA-256",
        })
    }
}
