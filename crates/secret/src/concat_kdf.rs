//! The Concat KDF of NIST SP 800-56A as JWA uses it (RFC 7518 §4.6.2).
//!
//! ECDH-ES gives a shared secret Z; the key-encryption key is
//! `SHA-256(00000001 || Z || OtherInfo)` cut to the key length, where
//! OtherInfo is AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo,
//! each of the first three a 32-bit big-endian length and the bytes, the
//! last the key length in bits. For "ECDH-ES+A256KW" the AlgorithmID is
//! the `alg` value and the key length 256: one SHA-256 block suffices.

/// Derives a key of `bits` (at most 256) from the shared secret `z` for
/// `alg`, with the optional `apu` and `apv` (absent: empty).
pub(crate) fn derive(z: &[u8], alg: &str, apu: &[u8], apv: &[u8], bits: u32) -> Vec<u8> {
    let mut input = Vec::with_capacity(4 + z.len() + 16 + alg.len() + apu.len() + apv.len());
    input.extend_from_slice(&1u32.to_be_bytes());
    input.extend_from_slice(z);
    for part in [alg.as_bytes(), apu, apv] {
        input.extend_from_slice(&(part.len() as u32).to_be_bytes());
        input.extend_from_slice(part);
    }
    input.extend_from_slice(&bits.to_be_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    digest.as_ref()[..(bits.min(256) / 8) as usize].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of RFC 7518 Appendix C (ECDH-ES, A128GCM,
    /// apu "Alice", apv "Bob").
    #[test]
    fn rfc_7518_appendix_c() {
        let z = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        let key = derive(&z, "A128GCM", b"Alice", b"Bob", 128);
        assert_eq!(
            key,
            [86, 170, 141, 234, 248, 35, 109, 32, 92, 34, 40, 205, 113, 167, 16, 26]
        );
    }
}
