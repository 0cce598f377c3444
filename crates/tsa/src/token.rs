//! Checking a time-stamp token: what it vouches for, who signed it, and
//! whether that signer is a trusted timestamp authority.

use cmpv2::status::PkiStatus;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use congvan_sign::{Algorithm, Certificate, Purpose, Role, TrustStore, ValidatedChain};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use time::OffsetDateTime;
use x509_tsp::{TimeStampResp, TspVersion, TstInfo};

use crate::asn1::{
    SigningCertificateV2, ID_CONTENT_TYPE, ID_CT_TST_INFO, ID_ECDSA_SHA256, ID_ECDSA_SHA384,
    ID_MESSAGE_DIGEST, ID_RSA, ID_RSA_SHA256, ID_SIGNED_DATA, ID_SIGNING_CERTIFICATE_V2,
};
use crate::{Error, HashAlg, Imprint, TimestampRequest};

/// A token that passed every check.
#[derive(Clone, Debug)]
pub struct CheckedToken {
    /// When the TSA says the imprint existed (TSTInfo genTime).
    pub gen_time: OffsetDateTime,
    /// The token's serial number (hex).
    pub serial: String,
    /// The TSA policy it was issued under.
    pub policy: String,
    /// The TSA's validated chain (its certificate first).
    pub chain: ValidatedChain,
}

impl CheckedToken {
    /// The TSA's certificate.
    pub fn tsa(&self) -> &Certificate {
        self.chain.end_entity()
    }
}

/// Reads a TSA's DER reply to `request`, checks it, and returns the token
/// (the DER ContentInfo, what is stored) with what it says.
pub fn check_reply(
    reply_der: &[u8],
    request: &TimestampRequest,
    trust: &TrustStore,
) -> Result<(Vec<u8>, CheckedToken), Error> {
    let der = granted_token(reply_der)?;
    let (tst, _) = decode(&der)?;
    if tst.nonce.as_ref().map(|n| n.as_bytes()) != Some(request.nonce.as_slice()) {
        return Err(Error::NonceMismatch);
    }
    let checked = check_token(&der, &request.imprint, trust, &[])?;
    Ok((der, checked))
}

