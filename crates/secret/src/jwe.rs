//! The JWE of a secret dispatch (RFC 7516, general JSON serialization).
//!
//! Stored as `jwe.json` in a sealed container, without its `ciphertext`
//! member (the ciphertext is `ciphertext.bin`) and with `tag` holding the
//! tag of every chunk of the stream in order (see [`crate::stream`]). A
//! stream of one chunk is exactly a standard JWE: base64url the ciphertext
//! into `ciphertext` and any JWE library decrypts it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::key_wrap::{key_management, EcPublicJwk};
use crate::keys::DecryptionKey;
use crate::stream::TAG_LEN;
use crate::Error;

/// The only content encryption accepted.
pub const CONTENT_ENCRYPTION: &str = "A256GCM";
/// The media type of the encrypted content: a `.cvd` dispatch.
pub const CONTENT_TYPE: &str = "application/vnd.congvan.dispatch+zip";
/// Most recipient entries one JWE may carry.
pub const MAX_RECIPIENTS: usize = 1000;
/// Largest JWE accepted with its ciphertext inline (a file from another
/// JWE library); a sealed container streams any size.
pub const MAX_INLINE_JWE: u64 = 256 * 1024 * 1024;

/// A JWE in general (or flattened) JSON serialization, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JweJson {
    /// BASE64URL(UTF8(JWE Protected Header)).
    pub protected: String,
    /// One entry per recipient (general serialization).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<RecipientEntry>,
    /// The one recipient's header (flattened serialization).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<RecipientHeader>,
    /// The one recipient's wrapped key (flattened serialization).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_key: Option<String>,
    /// BASE64URL of the additional authenticated data: the routing header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
    /// BASE64URL of the 96-bit initialization vector.
    pub iv: String,
    /// BASE64URL of the ciphertext, when inline (not in a sealed container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext: Option<String>,
    /// BASE64URL of the authentication tag of each chunk, concatenated.
    pub tag: String,
}

/// One recipient's entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientEntry {
    /// The per-recipient unprotected header.
    pub header: RecipientHeader,
    /// BASE64URL of the wrapped content key.
    pub encrypted_key: String,
}

/// The per-recipient header: the algorithm, whose key, and the ephemeral
/// public key of ECDH-ES.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientHeader {
    /// Key management algorithm, e.g. "ECDH-ES+A256KW".
    pub alg: String,
    /// The recipient office's code (informative; the thumbprint decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The recipient certificate's SHA-256 thumbprint.
    #[serde(rename = "x5t#S256", default, skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
    /// The ephemeral public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epk: Option<EcPublicJwk>,
    /// Agreement PartyUInfo, BASE64URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apu: Option<String>,
    /// Agreement PartyVInfo, BASE64URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apv: Option<String>,
}

/// The protected header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedHeader {
    /// Content encryption: "A256GCM".
    pub enc: String,
    /// The content's media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cty: Option<String>,
    /// How the content is cut in chunks; absent for a one-shot JWE.
    #[serde(
        rename = "congvan_stream",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stream: Option<StreamParams>,
    /// BASE64URL(SHA-256) of the recipient entries as JSON: binds the
    /// recipient list into the additional data, so that no entry can be
    /// dropped, added or changed without failing decryption for everyone.
    #[serde(
        rename = "congvan_recipients",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub recipients_digest: Option<String>,
    /// Compression is refused (it would leak through sizes, and inflate
    /// bombs): present only to be refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<serde_json::Value>,
    /// Critical extensions are refused: congvan understands none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<serde_json::Value>,
}

/// The chunking of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamParams {
    /// Bytes of plaintext per chunk (the last may be shorter).
    pub chunk_size: u64,
    /// Bytes of plaintext in all (= bytes of ciphertext).
    pub size: u64,
}

/// A JWE read and checked, ready to decrypt.
#[derive(Clone, Debug)]
pub struct Jwe {
    protected_b64: String,
    protected: ProtectedHeader,
    recipients: Vec<RecipientEntry>,
    aad_b64: Option<String>,
    iv: [u8; 12],
    tags: Vec<[u8; TAG_LEN]>,
    ciphertext: Option<Vec<u8>>,
}

