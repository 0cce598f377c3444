//! The relay's configuration file (`relay.toml`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use congvan_org::OrgId;
use serde::{Deserialize, Serialize};

use crate::Error;

/// How a peer relay exchanges traffic with this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerMode {
    /// This relay connects to the peer and posts to it.
    Push,
    /// The peer connects here and long-polls for its traffic (behind NAT,
    /// or on a poor link); this relay never dials it.
    Pull,
}

/// What a relay does with a CRL past its nextUpdate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrlStale {
    /// Answer "try later" to what the stale CRL decides.
    #[default]
    TryLater,
    /// Use the stale CRL as if current.
    Accept,
}

impl CrlStale {
    /// The trust store's policy.
    pub fn policy(self) -> congvan_sign::StaleCrls {
        match self {
            CrlStale::TryLater => congvan_sign::StaleCrls::TryLater,
            CrlStale::Accept => congvan_sign::StaleCrls::Accept,
        }
    }
}

/// The parent relay, one level up the tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentConfig {
    /// The parent relay's name in the registry.
    pub name: String,
    /// The organization its certificate must bind.
    pub org: OrgId,
    /// Its HTTPS address, e.g. `https://127.0.0.1:7443`.
    pub url: String,
    /// `push`: post to the parent. `pull`: also long-poll the parent for
    /// traffic coming down (use it when the parent cannot reach this relay).
    #[serde(default = "default_push")]
    pub mode: PeerMode,
}

/// A child relay, one level down.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildConfig {
    /// The child relay's name in the registry.
    pub name: String,
    /// The organization its certificate must bind.
    pub org: OrgId,
    /// Its HTTPS address; required for `push`, unused for `pull`.
    #[serde(default)]
    pub url: Option<String>,
    /// `push` (default) or `pull` (the child long-polls this relay).
    #[serde(default = "default_push")]
    pub mode: PeerMode,
}

fn default_push() -> PeerMode {
    PeerMode::Push
}

/// Delivery timing: retries and expiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// First retry delay in milliseconds; doubles each attempt, with jitter.
    #[serde(default = "default_retry_initial")]
    pub retry_initial_ms: u64,
    /// Longest retry delay in milliseconds.
    #[serde(default = "default_retry_max")]
    pub retry_max_ms: u64,
    /// Seconds an undelivered dispatch may wait, by urgency 0..=4, before a
    /// non-delivery notice goes back to its sender.
    #[serde(default = "default_expiry")]
    pub expiry_secs: [u64; 5],
    /// Most dispatches committed in one store transaction (one fsync).
    #[serde(default = "default_batch")]
    pub batch_max: usize,
    /// Most small dispatches sent to a peer relay in one request (at most
    /// 64); 1 sends each on its own. A batch answers item by item, so one
    /// refused dispatch never holds up the rest.
    #[serde(default = "default_push_batch")]
    pub push_batch_items: usize,
    /// Most small dispatches a pulling relay takes from its parent in one
    /// poll (at most 64); 1 takes them one by one. The parent answers with
    /// a batch only when it has a run of them; the child reports what it
    /// did with each in one request.
    #[serde(default = "default_push_batch")]
    pub pull_batch_items: usize,
    /// Seconds a pulling child waits on one long-poll.
    #[serde(default = "default_long_poll")]
    pub long_poll_secs: u64,
    /// Seconds between two figures reports to the parent (the leaders'
    /// dashboard one level up is at most this late).
    #[serde(default = "default_figures_interval")]
    pub figures_interval_secs: u64,
}

fn default_figures_interval() -> u64 {
    600
}

fn default_retry_initial() -> u64 {
    500
}
fn default_retry_max() -> u64 {
    60_000
}
fn default_expiry() -> [u64; 5] {
    // Thường 7 days, Khẩn 2 days, Thượng khẩn 1 day, Hỏa tốc 4 h, hẹn giờ 4 h.
    [7 * 86_400, 2 * 86_400, 86_400, 4 * 3_600, 4 * 3_600]
}
fn default_batch() -> usize {
    256
}
fn default_push_batch() -> usize {
    crate::batch::MAX_ITEMS
}
fn default_long_poll() -> u64 {
    25
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            retry_initial_ms: default_retry_initial(),
            retry_max_ms: default_retry_max(),
            expiry_secs: default_expiry(),
            batch_max: default_batch(),
            push_batch_items: default_push_batch(),
            pull_batch_items: default_push_batch(),
            long_poll_secs: default_long_poll(),
            figures_interval_secs: default_figures_interval(),
        }
    }
}

