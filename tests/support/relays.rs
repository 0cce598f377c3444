//! Relays for the stories: the demo PKI, signed dispatches, relay
//! configurations, relays in-process or as processes, and their clients.
//!
//! - the committed demo PKI in `certs/` (never modified: tests that need to
//!   issue or revoke work on a copy in a temporary directory);
//! - signed dispatches made with the library ([`Author`]);
//! - relay configurations ([`relay_config`], [`set_parent`], [`add_child`]);
//! - relays started in-process ([`congvan_relay::start`], port 0) or as
//!   `congvan relay run --config X` child processes ([`RelayProcess`], on a
//!   port found free beforehand, killed when dropped so no test leaks one);
//! - clients: the library's [`RelayClient`], the `congvan` clerk commands
//!   ([`clerk`]), hand-made TLS connections and raw HTTP requests;
//! - a `/metrics` reader ([`scrape`]) and a polling helper ([`eventually`]).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use congvan_envelope::metadata::{Draft, Metadata, Organization, SignerBlock, Urgency};
use congvan_envelope::{
    issue_dispatch, verify_receipt, AttachmentSource, Jws, Statement, VerifiedReceipt,
};
use congvan_org::{OrgId, Registry};
use congvan_relay::config::{ChildConfig, DeliveryConfig, ParentConfig, PeerMode};
use congvan_relay::store::TrackEvent;
use congvan_relay::{client_config, ExpectedRelay, RelayClient, RelayConfig, TlsTrust};
use congvan_sign::{Certificate, Credential, TrustStore};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::process::{self, Run};

// ---------------------------------------------------------------- the PKI

pub use super::process::repo;

/// The committed demo PKI.
pub fn certs() -> PathBuf {
    repo().join("certs")
}

/// The demo root certificate.
pub fn root_pem() -> PathBuf {
    certs().join("root/cert.pem")
}

/// The demo organization registry.
pub fn registry_path() -> PathBuf {
    certs().join("registry.toml")
}

/// A fixture file.
pub fn fixture(name: &str) -> PathBuf {
    repo().join("fixtures").join(name)
}

/// An organization id.
pub fn org(code: &str) -> OrgId {
    OrgId::parse(code).unwrap_or_else(|e| panic!("bad org {code}: {e}"))
}

/// The registry name of the relay that serves `code` in the demo PKI.
pub fn relay_name(code: &str) -> String {
    congvan_sign::demo_relay_name(&org(code))
}

/// An office's credential folder (its clerk tool's identity).
pub fn office_dir(code: &str) -> PathBuf {
    certs().join(code).join("office")
}

/// An office's official (signer) credential folder.
pub fn official_dir(code: &str) -> PathBuf {
    certs().join(code).join("official")
}

/// A relay's credential folder.
pub fn relay_dir(code: &str) -> PathBuf {
    certs().join(code).join("relay")
}