impl Jwe {
    /// Reads a JWE's JSON, checking every member's form and refusing any
    /// algorithm but A256GCM content and a known key management.
    pub fn parse(bytes: &[u8]) -> Result<Jwe, Error> {
        if bytes.len() as u64 > MAX_INLINE_JWE {
            return Err(Error::Malformed(format!(
                "it is {} bytes; at most {MAX_INLINE_JWE} are read",
                bytes.len()
            )));
        }
        let json: JweJson = serde_json::from_slice(bytes)
            .map_err(|e| Error::Malformed(format!("not a JWE in JSON serialization: {e}")))?;
        let decode = |name: &str, text: &str| {
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| Error::Malformed(format!("{name} is not base64url")))
        };
        let protected: ProtectedHeader =
            serde_json::from_slice(&decode("protected", &json.protected)?)
                .map_err(|e| Error::Malformed(format!("the protected header: {e}")))?;
        if protected.enc != CONTENT_ENCRYPTION {
            return Err(Error::Unsupported(format!(
                "enc {:?}; congvan decrypts {CONTENT_ENCRYPTION} only",
                protected.enc
            )));
        }
        if protected.zip.is_some() {
            return Err(Error::Unsupported("compressed content (zip)".into()));
        }
        if protected.crit.is_some() {
            return Err(Error::Unsupported(
                "critical header parameters (crit): congvan understands none".into(),
            ));
        }
        let mut recipients = json.recipients;
        match (json.header, json.encrypted_key) {
            (Some(header), Some(encrypted_key)) if recipients.is_empty() => {
                recipients.push(RecipientEntry {
                    header,
                    encrypted_key,
                })
            }
            (None, None) => {}
            _ => {
                return Err(Error::Malformed(
                    "mixes the general and flattened serializations".into(),
                ))
            }
        }
        if recipients.is_empty() {
            return Err(Error::Malformed("it has no recipient".into()));
        }
        if recipients.len() > MAX_RECIPIENTS {
            return Err(Error::Malformed(format!(
                "it has {} recipients; at most {MAX_RECIPIENTS} are read",
                recipients.len()
            )));
        }
        for entry in &recipients {
            if key_management(&entry.header.alg).is_none() {
                return Err(Error::Unsupported(format!(
                    "alg {:?}; congvan accepts ECDH-ES+A256KW",
                    entry.header.alg
                )));
            }
        }
        let iv: [u8; 12] = decode("iv", &json.iv)?
            .try_into()
            .map_err(|_| Error::Malformed("iv is not 96 bits".into()))?;
        let tag_bytes = decode("tag", &json.tag)?;
        if tag_bytes.is_empty() || tag_bytes.len() % TAG_LEN != 0 {
            return Err(Error::Malformed(format!(
                "tag is {} bytes, not a whole number of {TAG_LEN}-byte tags",
                tag_bytes.len()
            )));
        }
        let tags: Vec<[u8; TAG_LEN]> = tag_bytes
            .chunks_exact(TAG_LEN)
            .map(|c| {
                let mut tag = [0u8; TAG_LEN];
                tag.copy_from_slice(c);
                tag
            })
            .collect();
        let ciphertext = json
            .ciphertext
            .as_deref()
            .map(|c| decode("ciphertext", c))
            .transpose()?;
        let jwe = Jwe {
            protected_b64: json.protected,
            protected,
            recipients,
            aad_b64: json.aad,
            iv,
            tags,
            ciphertext,
        };
        let expected = crate::stream::chunk_count(jwe.size_hint(), jwe.chunk_size());
        if jwe.tags.len() as u64 != expected {
            return Err(Error::Malformed(format!(
                "it has {} tags for {expected} chunks",
                jwe.tags.len()
            )));
        }
        Ok(jwe)
    }

    /// The protected header.
    pub fn protected(&self) -> &ProtectedHeader {
        &self.protected
    }

    /// The recipient entries.
    pub fn recipients(&self) -> &[RecipientEntry] {
        &self.recipients
    }

    /// The decoded additional data, if any.
    pub fn aad(&self) -> Result<Option<Vec<u8>>, Error> {
        self.aad_b64
            .as_deref()
            .map(|a| {
                URL_SAFE_NO_PAD
                    .decode(a)
                    .map_err(|_| Error::Malformed("aad is not base64url".into()))
            })
            .transpose()
    }

    /// The ciphertext's size: declared by the stream parameters, or that
    /// of the inline ciphertext.
    pub fn size_hint(&self) -> u64 {
        match (&self.protected.stream, &self.ciphertext) {
            (Some(stream), _) => stream.size,
            (None, Some(c)) => c.len() as u64,
            (None, None) => 0,
        }
    }

    /// Bytes per chunk: the whole content for a one-shot JWE.
    pub fn chunk_size(&self) -> u64 {
        match &self.protected.stream {
            Some(stream) => stream.chunk_size,
            None => self.size_hint().max(1),
        }
    }

    /// The inline ciphertext, for a JWE read from a `.jwe` file.
    pub fn inline_ciphertext(&self) -> Option<&[u8]> {
        self.ciphertext.as_deref()
    }

    pub(crate) fn iv(&self) -> &[u8; 12] {
        &self.iv
    }

    pub(crate) fn tags(&self) -> &[[u8; TAG_LEN]] {
        &self.tags
    }

    /// The AEAD's additional data: ASCII(BASE64URL(protected)), then
    /// "." and BASE64URL(aad) when there is one (RFC 7516 §5.1 step 14).
    pub(crate) fn additional_data(&self) -> Vec<u8> {
        let mut out = self.protected_b64.as_bytes().to_vec();
        if let Some(aad) = &self.aad_b64 {
            out.push(b'.');
            out.extend_from_slice(aad.as_bytes());
        }
        out
    }

    /// Unwraps the content key from the entry made for `key`'s
    /// certificate (by `x5t#S256`; entries without one are tried too).
    pub(crate) fn content_key(&self, key: &DecryptionKey) -> Result<[u8; 32], Error> {
        let mine: Vec<&RecipientEntry> = self
            .recipients
            .iter()
            .filter(|e| match &e.header.x5t_s256 {
                Some(t) => t == key.thumbprint(),
                None => true,
            })
            .collect();
        if mine.is_empty() {
            let names: Vec<&str> = self
                .recipients
                .iter()
                .filter_map(|e| e.header.kid.as_deref())
                .collect();
            return Err(Error::NotARecipient(format!(
                "{} is not a recipient: none of the {} recipient entries is for its encryption \
                 certificate (the entries are for: {}); only the recipient offices and the \
                 sender can decrypt this dispatch",
                key.org()
                    .map_or("this key".to_string(), |o| format!("office {o}")),
                self.recipients.len(),
                if names.is_empty() {
                    "unnamed keys".to_string()
                } else {
                    names.join(", ")
                }
            )));
        }
        let mut last = None;
        for entry in mine {
            let algorithm = key_management(&entry.header.alg)
                .ok_or_else(|| Error::Unsupported(entry.header.alg.clone()))?;
            match algorithm.unwrap(entry, key) {
                Ok(cek) => return Ok(cek),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Decryption("no entry unwrapped".into())))
    }
}

