//! The message imprint: what a token vouches for.

use der::asn1::ObjectIdentifier;

use crate::asn1::{ID_SHA256, ID_SHA384, ID_SHA512};

/// A hash algorithm a message imprint may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-256 (what congvan asks for).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// The algorithm's OID.
    pub(crate) fn oid(self) -> ObjectIdentifier {
        match self {
            HashAlg::Sha256 => ID_SHA256,
            HashAlg::Sha384 => ID_SHA384,
            HashAlg::Sha512 => ID_SHA512,
        }
    }

    /// The algorithm an OID names, if it is one of these.
    pub(crate) fn from_oid(oid: &ObjectIdentifier) -> Option<HashAlg> {
        [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512]
            .into_iter()
            .find(|a| a.oid() == *oid)
    }

    fn ring(self) -> &'static ring::digest::Algorithm {
        match self {
            HashAlg::Sha256 => &ring::digest::SHA256,
            HashAlg::Sha384 => &ring::digest::SHA384,
            HashAlg::Sha512 => &ring::digest::SHA512,
        }
    }

    /// The digest length in bytes.
    pub fn digest_len(self) -> usize {
        self.ring().output_len()
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        ring::digest::digest(self.ring(), data).as_ref().to_vec()
    }
}

/// A hash and its algorithm: the datum a timestamp is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imprint {
    /// The hash algorithm.
    pub alg: HashAlg,
    /// The hash value.
    pub digest: Vec<u8>,
}

impl Imprint {
    /// The SHA-256 imprint of `data`.
    pub fn sha256_of(data: &[u8]) -> Imprint {
        Imprint {
            alg: HashAlg::Sha256,
            digest: HashAlg::Sha256.digest(data),
        }
    }
}
