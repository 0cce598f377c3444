//! Which public keys a certificate may carry.
//!
//! A signature is only as strong as the weakest key on its path. webpki
//! refuses a weak key in a CA only when it verifies a signature with it,
//! and never looks at an end entity's key, so a certificate with a 1024-bit
//! RSA, P-192 or DSA key validated. congvan accepts RSA of at least 2048
//! bits (a whole number of octets), EC keys on P-256, P-384 or P-521 (named curves), Ed25519 and
//! Ed448: the keys of NIST SP 800-57 at 112 bits of security or more, as
//! `openssl verify -auth_level 2` does.

use x509_parser::prelude::SubjectPublicKeyInfo;
use x509_parser::public_key::PublicKey;

const RSA: &str = "1.2.840.113549.1.1.1";
const EC: &str = "1.2.840.10045.2.1";
const DSA: &str = "1.2.840.10040.4.1";
const ED25519: &str = "1.3.101.112";
const ED448: &str = "1.3.101.113";

/// Named curves accepted for EC keys, with their names.
const CURVES: [(&str, &str); 3] = [
    ("1.2.840.10045.3.1.7", "P-256"),
    ("1.3.132.0.34", "P-384"),
    ("1.3.132.0.35", "P-521"),
];

/// Smallest RSA modulus accepted, in bits.
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// Why the key of `spki` is refused, or `None` when it is acceptable.
pub(crate) fn problem(spki: &SubjectPublicKeyInfo<'_>) -> Option<String> {
    let algorithm = spki.algorithm.algorithm.to_id_string();
    match algorithm.as_str() {
        RSA => {
            let bits = match spki.parsed() {
                Ok(PublicKey::RSA(rsa)) => rsa_bits(rsa.modulus),
                _ => return Some("its RSA key cannot be read".into()),
            };
            if bits < MIN_RSA_BITS {
                return Some(format!(
                    "its RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"
                ));
            }
            // Key generators make whole octets; an odd size is a key made
            // by hand (the CA/Browser Forum requires a multiple of 8).
            (bits % 8 != 0).then(|| format!("its RSA key has {bits} bits, not a multiple of 8"))
        }
        EC => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string());
            match curve {
                Some(curve) if CURVES.iter().any(|(oid, _)| *oid == curve) => None,
                Some(curve) => Some(format!(
                    "its EC key is on the curve {}, which is not accepted (use P-256, P-384 or \
                     P-521)",
                    curve_name(&curve)
                )),
                None => Some(
                    "its EC key gives explicit curve parameters instead of a named curve".into(),
                ),
            }
        }
        ED25519 | ED448 => None,
        DSA => Some("it has a DSA key; DSA is not accepted".into()),
        other => Some(format!("its key algorithm {other} is not accepted")),
    }
}

/// The size of an RSA modulus in bits (the DER integer may carry a
/// leading zero octet).
fn rsa_bits(modulus: &[u8]) -> usize {
    let significant: &[u8] = {
        let start = modulus
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(modulus.len());
        &modulus[start..]
    };
    match significant.first() {
        None => 0,
        Some(first) => significant.len() * 8 - first.leading_zeros() as usize,
    }
}

fn curve_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.3.1.1" => "P-192".into(),
        "1.3.132.0.33" => "P-224".into(),
        "1.3.132.0.10" => "secp256k1".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_sizes_ignore_the_sign_octet() {
        assert_eq!(rsa_bits(&[0x00, 0x80, 0, 0]), 24);
        assert_eq!(rsa_bits(&[0x01, 0, 0]), 17);
        let mut m2048 = vec![0x00, 0xc0];
        m2048.extend([0u8; 255]);
        assert_eq!(rsa_bits(&m2048), 2048);
        assert_eq!(rsa_bits(&[]), 0);
    }
}
