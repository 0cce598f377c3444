//! The relay's trust anchors and CRLs, reloadable while it runs.
//!
//! Everything that depends on the CRLs (the trust stores for dispatches and
//! for callers, the rustls verifiers on both sides of a connection) is one
//! [`TrustSet`], swapped whole when the CRL files change: a changed file
//! (checked every few seconds), SIGHUP, or `congvan relay reload`. Each set
//! has a generation number; connections remember the generation their
//! peer was checked under and check again when it moves, and close when
//! the new lists revoke the peer (`server.rs`, `client.rs`).
//!
//! A reload never goes back: for each CA the newer of the held and the
//! loaded list is kept (by crlNumber), so an older genuine list put in the
//! file (by a fetch script fed by an attacker) cannot un-revoke anyone.
//! A file that does not load leaves the current set in force and says why.

use std::sync::{Arc, Mutex, RwLock};

use congvan_sign::{Certificate, Credential, Crl, TrustStore};
use tokio::sync::watch;

use crate::config::RelayConfig;
use crate::tls::{self, TlsTrust};
use crate::Error;

/// One consistent set of trust, for one generation of CRLs.
pub struct TrustSet {
    /// For dispatches and receipts, with the configured stale-CRL policy.
    pub trust: Arc<TrustStore>,
    /// For the parties of a connection (a stale list is used as is).
    pub peer_trust: Arc<TrustStore>,
    /// The same anchors and lists for rustls.
    pub tls_trust: TlsTrust,
    /// TLS to peers and parents.
    pub client_tls: Arc<rustls::ClientConfig>,
    /// TLS for callers.
    pub server_tls: Arc<rustls::ServerConfig>,
    /// 1 at start, one more at every reload that changed a list.
    pub generation: u64,
}

/// What a reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reloaded {
    /// The generation in force after it.
    pub generation: u64,
    /// The CAs whose list changed, by name (empty: nothing newer).
    pub changed: Vec<String>,
    /// What was not taken, and why: a file that does not load, a list
    /// whose signature does not verify, a list older than the one in force.
    pub refused: Vec<String>,
}

/// Most CRLs in force at once.
const MAX_CRLS: usize = 256;

/// The current [`TrustSet`], shared by the relay's tasks and connections.
pub struct LiveTrust {
    anchors: Vec<Certificate>,
    /// Certificates that may sign lists: the anchors and the CAs of the
    /// relay's own chain (its provincial CA).
    issuers: Vec<Certificate>,
    current: RwLock<Arc<TrustSet>>,
    changed: watch::Sender<u64>,
    /// One reload at a time: read, merge and swap as one step.
    reloading: Mutex<()>,
}

impl LiveTrust {
    /// Loads the anchors and CRLs the configuration names.
    pub fn load(config: &RelayConfig, credential: &Credential) -> Result<LiveTrust, Error> {
        let mut anchors = Vec::new();
        for path in &config.trust {
            anchors.extend(Certificate::load_all(path)?);
        }
        let crls = load_crls(config)?;
        let ders = crls.iter().map(|c| c.der().to_vec()).collect();
        let set = build(config, credential, &anchors, ders, 1)?;
        let (changed, _) = watch::channel(1);
        let issuers = anchors.iter().chain(credential.chain()).cloned().collect();
        Ok(LiveTrust {
            anchors,
            issuers,
            current: RwLock::new(Arc::new(set)),
            changed,
            reloading: Mutex::new(()),
        })
    }