/// Batch timestamps of the message log (`message_log.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampingConfig {
    /// The RFC 3161 authority, e.g. `http://127.0.0.1:3161/`; its tokens
    /// are checked under the relay's `trust`.
    pub tsa: String,
    /// Seconds between batch timestamps (default one day). A batch that
    /// fails is tried again within a minute; traffic never waits for it.
    #[serde(default = "default_batch_interval")]
    pub batch_interval_secs: u64,
    /// Also timestamp this relay's custody receipt of each dispatch at
    /// ingress (a `sigTst` over the receipt's signature): proof, as good as
    /// a signature timestamp, that the dispatch's signatures existed then,
    /// for dispatches signed without one. An authority that does not answer
    /// within two seconds leaves the receipt unstamped; the dispatch is
    /// accepted all the same.
    #[serde(default)]
    pub custody: bool,
}

fn default_batch_interval() -> u64 {
    86_400
}

/// Limits that protect the relay from hostile or broken clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest dispatch accepted, in bytes.
    #[serde(default = "default_max_dispatch")]
    pub max_dispatch_bytes: u64,
    /// Seconds allowed for the TLS handshake and the request headers.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_secs: u64,
    /// Seconds allowed for a whole request body.
    #[serde(default = "default_body_timeout")]
    pub body_timeout_secs: u64,
    /// Most connections served at once (after their TLS handshake).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Most TLS handshakes in progress at once: a separate, smaller budget,
    /// so sockets that connect and say nothing cannot take the slots of
    /// authenticated callers.
    #[serde(default = "default_max_handshakes")]
    pub max_handshakes: usize,
    /// Most connections (handshakes included) from one IP address.
    #[serde(default = "default_per_address")]
    pub max_connections_per_address: usize,
    /// Most connections authenticated with one certificate.
    #[serde(default = "default_per_certificate")]
    pub max_connections_per_certificate: usize,
    /// Seconds a kept-alive connection may live, both ways (then it is
    /// closed gracefully and the peer connects again, with a fresh
    /// handshake).
    #[serde(default = "default_connection_lifetime")]
    pub connection_max_secs: u64,
}

fn default_connection_lifetime() -> u64 {
    3_600
}

fn default_max_dispatch() -> u64 {
    2 * 1024 * 1024 * 1024
}
fn default_header_timeout() -> u64 {
    10
}
fn default_body_timeout() -> u64 {
    600
}
fn default_max_connections() -> usize {
    512
}
fn default_max_handshakes() -> usize {
    64
}
fn default_per_address() -> usize {
    128
}
fn default_per_certificate() -> usize {
    64
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_dispatch_bytes: default_max_dispatch(),
            header_timeout_secs: default_header_timeout(),
            body_timeout_secs: default_body_timeout(),
            max_connections: default_max_connections(),
            max_handshakes: default_max_handshakes(),
            max_connections_per_address: default_per_address(),
            max_connections_per_certificate: default_per_certificate(),
            connection_max_secs: default_connection_lifetime(),
        }
    }
}

/// How long delivered dispatches are kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days a fully delivered dispatch stays in the store before clean-up
    /// removes its blob (its events stay for `track`).
    #[serde(default = "default_retention_days")]
    pub delivered_days: u64,
    /// Seconds between clean-up passes.
    #[serde(default = "default_sweep_secs")]
    pub sweep_secs: u64,
}

fn default_sweep_secs() -> u64 {
    3600
}

fn default_retention_days() -> u64 {
    90
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            delivered_days: default_retention_days(),
            sweep_secs: default_sweep_secs(),
        }
    }
}

