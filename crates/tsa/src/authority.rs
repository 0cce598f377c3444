//! The timestamp authority: answers requests with signed tokens.

use std::time::Duration;

use cmpv2::status::{PkiStatus, PkiStatusInfo};
use cms::cert::x509::attr::Attribute;
use cms::cert::x509::spki::AlgorithmIdentifierOwned;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use congvan_sign::{Algorithm, Credential, Role};
use der::asn1::{GeneralizedTime, Int, ObjectIdentifier, OctetString, SetOfVec, Utf8StringRef};
use der::{Any, Decode, Encode, Tag};
use time::OffsetDateTime;
use x509_tsp::{Accuracy, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::asn1::{
    ecdsa_fixed_to_der, EssCertIdV2, SigningCertificateV2, ID_CONTENT_TYPE, ID_CT_TST_INFO,
    ID_ECDSA_SHA256, ID_ECDSA_SHA384, ID_MESSAGE_DIGEST, ID_SHA256, ID_SHA384, ID_SIGNED_DATA,
    ID_SIGNING_CERTIFICATE_V2,
};
use crate::{Error, HashAlg};

/// The longest request body the authority reads: a request is a hash, a
/// nonce and a few flags, well under 1 KiB.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// A timestamp authority: its credential (a certificate of role
/// [`Role::Tsa`]), its policy, and everything about its certificate a token
/// repeats, computed once so that issuing costs little more than the
/// signature.
pub struct Authority {
    credential: Credential,
    policy: ObjectIdentifier,
    hash: HashAlg,
    digest_alg: AlgorithmIdentifierOwned,
    signature_alg: AlgorithmIdentifierOwned,
    sid: SignerIdentifier,
    ess: Attribute,
    certificates: CertificateSet,
    rng: ring::rand::SystemRandom,
}

impl Authority {
    /// An authority signing with `credential` under `policy`, the OID (in
    /// dotted form) of the TSA policy its operator publishes: every token
    /// names it, and a relying party decides by it whether to accept the
    /// authority's practices. There is no default: a policy is the
    /// operator's statement, not the software's.
    ///
    /// Refuses a credential that is not a timestamp authority's (role tsa:
    /// extended key usage timeStamping, critical), and keys other than
    /// ECDSA P-256 or P-384.
    pub fn new(credential: Credential, policy: &str) -> Result<Authority, Error> {
        let cert = credential.cert();
        if cert.role() != Some(Role::Tsa) || !cert.eku_critical() {
            return Err(Error::NotTimestampCertificate(format!(
                "\"{}\" is not a timestamp authority's certificate (it needs the extended key \
                 usage timeStamping, critical, alone: `congvan pki issue --role tsa`)",
                cert.display_name()
            )));
        }
        Authority::build(credential, policy)
    }

    /// [`Authority::new`] without the check of the certificate's role: for
    /// tests that make the tokens a careless or hostile TSA would.
    pub(crate) fn build(credential: Credential, policy: &str) -> Result<Authority, Error> {
        let cert = credential.cert().clone();
        let policy = ObjectIdentifier::new(policy).map_err(|e| {
            Error::BadRequest(format!(
                "the TSA policy {policy:?} is not a usable OID: {e}"
            ))
        })?;
        let (hash, signature_oid) = match credential.key().algorithm() {
            Algorithm::EcdsaP256 => (HashAlg::Sha256, ID_ECDSA_SHA256),
            Algorithm::EcdsaP384 => (HashAlg::Sha384, ID_ECDSA_SHA384),
            other => {
                return Err(Error::Unsupported(format!(
                    "a timestamp authority signs with ECDSA P-256 or P-384, not {other}"
                )))
            }
        };
        let digest_oid = match hash {
            HashAlg::Sha384 => ID_SHA384,
            _ => ID_SHA256,
        };
        let parsed = cms::cert::x509::Certificate::from_der(cert.der())
            .map_err(|e| Error::malformed("TSA certificate", e))?;
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: parsed.tbs_certificate.issuer.clone(),
            serial_number: parsed.tbs_certificate.serial_number.clone(),
        });
        let ess = attribute(
            ID_SIGNING_CERTIFICATE_V2,
            &SigningCertificateV2 {
                certs: vec![EssCertIdV2 {
                    hash_algorithm: None, // the DEFAULT, SHA-256
                    cert_hash: octets(HashAlg::Sha256.digest(cert.der()))?,
                    issuer_serial: None,
                }],
                policies: None,
            },
        )?;
        let mut chain = vec![CertificateChoices::Certificate(parsed)];
        for ca in credential.chain() {
            let ca = cms::cert::x509::Certificate::from_der(ca.der())
                .map_err(|e| Error::malformed("TSA chain certificate", e))?;
            chain.push(CertificateChoices::Certificate(ca));
        }
        let certificates =
            CertificateSet::try_from(chain).map_err(|e| Error::malformed("TSA chain", e))?;
        Ok(Authority {
            credential,
            policy,
            hash,
            digest_alg: AlgorithmIdentifierOwned {
                oid: digest_oid,
                parameters: None,
            },
            signature_alg: AlgorithmIdentifierOwned {
                oid: signature_oid,
                parameters: None,
            },
            sid,
            ess,
            certificates,
            rng: ring::rand::SystemRandom::new(),
        })
    }

    /// The authority's credential.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// Answers a DER request with a DER reply, at time `now`: a token when
    /// the request is acceptable, otherwise a rejection whose status text
    /// says why. Never fails: every refusal is an answer.
    pub fn respond(&self, request_der: &[u8], now: OffsetDateTime) -> Vec<u8> {
        let outcome = TimeStampReq::from_der(request_der)
            .map_err(|e| Error::BadRequest(format!("not a DER TimeStampReq: {e}")))
            .and_then(|request| self.issue(&request, now));
        let reply = match outcome {
            Ok(token) => encode_reply(PkiStatus::Accepted, None, Some(token)),
            Err(e) => encode_reply(PkiStatus::Rejection, Some(&e.to_string()), None),
        };
        // A reply without a token and with plain text always encodes; the
        // fallback is the fixed DER of a bare rejection.
        reply.unwrap_or_else(|_| vec![0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02])
    }

    /// Issues the token for an accepted request (the ContentInfo).
    ///
    /// Refuses what RFC 3161 §2.4.1 lets a TSA refuse: an unknown hash
    /// algorithm or a hash of the wrong length, another policy than its
    /// own, and extensions (it supports none).
    pub fn issue(&self, request: &TimeStampReq, now: OffsetDateTime) -> Result<ContentInfo, Error> {
        let imprint = &request.message_imprint;
        let alg = HashAlg::from_oid(&imprint.hash_algorithm.oid).ok_or_else(|| {
            Error::BadRequest(format!(
                "hash algorithm {} is not accepted; use SHA-256, SHA-384 or SHA-512",
                imprint.hash_algorithm.oid
            ))
        })?;
        if imprint.hashed_message.as_bytes().len() != alg.digest_len() {
            return Err(Error::BadRequest(format!(
                "the hashed message is {} bytes, not the {} of its algorithm",
                imprint.hashed_message.as_bytes().len(),
                alg.digest_len()
            )));
        }
        if let Some(asked) = &request.req_policy {
            if *asked != self.policy {
                return Err(Error::BadRequest(format!(
                    "policy {asked} is not this authority's ({})",
                    self.policy
                )));
            }
        }
        if request.extensions.is_some() {
            return Err(Error::BadRequest(
                "the request has extensions; this authority supports none".into(),
            ));
        }
        let seconds = u64::try_from(now.unix_timestamp())
            .map_err(|_| Error::BadRequest("the clock is before 1970".into()))?;
        let tst = TstInfo {
            version: TspVersion::V1,
            policy: self.policy,
            message_imprint: imprint.clone(),
            serial_number: self.serial()?,
            gen_time: GeneralizedTime::from_unix_duration(Duration::from_secs(seconds))
                .map_err(|e| Error::malformed("genTime", e))?,
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: request.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let tst_der = tst.to_der().map_err(|e| Error::malformed("TSTInfo", e))?;
        let attrs = SetOfVec::try_from(vec![
            attribute(ID_CONTENT_TYPE, &ID_CT_TST_INFO)?,
            attribute(ID_MESSAGE_DIGEST, &octets(self.hash.digest(&tst_der))?)?,
            self.ess.clone(),
        ])
        .map_err(|e| Error::malformed("signed attributes", e))?;
        let signed = attrs
            .to_der()
            .map_err(|e| Error::malformed("signed attributes", e))?;
        let signature = ecdsa_fixed_to_der(&self.credential.key().sign(&signed)?);
        let signer = SignerInfo {
            version: CmsVersion::V1,
            sid: self.sid.clone(),
            digest_alg: self.digest_alg.clone(),
            signed_attrs: Some(attrs),
            signature_algorithm: self.signature_alg.clone(),
            signature: octets(signature)?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![self.digest_alg.clone()])
                .map_err(|e| Error::malformed("SignedData", e))?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(
                    Any::new(Tag::OctetString, tst_der)
                        .map_err(|e| Error::malformed("TSTInfo", e))?,
                ),
            },
            certificates: request.cert_req.then(|| self.certificates.clone()),
            crls: None,
            signer_infos: SignerInfos::try_from(vec![signer])
                .map_err(|e| Error::malformed("SignedData", e))?,
        };
        Ok(ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data)
                .map_err(|e| Error::malformed("SignedData", e))?,
        })
    }

    /// A fresh serial number: 126 random bits, so serials stay unique
    /// across restarts and across instances sharing a key without any
    /// state (the chance of a repeat among 2^40 tokens is below 2^-45).
    fn serial(&self) -> Result<Int, Error> {
        let mut bytes = [0u8; 16];
        ring::rand::SecureRandom::fill(&self.rng, &mut bytes)
            .map_err(|_| Error::Unsupported("no random numbers for the serial".into()))?;
        bytes[0] = (bytes[0] & 0x3f) | 0x40;
        Int::new(&bytes).map_err(|e| Error::malformed("serial number", e))
    }
}

/// One signed attribute with a single value.
fn attribute(oid: ObjectIdentifier, value: &impl Encode) -> Result<Attribute, Error> {
    let der = value
        .to_der()
        .map_err(|e| Error::malformed("attribute", e))?;
    let value = Any::from_der(&der).map_err(|e| Error::malformed("attribute", e))?;
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(|e| Error::malformed("attribute", e))?,
    })
}

fn octets(bytes: Vec<u8>) -> Result<OctetString, Error> {
    OctetString::new(bytes).map_err(|e| Error::malformed("octet string", e))
}

fn encode_reply(
    status: PkiStatus,
    text: Option<&str>,
    token: Option<ContentInfo>,
) -> Result<Vec<u8>, Error> {
    let status_string = match text {
        Some(text) => Some(vec![
            Utf8StringRef::new(text).map_err(|e| Error::malformed("reply", e))?
        ]),
        None => None,
    };
    TimeStampResp {
        status: PkiStatusInfo {
            status,
            status_string,
            fail_info: None,
        },
        time_stamp_token: token,
    }
    .to_der()
    .map_err(|e| Error::malformed("reply", e))
}