/// Loads a credential folder.
pub fn credential(dir: &Path) -> Credential {
    Credential::load(dir, None).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// The demo root.
pub fn root_cert() -> Certificate {
    Certificate::load(&root_pem()).expect("demo root")
}

/// A trust store with the demo root (and no CRL).
pub fn trust() -> TrustStore {
    TrustStore::new(vec![root_cert()]).expect("trust store")
}

/// Copies the provincial CA (`certs/ca-h99`) into `dir` so a test can issue
/// and revoke under it without touching the committed PKI. Returns the copy.
pub fn copy_ca(dir: &Path) -> PathBuf {
    let to = dir.join("ca-h99");
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(certs().join("ca-h99")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    to
}

// ---------------------------------------------------------- dispatches

/// An office that issues dispatches: its registry entry, its official
/// (signer) and its office (seal) credentials.
pub struct Author {
    pub org: OrgId,
    name: String,
    place: String,
    official: Credential,
    office: Credential,
    seal: bool,
}

/// A dispatch written to disk.
#[derive(Clone, Debug)]
pub struct Dispatch {
    pub id: String,
    pub path: PathBuf,
    pub urgency: Urgency,
}

impl Dispatch {
    /// The file's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap()
    }

    /// The SHA-256 of its manifest, which receipts name.
    pub fn manifest_sha256(&self) -> String {
        let envelope = congvan_envelope::Envelope::open(&self.path).unwrap();
        congvan_envelope::sha256_hex(envelope.manifest_bytes())
    }
}

impl Author {
    /// The office `code` of the demo PKI, signing as its official and
    /// sealing as the office.
    pub fn new(code: &str) -> Author {
        Author::with_credentials(
            code,
            credential(&official_dir(code)),
            credential(&office_dir(code)),
        )
    }

    /// The office `code` with other credentials (a revoked official, a
    /// certificate from another root...).
    pub fn with_credentials(code: &str, official: Credential, office: Credential) -> Author {
        let registry = Registry::load(&registry_path()).expect("registry");
        let org = org(code);
        let entry = registry.get(&org).expect("office in the registry");
        Author {
            name: entry.name.clone(),
            place: entry.place.clone().unwrap_or_else(|| "Hà Tĩnh".into()),
            org,
            official,
            office,
            seal: true,
        }
    }

    /// Signs with the official only (no office seal): half the signing work,
    /// for bulk tests.
    pub fn without_seal(mut self) -> Author {
        self.seal = false;
        self
    }

    /// Writes a signed (and sealed) dispatch to `dir`.
    pub fn write(&self, dir: &Path, to: &[&str], urgency: Urgency, subject: &str) -> Dispatch {
        self.write_with(dir, to, urgency, subject, None)
    }

    /// Like [`Author::write`], with an attachment of `attachment` bytes.
    pub fn write_with(
        &self,
        dir: &Path,
        to: &[&str],
        urgency: Urgency,
        subject: &str,
        attachment: Option<(&str, &[u8])>,
    ) -> Dispatch {
        self.write_edited(dir, to, urgency, subject, attachment, |_| {})
    }

    /// Like [`Author::write`], letting `edit` change the metadata (due date,
    /// secrecy, dates) before it is signed.
    pub fn write_custom(
        &self,
        dir: &Path,
        to: &[&str],
        urgency: Urgency,
        subject: &str,
        edit: impl FnOnce(&mut Metadata),
    ) -> Dispatch {
        self.write_edited(dir, to, urgency, subject, None, edit)
    }

    /// Like [`Author::write_custom`], with an attachment.
    pub fn write_edited(
        &self,
        dir: &Path,
        to: &[&str],
        urgency: Urgency,
        subject: &str,
        attachment: Option<(&str, &[u8])>,
        edit: impl FnOnce(&mut Metadata),
    ) -> Dispatch {
        let registry = Registry::load(&registry_path()).expect("registry");
        let recipients = to
            .iter()
            .map(|code| {
                let org = org(code);
                let name = registry
                    .get(&org)
                    .map_or_else(|| format!("Office {code}"), |o| o.name.clone());
                Organization::new(org, name)
            })
            .collect();
        let mut metadata = Draft {
            number: "15/CV-UBND".into(),
            place: self.place.clone(),
            subject: subject.to_string(),
            content: format!("Nội dung: {subject}."),
            urgency,
            ..Draft::cong_van(
                Organization::new(self.org.clone(), self.name.clone()),
                recipients,
                SignerBlock::for_the_committee(self.official.cert()),
            )
        }
        .metadata();
        edit(&mut metadata);
        let id = metadata.id.clone();
        std::fs::create_dir_all(dir).unwrap();
        // A file name of its own: `edit` may have given the dispatch the id
        // of another one (a second version), whose file must stay.
        let stem = Metadata::new_id();
        let path = dir.join(format!("{stem}.cvd"));
        let attachments: Vec<AttachmentSource> = match attachment {
            Some((name, bytes)) => {
                let file = dir.join(format!("{stem}-{name}"));
                std::fs::write(&file, bytes).unwrap();
                vec![AttachmentSource::file(&file)]
            }
            None => Vec::new(),
        };
        issue_dispatch(
            &metadata,
            &attachments,
            &path,
            &self.official,
            self.seal.then_some(&self.office),
            OffsetDateTime::now_utc(),
        )
        .expect("issue the dispatch");
        Dispatch { id, path, urgency }
    }
}

/// Copies a `.cvd` container entry by entry, letting `change` edit (or drop)
/// each entry, as a forger would; the ZIP itself stays well-formed.
pub fn rewrite_cvd(
    src: &Path,
    dst: &Path,
    mut change: impl FnMut(&str, Vec<u8>) -> Option<Vec<u8>>,
) {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut writer = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let method = entry.compression();
        let name = entry.name().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        drop(entry);
        if let Some(bytes) = change(&name, bytes) {
            writer
                .start_file(
                    name,
                    zip::write::SimpleFileOptions::default().compression_method(method),
                )
                .unwrap();
            writer.write_all(&bytes).unwrap();
        }
    }
    writer.finish().unwrap();
}

