//! JWS JSON serialization (RFC 7515 §7.2.2, flattened), as stored in the container.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::Error;

/// One flattened JWS: a signature over a detached or attached payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jws {
    /// BASE64URL of the protected header JSON.
    pub protected: String,
    /// BASE64URL of the payload; absent when detached (signatures over the manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// BASE64URL of the signature value.
    pub signature: String,
    /// The unprotected header: JAdES unsigned properties (`etsiU`), such
    /// as a signature timestamp. Not signed: each property proves itself
    /// (a timestamp is signed by its TSA) and is checked on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<crate::timestamp::UnprotectedHeader>,
}

impl Jws {
    /// Parses a stored JWS entry; `entry` names it in errors.
    pub fn parse(bytes: &[u8], entry: &str) -> Result<Jws, Error> {
        serde_json::from_slice(bytes).map_err(|e| Error::MalformedJws {
            entry: entry.to_string(),
            problem: e.to_string(),
        })
    }

    /// The bytes that were signed: `protected || '.' || BASE64URL(payload)`.
    pub fn signing_input(&self, payload: &[u8]) -> Vec<u8> {
        self.signing_input_encoded(&URL_SAFE_NO_PAD.encode(payload))
    }

    /// [`signing_input`](Self::signing_input) for a payload already
    /// BASE64URL-encoded: a verifier checking several signatures over the
    /// same manifest encodes it once.
    pub fn signing_input_encoded(&self, encoded_payload: &str) -> Vec<u8> {
        let mut input = Vec::with_capacity(self.protected.len() + 1 + encoded_payload.len());
        input.extend_from_slice(self.protected.as_bytes());
        input.push(b'.');
        input.extend_from_slice(encoded_payload.as_bytes());
        input
    }

    /// The decoded signature value.
    pub fn signature_bytes(&self, entry: &str) -> Result<Vec<u8>, Error> {
        b64url_decode(&self.signature, entry, "signature")
    }

    /// The decoded protected header bytes.
    pub fn protected_bytes(&self, entry: &str) -> Result<Vec<u8>, Error> {
        b64url_decode(&self.protected, entry, "protected header")
    }

    /// The decoded attached payload.
    pub fn payload_bytes(&self, entry: &str) -> Result<Vec<u8>, Error> {
        let payload = self.payload.as_deref().ok_or_else(|| Error::MalformedJws {
            entry: entry.to_string(),
            problem: "the payload is missing".into(),
        })?;
        b64url_decode(payload, entry, "payload")
    }

    /// SHA-256 (hex) of the signature value: how later signatures and
    /// receipts refer to this one.
    pub fn signature_digest(&self, entry: &str) -> Result<String, Error> {
        Ok(crate::digest::sha256_hex(&self.signature_bytes(entry)?))
    }
}

/// BASE64URL without padding, as JWS uses.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Standard base64, as the `x5c` header uses (RFC 7515 §4.1.6).
pub fn b64_std(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64 (for `x5c`).
pub fn b64_std_decode(text: &str, entry: &str, what: &str) -> Result<Vec<u8>, Error> {
    STANDARD.decode(text).map_err(|e| Error::MalformedJws {
        entry: entry.to_string(),
        problem: format!("{what} is not valid base64: {e}"),
    })
}

fn b64url_decode(text: &str, entry: &str, what: &str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| Error::MalformedJws {
            entry: entry.to_string(),
            problem: format!("{what} is not valid BASE64URL: {e}"),
        })
}
