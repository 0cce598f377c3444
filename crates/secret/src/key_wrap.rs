//! Key management: how the content key reaches each recipient.
//!
//! congvan wraps the content-encryption key for each recipient with
//! ECDH-ES+A256KW (RFC 7518 §4.6): an ephemeral P-256 key per recipient,
//! the Concat KDF, AES-256 key wrap. The algorithm is behind
//! [`KeyManagement`] so that another one (rules on state secrets may
//! require nationally approved algorithms) slots in by its `alg` name
//! without touching the container or the content encryption.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use serde::{Deserialize, Serialize};

use crate::jwe::{RecipientEntry, RecipientHeader};
use crate::keys::{DecryptionKey, Recipient};
use crate::Error;

/// One key-management algorithm, as JWE names it in a recipient's `alg`.
pub trait KeyManagement: Sync {
    /// The JWE `alg` value.
    fn alg(&self) -> &'static str;
    /// Wraps `cek` for `recipient`: the recipient entry of the JWE.
    fn wrap(&self, cek: &[u8; 32], recipient: &Recipient) -> Result<RecipientEntry, Error>;
    /// Unwraps the content key from `entry` with `key`.
    fn unwrap(&self, entry: &RecipientEntry, key: &DecryptionKey) -> Result<[u8; 32], Error>;
}

/// ECDH-ES+A256KW on P-256, the default.
pub struct EcdhEsA256Kw;

/// The algorithms a JWE may use, by `alg`.
pub fn key_management(alg: &str) -> Option<&'static dyn KeyManagement> {
    match alg {
        "ECDH-ES+A256KW" => Some(&EcdhEsA256Kw),
        _ => None,
    }
}

/// An ephemeral or static P-256 public key as a JWK (`epk`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcPublicJwk {
    /// "EC".
    pub kty: String,
    /// "P-256".
    pub crv: String,
    /// The x coordinate, base64url, 32 bytes.
    pub x: String,
    /// The y coordinate, base64url, 32 bytes.
    pub y: String,
}

impl EcPublicJwk {
    fn of(key: &p256::PublicKey) -> EcPublicJwk {
        let point = key.to_encoded_point(false);
        EcPublicJwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: URL_SAFE_NO_PAD.encode(point.x().map(|x| x.as_slice()).unwrap_or_default()),
            y: URL_SAFE_NO_PAD.encode(point.y().map(|y| y.as_slice()).unwrap_or_default()),
        }
    }

    /// The key, refused unless it is a point on P-256 (an off-curve point
    /// would leak the recipient's key bit by bit: invalid-curve attacks).
    fn key(&self) -> Result<p256::PublicKey, Error> {
        if self.kty != "EC" || self.crv != "P-256" {
            return Err(Error::Unsupported(format!(
                "epk is a {} {} key; ECDH-ES here is on P-256",
                self.kty, self.crv
            )));
        }
        let coordinate = |name: &str, text: &str| -> Result<[u8; 32], Error> {
            let bytes = URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| Error::Malformed(format!("epk.{name} is not base64url")))?;
            bytes
                .try_into()
                .map_err(|_| Error::Malformed(format!("epk.{name} is not 32 bytes")))
        };
        let x = coordinate("x", &self.x)?;
        let y = coordinate("y", &self.y)?;
        let point = p256::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
        Option::from(p256::PublicKey::from_encoded_point(&point))
            .ok_or_else(|| Error::Malformed("epk is not a point on P-256".into()))
    }
}

impl KeyManagement for EcdhEsA256Kw {
    fn alg(&self) -> &'static str {
        "ECDH-ES+A256KW"
    }

    fn wrap(&self, cek: &[u8; 32], recipient: &Recipient) -> Result<RecipientEntry, Error> {
        let ephemeral = random_secret()?;
        let shared = p256::ecdh::diffie_hellman(
            ephemeral.to_nonzero_scalar(),
            recipient.public().as_affine(),
        );
        let kek = kek(shared.raw_secret_bytes(), self.alg());
        let wrapped = aes_kw::KekAes256::from(kek)
            .wrap_vec(cek)
            .map_err(|_| Error::Refused("the content key could not be wrapped".into()))?;
        Ok(RecipientEntry {
            header: RecipientHeader {
                alg: self.alg().to_string(),
                kid: Some(recipient.org().to_string()),
                x5t_s256: Some(recipient.thumbprint().to_string()),
                epk: Some(EcPublicJwk::of(&ephemeral.public_key())),
                apu: None,
                apv: None,
            },
            encrypted_key: URL_SAFE_NO_PAD.encode(wrapped),
        })
    }

    fn unwrap(&self, entry: &RecipientEntry, key: &DecryptionKey) -> Result<[u8; 32], Error> {
        let header = &entry.header;
        let epk = header
            .epk
            .as_ref()
            .ok_or_else(|| Error::Malformed("the recipient entry has no epk".into()))?
            .key()?;
        let part = |name: &str, value: &Option<String>| -> Result<Vec<u8>, Error> {
            value
                .as_ref()
                .map(|v| URL_SAFE_NO_PAD.decode(v))
                .transpose()
                .map(Option::unwrap_or_default)
                .map_err(|_| Error::Malformed(format!("{name} is not base64url")))
        };
        let apu = part("apu", &header.apu)?;
        let apv = part("apv", &header.apv)?;
        let shared = p256::ecdh::diffie_hellman(key.secret().to_nonzero_scalar(), epk.as_affine());
        let derived =
            crate::concat_kdf::derive(shared.raw_secret_bytes(), self.alg(), &apu, &apv, 256);
        let mut kek = [0u8; 32];
        kek.copy_from_slice(&derived);
        let wrapped = URL_SAFE_NO_PAD
            .decode(&entry.encrypted_key)
            .map_err(|_| Error::Malformed("encrypted_key is not base64url".into()))?;
        let cek = aes_kw::KekAes256::from(kek)
            .unwrap_vec(&wrapped)
            .map_err(|_| {
                Error::Decryption(
                    "the wrapped content key does not unwrap with this key: the recipient entry \
                     was altered, or was made for another key"
                        .into(),
                )
            })?;
        cek.try_into()
            .map_err(|_| Error::Malformed("the content key is not 256 bits".into()))
    }
}

fn kek(shared: &[u8], alg: &str) -> [u8; 32] {
    let derived = crate::concat_kdf::derive(shared, alg, b"", b"", 256);
    let mut kek = [0u8; 32];
    kek.copy_from_slice(&derived);
    kek
}

/// A fresh P-256 secret from the system's random source.
fn random_secret() -> Result<p256::SecretKey, Error> {
    // A random 256-bit string is a valid scalar but with probability
    // about 2^-32; draw again then.
    for _ in 0..8 {
        let bytes: [u8; 32] = crate::random::bytes()?;
        if let Ok(key) = p256::SecretKey::from_bytes(&bytes.into()) {
            return Ok(key);
        }
    }
    Err(Error::Refused(
        "the system's random source gave no usable P-256 key".into(),
    ))
}