    /// The set in force now.
    pub fn current(&self) -> Arc<TrustSet> {
        match self.current.read() {
            Ok(set) => set.clone(),
            // A panic while swapping cannot leave a half-written Arc.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Told the new generation at every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Reads the CRL files again and puts newer lists in force. Each list
    /// is taken or refused on its own: one bad file or list never keeps
    /// the others out. A list whose CA certificate the relay knows (an
    /// anchor, its own CA) must verify under it.
    pub fn reload(&self, config: &RelayConfig, credential: &Credential) -> Result<Reloaded, Error> {
        let _one_at_a_time = match self.reloading.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = self.current();
        let mut refused = Vec::new();
        let mut loaded = Vec::new();
        for path in &config.crl {
            match Crl::load_all(path) {
                Ok(crls) => loaded.extend(crls),
                Err(e) => refused.push(format!("{}: {e}", path.display())),
            }
        }
        // Held lists first: `add_crls` keeps the newer of two lists of a CA.
        let mut merged = TrustStore::new(self.anchors.clone())?;
        merged.add_crls(parse(now.trust.crls().iter().map(|c| c.der().to_vec()))?)?;
        for crl in loaded {
            let name = crl.issuer().to_string();
            let signer = self
                .issuers
                .iter()
                .find(|c| c.subject_der() == crl.issuer_der());
            if let Some(Err(e)) = signer.map(|issuer| crl.check_signed_by(issuer)) {
                refused.push(e.to_string());
                continue;
            }
            let held = merged
                .crls()
                .iter()
                .find(|c| c.issuer_der() == crl.issuer_der());
            match held {
                Some(held) if held.der() == crl.der() => continue,
                Some(held) if !crl.is_newer_than(held) => {
                    refused.push(format!(
                        "the list of {name} in the file is older than the one in force, which stays"
                    ));
                    continue;
                }
                None if merged.crls().len() >= MAX_CRLS => {
                    refused.push(format!(
                        "the list of {name}: more than {MAX_CRLS} CAs' lists"
                    ));
                    continue;
                }
                _ => {}
            }
            if let Err(e) = merged.add_crls([crl]) {
                refused.push(e.to_string());
            }
        }
        let changed: Vec<String> = merged
            .crls()
            .iter()
            .filter(|c| !now.trust.crls().iter().any(|held| held.der() == c.der()))
            .map(|c| c.issuer().to_string())
            .collect();
        if changed.is_empty() {
            return Ok(Reloaded {
                generation: now.generation,
                changed,
                refused,
            });
        }
        let generation = now.generation + 1;
        let set = build(
            config,
            credential,
            &self.anchors,
            merged.crls().iter().map(|c| c.der().to_vec()).collect(),
            generation,
        )?;
        match self.current.write() {
            Ok(mut slot) => *slot = Arc::new(set),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
        }
        self.changed.send_replace(generation);
        Ok(Reloaded {
            generation,
            changed,
            refused,
        })
    }
}

fn load_crls(config: &RelayConfig) -> Result<Vec<Crl>, Error> {
    let mut crls = Vec::new();
    for path in &config.crl {
        crls.extend(Crl::load_all(path)?);
    }
    Ok(crls)
}

/// Parses lists already held (their DER was checked when first loaded).
fn parse(ders: impl IntoIterator<Item = Vec<u8>>) -> Result<Vec<Crl>, Error> {
    let origin = std::path::Path::new("the lists in force");
    Ok(ders
        .into_iter()
        .map(|der| Crl::from_der(&der, origin))
        .collect::<Result<Vec<Crl>, _>>()?)
}

fn build(
    config: &RelayConfig,
    credential: &Credential,
    anchors: &[Certificate],
    crl_ders: Vec<Vec<u8>>,
    generation: u64,
) -> Result<TrustSet, Error> {
    let mut trust = TrustStore::new(anchors.to_vec())?;
    let mut peer_trust = TrustStore::new(anchors.to_vec())?;
    trust.add_crls(parse(crl_ders.iter().cloned())?)?;
    peer_trust.add_crls(parse(crl_ders)?)?;
    trust.set_stale_crls(config.crl_stale.policy());
    // Lists must be current now, whatever time a signature names.
    trust.set_verification_time(congvan_sign::VerificationTime::Now);
    // A stale list is used as is for connections, as the TLS layer uses
    // it: refusing every connection while a CRL is out of date would stop
    // the relay, not protect it, and a certificate the old list revokes is
    // still refused.
    peer_trust.set_stale_crls(congvan_sign::StaleCrls::Accept);
    let crl_ders = trust.crls().iter().map(|c| c.der().to_vec()).collect();
    let tls_trust = TlsTrust::new(anchors, crl_ders)?;
    let client_tls = tls::client_config(credential, &tls_trust)?;
    let server_tls = tls::server_config(credential, &tls_trust)?;
    Ok(TrustSet {
        trust: Arc::new(trust),
        peer_trust: Arc::new(peer_trust),
        tls_trust,
        client_tls,
        server_tls,
        generation,
    })
}
