//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps,
//! six digits), the second factor authenticator apps produce.

use ring::hmac;

use crate::Error;

const STEP_SECS: u64 = 30;
const DIGITS: u32 = 6;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new random secret, base32 (what an authenticator app is given).
pub fn new_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 20];
    crate::random::fill(&mut bytes)?;
    Ok(base32_encode(&bytes))
}

/// The code for `secret` at Unix time `unix_secs`.
pub fn code_at(secret: &str, unix_secs: u64) -> Result<String, Error> {
    let key = base32_decode(secret)
        .ok_or_else(|| Error::Account("the TOTP secret is not base32".into()))?;
    Ok(hotp(&key, unix_secs / STEP_SECS))
}

/// The time step `code` is right for, when it is right for `secret` now
/// (one step either side allowed for clocks that drift). The caller keeps
/// the last step used, so that a code seen once cannot be replayed.
pub fn check(secret: &str, code: &str, unix_secs: u64) -> Option<u64> {
    let key = base32_decode(secret)?;
    let code = code.trim();
    let counter = unix_secs / STEP_SECS;
    [counter.saturating_sub(1), counter, counter + 1]
        .into_iter()
        .find(|&c| constant_time_eq(hotp(&key, c).as_bytes(), code.as_bytes()))
}

/// RFC 4226 HOTP.
fn hotp(key: &[u8], counter: u64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = (u32::from(mac[offset]) & 0x7f) << 24
        | u32::from(mac[offset + 1]) << 16
        | u32::from(mac[offset + 2]) << 8
        | u32::from(mac[offset + 3]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(char::from(BASE32[((buffer >> (bits - 5)) & 31) as usize]));
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = BASE32
            .iter()
            .position(|&b| char::from(b) == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            out.push(((buffer >> (bits - 8)) & 0xff) as u8);
            bits -= 8;
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (secret "12345678901234567890"),
    /// last six digits.
    #[test]
    fn the_rfc_6238_test_vectors_hold() {
        let secret = base32_encode(b"12345678901234567890");
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(&secret, time).unwrap(), code, "at {time}");
        }
        assert_eq!(check(&secret, "287082", 59 + 30), Some(1));
        assert_eq!(check(&secret, "287082", 59 + 120), None);
    }
}