// ------------------------------------------------------ relay configs

/// A port on 127.0.0.1 that was free a moment ago (bound, then released),
/// for relays that must keep their address across restarts.
pub fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().unwrap()
}

/// `https://ADDR`.
pub fn url(addr: SocketAddr) -> String {
    format!("https://{addr}")
}

/// Quick retries and short long-polls, so tests do not wait for defaults.
pub fn fast_delivery() -> DeliveryConfig {
    DeliveryConfig {
        retry_initial_ms: 100,
        retry_max_ms: 1_000,
        long_poll_secs: 5,
        ..DeliveryConfig::default()
    }
}

/// A configuration for the relay of office `code` with its state under
/// `base`, listening on 127.0.0.1:0, no peers yet, fast delivery.
pub fn relay_config(base: &Path, code: &str) -> RelayConfig {
    let name = relay_name(code);
    // Built from the required fields only, so options added to the file
    // format later take their defaults here too.
    let mut config: RelayConfig = serde_json::from_value(serde_json::json!({
        "name": name,
        "org": code,
        "listen": "127.0.0.1:0",
        "data": base.join(&name),
        "tls": relay_dir(code),
        "trust": [root_pem()],
        "registry": registry_path(),
    }))
    .expect("a minimal relay configuration");
    config.delivery = fast_delivery();
    // Senders of secret dispatches look encryption certificates up here.
    config.encryption_certificates = Some(certs());
    config
}

/// The relay of office `code` (see [`relay_config`]) with a child `child`
/// that never answers, and its web workplace on a free loopback port in
/// plain HTTP: `lookups` public lookups per minute, and the clerks of
/// `web_offices` working there.
pub fn workplace_config(
    base: &Path,
    code: &str,
    child: &str,
    lookups: u32,
    web_offices: &[&str],
) -> RelayConfig {
    use congvan_relay::config::{WebOffice, WebSettings, WebTls};
    let mut config = relay_config(base, code);
    add_child(&mut config, child, Some("https://127.0.0.1:1"));
    config.web = Some(WebSettings {
        listen: "127.0.0.1:0".parse().expect("a loopback address"),
        public_url: None,
        tls: WebTls::None,
        idle_minutes: 30,
        lookups_per_minute: lookups,
        offices: web_offices
            .iter()
            .map(|office| WebOffice {
                org: org(office),
                credential: office_dir(office),
            })
            .collect(),
    });
    config
}

/// Office `code`'s encryption credential folder.
pub fn encryption_dir(code: &str) -> PathBuf {
    certs().join(code).join("encryption")
}

/// The validated encryption certificate of office `code`, to encrypt to.
pub fn encryption_recipient(code: &str) -> congvan_secret::Recipient {
    let dir = encryption_dir(code);
    let cert = Certificate::load(&dir.join("cert.pem")).unwrap();
    let chain = Certificate::load_all(&dir.join("chain.pem")).unwrap();
    congvan_secret::Recipient::validated(&cert, &chain, &trust(), OffsetDateTime::now_utc())
        .unwrap()
}

