//! The relay's shared context: configuration, identity, trust, store.

use std::collections::HashMap;
use std::sync::Arc;

use congvan_org::Registry;
use congvan_sign::{Certificate, Credential, Crl, TrustStore};
use tokio::sync::Notify;

use crate::config::{PeerMode, RelayConfig};
use crate::metrics::Metrics;
use crate::routing::Router;
use crate::store::{Store, Writer};
use crate::tls::{self, TlsTrust};
use crate::Error;

/// Everything the relay's tasks share.
pub struct RelayState {
    /// The configuration it runs with.
    pub config: RelayConfig,
    /// The relay's own certificate and key: TLS and receipt signatures.
    pub credential: Credential,
    /// Trust anchors and CRLs for verifying dispatches and receipts, with
    /// the configured policy for stale CRLs (`crl_stale`).
    pub trust: Arc<TrustStore>,
    /// The same anchors and CRLs for the parties of a connection (callers,
    /// and the relays this one connects to). A stale CRL is used as is
    /// here, as the TLS layer uses it: refusing every connection while a
    /// CRL is out of date would stop the relay, not protect it, and a
    /// certificate the old list revokes is still refused.
    pub peer_trust: Arc<TrustStore>,
    /// The same trust for rustls.
    pub tls_trust: TlsTrust,
    /// Routing decisions.
    pub router: Router,
    /// Reads.
    pub store: Store,
    /// Writes (batched).
    pub writer: Writer,
    /// Counters.
    pub metrics: Metrics,
    /// TLS client configuration for talking to peers.
    pub client_tls: Arc<rustls::ClientConfig>,
    wakers: HashMap<String, Arc<Notify>>,
    /// The session of each pulling child's last pull (see `server.rs`).
    pub(crate) pull_sessions: std::sync::Mutex<HashMap<String, u64>>,
    /// Next hops the push workers cannot reach now (for `track`).
    pub(crate) hop_health: crate::hop_health::HopHealth,
}

impl RelayState {
    /// Loads the credential, trust and registry, and opens the store.
    pub fn open(config: RelayConfig) -> Result<RelayState, Error> {
        let credential = Credential::load(&config.tls, None)?;
        let mut roots = Vec::new();
        for path in &config.trust {
            roots.extend(Certificate::load_all(path)?);
        }
        let mut trust = TrustStore::new(roots.clone())?;
        let mut peer_trust = TrustStore::new(roots.clone())?;
        for path in &config.crl {
            trust.add_crls(Crl::load_all(path)?)?;
            peer_trust.add_crls(Crl::load_all(path)?)?;
        }
        let crl_ders = trust.crls().iter().map(|c| c.der().to_vec()).collect();
        trust.set_stale_crls(config.crl_stale.policy());
        // Lists must be current now, whatever time a signature names.
        trust.set_verification_time(congvan_sign::VerificationTime::Now);
        peer_trust.set_stale_crls(congvan_sign::StaleCrls::Accept);
        let tls_trust = TlsTrust::new(&roots, crl_ders)?;
        let client_tls = tls::client_config(&credential, &tls_trust)?;
        let registry = Registry::load(&config.registry)?;
        let router = Router::new(&config, registry);
        let (store, writer) = Store::open(&config.data, config.delivery.batch_max)?;
        let mut wakers = HashMap::new();
        for child in &config.children {
            wakers.insert(child.name.clone(), Arc::new(Notify::new()));
        }
        if let Some(parent) = &config.parent {
            wakers.insert(parent.name.clone(), Arc::new(Notify::new()));
        }
        Ok(RelayState {
            config,
            credential,
            trust: Arc::new(trust),
            peer_trust: Arc::new(peer_trust),
            tls_trust,
            router,
            store,
            writer,
            metrics: Metrics::default(),
            client_tls,
            wakers,
            pull_sessions: std::sync::Mutex::new(HashMap::new()),
            hop_health: crate::hop_health::HopHealth::default(),
        })
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        self.router.registry()
    }

    /// Wakes whoever sends to `hop` (a push worker or a waiting pull).
    pub fn wake(&self, hop: &str) {
        if let Some(notify) = self.wakers.get(hop) {
            notify.notify_waiters();
            notify.notify_one();
        }
    }

    /// The notifier for `hop`.
    pub fn waker(&self, hop: &str) -> Option<Arc<Notify>> {
        self.wakers.get(hop).cloned()
    }

    /// The child relay configured for an organization and pulling from us.
    pub fn pulling_child(&self, org: &congvan_org::OrgId) -> Option<&crate::config::ChildConfig> {
        self.config
            .children
            .iter()
            .find(|c| &c.org == org && c.mode == PeerMode::Pull)
    }

    /// The name of the configured peer (child or parent) whose relay
    /// certificate binds `org`.
    pub fn peer_name(&self, org: &congvan_org::OrgId) -> Option<&str> {
        self.config
            .children
            .iter()
            .find(|c| &c.org == org)
            .map(|c| c.name.as_str())
            .or_else(|| {
                self.config
                    .parent
                    .as_ref()
                    .filter(|p| &p.org == org)
                    .map(|p| p.name.as_str())
            })
    }

    /// True when a relay certificate for `org` belongs to a configured peer.
    pub fn is_peer(&self, org: &congvan_org::OrgId) -> bool {
        self.config.children.iter().any(|c| &c.org == org)
            || self.config.parent.as_ref().is_some_and(|p| &p.org == org)
    }
}