/// Everything a relay needs to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// This relay's name in the organization registry.
    pub name: String,
    /// The organization this relay belongs to (its certificate binds it).
    pub org: OrgId,
    /// The HTTPS address to listen on, e.g. `127.0.0.1:7443`.
    pub listen: SocketAddr,
    /// Plain-HTTP address for `/metrics`; keep it on loopback.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// The state directory: SQLite store and blobs.
    pub data: PathBuf,
    /// The relay's credential directory (cert.pem, key.pem, chain.pem).
    pub tls: PathBuf,
    /// Trusted root certificates.
    pub trust: Vec<PathBuf>,
    /// CRLs (reloaded at start).
    #[serde(default)]
    pub crl: Vec<PathBuf>,
    /// What to do while a CRL is past its nextUpdate: `try-later` (answer
    /// 503 to the dispatches it decides, so senders retry once a current CRL
    /// is loaded) or `accept` (use the old list). The relay warns and
    /// exposes `congvan_stale_crls` either way.
    #[serde(default)]
    pub crl_stale: CrlStale,
    /// The organization registry file.
    pub registry: PathBuf,
    /// The parent relay, absent at the top of the tree.
    #[serde(default)]
    pub parent: Option<ParentConfig>,
    /// Child relays.
    #[serde(default, rename = "child")]
    pub children: Vec<ChildConfig>,
    /// Retry and expiry timing.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Protective limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Retention of delivered dispatches.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// E-mail notices and digests; absent means no mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<congvan_notify::MailConfig>,
    /// Batch timestamps of the message log: one RFC 3161 token a day over
    /// a Merkle root of the day's dispatches and receipts. Absent: the log
    /// is kept, unstamped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamping: Option<TimestampingConfig>,
    /// The web workplace for the offices this relay serves; absent means
    /// none. The relay only carries these settings: `congvan relay run`
    /// starts the workplace (crate congvan-web) beside the relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<WebSettings>,
    /// The folder gateway to document-management systems outside congvan
    /// (edXML files in and out); absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edxml: Option<EdxmlSettings>,
    /// Offices' encryption certificates as their CAs publish them, laid out
    /// `ORG/encryption/cert.pem` (and `chain.pem`): the relay hands them to
    /// senders of secret dispatches, who validate each themselves. Absent:
    /// the relay publishes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_certificates: Option<PathBuf>,
}

/// `[edxml]`: a folder gateway. Another system drops edXML messages into
/// `inbox/`; each is imported as a copy sealed by the gateway office and
/// delivered, then moved to `processed/`, or moved to `rejected/` beside a
/// `.reason.txt` saying why. A file is handled exactly once across stops.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdxmlSettings {
    /// The gateway office, served by this relay: its seal makes the copies.
    pub office: OrgId,
    /// The gateway office's credential folder (cert.pem, key.pem).
    pub credential: PathBuf,
    /// Where the gateway's folders (inbox, work, processed, rejected) are;
    /// `DATA/edxml` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<PathBuf>,
    /// How often `inbox/` is looked at, in milliseconds.
    #[serde(default = "default_edxml_scan_ms")]
    pub scan_ms: u64,
}

fn default_edxml_scan_ms() -> u64 {
    1_000
}

impl EdxmlSettings {
    /// The gateway's root folder for a relay whose data folder is `data`.
    pub fn root(&self, data: &Path) -> PathBuf {
        self.folder.clone().unwrap_or_else(|| data.join("edxml"))
    }
}

/// `[web]`: where the web workplace listens and whose seal it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// The address to listen on, e.g. `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// The address people open, e.g. `https://vanthu.camthach.gov.vn`
    /// (links and the cookies' `Secure` flag follow it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// `relay`: serve HTTPS with the relay's own certificate. `none`: plain
    /// HTTP, allowed on a loopback address only (behind a reverse proxy
    /// that terminates TLS).
    #[serde(default)]
    pub tls: WebTls,
    /// Minutes of inactivity after which a session ends.
    #[serde(default = "default_idle_minutes")]
    pub idle_minutes: u64,
    /// The offices whose clerks work here, each with the folder of its
    /// office credential: the seal a clerk applies after the leader has
    /// signed, and the key that signs the office's statuses (03, 04...).
    #[serde(default, rename = "office")]
    pub offices: Vec<WebOffice>,
    /// Lookups of the public verification page (`/v/...`, what the QR code
    /// of a printed dispatch opens) one address may make per minute; past
    /// it the page answers 429 until the minute is over.
    #[serde(default = "default_lookups_per_minute")]
    pub lookups_per_minute: u32,
}

fn default_lookups_per_minute() -> u32 {
    30
}

/// How the web workplace is reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebTls {
    /// HTTPS with the relay's certificate and key.
    #[default]
    Relay,
    /// Plain HTTP on loopback, behind a TLS-terminating proxy.
    None,
}

/// An office served by the web workplace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebOffice {
    /// The office.
    pub org: OrgId,
    /// Its office credential folder (cert.pem, key.pem, chain.pem).
    pub credential: PathBuf,
}

fn default_idle_minutes() -> u64 {
    30
}

impl RelayConfig {
    /// A configuration with every optional part at its default: no peers,
    /// no CRLs, no metrics listener, no mail, default timing and limits.
    pub fn new(
        name: impl Into<String>,
        org: OrgId,
        listen: SocketAddr,
        data: PathBuf,
        tls: PathBuf,
        trust: Vec<PathBuf>,
        registry: PathBuf,
    ) -> RelayConfig {
        RelayConfig {
            name: name.into(),
            org,
            listen,
            metrics_listen: None,
            data,
            tls,
            trust,
            crl: Vec::new(),
            crl_stale: CrlStale::default(),
            registry,
            parent: None,
            children: Vec::new(),
            delivery: DeliveryConfig::default(),
            limits: LimitsConfig::default(),
            retention: RetentionConfig::default(),
            mail: None,
            timestamping: None,
            web: None,
            edxml: None,
            encryption_certificates: None,
        }
    }