/// Seals a signed secret dispatch for its recipients `to` and its sender
/// `from` (as `congvan send` does), beside it; the sealed file is what
/// relays carry.
pub fn seal(dispatch: &Dispatch, from: &str, to: &[&str]) -> Dispatch {
    let readers: Vec<congvan_secret::Recipient> = to
        .iter()
        .chain(std::iter::once(&from))
        .map(|code| encryption_recipient(code))
        .collect();
    let path = dispatch.path.with_extension("sealed.cvd");
    congvan_secret::seal_dispatch(
        &dispatch.path,
        &readers,
        &credential(&office_dir(from)),
        None,
        OffsetDateTime::now_utc(),
        &path,
    )
    .expect("seal the dispatch");
    Dispatch {
        id: dispatch.id.clone(),
        path,
        urgency: dispatch.urgency,
    }
}

/// Sets the parent relay (`push`: post up only; `pull`: also long-poll it
/// for traffic coming down).
pub fn set_parent(config: &mut RelayConfig, code: &str, parent_url: &str, mode: PeerMode) {
    config.parent = Some(ParentConfig {
        name: relay_name(code),
        org: org(code),
        url: parent_url.to_string(),
        mode,
    });
}

/// The configuration of office `code`'s relay below `parent`, a relay
/// running in this process, which it reaches by `mode`.
pub fn relay_below(
    base: &Path,
    code: &str,
    parent: &congvan_relay::RunningRelay,
    mode: PeerMode,
) -> RelayConfig {
    let mut config = relay_config(base, code);
    let parent_code = parent.state.config.org.to_string();
    set_parent(&mut config, &parent_code, &url(parent.addr), mode);
    config
}

/// Adds a child relay: pushed to at `child_url`, or pulling when `None`.
pub fn add_child(config: &mut RelayConfig, code: &str, child_url: Option<&str>) {
    config.children.push(ChildConfig {
        name: relay_name(code),
        org: org(code),
        url: child_url.map(str::to_string),
        mode: if child_url.is_some() {
            PeerMode::Push
        } else {
            PeerMode::Pull
        },
    });
}

// ------------------------------------------------------------- clients

/// A client for the relay at `relay_url`, authenticated as office `code`.
pub fn client(relay_url: &str, code: &str) -> RelayClient {
    client_as(relay_url, &credential(&office_dir(code)))
}

/// A client authenticated with any credential, talking to a relay that
/// serves the credential's organization (its own or one above it), as a
/// clerk's tool does without a registry.
pub fn client_as(relay_url: &str, identity: &Credential) -> RelayClient {
    let org = identity.cert().org().expect("a congvan credential").clone();
    client_expecting(relay_url, identity, ExpectedRelay::Serving(org))
}

/// A client that talks only to the `expected` relay.
pub fn client_expecting(
    relay_url: &str,
    identity: &Credential,
    expected: ExpectedRelay,
) -> RelayClient {
    let tls = client_config(
        identity,
        &TlsTrust::new(&[root_cert()], Vec::new()).unwrap(),
    )
    .expect("client TLS config");
    RelayClient::new(relay_url, tls, Arc::new(trust()), expected)
        .unwrap()
        .with_timeout(Duration::from_secs(20))
}

/// Sends `dispatch` through the relay at `relay_url` as office `code`
/// (with the library's client), and returns the relay's answer; panics if
/// the relay refuses it.
pub async fn send(
    relay_url: &str,
    code: &str,
    dispatch: &Dispatch,
) -> congvan_relay::api::Accepted {
    client(relay_url, code)
        .send_file(&dispatch.path)
        .await
        .unwrap_or_else(|e| panic!("sending {} as {code}: {e}", dispatch.id))
}

/// The arguments every clerk command takes: `CMD --relay URL --identity
/// certs/CODE/office --trust root`.
pub fn clerk_args(command: &str, relay_url: &str, code: &str) -> Vec<OsString> {
    vec![
        command.into(),
        "--relay".into(),
        relay_url.into(),
        "--identity".into(),
        office_dir(code).into(),
        "--trust".into(),
        root_pem().into(),
    ]
}

