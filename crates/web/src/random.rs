//! Random bytes and tokens from the system's generator.

use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};

use crate::Error;

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) -> Result<(), Error> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| Error::Account("the system's random generator failed".into()))
}

/// A 256-bit random token, URL-safe base64: session ids, CSRF tokens.
pub fn token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of a token, hex: what the store keeps instead of the token, so a
/// copy of the database opens no session.
pub fn token_digest(token: &str) -> String {
    congvan_envelope::sha256_hex(token.as_bytes())
}
