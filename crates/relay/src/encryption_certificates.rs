//! The offices' encryption certificates a relay publishes to senders of
//! secret dispatches, from the folder its configuration names
//! (`encryption_certificates`, laid out `ORG/encryption/cert.pem` and
//! `chain.pem` as the CA publishes them).
//!
//! Handing a certificate over is not vouching for it: every sender
//! validates what it gets with its own trust store.

use congvan_org::OrgId;

use crate::{Error, RelayConfig};

/// Largest published certificate file read.
const MAX_FILE: u64 = 256 * 1024;

/// What the folder holds for an office.
#[derive(Debug)]
pub enum Published {
    /// The certificate, then its chain, as PEM.
    Pem(Vec<u8>),
    /// The relay publishes no certificates at all.
    NoFolder,
    /// The folder has none for this office.
    NotFound,
}

/// The PEM of `org`'s encryption certificate and chain.
pub fn published_encryption_certificate(
    config: &RelayConfig,
    org: &OrgId,
) -> Result<Published, Error> {
    let Some(folder) = &config.encryption_certificates else {
        return Ok(Published::NoFolder);
    };
    // An OrgId is dot-separated codes, so it names a folder and never a path.
    let dir = folder.join(org.to_string()).join("encryption");
    let mut pem = Vec::new();
    for name in [congvan_sign::CERT_FILE, congvan_sign::CHAIN_FILE] {
        let path = dir.join(name);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.len() > MAX_FILE => {
                return Err(Error::io(
                    &path,
                    std::io::Error::other("the published certificate file is over 256 KiB"),
                ))
            }
            Ok(_) => pem.extend(std::fs::read(&path).map_err(|e| Error::io(&path, e))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if name == congvan_sign::CERT_FILE {
                    return Ok(Published::NotFound);
                }
            }
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
    Ok(Published::Pem(pem))
}