/// Runs `congvan CMD --relay URL --identity ... --trust ... EXTRA...` on a
/// blocking thread.
pub async fn clerk<S: AsRef<std::ffi::OsStr>>(
    command: &str,
    relay_url: &str,
    code: &str,
    extra: &[S],
) -> Run {
    let mut args = clerk_args(command, relay_url, code);
    args.extend(extra.iter().map(|s| s.as_ref().to_os_string()));
    tokio::task::spawn_blocking(move || process::congvan(args))
        .await
        .unwrap()
}

/// Expects a refusal with `status` whose reason contains every `words`.
#[track_caller]
pub fn expect_refused<T: std::fmt::Debug>(
    result: Result<T, congvan_relay::Error>,
    status: u16,
    words: &[&str],
) -> String {
    match result {
        Err(congvan_relay::Error::Refused {
            status: got,
            reason,
            ..
        }) => {
            assert_eq!(got, status, "refused with {got}: {reason}");
            for word in words {
                assert!(
                    reason.contains(word),
                    "{word:?} not in the reason {reason:?}"
                );
            }
            reason
        }
        other => panic!("expected a {status} refusal, got {other:?}"),
    }
}

/// `congvan track ID --json` as the sender, parsed.
pub async fn track_json(relay_url: &str, code: &str, id: &str) -> Vec<TrackEvent> {
    let run = clerk("track", relay_url, code, &[id, "--json"]).await;
    run.assert_ok();
    let mut tracking: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("track --json: {e}\n{run}"));
    serde_json::from_value(tracking["events"].take())
        .unwrap_or_else(|e| panic!("track --json events: {e}\n{run}"))
}

/// Checks a timeline event's receipt with the demo root.
pub fn verify_event(event: &TrackEvent) -> VerifiedReceipt {
    let jws: Jws = serde_json::from_str(&event.receipt).expect("receipt JSON");
    verify_receipt(&jws, "receipt", &trust())
        .unwrap_or_else(|e| panic!("receipt of {event:?} does not verify: {e}"))
}

/// The relay names of the custody receipts on a timeline, verified.
pub fn custody_relays(events: &[TrackEvent]) -> HashSet<String> {
    events
        .iter()
        .filter(|e| e.kind == "custody")
        .map(|e| match verify_event(e).statement {
            Statement::Custody { relay_name, .. } => relay_name,
            other => panic!("a custody event holds {other:?}"),
        })
        .collect()
}

// ---------------------------------------------------------- polling

/// Polls `probe` every 50 ms until it returns `Some`, or panics after
/// `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the timeline of dispatch `id`, as its sender `code` sees it
/// at `relay_url`, holds a non-delivery notice, and returns that event.
pub async fn non_delivery_notice(
    relay_url: &str,
    code: &str,
    id: &str,
    timeout: Duration,
) -> TrackEvent {
    eventually("a non-delivery notice at the sender", timeout, || async {
        track_json(relay_url, code, id)
            .await
            .into_iter()
            .find(|e| e.kind == "non_delivery")
    })
    .await
}

/// Waits until `id` is in the inbox of office `code` at `relay_url`.
pub async fn wait_inbox(relay_url: &str, code: &str, id: &str, timeout: Duration) {
    let client = client(relay_url, code);
    eventually(&format!("{id} in the inbox of {code}"), timeout, || {
        let client = client.clone();
        async move {
            let items = client.inbox().await.ok()?;
            items.iter().any(|i| i.id == id).then_some(())
        }
    })
    .await;
}

// ------------------------------------------------- relay processes

/// A `congvan relay run --config X` child process, killed when dropped.
pub struct RelayProcess {
    /// Its configuration (with a fixed listen port).
    pub config: RelayConfig,
    /// Where the configuration was saved.
    pub config_path: PathBuf,
    /// Its stderr (all runs appended).
    pub log_path: PathBuf,
    /// How many times it was started.
    pub starts: u32,
    child: Option<Child>,
}

