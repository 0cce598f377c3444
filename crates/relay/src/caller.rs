//! Who is on the other end of a connection, from their TLS certificate.

use congvan_org::OrgId;
use congvan_sign::{Certificate, Purpose, Role, TrustStore};
use time::OffsetDateTime;

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A relay, by its organization and certificate name.
    Relay {
        /// The organization its certificate binds.
        org: OrgId,
        /// The certificate's common name.
        name: String,
    },
    /// An office's clerk tool, by the office's organization.
    Office {
        /// The organization its certificate binds.
        org: OrgId,
    },
}

impl Caller {
    /// Identifies a caller from the certificates presented in the TLS
    /// handshake (already chain- and CRL-checked by rustls), enforcing
    /// congvan's own rules: a relay or office role, and an organization
    /// inside the issuing CA's subtree.
    pub fn from_tls(
        peer: &[rustls_pki_types::CertificateDer<'_>],
        trust: &TrustStore,
    ) -> Result<Caller, String> {
        let leaf = peer.first().ok_or("no client certificate was presented")?;
        let cert = Certificate::from_der(leaf.as_ref(), "client certificate".as_ref())
            .map_err(|e| e.to_string())?;
        let mut chain = Vec::new();
        for der in &peer[1..] {
            chain.push(
                Certificate::from_der(der.as_ref(), "client chain".as_ref())
                    .map_err(|e| e.to_string())?,
            );
        }
        let role = match cert.role() {
            Some(Role::Relay) => Role::Relay,
            Some(Role::Office) => Role::Office,
            other => {
                return Err(format!(
                    "a {} certificate cannot connect to a relay; use the office's or the relay's certificate",
                    other.map_or("non-congvan".to_string(), |r| r.to_string())
                ))
            }
        };
        let purpose = Purpose {
            role: Some(role),
            org: None,
        };
        trust
            .validate(&cert, &chain, &purpose, OffsetDateTime::now_utc())
            .map_err(|e| e.to_string())?;
        let org = cert
            .org()
            .cloned()
            .ok_or("the certificate binds no organization")?;
        Ok(match role {
            Role::Relay => Caller::Relay {
                org,
                name: cert.display_name().to_string(),
            },
            _ => Caller::Office { org },
        })
    }

    /// The caller's organization.
    pub fn org(&self) -> &OrgId {
        match self {
            Caller::Relay { org, .. } | Caller::Office { org } => org,
        }
    }
}
