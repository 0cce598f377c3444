//! The one check of something a relay signed with its key outside TLS (a
//! batch statement of its message log, a figures report): the signature
//! verifies over exactly the bytes, under a relay certificate of the
//! organization that is supposed to have signed, valid under `trust`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use congvan_org::OrgId;
use congvan_sign::TrustStore;
use time::OffsetDateTime;

/// Most certificates a signed object may carry (the relay's, then its CAs).
pub const MAX_CERTIFICATES: usize = 8;

/// Checks `signature` (base64) over `bytes` by the first of `certificates`
/// (base64 DER, then its CAs): a relay certificate binding `org`, valid
/// under `trust` at `at`. The reason, when not, says which part failed.
pub fn check_relay_signed(
    bytes: &[u8],
    signature: &str,
    certificates: &[String],
    org: &OrgId,
    trust: &TrustStore,
    at: OffsetDateTime,
) -> Result<(), String> {
    if certificates.len() > MAX_CERTIFICATES {
        return Err(format!("more than {MAX_CERTIFICATES} certificates"));
    }
    let mut parsed = Vec::with_capacity(certificates.len());
    for text in certificates {
        let der = STANDARD
            .decode(text)
            .map_err(|e| format!("a relay certificate is not base64: {e}"))?;
        parsed.push(
            congvan_sign::Certificate::from_der(&der, std::path::Path::new("relay certificate"))
                .map_err(|e| e.to_string())?,
        );
    }
    let Some((relay, chain)) = parsed.split_first() else {
        return Err("it carries no relay certificate".into());
    };
    let signature = STANDARD
        .decode(signature)
        .map_err(|e| format!("the relay's signature is not base64: {e}"))?;
    let alg = relay
        .key_algorithm()
        .ok_or("the relay certificate's key is of no algorithm congvan signs with")?;
    congvan_sign::verify_signature(alg, relay, bytes, &signature)
        .map_err(|_| "the relay's signature does not verify over it".to_string())?;
    let purpose = congvan_sign::Purpose {
        role: Some(congvan_sign::Role::Relay),
        org: Some(org.clone()),
    };
    trust
        .validate(relay, chain, &purpose, at)
        .map(|_| ())
        .map_err(|e| format!("the signer is not relay {org}: {e}"))
}