impl RelayProcess {
    /// Saves `config` (its `listen` must not be port 0, and neither may
    /// `metrics_listen`) into `dir`, without starting it.
    pub fn new(dir: &Path, config: RelayConfig) -> RelayProcess {
        assert_ne!(
            config.listen.port(),
            0,
            "a relay process needs a fixed port"
        );
        std::fs::create_dir_all(dir).unwrap();
        let config_path = dir.join(format!("{}.toml", config.name));
        config.save(&config_path).expect("save relay.toml");
        let log_path = dir.join(format!("{}.log", config.name));
        RelayProcess {
            config,
            config_path,
            log_path,
            starts: 0,
            child: None,
        }
    }

    /// Starts the process and waits until it serves HTTPS.
    pub async fn start(&mut self) {
        self.spawn();
        self.wait_ready().await;
    }

    /// Starts the process without waiting.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap();
        let child = Command::new(process::congvan_bin())
            .args(["relay", "run", "--config"])
            .arg(&self.config_path)
            .env("RUST_LOG", "info")
            .env_remove("CONGVAN_LOG_JSON")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn congvan relay run");
        self.child = Some(child);
        self.starts += 1;
    }

    /// Polls `/v1/inbox` (as office H99.10) until the relay answers.
    pub async fn wait_ready(&mut self) {
        let probe = client_expecting(
            &self.url(),
            &credential(&office_dir("H99.10")),
            ExpectedRelay::Org(self.config.org.clone()),
        )
        .with_timeout(Duration::from_secs(2));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!(
                        "relay {} exited with {status} while starting\n{}",
                        self.name(),
                        self.log()
                    );
                }
            }
            // Any answer over mutual TLS means it serves, even a refusal
            // (the probing office may not be one it serves).
            match probe.inbox().await {
                Ok(_) | Err(congvan_relay::Error::Refused { .. }) => return,
                Err(_) => {}
            }
            assert!(
                Instant::now() < deadline,
                "relay {} did not come up within 30 s\n{}",
                self.name(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9` and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Err(e) = child.kill() {
                eprintln!("kill {}: {e}", self.name());
            }
            if let Err(e) = child.wait() {
                eprintln!("wait {}: {e}", self.name());
            }
        }
    }

    /// SIGTERM (a clean stop) and reap; `kill -9` if it has not stopped
    /// within 10 s.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let sent = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            let deadline = Instant::now() + Duration::from_secs(10);
            while sent && Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// The relay's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Its HTTPS address.
    pub fn addr(&self) -> SocketAddr {
        self.config.listen
    }

    /// `https://ADDR`.
    pub fn url(&self) -> String {
        url(self.config.listen)
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

// ------------------------------------------------ raw TLS and HTTP

fn tls_root_store() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            root_cert().der().to_vec(),
        ))
        .unwrap();
    roots
}

/// A rustls client that trusts the demo root but presents no certificate.
pub fn tls_config_without_client_cert() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(tls_root_store())
            .with_no_client_auth(),
    )
}

/// A rustls client presenting `identity` (as the clerk tools do).
pub fn tls_config_with(identity: &Credential) -> Arc<rustls::ClientConfig> {
    client_config(
        identity,
        &TlsTrust::new(&[root_cert()], Vec::new()).unwrap(),
    )
    .unwrap()
}

/// Opens TCP and completes a TLS handshake with `tls`.
pub async fn tls_connect(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
}

/// What came back from a raw HTTP exchange.
#[derive(Debug)]
pub struct RawAnswer {
    /// The HTTP status, if an HTTP answer came at all.
    pub status: Option<u16>,
    /// The whole answer as text (or the I/O error).
    pub text: String,
}

