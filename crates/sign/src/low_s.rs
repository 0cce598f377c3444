//! Low-s ECDSA signatures: one signature value per signing.
//!
//! If (r, s) is a valid ECDSA signature, so is (r, n − s), where n is the
//! curve order: anyone can turn one signature into a second, different one
//! without the key. congvan names signatures by the SHA-256 of their value
//! (a seal's `covers`, a custody receipt's list, a relay's receipt
//! deduplication), so a second spelling of the same signature would be a
//! second signature. congvan therefore writes only the "low" form
//! (s ≤ n/2, as Bitcoin's BIP 62 and Ethereum do) and refuses the high one.
//! Signatures are the fixed-width `r ‖ s` of JWS (RFC 7518 §3.4).

use crate::Algorithm;

/// The order of P-256, big-endian.
const P256_ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];

/// The order of P-384, big-endian.
const P384_ORDER: [u8; 48] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC7, 0x63, 0x4D, 0x81, 0xF4, 0x37, 0x2D, 0xDF,
    0x58, 0x1A, 0x0D, 0xB2, 0x48, 0xB0, 0xA7, 0x7A, 0xEC, 0xEC, 0x19, 0x6A, 0xCC, 0xC5, 0x29, 0x73,
];

/// The curve order for an ECDSA algorithm, `None` for the others.
fn order(alg: Algorithm) -> Option<&'static [u8]> {
    match alg {
        Algorithm::EcdsaP256 => Some(&P256_ORDER),
        Algorithm::EcdsaP384 => Some(&P384_ORDER),
        Algorithm::Ed25519 | Algorithm::RsaPkcs1Sha256 => None,
    }
}

/// True when `signature` is an ECDSA `r ‖ s` whose s lies above n/2.
/// Non-ECDSA signatures, and values of the wrong length (which fail to
/// verify anyway), are never high.
pub(crate) fn is_high_s(alg: Algorithm, signature: &[u8]) -> bool {
    let Some(n) = order(alg) else { return false };
    if signature.len() != 2 * n.len() {
        return false;
    }
    let s = &signature[n.len()..];
    // s > n/2  ⇔  2s > n  ⇔  2s ≥ n + 1 (n is odd): compare s with ⌊n/2⌋.
    let half = halve(n);
    s > half.as_slice()
}

/// `signature` with s replaced by n − s when s is high: the same signature
/// in its low form. Anything else is returned unchanged.
pub(crate) fn normalize(alg: Algorithm, signature: Vec<u8>) -> Vec<u8> {
    if is_high_s(alg, &signature) {
        flip_s(alg, signature)
    } else {
        signature
    }
}

/// `signature` with s replaced by n − s: the other form of the same
/// signature. (What a malleating attacker does; the tests do it too.)
pub(crate) fn flip_s(alg: Algorithm, mut signature: Vec<u8>) -> Vec<u8> {
    let Some(n) = order(alg) else {
        return signature;
    };
    if signature.len() != 2 * n.len() {
        return signature;
    }
    let len = n.len();
    let s = &mut signature[len..];
    // n − s, big-endian, with borrow; s < n in a valid signature.
    let mut borrow = 0i16;
    for i in (0..len).rev() {
        let mut digit = i16::from(n[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(digit < 0);
        if digit < 0 {
            digit += 256;
        }
        s[i] = digit as u8;
    }
    signature
}

/// ⌊n / 2⌋, big-endian.
fn halve(n: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(n.len());
    let mut carry = 0u8;
    for &byte in n {
        out.push((byte >> 1) | (carry << 7));
        carry = byte & 1;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_twice_is_normalizing_once_and_low_stays_low() {
        for alg in [Algorithm::EcdsaP256, Algorithm::EcdsaP384] {
            let n = order(alg).unwrap().to_vec();
            let len = n.len();
            // s = n − 1 is high; its low form is 1.
            let mut high = vec![7u8; len];
            let mut s = n.clone();
            *s.last_mut().unwrap() -= 1;
            high.extend_from_slice(&s);
            assert!(is_high_s(alg, &high));
            let low = normalize(alg, high.clone());
            assert!(!is_high_s(alg, &low));
            let mut one = vec![0u8; len];
            one[len - 1] = 1;
            assert_eq!(&low[len..], one.as_slice());
            assert_eq!(&low[..len], &high[..len]);
            assert_eq!(normalize(alg, low.clone()), low);
            // ⌊n/2⌋ itself is low; ⌊n/2⌋ + 1 is high.
            let mut half = vec![0u8; len];
            half.extend_from_slice(&halve(&n));
            assert!(!is_high_s(alg, &half));
            *half.last_mut().unwrap() += 1;
            assert!(is_high_s(alg, &half));
        }
        assert!(!is_high_s(Algorithm::Ed25519, &[0xff; 64]));
        assert!(!is_high_s(Algorithm::EcdsaP256, &[0xff; 63]));
    }
}
