//! Limits the example benchmarks measure in their own run, so that their
//! results are ratios against this machine at this moment.

use std::time::{Duration, Instant};

use anyhow::Result;

/// Raw ring ECDSA P-256 (SHA-256) verifications per second on one thread,
/// over a 600-byte message (about a JWS signing input), for `probe`.
pub fn verify_rate(probe: Duration) -> Result<f64> {
    use ring::signature::{
        EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
        ECDSA_P256_SHA256_FIXED_SIGNING,
    };
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| anyhow::anyhow!("key generation failed"))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| anyhow::anyhow!("key parse failed"))?;
    // About the size of a JWS signing input (protected header + payload).
    let message = vec![0x41u8; 600];
    let signature = pair
        .sign(&rng, &message)
        .map_err(|_| anyhow::anyhow!("signing failed"))?;
    let key = UnparsedPublicKey::new(
        &ECDSA_P256_SHA256_FIXED,
        pair.public_key().as_ref().to_vec(),
    );
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < probe {
        for _ in 0..16 {
            key.verify(std::hint::black_box(&message), signature.as_ref())
                .map_err(|_| anyhow::anyhow!("verify failed"))?;
        }
        n += 16;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}