/// Sends one HTTP/1.1 request over a fresh TLS connection made with `tls`
/// and reads the answer until the server closes.
pub async fn raw_request(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> RawAnswer {
    let exchange = async {
        let mut stream = tls_connect(addr, tls).await?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        stream.flush().await?;
        let mut answer = Vec::new();
        match stream.read_to_end(&mut answer).await {
            Ok(_) => {}
            // rustls reports a close without close_notify as an error; keep
            // what arrived.
            Err(e) if !answer.is_empty() => eprintln!("raw_request: {e} after the answer"),
            Err(e) => return Err(e),
        }
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(Duration::from_secs(20), exchange).await {
        Err(_) => RawAnswer {
            status: None,
            text: "timed out".into(),
        },
        Ok(Err(e)) => RawAnswer {
            status: None,
            text: format!("I/O error: {e}"),
        },
        Ok(Ok(bytes)) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let status = text
                .strip_prefix("HTTP/1.1 ")
                .and_then(|rest| rest.get(..3))
                .and_then(|code| code.parse().ok());
            RawAnswer { status, text }
        }
    }
}

// ------------------------------------------------------------ metrics

/// One `/metrics` scrape: sample name (with labels other than `relay`) to
/// value, e.g. `congvan_dispatches_accepted_total` or
/// `congvan_hop_latency_seconds_bucket{le="0.5"}`.
#[derive(Debug, Clone)]
pub struct Scrape {
    pub samples: BTreeMap<String, f64>,
    pub text: String,
}

impl Scrape {
    /// A sample's value; panics when the relay does not report it.
    #[track_caller]
    pub fn get(&self, name: &str) -> f64 {
        *self
            .samples
            .get(name)
            .unwrap_or_else(|| panic!("/metrics has no {name}\n{}", self.text))
    }
}

/// GETs `/metrics` from a plain-HTTP metrics address.
pub async fn scrape(addr: SocketAddr) -> Scrape {
    let mut stream = TcpStream::connect(addr).await.expect("connect to /metrics");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .expect("/metrics answers")
        .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    let mut samples = BTreeMap::new();
    for line in body.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let key = match key.split_once('{') {
            None => key.to_string(),
            Some((name, labels)) => {
                let kept: Vec<&str> = labels
                    .trim_end_matches('}')
                    .split(',')
                    .filter(|l| !l.starts_with("relay="))
                    .collect();
                if kept.is_empty() {
                    name.to_string()
                } else {
                    format!("{name}{{{}}}", kept.join(","))
                }
            }
        };
        if let Ok(v) = value.parse::<f64>() {
            samples.insert(key, v);
        }
    }
    Scrape {
        samples,
        text: body,
    }
}

// ------------------------------------------------------------- misc

/// A small seeded random generator (xorshift), so a failing run can be
/// repeated with the seed it printed.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `CONGVAN_TEST_SEED` or the clock; prints the seed.
    pub fn from_env_or_clock(what: &str) -> Rng {
        let seed = std::env::var("CONGVAN_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{what}: random seed {seed} (set CONGVAN_TEST_SEED={seed} to repeat)");
        Rng(seed | 1)
    }

    /// A fixed seed.
    pub fn seeded(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// The next value.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// One kept-alive HTTP/1.1 connection over mutual TLS, as a long-lived
/// peer holds it: every request goes over the same connection.
pub struct KeptAlive {
    sender: hyper::client::conn::http1::SendRequest<http_body_util::Empty<bytes::Bytes>>,
}

impl KeptAlive {
    /// Connects to the relay at `addr` presenting `identity`.
    pub async fn open(addr: SocketAddr, identity: &Credential) -> KeptAlive {
        let stream = tls_connect(addr, tls_config_with(identity)).await.unwrap();
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        KeptAlive { sender }
    }

    /// GET `path` on this connection: the status and body, or why the
    /// connection could not carry the request (it was closed).
    pub async fn get(&mut self, path: &str) -> Result<(u16, String), String> {
        use http_body_util::BodyExt;
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let request = hyper::Request::get(path)
            .header("host", "127.0.0.1")
            .body(http_body_util::Empty::new())
            .unwrap();
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}
