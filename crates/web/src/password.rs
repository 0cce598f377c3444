//! Login passwords, hashed with Argon2id.
//!
//! The stored form is the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`),
//! so parameters can be raised later and old hashes still verify.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::Error;

/// The shortest password accepted: a clerk's account opens an office's
/// whole correspondence.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Hashes a new password, after checking it is long enough.
pub fn hash_password(password: &str) -> Result<String, Error> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::Account(format!(
            "the password is too short: use at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let mut salt = [0u8; 16];
    crate::random::fill(&mut salt)?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| Error::Account(format!("cannot encode the salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Account(format!("cannot hash the password: {e}")))
}

/// True when `password` matches the stored hash. A malformed stored hash
/// matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of nothing, verified when the login is unknown so that an unknown
/// login takes as long as a wrong password (no account enumeration by time).
pub fn dummy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1QBvOTsjj5dPNJx4d7F0Yx1vP3jaP2qTNqvn7bzGvOY"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_another_does_not() {
        let hash = hash_password("mật khẩu đủ dài").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("mật khẩu đủ dài", &hash));
        assert!(!verify_password("mật khẩu khác", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn a_short_password_is_refused() {
        assert!(hash_password("ngắn").is_err());
    }
}
