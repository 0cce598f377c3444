use crate::{Algorithm, Certificate, Error};

/// Verifies `signature` over `message` with the public key in `cert`.
///
/// This checks the mathematics only; whether the certificate is trustworthy
/// for its role at the signing time is [`crate::TrustStore::validate`]'s job.
/// An ECDSA signature must be in its low-s form ([`Error::HighS`]), so that a
/// signature has one value.
pub fn verify_signature(
    alg: Algorithm,
    cert: &Certificate,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let key = ring::signature::UnparsedPublicKey::new(alg.ring_verification(), cert.public_key());
    key.verify(message, signature)
        .map_err(|_| Error::BadSignature)?;
    if crate::low_s::is_high_s(alg, signature) {
        return Err(Error::HighS);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::SigningKey;

    /// A certificate for `key`, issued by itself: enough to verify with.
    fn cert_for(key: &SigningKey) -> Certificate {
        let dir = tempfile::tempdir().unwrap();
        let cred = crate::init_root(
            "low-s test",
            SigningKey::from_pkcs8_der(key.pkcs8_der(), dir.path()).unwrap(),
            30,
        )
        .unwrap();
        cred.cert().clone()
    }

    #[test]
    fn ecdsa_signatures_are_made_low_s_and_the_high_s_twin_is_refused() {
        for alg in [Algorithm::EcdsaP256, Algorithm::EcdsaP384] {
            let key = SigningKey::generate(alg).unwrap();
            let cert = cert_for(&key);
            for i in 0..64u32 {
                let message = format!("message {i}");
                let signature = key.sign(message.as_bytes()).unwrap();
                assert!(!crate::low_s::is_high_s(alg, &signature));
                verify_signature(alg, &cert, message.as_bytes(), &signature).unwrap();
                // The malleated twin: valid ECDSA (ring accepts it), refused here.
                let twin = crate::low_s::flip_s(alg, signature.clone());
                assert_ne!(twin, signature);
                ring::signature::UnparsedPublicKey::new(alg.ring_verification(), cert.public_key())
                    .verify(message.as_bytes(), &twin)
                    .unwrap();
                assert!(matches!(
                    verify_signature(alg, &cert, message.as_bytes(), &twin),
                    Err(Error::HighS)
                ));
            }
        }
    }
}
