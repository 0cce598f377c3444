//! Extended key usage constrains the whole path: a CA cannot grant what it
//! does not have.
//!
//! rustls-webpki hands every certificate of a candidate path (end entity and
//! intermediates; not the trust anchor, which `profile.rs` forbids to carry
//! an EKU at all) to an [`ExtendedKeyUsageValidator`]. congvan's asks each
//! one that has the extension to include every purpose the validation is
//! for: the congvan role and its standard purposes (documentSigning;
//! serverAuth and clientAuth for a relay), or, when no role is asked for,
//! the purposes the end entity itself claims. So an intermediate limited to
//! emailProtection cannot issue officials or relays, as
//! `openssl verify -purpose` would refuse the same chain. anyExtendedKeyUsage
//! in a CA allows everything.

use webpki::{ExtendedKeyUsageValidator, KeyPurposeId, KeyPurposeIdIter, KeyUsage};

use crate::role::{
    OID_CLIENT_AUTH, OID_DOCUMENT_SIGNING, OID_ROLE_ENCRYPTION, OID_ROLE_OFFICE, OID_ROLE_OFFICIAL,
    OID_ROLE_RELAY, OID_SERVER_AUTH, OID_TIME_STAMPING,
};
use crate::Role;

/// anyExtendedKeyUsage, 2.5.29.37.0.
pub(crate) const OID_ANY: [u8; 4] = [0x55, 0x1d, 0x25, 0x00];
/// emailProtection, 1.3.6.1.5.5.7.3.4.
const OID_EMAIL_PROTECTION: [u8; 8] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04];
/// codeSigning, 1.3.6.1.5.5.7.3.3.
const OID_CODE_SIGNING: [u8; 8] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];
/// OCSPSigning, 1.3.6.1.5.5.7.3.9.
const OID_OCSP_SIGNING: [u8; 8] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09];

/// The purposes congvan knows by name: what a path may be asked to allow.
const KNOWN: [(&[u8], &str); 11] = [
    (&OID_DOCUMENT_SIGNING, "documentSigning"),
    (&OID_SERVER_AUTH, "serverAuth"),
    (&OID_CLIENT_AUTH, "clientAuth"),
    (&OID_ROLE_OFFICE, "congvan-office"),
    (&OID_ROLE_OFFICIAL, "congvan-official"),
    (&OID_ROLE_RELAY, "congvan-relay"),
    (&OID_ROLE_ENCRYPTION, "congvan-encryption"),
    (&OID_EMAIL_PROTECTION, "emailProtection"),
    (&OID_CODE_SIGNING, "codeSigning"),
    (&OID_TIME_STAMPING, "timeStamping"),
    (&OID_OCSP_SIGNING, "OCSPSigning"),
];

/// The purposes (DER OID values) a certificate of `role` is used for.
pub(crate) fn role_purposes(role: Role) -> Vec<&'static [u8]> {
    match role {
        Role::Office => vec![&OID_DOCUMENT_SIGNING, &OID_ROLE_OFFICE],
        Role::Official => vec![&OID_DOCUMENT_SIGNING, &OID_ROLE_OFFICIAL],
        Role::Relay => vec![&OID_SERVER_AUTH, &OID_CLIENT_AUTH, &OID_ROLE_RELAY],
        Role::Encryption => vec![&OID_ROLE_ENCRYPTION],
        Role::Tsa => vec![&OID_TIME_STAMPING],
    }
}

/// The known purposes among an end entity's EKU values.
pub(crate) fn claimed_purposes(eku: &[Vec<u8>]) -> Vec<&'static [u8]> {
    KNOWN
        .iter()
        .filter(|(oid, _)| eku.iter().any(|e| e.as_slice() == *oid))
        .map(|(oid, _)| *oid)
        .collect()
}

/// The name of a purpose, for messages.
pub(crate) fn purpose_name(oid: &[u8]) -> String {
    KNOWN
        .iter()
        .find(|(known, _)| *known == oid)
        .map_or_else(|| "another purpose".into(), |(_, name)| (*name).to_string())
}

/// The first of `required` that a certificate with these EKU values does
/// not allow; `None` when it allows them all (or has no EKU extension).
pub(crate) fn first_missing<'a>(
    eku: Option<&[Vec<u8>]>,
    required: &[&'a [u8]],
) -> Option<&'a [u8]> {
    let eku = eku?;
    if eku.iter().any(|e| e.as_slice() == OID_ANY) {
        return None;
    }
    required
        .iter()
        .find(|r| !eku.iter().any(|e| e.as_slice() == **r))
        .copied()
}

/// The validator handed to webpki: every certificate with an EKU must
/// allow each of `required`.
pub(crate) struct PathEku {
    pub(crate) required: Vec<&'static [u8]>,
}

impl ExtendedKeyUsageValidator for PathEku {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let mut present = Vec::new();
        for id in iter {
            present.push(id?);
        }
        if present.is_empty() || present.contains(&KeyPurposeId::new(&OID_ANY)) {
            return Ok(());
        }
        for required in &self.required {
            if !present.contains(&KeyPurposeId::new(required)) {
                return Err(webpki::Error::RequiredEkuNotFoundContext(
                    webpki::RequiredEkuNotFoundContext {
                        required: KeyUsage::required(required),
                        present: present.iter().map(KeyPurposeId::to_decoded_oid).collect(),
                    },
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_allows_only_what_its_eku_lists() {
        let relay = role_purposes(Role::Relay);
        assert_eq!(first_missing(None, &relay), None);
        let email = vec![OID_EMAIL_PROTECTION.to_vec()];
        assert_eq!(
            first_missing(Some(&email), &relay),
            Some(&OID_SERVER_AUTH[..])
        );
        let any = vec![OID_ANY.to_vec()];
        assert_eq!(first_missing(Some(&any), &relay), None);
        let all: Vec<Vec<u8>> = relay.iter().map(|o| o.to_vec()).collect();
        assert_eq!(first_missing(Some(&all), &relay), None);
        assert_eq!(purpose_name(&OID_ROLE_RELAY), "congvan-relay");
        assert_eq!(claimed_purposes(&email), vec![&OID_EMAIL_PROTECTION[..]]);
    }
}