/// The digest of a recipient list that the protected header carries.
pub fn recipients_digest(recipients: &[RecipientEntry]) -> Result<String, Error> {
    let json = serde_json::to_vec(recipients)
        .map_err(|e| Error::Malformed(format!("cannot encode the recipients: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &json)))
}

/// Writes the JSON of a JWE being made, over `protected_b64` (the
/// protected header exactly as the additional data was computed over it).
pub(crate) fn to_json(
    protected_b64: &str,
    recipients: Vec<RecipientEntry>,
    aad: &[u8],
    iv: &[u8; 12],
    tags: &[[u8; TAG_LEN]],
) -> Result<Vec<u8>, Error> {
    let json = JweJson {
        protected: protected_b64.to_string(),
        recipients,
        header: None,
        encrypted_key: None,
        aad: Some(URL_SAFE_NO_PAD.encode(aad)),
        iv: URL_SAFE_NO_PAD.encode(iv),
        ciphertext: None,
        tag: URL_SAFE_NO_PAD.encode(tags.concat()),
    };
    serde_json::to_vec_pretty(&json)
        .map_err(|e| Error::Malformed(format!("cannot encode the JWE: {e}")))
}

/// The protected header's BASE64URL, which the additional data covers.
pub(crate) fn protected_b64(protected: &ProtectedHeader) -> Result<String, Error> {
    Ok(URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(protected)
            .map_err(|e| Error::Malformed(format!("cannot encode the header: {e}")))?,
    ))
}

/// BASE64URL of the additional data: what goes after the ".".
pub(crate) fn aad_b64(aad: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(aad)
}
