//! Object identifiers and the few structures `cms` and `x509-tsp` lack
//! (ESSCertIDv2, RFC 5035), and ECDSA signatures in their DER form (CMS
//! carries `ECDSA-Sig-Value`, ring signs in the fixed `r || s` form).

use cms::cert::x509::spki::AlgorithmIdentifierOwned;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, Sequence};

/// id-signedData (RFC 5652).
pub(crate) const ID_SIGNED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-ct-TSTInfo (RFC 3161).
pub(crate) const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// The contentType signed attribute.
pub(crate) const ID_CONTENT_TYPE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// The messageDigest signed attribute.
pub(crate) const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// The signingCertificateV2 signed attribute (RFC 5035).
pub(crate) const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// SHA-256.
pub(crate) const ID_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// SHA-384.
pub(crate) const ID_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
/// SHA-512.
pub(crate) const ID_SHA512: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
/// ecdsa-with-SHA256.
pub(crate) const ID_ECDSA_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384.
pub(crate) const ID_ECDSA_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// sha256WithRSAEncryption.
pub(crate) const ID_RSA_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// rsaEncryption, which some TSAs name as the signature algorithm.
pub(crate) const ID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2,
/// policies SEQUENCE OF PolicyInformation OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SigningCertificateV2 {
    pub(crate) certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    pub(crate) policies: Option<Any>,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT
/// {id-sha256}, certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }`.
/// DER leaves the default out, so an absent algorithm means SHA-256.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub(crate) hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub(crate) cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub(crate) issuer_serial: Option<Any>,
}

/// The DER `ECDSA-Sig-Value` of a fixed-width `r || s` signature.
pub(crate) fn ecdsa_fixed_to_der(fixed: &[u8]) -> Vec<u8> {
    let (r, s) = fixed.split_at(fixed.len() / 2);
    let mut body = Vec::with_capacity(fixed.len() + 8);
    for part in [r, s] {
        let start = part.iter().position(|b| *b != 0).unwrap_or(part.len() - 1);
        let value = &part[start..];
        let pad = value[0] & 0x80 != 0;
        body.push(0x02);
        push_len(&mut body, value.len() + pad as usize);
        if pad {
            body.push(0);
        }
        body.extend_from_slice(value);
    }
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(0x30);
    push_len(&mut out, body.len());
    out.extend(body);
    out
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        // ECDSA signatures of the curves congvan uses stay under 256 bytes.
        out.push(0x81);
        out.push(len as u8);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fixed_signatures_become_minimal_der_integers() {
        let mut fixed = vec![0u8; 64];
        fixed[0] = 0x80; // r needs a leading zero
        fixed[32] = 0x00;
        fixed[33] = 0x01; // s has a leading zero to strip
        let der = ecdsa_fixed_to_der(&fixed);
        assert_eq!(der[0], 0x30);
        assert_eq!(&der[2..5], &[0x02, 33, 0x00]);
        let s_at = 2 + 2 + 33;
        assert_eq!(&der[s_at..s_at + 3], &[0x02, 31, 0x01]);
        assert_eq!(der[1] as usize, der.len() - 2);
    }
}
