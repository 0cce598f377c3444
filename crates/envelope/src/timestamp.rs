//! Signature timestamps (JAdES B-T): RFC 3161 tokens in a signature's
//! unprotected header, `etsiU`.
//!
//! `etsiU` is an array; each element is the BASE64URL of a JSON object
//! with exactly one member, the unsigned property (ETSI TS 119 182-1
//! §5.3, in the base64url form EU DSS writes). congvan writes and reads
//! `sigTst`:
//!
//! ```json
//! {"sigTst": {"tstTokens": [{"val": "<standard base64 of the DER token>"}]}}
//! ```
//!
//! The token's message imprint is SHA-256 over the ASCII of the JWS
//! `signature` member (the BASE64URL signature value), so the timestamp
//! proves the signature value existed at the token's genTime.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::{Error, Jws};

/// The unprotected header of a dispatch signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnprotectedHeader {
    /// JAdES unsigned properties, each BASE64URL of a one-member JSON object.
    #[serde(rename = "etsiU")]
    pub etsi_u: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SigTstProperty {
    #[serde(rename = "sigTst")]
    sig_tst: TimestampList,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimestampList {
    #[serde(rename = "tstTokens")]
    tst_tokens: Vec<TokenValue>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenValue {
    val: String,
}

/// How many timestamps a verifier reads from one signature.
const MAX_TOKENS: usize = 4;

/// What a signature timestamp must be over: SHA-256 of the ASCII
/// BASE64URL signature value.
pub fn signature_timestamp_imprint(jws: &Jws) -> congvan_tsa::Imprint {
    congvan_tsa::Imprint::sha256_of(jws.signature.as_bytes())
}

/// Adds a signature timestamp (a DER token) to `jws`'s unprotected header.
pub fn add_signature_timestamp(jws: &mut Jws, token_der: &[u8]) -> Result<(), Error> {
    let property = SigTstProperty {
        sig_tst: TimestampList {
            tst_tokens: vec![TokenValue {
                val: STANDARD.encode(token_der),
            }],
        },
    };
    let json = serde_json::to_vec(&property)
        .map_err(|e| Error::Format(format!("cannot encode the timestamp: {e}")))?;
    jws.header
        .get_or_insert_with(|| UnprotectedHeader { etsi_u: Vec::new() })
        .etsi_u
        .push(URL_SAFE_NO_PAD.encode(json));
    Ok(())
}

/// The DER tokens of the signature timestamps in `jws` (none when it has
/// no unprotected header). An element that is not a readable `sigTst` is
/// refused: congvan writes no other unsigned property, and one it cannot
/// read may not silently stand beside the signature.
pub fn signature_timestamps(jws: &Jws, entry: &str) -> Result<Vec<Vec<u8>>, Error> {
    let malformed = |problem: String| Error::MalformedJws {
        entry: entry.to_string(),
        problem,
    };
    let Some(header) = &jws.header else {
        return Ok(Vec::new());
    };
    if header.etsi_u.len() > MAX_TOKENS {
        return Err(malformed(format!(
            "{} unsigned properties; a verifier reads at most {MAX_TOKENS}",
            header.etsi_u.len()
        )));
    }
    let mut tokens = Vec::new();
    for (i, element) in header.etsi_u.iter().enumerate() {
        let json = URL_SAFE_NO_PAD
            .decode(element)
            .map_err(|e| malformed(format!("etsiU[{i}] is not BASE64URL: {e}")))?;
        let property: SigTstProperty = serde_json::from_slice(&json).map_err(|e| {
            malformed(format!(
                "etsiU[{i}] is not a sigTst property congvan reads: {e}"
            ))
        })?;
        for token in property.sig_tst.tst_tokens {
            let der = STANDARD
                .decode(&token.val)
                .map_err(|e| malformed(format!("etsiU[{i}] token is not base64: {e}")))?;
            tokens.push(der);
        }
    }
    if tokens.len() > MAX_TOKENS {
        return Err(malformed(format!(
            "{} signature timestamps; a verifier reads at most {MAX_TOKENS}",
            tokens.len()
        )));
    }
    Ok(tokens)
}
