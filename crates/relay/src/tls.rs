//! Mutual TLS between relays, and between clerk tools and their relay.
//!
//! Both sides present a certificate from the government PKI and check the
//! other's chain and CRLs (rustls + rustls-webpki, ring provider). What the
//! certificate may do (role, organization) is decided after the handshake
//! by [`crate::Caller`].

use std::sync::Arc;

use congvan_sign::{Certificate, Credential};
use rustls::client::WebPkiServerVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer,
};

use crate::Error;

/// Trust anchors and CRLs as rustls wants them.
#[derive(Clone)]
pub struct TlsTrust {
    roots: Arc<RootCertStore>,
    crls: Vec<CertificateRevocationListDer<'static>>,
}

impl TlsTrust {
    /// Builds the trust from root certificates and DER CRLs.
    pub fn new(roots: &[Certificate], crls: Vec<Vec<u8>>) -> Result<TlsTrust, Error> {
        let mut store = RootCertStore::empty();
        for root in roots {
            store
                .add(CertificateDer::from(root.der().to_vec()))
                .map_err(|e| {
                    Error::Tls(format!("trust anchor \"{}\": {e}", root.display_name()))
                })?;
        }
        Ok(TlsTrust {
            roots: Arc::new(store),
            crls: crls
                .into_iter()
                .map(CertificateRevocationListDer::from)
                .collect(),
        })
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn chain_and_key(identity: &Credential) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let mut chain = vec![CertificateDer::from(identity.cert().der().to_vec())];
    chain.extend(
        identity
            .chain()
            .iter()
            .map(|c| CertificateDer::from(c.der().to_vec())),
    );
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        identity.key().pkcs8_der().to_vec(),
    ));
    (chain, key)
}

/// The server side: requires a client certificate that chains to the
/// trust anchors and is not revoked.
pub fn server_config(identity: &Credential, trust: &TlsTrust) -> Result<Arc<ServerConfig>, Error> {
    let verifier = WebPkiClientVerifier::builder_with_provider(trust.roots.clone(), provider())
        .with_crls(trust.crls.clone())
        // CRLs are checked for every certificate of the chain they cover;
        // an issuer without a CRL here (the root, above the provincial CA)
        // does not make every client's status "unknown" and refused.
        .allow_unknown_revocation_status()
        .build()
        .map_err(|e| Error::Tls(format!("client verifier: {e}")))?;
    let (chain, key) = chain_and_key(identity);
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| Error::Tls(format!("the relay certificate or key: {e}")))?;
    Ok(Arc::new(config))
}

/// The client side: presents `identity` and checks the server's chain.
pub fn client_config(identity: &Credential, trust: &TlsTrust) -> Result<Arc<ClientConfig>, Error> {
    let verifier = WebPkiServerVerifier::builder_with_provider(trust.roots.clone(), provider())
        .with_crls(trust.crls.clone())
        .allow_unknown_revocation_status()
        .build()
        .map_err(|e| Error::Tls(format!("server verifier: {e}")))?;
    let (chain, key) = chain_and_key(identity);
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_webpki_verifier(verifier)
        .with_client_auth_cert(chain, key)
        .map_err(|e| Error::Tls(format!("the client certificate or key: {e}")))?;
    Ok(Arc::new(config))
}