    /// The relay of office `org` in a PKI made by `congvan pki demo` (its
    /// layout: `<org>/relay`, `root/cert.pem`, `registry.toml`), listening on
    /// a free loopback port, with its state in `data`.
    pub fn for_demo_pki(pki: &Path, org: &OrgId, data: PathBuf) -> RelayConfig {
        RelayConfig::new(
            congvan_sign::demo_relay_name(org),
            org.clone(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
            data,
            pki.join(org.to_string()).join("relay"),
            vec![pki.join("root/cert.pem")],
            pki.join("registry.toml"),
        )
    }

    /// Sets the parent relay (named as the demo registry names relays).
    pub fn with_demo_parent(mut self, org: &OrgId, url: &str, mode: PeerMode) -> RelayConfig {
        self.parent = Some(ParentConfig {
            name: congvan_sign::demo_relay_name(org),
            org: org.clone(),
            url: url.to_string(),
            mode,
        });
        self
    }

    /// Adds a child relay that pulls its traffic (named as the demo registry names relays).
    pub fn with_demo_pulling_child(mut self, org: &OrgId) -> RelayConfig {
        self.children.push(ChildConfig {
            name: congvan_sign::demo_relay_name(org),
            org: org.clone(),
            url: None,
            mode: PeerMode::Pull,
        });
        self
    }

    /// Reads and checks a configuration file. Relative paths inside it are
    /// resolved against the file's folder.
    pub fn load(path: &Path) -> Result<RelayConfig, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut config: RelayConfig = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        if let Some(base) = path.parent() {
            config.resolve_paths(base);
        }
        config
            .check()
            .and_then(|()| config.check_files())
            .map_err(|problem| Error::Config {
                path: path.to_path_buf(),
                problem,
            })?;
        Ok(config)
    }

    /// Every file the configuration names exists, so that a missing one is
    /// named with its setting and how to make it, instead of a bare "No
    /// such file or directory" later at start-up.
    pub fn check_files(&self) -> Result<(), String> {
        let missing = |setting: &str, path: &Path, how: &str| -> Result<(), String> {
            if path.exists() {
                Ok(())
            } else {
                Err(format!(
                    "`{setting} = {:?}`: there is no such file; {how}",
                    path.display().to_string()
                ))
            }
        };
        for root in &self.trust {
            missing(
                "trust",
                root,
                "give the root CA certificate (cert.pem of `congvan pki init-root`)",
            )?;
        }
        for crl in &self.crl {
            missing(
                "crl",
                crl,
                "make it with `congvan pki crl --issuer CA-FOLDER --out FILE` \
                 (CA-FOLDER is the folder of the CA that issued this relay's certificates), \
                 or remove the setting",
            )?;
        }
        missing(
            "registry",
            &self.registry,
            "give the organization registry (see certs/registry.toml)",
        )?;
        if let Some(web) = &self.web {
            for office in &web.offices {
                missing(
                    "[[web.office]] credential",
                    &office.credential.join("key.pem"),
                    "give the office's credential folder (its office/ folder from `congvan pki issue --role office`)",
                )?;
            }
        }
        if let Some(edxml) = &self.edxml {
            missing(
                "[edxml] credential",
                &edxml.credential.join("key.pem"),
                "give the gateway office's credential folder (its office/ folder from `congvan pki issue --role office`)",
            )?;
        }
        for part in ["cert.pem", "key.pem"] {
            missing(
                "tls",
                &self.tls.join(part),
                "give the relay's credential folder (cert.pem, key.pem, chain.pem), \
                 made by `congvan pki issue --role relay --out FOLDER`",
            )?;
        }
        Ok(())
    }

