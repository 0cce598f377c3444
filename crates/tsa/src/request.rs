//! A time-stamp request (RFC 3161 §2.4.1), as a client sends it.

use der::asn1::{Int, OctetString};
use der::Encode;
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

use crate::{Error, Imprint};

/// A request ready to send, with the nonce its reply must echo.
#[derive(Clone, Debug)]
pub struct TimestampRequest {
    /// What the token is to vouch for.
    pub imprint: Imprint,
    /// The random nonce (64 bits, positive) the reply must carry.
    pub nonce: Vec<u8>,
    /// The DER of the request.
    pub der: Vec<u8>,
}

impl TimestampRequest {
    /// A request for `imprint` with a fresh nonce, asking the TSA to
    /// include its certificate (so that the token can be checked with no
    /// other data, years later).
    pub fn new(imprint: &Imprint) -> Result<TimestampRequest, Error> {
        let mut nonce = [0u8; 8];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
            .map_err(|_| Error::Unsupported("no random numbers for the nonce".into()))?;
        // Positive and minimally encoded: top bit clear, first byte non-zero.
        nonce[0] = (nonce[0] & 0x7f) | 0x40;
        let request = TimeStampReq {
            version: TspVersion::V1,
            message_imprint: message_imprint(imprint)?,
            req_policy: None,
            nonce: Some(Int::new(&nonce).map_err(|e| Error::malformed("request", e))?),
            cert_req: true,
            extensions: None,
        };
        let der = request
            .to_der()
            .map_err(|e| Error::malformed("request", e))?;
        Ok(TimestampRequest {
            imprint: imprint.clone(),
            nonce: nonce.to_vec(),
            der,
        })
    }
}

/// The ASN.1 message imprint of `imprint`.
pub(crate) fn message_imprint(imprint: &Imprint) -> Result<MessageImprint, Error> {
    Ok(MessageImprint {
        hash_algorithm: cms::cert::x509::spki::AlgorithmIdentifier {
            oid: imprint.alg.oid(),
            parameters: None,
        },
        hashed_message: OctetString::new(imprint.digest.clone())
            .map_err(|e| Error::malformed("request", e))?,
    })
}
