use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a certificate may be used for in congvan.
///
/// The role is bound in the certificate by an extended key usage under
/// congvan's own OID arc `2.25.171838327477816780108237510255657800027.1`
/// (a UUID-derived arc, ITU-T X.667), next to the standard purposes
/// (`id-kp-documentSigning`, `serverAuth`, `clientAuth`). A deployment with an
/// assigned government arc replaces these three constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An organization's seal ("chữ ký số của cơ quan"); also authenticates
    /// the office's clerk tools to its relay.
    Office,
    /// A person who signs for an office in a position ("Chủ tịch").
    Official,
    /// A relay: TLS server and client between relays, signs custody receipts.
    Relay,
    /// An office's encryption key: secret dispatches are encrypted to it
    /// (ECDH-ES key agreement). It never signs, so a key that decrypts can
    /// never be made to sign, nor a signing key be used to decrypt.
    Encryption,
    /// A timestamp authority (RFC 3161): signs time-stamp tokens and
    /// nothing else. Marked by the standard `id-kp-timeStamping` alone,
    /// critical, since RFC 3161 §2.3 requires it to be the certificate's
    /// only purpose (so no congvan role OID joins it).
    Tsa,
}

const ARC: [u8; 20] = [
    0x69, 0x82, 0x82, 0xc6, 0xed, 0xea, 0xa1, 0xd9, 0xa2, 0x81, 0xa9, 0xb7, 0x88, 0xea, 0x91, 0xfd,
    0xc5, 0xbb, 0xa2, 0x5b,
];

const fn role_oid(n: u8) -> [u8; 22] {
    let mut out = [0u8; 22];
    let mut i = 0;
    while i < ARC.len() {
        out[i] = ARC[i];
        i += 1;
    }
    out[20] = 0x01;
    out[21] = n;
    out
}

/// DER value of `2.25.171838327477816780108237510255657800027.1.1` (office).
pub const OID_ROLE_OFFICE: [u8; 22] = role_oid(1);
/// DER value of `2.25.171838327477816780108237510255657800027.1.2` (official).
pub const OID_ROLE_OFFICIAL: [u8; 22] = role_oid(2);
/// DER value of `2.25.171838327477816780108237510255657800027.1.3` (relay).
pub const OID_ROLE_RELAY: [u8; 22] = role_oid(3);
/// DER value of `2.25.171838327477816780108237510255657800027.1.4` (encryption).
pub const OID_ROLE_ENCRYPTION: [u8; 22] = role_oid(4);
/// DER value of `id-kp-timeStamping` (RFC 3161 §2.3), 1.3.6.1.5.5.7.3.8:
/// the timestamp authority's one purpose.
pub const OID_TIME_STAMPING: [u8; 8] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];
/// DER value of `id-kp-documentSigning` (RFC 9336), 1.3.6.1.5.5.7.3.36.
pub const OID_DOCUMENT_SIGNING: [u8; 8] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x24];
/// DER value of `id-kp-serverAuth`, 1.3.6.1.5.5.7.3.1.
pub const OID_SERVER_AUTH: [u8; 8] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
/// DER value of `id-kp-clientAuth`, 1.3.6.1.5.5.7.3.2.
pub const OID_CLIENT_AUTH: [u8; 8] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Office,
        Role::Official,
        Role::Relay,
        Role::Encryption,
        Role::Tsa,
    ];

    /// The role's name as used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Role::Office => "office",
            Role::Official => "official",
            Role::Relay => "relay",
            Role::Encryption => "encryption",
            Role::Tsa => "tsa",
        }
    }

    /// The OID that marks the role (DER value bytes): congvan's own, or
    /// `id-kp-timeStamping` for a timestamp authority.
    pub fn oid(self) -> &'static [u8] {
        match self {
            Role::Office => &OID_ROLE_OFFICE,
            Role::Official => &OID_ROLE_OFFICIAL,
            Role::Relay => &OID_ROLE_RELAY,
            Role::Encryption => &OID_ROLE_ENCRYPTION,
            Role::Tsa => &OID_TIME_STAMPING,
        }
    }

    /// The role named by an OID, if it is one of congvan's.
    pub fn from_oid(oid: &[u8]) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.oid() == oid)
    }

    /// Every extended key usage a certificate of this role carries.
    pub fn purposes(self) -> Vec<&'static [u8]> {
        match self {
            Role::Office => vec![&OID_DOCUMENT_SIGNING, &OID_CLIENT_AUTH, self.oid()],
            Role::Official => vec![&OID_DOCUMENT_SIGNING, self.oid()],
            Role::Relay => vec![&OID_SERVER_AUTH, &OID_CLIENT_AUTH, self.oid()],
            Role::Encryption | Role::Tsa => vec![self.oid()],
        }
    }

    /// True when the role signs documents and so needs contentCommitment
    /// (non-repudiation) as well as digitalSignature.
    pub fn signs_documents(self) -> bool {
        matches!(self, Role::Office | Role::Official)
    }

    /// True when the role's key signs at all (everything but encryption,
    /// whose key only agrees keys).
    pub fn signs(self) -> bool {
        !matches!(self, Role::Encryption)
    }

    /// True when the extendedKeyUsage extension must be marked critical:
    /// RFC 3161 §2.3 asks it of a timestamp authority.
    pub fn eku_critical(self) -> bool {
        matches!(self, Role::Tsa)
    }

    /// The DER of an ExtendedKeyUsage extension value for this role.
    pub(crate) fn eku_extension_value(self) -> Vec<u8> {
        let mut body = Vec::new();
        for oid in self.purposes() {
            body.push(0x06);
            body.push(oid.len() as u8); // every OID here is under 128 bytes
            body.extend_from_slice(oid);
        }
        let mut out = vec![0x30, body.len() as u8];
        out.extend(body);
        out
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                format!("unknown role {s:?}; expected office, official, relay, encryption or tsa")
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn eku_extension_is_valid_der() {
        for role in Role::ALL {
            let value = role.eku_extension_value();
            use x509_parser::prelude::FromDer;
            let (rest, eku) = x509_parser::extensions::ExtendedKeyUsage::from_der(&value).unwrap();
            assert!(rest.is_empty());
            let marked = match role {
                // The standard purpose alone (RFC 3161 §2.3).
                Role::Tsa => eku.time_stamping && eku.other.is_empty(),
                _ => eku
                    .other
                    .iter()
                    .any(|o| Role::from_oid(o.as_bytes()) == Some(role)),
            };
            assert!(marked, "{role}");
        }
    }
}