    /// Writes the configuration as TOML.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let text = toml::to_string_pretty(self).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        std::fs::write(path, text).map_err(|e| Error::io(path, e))
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.data);
        fix(&mut self.tls);
        fix(&mut self.registry);
        self.trust.iter_mut().for_each(fix);
        self.crl.iter_mut().for_each(fix);
        if let Some(web) = &mut self.web {
            for office in &mut web.offices {
                fix(&mut office.credential);
            }
        }
        if let Some(edxml) = &mut self.edxml {
            fix(&mut edxml.credential);
            if let Some(folder) = &mut edxml.folder {
                fix(folder);
            }
        }
    }

    /// Checks what serde cannot: names unique, URLs present where needed.
    pub fn check(&self) -> Result<(), String> {
        if self.trust.is_empty() {
            return Err("`trust` must name at least one root certificate".into());
        }
        let mut names = HashMap::new();
        for child in &self.children {
            if names.insert(child.name.clone(), ()).is_some() {
                return Err(format!("child relay {:?} is listed twice", child.name));
            }
            if child.mode == PeerMode::Push && child.url.is_none() {
                return Err(format!(
                    "child relay {:?} is in push mode but has no `url`; give its address or set mode = \"pull\"",
                    child.name
                ));
            }
        }
        if let Some(parent) = &self.parent {
            if names.contains_key(&parent.name) {
                return Err(format!("{:?} is both parent and child", parent.name));
            }
        }
        if let Some(web) = &self.web {
            web.check()?;
        }
        self.check_ranges()
    }

    /// Every number within a range that makes sense, so that a typo (an
    /// extra zero, a negative turned huge) is refused with its name at load
    /// rather than wrapping around in a time computation later.
    fn check_ranges(&self) -> Result<(), String> {
        const DAY_SECS: u64 = 86_400;
        const DAY_MS: u64 = DAY_SECS * 1000;
        let d = &self.delivery;
        let l = &self.limits;
        let r = &self.retention;
        let checks: [(&str, u64, u64, u64); 14] = [
            ("delivery.retry_initial_ms", d.retry_initial_ms, 1, DAY_MS),
            (
                "delivery.retry_max_ms",
                d.retry_max_ms,
                d.retry_initial_ms.max(1),
                DAY_MS,
            ),
            ("delivery.batch_max", d.batch_max as u64, 1, 100_000),
            ("delivery.long_poll_secs", d.long_poll_secs, 0, 300),
            (
                "limits.max_dispatch_bytes",
                l.max_dispatch_bytes,
                64 * 1024,
                1 << 40,
            ),
            ("limits.header_timeout_secs", l.header_timeout_secs, 1, 600),
            ("limits.body_timeout_secs", l.body_timeout_secs, 1, DAY_SECS),
            (
                "limits.max_connections",
                l.max_connections as u64,
                1,
                100_000,
            ),
            ("limits.max_handshakes", l.max_handshakes as u64, 1, 100_000),
            (
                "limits.max_connections_per_address",
                l.max_connections_per_address as u64,
                1,
                100_000,
            ),
            (
                "limits.max_connections_per_certificate",
                l.max_connections_per_certificate as u64,
                1,
                100_000,
            ),
            (
                "limits.connection_max_secs",
                l.connection_max_secs,
                1,
                DAY_SECS,
            ),
            ("retention.delivered_days", r.delivered_days, 1, 36_500),
            ("retention.sweep_secs", r.sweep_secs, 1, DAY_SECS),
        ];
        for (name, value, min, max) in checks {
            if !(min..=max).contains(&value) {
                return Err(format!(
                    "{name} = {value} is out of range: use {min} to {max}"
                ));
            }
        }
        for (urgency, secs) in d.expiry_secs.iter().enumerate() {
            if !(60..=3650 * DAY_SECS).contains(secs) {
                return Err(format!(
                    "delivery.expiry_secs[{urgency}] = {secs} is out of range: use 60 (a minute) \
                     to {} (ten years)",
                    3650 * DAY_SECS
                ));
            }
        }
        Ok(())
    }
}

impl WebSettings {
    /// Plain HTTP only on loopback: passwords and session cookies never
    /// cross a network in clear.
    pub fn check(&self) -> Result<(), String> {
        if self.tls == WebTls::None && !self.listen.ip().is_loopback() {
            return Err(format!(
                "[web] listen = \"{}\" with tls = \"none\" would send passwords in clear: \
                 listen on 127.0.0.1 behind a TLS proxy, or set tls = \"relay\"",
                self.listen
            ));
        }
        if !(1..=24 * 60).contains(&self.idle_minutes) {
            return Err(format!(
                "[web] idle_minutes = {} is out of range: use 1 to 1440",
                self.idle_minutes
            ));
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!(
                    "[web] public_url = {url:?} must start with https:// (or http:// behind a proxy on this machine)"
                ));
            }
        }
        Ok(())
    }

    /// True when people reach the workplace over HTTPS (directly or through
    /// a proxy), so cookies must carry `Secure`.
    pub fn is_https(&self) -> bool {
        self.tls == WebTls::Relay
            || self
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
    }
}
