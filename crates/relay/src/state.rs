//! The relay's shared context: configuration, identity, trust, store.

use std::collections::HashMap;
use std::sync::Arc;

use congvan_org::Registry;
use congvan_sign::{Credential, TrustStore};
use tokio::sync::Notify;

use crate::config::{PeerMode, RelayConfig};
use crate::live_trust::{LiveTrust, Reloaded};
use crate::metrics::Metrics;
use crate::routing::Router;
use crate::store::{Store, Writer};
use crate::Error;

/// Everything the relay's tasks share.
pub struct RelayState {
    /// The configuration it runs with.
    pub config: RelayConfig,
    /// The relay's own certificate and key: TLS and receipt signatures.
    pub credential: Credential,
    /// Trust anchors and CRLs, for dispatches, callers and TLS; reloaded
    /// while the relay runs (`live_trust.rs`).
    pub live_trust: Arc<LiveTrust>,
    /// Routing decisions.
    pub router: Router,
    /// Reads.
    pub store: Store,
    /// Writes (batched).
    pub writer: Writer,
    /// Counters.
    pub metrics: Metrics,
    wakers: HashMap<String, Arc<Notify>>,
    /// The session of each pulling child's last pull (see `server.rs`).
    pub(crate) pull_sessions: std::sync::Mutex<HashMap<String, u64>>,
    /// Next hops the push workers cannot reach now (for `track`).
    pub(crate) hop_health: crate::hop_health::HopHealth,
    /// Bytes of uploads held in memory, all connections together.
    pub upload_memory: Arc<crate::upload::MemoryBudget>,
}

impl RelayState {
    /// Loads the credential, trust and registry, and opens the store.
    pub fn open(config: RelayConfig) -> Result<RelayState, Error> {
        let credential = Credential::load(&config.tls, None)?;
        let live_trust = Arc::new(LiveTrust::load(&config, &credential)?);
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
            live_trust,
            router,
            store,
            writer,
            metrics: Metrics::default(),
            wakers,
            pull_sessions: std::sync::Mutex::new(HashMap::new()),
            hop_health: crate::hop_health::HopHealth::default(),
            upload_memory: Arc::default(),
        })
    }

    /// Trust for dispatches and receipts, as in force now: the configured
    /// stale-CRL policy, lists current at the time of checking.
    pub fn trust(&self) -> Arc<TrustStore> {
        self.live_trust.current().trust.clone()
    }

    /// Trust for the parties of a connection, as in force now.
    pub fn peer_trust(&self) -> Arc<TrustStore> {
        self.live_trust.current().peer_trust.clone()
    }

    /// TLS to peers, as in force now.
    pub fn client_tls(&self) -> Arc<rustls::ClientConfig> {
        self.live_trust.current().client_tls.clone()
    }

    /// Reads the CRL files again (see [`LiveTrust::reload`]).
    pub fn reload_trust(&self) -> Result<Reloaded, Error> {
        self.live_trust.reload(&self.config, &self.credential)
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