/// The DER token of a granted reply, not yet checked ([`check_token`] does
/// that); a refusal is [`Error::NotGranted`] with the TSA's reason.
pub fn granted_token(reply_der: &[u8]) -> Result<Vec<u8>, Error> {
    let reply = TimeStampResp::from_der(reply_der).map_err(|e| Error::malformed("reply", e))?;
    if !matches!(
        reply.status.status,
        PkiStatus::Accepted | PkiStatus::GrantedWithMods
    ) {
        let text = reply
            .status
            .status_string
            .as_ref()
            .map(|texts| {
                texts
                    .iter()
                    .map(|t| t.as_str().to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_else(|| format!("status {:?}", reply.status.status));
        return Err(Error::NotGranted(text));
    }
    let token = reply
        .time_stamp_token
        .ok_or(Error::Missing("a token in the granted reply"))?;
    token.to_der().map_err(|e| Error::malformed("token", e))
}

/// The revocation reasons under which a TSA's earlier tokens stay valid
/// (RFC 3161 §4): the authority stopped, its key was not stolen.
const TOKENS_OUTLIVE_REVOCATION: [&str; 4] = [
    "unspecified",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
];

/// Checks a DER token (a CMS ContentInfo) for `expected`.
///
/// In order: the structure (SignedData over a TSTInfo, one signer); the
/// imprint against `expected`; the signer's certificate, found by issuer
/// and serial among the token's certificates and `extra`; the signed
/// attributes (contentType id-ct-TSTInfo, messageDigest of the TSTInfo,
/// signingCertificateV2 naming that certificate's SHA-256); the signature
/// over the attributes; the certificate's extended key usage
/// (timeStamping, critical); and its chain under `trust` at the token's
/// own genTime (the chain model: a TSA certificate that expired since
/// still vouches for the tokens it made while valid; one revoked later
/// for a reason that says its key was not compromised, RFC 3161 §4,
/// still vouches for its earlier tokens), which must end at
/// the anchor right above it: a TSA is certified by a trust anchor itself,
/// not by a subordinate CA.
pub fn check_token(
    token_der: &[u8],
    expected: &Imprint,
    trust: &TrustStore,
    extra: &[Certificate],
) -> Result<CheckedToken, Error> {
    let (tst, signed_data) = decode(token_der)?;
    if tst.version != TspVersion::V1 {
        return Err(Error::Unsupported("a TSTInfo version other than 1".into()));
    }
    let alg = HashAlg::from_oid(&tst.message_imprint.hash_algorithm.oid);
    if alg != Some(expected.alg)
        || tst.message_imprint.hashed_message.as_bytes() != expected.digest.as_slice()
    {
        return Err(Error::WrongImprint);
    }

    let [signer] = signed_data.signer_infos.0.as_slice() else {
        return Err(Error::malformed(
            "token",
            "a token carries exactly one SignerInfo",
        ));
    };
    let carried = carried_certificates(&signed_data)?;
    let SignerIdentifier::IssuerAndSerialNumber(id) = &signer.sid else {
        return Err(Error::Unsupported(
            "a signer named by subject key identifier; congvan reads issuer and serial".into(),
        ));
    };
    let issuer = id
        .issuer
        .to_der()
        .map_err(|e| Error::malformed("token", e))?;
    let serial = id.serial_number.as_bytes();
    let tsa = carried
        .iter()
        .chain(extra)
        .find(|c| c.issuer_der() == issuer.as_slice() && c.serial() == serial)
        .cloned()
        .ok_or(Error::Missing(
            "the TSA's certificate (ask with certReq, or give the TSA certificate)",
        ))?;

    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or(Error::Missing("signed attributes"))?;
    let digest_alg = HashAlg::from_oid(&signer.digest_alg.oid)
        .ok_or_else(|| Error::Unsupported(format!("digest algorithm {}", signer.digest_alg.oid)))?;
    let econtent = econtent_bytes(&signed_data)?;
    let content_type: ObjectIdentifier = single_value(attrs, ID_CONTENT_TYPE, "contentType")?;
    if content_type != ID_CT_TST_INFO {
        return Err(Error::AttributeMismatch(
            "the contentType attribute is not id-ct-TSTInfo",
        ));
    }
    let digest: OctetString = single_value(attrs, ID_MESSAGE_DIGEST, "messageDigest")?;
    if digest.as_bytes() != digest_alg.digest(&econtent).as_slice() {
        return Err(Error::AttributeMismatch(
            "the messageDigest is not the hash of the TSTInfo: the content was altered",
        ));
    }
    let ess: SigningCertificateV2 = single_value(
        attrs,
        ID_SIGNING_CERTIFICATE_V2,
        "signingCertificateV2 (ESSCertIDv2)",
    )?;
    let first = ess
        .certs
        .first()
        .ok_or(Error::Missing("an ESSCertIDv2 in signingCertificateV2"))?;
    let ess_alg = match &first.hash_algorithm {
        None => HashAlg::Sha256,
        Some(a) => HashAlg::from_oid(&a.oid)
            .ok_or_else(|| Error::Unsupported(format!("ESSCertIDv2 hash algorithm {}", a.oid)))?,
    };
    if first.cert_hash.as_bytes() != ess_alg.digest(tsa.der()).as_slice() {
        return Err(Error::AttributeMismatch(
            "the ESSCertIDv2 does not name the certificate that signed",
        ));
    }

    let signed = attrs
        .to_der()
        .map_err(|e| Error::malformed("signed attributes", e))?;
    verify(
        &signer.signature_algorithm.oid,
        &tsa,
        &signed,
        signer.signature.as_bytes(),
    )?;

    if !tsa
        .extended_key_usages()
        .iter()
        .any(|e| e == "timeStamping")
    {
        return Err(Error::NotTimestampCertificate(format!(
            "the token was signed by \"{}\", whose certificate lacks the extended key usage \
             timeStamping: it is not a timestamp authority",
            tsa.display_name()
        )));
    }
    if !tsa.eku_critical() {
        return Err(Error::NotTimestampCertificate(format!(
            "the certificate of \"{}\" does not mark its extended key usage critical, as RFC \
             3161 §2.3 requires of a timestamp authority",
            tsa.display_name()
        )));
    }
    let gen_time = OffsetDateTime::from_unix_timestamp(
        i64::try_from(tst.gen_time.to_unix_duration().as_secs())
            .map_err(|_| Error::malformed("token", "genTime out of range"))?,
    )
    .map_err(|e| Error::malformed("token", e))?;
    let purpose = Purpose {
        role: Some(Role::Tsa),
        org: None,
    };
    let presented: Vec<Certificate> = carried.into_iter().chain(extra.iter().cloned()).collect();
    let chain = match trust.validate(&tsa, &presented, &purpose, gen_time) {
        // RFC 3161 §4: a TSA retired without its key compromised is revoked
        // with one of these reasons, and its tokens from before the
        // revocation stay valid. Any other reason, or none, voids them all:
        // a stolen key could have made any of them.
        Err(congvan_sign::Error::Revoked {
            ca: false,
            reason: Some(reason),
            ..
        }) if TOKENS_OUTLIVE_REVOCATION.contains(&reason.as_str()) => {
            trust.validate_with_proof_of_existence(&tsa, &presented, &purpose, gen_time, gen_time)
        }
        other => other,
    }
    .map_err(Error::Untrusted)?;
    // The TSA, then its trust anchor: nothing between. A timestamp can keep
    // a revoked key's signatures valid, so the time is vouched for by the
    // anchor itself (the national root), never by a provincial or ministry
    // CA, which could otherwise certify a TSA of its own and back-date.
    if let [_, issuer, _, ..] = chain.certificates.as_slice() {
        return Err(Error::NotTimestampCertificate(format!(
            "the timestamp authority \"{}\" is certified by \"{}\", a subordinate CA; congvan \
             accepts only timestamp authorities certified by a trust anchor itself",
            tsa.display_name(),
            issuer.display_name()
        )));
    }
    Ok(CheckedToken {
        gen_time,
        serial: hex(tst.serial_number.as_bytes()),
        policy: tst.policy.to_string(),
        chain,
    })
}

/// The TSTInfo and SignedData of a DER token.
fn decode(token_der: &[u8]) -> Result<(TstInfo, SignedData), Error> {
    let info = ContentInfo::from_der(token_der).map_err(|e| Error::malformed("token", e))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(Error::malformed("token", "not a CMS SignedData"));
    }
    let signed_data: SignedData = info
        .content
        .decode_as()
        .map_err(|e| Error::malformed("token", e))?;
    if signed_data.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(Error::malformed(
            "token",
            "the signed content is not a TSTInfo",
        ));
    }
    let tst = TstInfo::from_der(&econtent_bytes(&signed_data)?)
        .map_err(|e| Error::malformed("TSTInfo", e))?;
    Ok((tst, signed_data))
}

/// The DER of the TSTInfo, inside the eContent OCTET STRING.
fn econtent_bytes(signed_data: &SignedData) -> Result<Vec<u8>, Error> {
    let econtent = signed_data
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or(Error::Missing("the TSTInfo content"))?;
    let octets: OctetString = econtent
        .decode_as()
        .map_err(|e| Error::malformed("token", e))?;
    Ok(octets.as_bytes().to_vec())
}

fn carried_certificates(signed_data: &SignedData) -> Result<Vec<Certificate>, Error> {
    let mut out = Vec::new();
    if let Some(set) = &signed_data.certificates {
        for choice in set.0.iter() {
            if let CertificateChoices::Certificate(cert) = choice {
                let der = cert.to_der().map_err(|e| Error::malformed("token", e))?;
                let parsed = Certificate::from_der(&der, std::path::Path::new("timestamp token"))
                    .map_err(|e| Error::malformed("token certificate", e))?;
                out.push(parsed);
            }
        }
    }
    Ok(out)
}

/// The single value of the attribute `oid`, which must appear exactly once.
fn single_value<T>(
    attrs: &cms::signed_data::SignedAttributes,
    oid: ObjectIdentifier,
    name: &'static str,
) -> Result<T, Error>
where
    T: for<'a> der::Decode<'a>,
{
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let attr = found.next().ok_or(Error::Missing(name))?;
    if found.next().is_some() || attr.values.len() != 1 {
        return Err(Error::AttributeMismatch(
            "a signed attribute appears twice or with several values",
        ));
    }
    let value = attr.values.iter().next().ok_or(Error::Missing(name))?;
    let der = value
        .to_der()
        .map_err(|e| Error::malformed("signed attribute", e))?;
    T::from_der(&der).map_err(|e| Error::malformed("signed attribute", e))
}

fn verify(
    signature_oid: &ObjectIdentifier,
    cert: &Certificate,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    use ring::signature as s;
    let alg: &dyn s::VerificationAlgorithm = match (cert.key_algorithm(), *signature_oid) {
        (Some(Algorithm::EcdsaP256), ID_ECDSA_SHA256) => &s::ECDSA_P256_SHA256_ASN1,
        (Some(Algorithm::EcdsaP256), ID_ECDSA_SHA384) => &s::ECDSA_P256_SHA384_ASN1,
        (Some(Algorithm::EcdsaP384), ID_ECDSA_SHA384) => &s::ECDSA_P384_SHA384_ASN1,
        (Some(Algorithm::EcdsaP384), ID_ECDSA_SHA256) => &s::ECDSA_P384_SHA256_ASN1,
        (Some(Algorithm::RsaPkcs1Sha256), ID_RSA_SHA256 | ID_RSA) => &s::RSA_PKCS1_2048_8192_SHA256,
        (key, oid) => {
            return Err(Error::Unsupported(format!(
                "signature algorithm {oid} with a {} key",
                key.map_or("unknown".to_string(), |k| k.to_string())
            )))
        }
    };
    s::UnparsedPublicKey::new(alg, cert.public_key())
        .verify(message, signature)
        .map_err(|_| Error::BadSignature)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! Tokens no honest congvan TSA makes: built with the authority's
    //! internals, past the role check a careless or hostile TSA would skip.
    use super::*;
    use crate::Authority;
    use congvan_sign::{init_root, issue_leaf, Credential, LeafRequest, OrgId, SigningKey};

    fn key() -> SigningKey {
        SigningKey::generate(Algorithm::EcdsaP256).unwrap()
    }

    fn leaf(root: &Credential, role: Role) -> Credential {
        let request = LeafRequest {
            role,
            name: format!("{role} (test)"),
            org: OrgId::parse("H99").unwrap(),
            organization_name: None,
            position: None,
            dns: Vec::new(),
            ips: Vec::new(),
            days: 30,
        };
        issue_leaf(root, &request, key()).unwrap()
    }

    fn token_by(credential: Credential, imprint: &Imprint) -> Vec<u8> {
        let authority = Authority::build(credential, "1.2.3.4.1").unwrap();
        let request = TimestampRequest::new(imprint).unwrap();
        let request = x509_tsp::TimeStampReq::from_der(&request.der).unwrap();
        let token = authority
            .issue(&request, OffsetDateTime::now_utc())
            .unwrap();
        token.to_der().unwrap()
    }

    #[test]
    fn a_token_signed_with_an_office_certificate_is_not_a_timestamp() {
        let root = init_root("Root (test)", key(), 30).unwrap();
        let trust = TrustStore::new(vec![root.cert().clone()]).unwrap();
        let imprint = Imprint::sha256_of(b"document");
        assert!(Authority::new(leaf(&root, Role::Office), "1.2.3.4.1").is_err());
        let token = token_by(leaf(&root, Role::Office), &imprint);
        let refusal = check_token(&token, &imprint, &trust, &[]).unwrap_err();
        assert!(
            matches!(&refusal, Error::NotTimestampCertificate(text) if text.contains("lacks the extended key usage timeStamping")),
            "{refusal}"
        );
        // The genuine TSA's token under the same root passes.
        let token = token_by(leaf(&root, Role::Tsa), &imprint);
        check_token(&token, &imprint, &trust, &[]).unwrap();
    }

    #[test]
    fn an_altered_token_is_refused() {
        let root = init_root("Root (test)", key(), 30).unwrap();
        let trust = TrustStore::new(vec![root.cert().clone()]).unwrap();
        let imprint = Imprint::sha256_of(b"document");
        let token = token_by(leaf(&root, Role::Tsa), &imprint);
        // Change one digit of the genTime inside the TSTInfo.
        let at = token
            .windows(2)
            .position(|w| w[0] == 0x18 && w[1] == 0x0f)
            .unwrap();
        let mut altered = token.clone();
        altered[at + 2 + 3] ^= 0x01; // the year's last digit
        let refusal = check_token(&altered, &imprint, &trust, &[]).unwrap_err();
        assert!(
            matches!(refusal, Error::AttributeMismatch(text) if text.contains("messageDigest")),
            "{refusal}"
        );
        // One bit of the signature.
        let mut altered = token.clone();
        let last = altered.len() - 1;
        altered[last] ^= 0x01;
        let refusal = check_token(&altered, &imprint, &trust, &[]).unwrap_err();
        assert!(matches!(refusal, Error::BadSignature), "{refusal}");
    }
}
