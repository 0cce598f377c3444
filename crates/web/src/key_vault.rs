//! Leaders' signing keys held by the relay, sealed under each leader's
//! signing PIN, as remote-signing services hold them.
//!
//! The key is stored as PKCS#8 `EncryptedPrivateKeyInfo` (PBES2: scrypt and
//! AES-256-CBC), so the PIN is never stored and a copy of the database
//! yields no key without it. A signature needs the PIN each time; after
//! [`MAX_PIN_FAILURES`] wrong PINs in a row the key is locked until it is
//! imported again (`congvan user add ... --signing-key`).

use std::path::Path;

use congvan_sign::{Certificate, Credential, SigningKey};
use pkcs8::der::Decode;
use pkcs8::pkcs5::{pbes2, scrypt};

use crate::store::{SealedKey, WebStore};
use crate::Error;

/// Wrong PINs in a row that lock a key.
pub const MAX_PIN_FAILURES: u32 = 5;

/// The shortest signing PIN accepted.
pub const MIN_PIN_CHARS: usize = 6;

/// Seals a credential's key under `pin`.
pub fn seal(credential: &Credential, pin: &str) -> Result<SealedKey, Error> {
    if pin.chars().count() < MIN_PIN_CHARS {
        return Err(Error::Account(format!(
            "the signing PIN is too short: use at least {MIN_PIN_CHARS} characters"
        )));
    }
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    crate::random::fill(&mut salt)?;
    crate::random::fill(&mut iv)?;
    let params = scrypt::Params::new(15, 8, 1, 32)
        .map_err(|e| Error::Account(format!("scrypt parameters: {e}")))?;
    let pbes2 = pbes2::Parameters::scrypt_aes256cbc(params, &salt, &iv)
        .map_err(|e| Error::Account(format!("PBES2 parameters: {e}")))?;
    let info = pkcs8::PrivateKeyInfo::from_der(credential.key().pkcs8_der())
        .map_err(|e| Error::Account(format!("the key is not PKCS#8: {e}")))?;
    let sealed = info
        .encrypt_with_params(pbes2, pin.as_bytes())
        .map_err(|e| Error::Account(format!("cannot seal the key: {e}")))?;
    let chain: String = credential.chain().iter().map(Certificate::to_pem).collect();
    Ok(SealedKey {
        cert_pem: credential.cert().to_pem(),
        chain_pem: chain,
        sealed_key: sealed.as_bytes().to_vec(),
        failures: 0,
        locked: false,
    })
}

/// Why a key could not be opened.
#[derive(Debug, PartialEq, Eq)]
pub enum Unseal {
    /// The PIN is wrong; this many tries are left before the key locks.
    WrongPin {
        /// Tries left.
        left: u32,
    },
    /// Too many wrong PINs: the key is locked.
    Locked,
    /// The account holds no key.
    NoKey,
}

/// Opens a leader's key with `pin`, counting wrong PINs.
pub fn unseal(store: &WebStore, user: i64, pin: &str) -> Result<Result<Credential, Unseal>, Error> {
    let Some(sealed) = store.key(user)? else {
        return Ok(Err(Unseal::NoKey));
    };
    if sealed.locked || !store.take_pin_try(user, MAX_PIN_FAILURES)? {
        return Ok(Err(Unseal::Locked));
    }
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(&sealed.sealed_key)
        .map_err(|e| Error::Account(format!("the stored key is damaged: {e}")))?;
    match info.decrypt(pin.as_bytes()) {
        Ok(plain) => {
            store.pin_succeeded(user)?;
            let origin = Path::new("<web key vault>");
            let key = SigningKey::from_pkcs8_der(plain.as_bytes(), origin)?;
            let mut certs = certificates(&sealed.cert_pem)?.into_iter();
            let cert = certs
                .next()
                .ok_or_else(|| Error::Account("the stored certificate is missing".into()))?;
            let chain = certificates(&sealed.chain_pem)?;
            Ok(Ok(Credential::new(cert, key, chain)?))
        }
        Err(_) => {
            let failures = store.pin_failed(user, MAX_PIN_FAILURES)?;
            if failures >= MAX_PIN_FAILURES {
                Ok(Err(Unseal::Locked))
            } else {
                Ok(Err(Unseal::WrongPin {
                    left: MAX_PIN_FAILURES - failures,
                }))
            }
        }
    }
}

/// The certificates in PEM text the vault stored itself.
fn certificates(text: &str) -> Result<Vec<Certificate>, Error> {
    let origin = Path::new("<web key vault>");
    pem::parse_many(text)
        .map_err(|e| Error::Account(format!("the stored certificate is damaged: {e}")))?
        .iter()
        .map(|block| Certificate::from_der(block.contents(), origin).map_err(Error::from))
        .collect()
}
