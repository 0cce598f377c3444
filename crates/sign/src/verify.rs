use crate::{Algorithm, Certificate, Error};

/// Verifies `signature` over `message` with the public key in `cert`.
///
/// This checks the mathematics only; whether the certificate is trustworthy
/// for its role at the signing time is [`crate::TrustStore::validate`]'s job.
pub fn verify_signature(
    alg: Algorithm,
    cert: &Certificate,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let key = ring::signature::UnparsedPublicKey::new(alg.ring_verification(), cert.public_key());
    key.verify(message, signature)
        .map_err(|_| Error::BadSignature)
}
