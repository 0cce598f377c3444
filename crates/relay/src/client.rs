//! Talking to a relay over mutual TLS: used by relays (push, pull) and by
//! the clerk commands (send, inbox, fetch, ack, track).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use congvan_org::OrgId;
use congvan_sign::{Certificate, Purpose, Role, TrustStore};
use http_body_util::BodyExt;
use hyper::http::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::api::{
    Accepted, Ack, PullOutcomes, ReceiptMessage, PULL_KIND_HEADER, PULL_SEQS_HEADER,
    PULL_SEQ_HEADER,
};
use crate::batch::{BatchOutcome, ItemOutcome};
use crate::live_trust::LiveTrust;
use crate::store::{InboxItem, TrackEvent};
use crate::Error;

/// Largest answer read into memory (a JSON listing, a refusal); dispatch
/// files are streamed to disk instead.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// Largest dispatch a clerk's tool downloads (the largest attachment a
/// reader accepts, 64 GiB): a relay cannot fill the clerk's disk.
const MAX_DISPATCH: u64 = 64 * 1024 * 1024 * 1024;

/// Time allowed to connect and finish the TLS handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Something pulled from a parent relay.
#[derive(Debug)]
pub enum Pulled {
    /// A dispatch file, streamed to disk, with its queue position.
    Dispatch {
        /// Queue position, to confirm with [`RelayClient::pull_done`].
        seq: i64,
        /// Where the `.cvd` was written (a file the caller now owns).
        path: PathBuf,
    },
    /// A receipt message, with its queue position.
    Receipt {
        /// Queue position.
        seq: i64,
        /// The message.
        message: ReceiptMessage,
    },
    /// A run of small dispatches, each with its queue position, to report
    /// on together with [`RelayClient::pull_outcomes`].
    Batch {
        /// The dispatches' bytes, with their queue positions, in order.
        items: Vec<(i64, Vec<u8>)>,
    },
}

/// Which relay a client expects to reach. The TLS handshake only says the
/// server has some certificate of the PKI for the host name; this says whose
/// it must be, checked after the handshake against the client's trust store
/// (role relay, the organization, its CA's subtree, keyUsage, CRLs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectedRelay {
    /// The relay of exactly this organization: a configured peer, the
    /// relay the registry names for an office, or `--relay-org`.
    Org(OrgId),
    /// The relay serving this office, when nothing names it: a relay of the
    /// office's own organization or of one above it.
    Serving(OrgId),
}

/// Where a client takes its TLS configuration and trust from.
#[derive(Clone)]
enum TrustSource {
    /// Fixed for the client's life (a clerk's command).
    Fixed {
        tls: Arc<rustls::ClientConfig>,
        trust: Arc<TrustStore>,
    },
    /// The relay's trust in force at each request (`live_trust.rs`): a
    /// reload of the CRLs retires the kept-alive connections.
    Live(Arc<LiveTrust>),
}

impl TrustSource {
    /// TLS, trust and their generation, as in force now.
    fn now(&self) -> (Arc<rustls::ClientConfig>, Arc<TrustStore>, u64) {
        match self {
            TrustSource::Fixed { tls, trust } => (tls.clone(), trust.clone(), 0),
            TrustSource::Live(live) => {
                let set = live.current();
                (
                    set.client_tls.clone(),
                    set.peer_trust.clone(),
                    set.generation,
                )
            }
        }
    }
}

/// A kept-alive connection, idle, ready for the next request.
struct Pooled {
    sender: hyper::client::conn::http1::SendRequest<Body>,
    /// The trust generation its server was checked under.
    generation: u64,
    opened: Instant,
    idle_since: Instant,
    /// How the connection ended, once it has: a relay that refuses this
    /// client's certificate says why in a TLS alert on the connection,
    /// which the request only sees as "canceled".
    ended: tokio::sync::oneshot::Receiver<Result<(), hyper::Error>>,
}

/// Most idle connections a client keeps.
const POOL_MAX: usize = 4;

/// Longest a connection waits idle for reuse: well inside the relay's
/// header timeout (10 s by default), after which it closes an idle
/// connection, so a request is never sent on one being closed.
const POOL_IDLE: Duration = Duration::from_secs(4);

/// A client for one relay. Clones share their kept-alive connections.
#[derive(Clone)]
pub struct RelayClient {
    url: String,
    host: String,
    port: u16,
    source: TrustSource,
    expected: ExpectedRelay,
    timeout: Duration,
    lifetime: Duration,
    pool: Arc<Mutex<Vec<Pooled>>>,
    /// TLS connections this client (and its clones) set out to open, each
    /// counted before its handshake: a load test
    /// reads it to see whether its requests reuse connections.
    opened: Arc<AtomicU64>,
}

impl RelayClient {
    /// A client for `url` (`https://host:port`) that talks only to the
    /// `expected` relay, as `trust` validates its certificate.
    pub fn new(
        url: &str,
        tls: Arc<rustls::ClientConfig>,
        trust: Arc<TrustStore>,
        expected: ExpectedRelay,
    ) -> Result<RelayClient, Error> {
        let uri: Uri = url.parse().map_err(|e| Error::Unreachable {
            url: url.to_string(),
            problem: format!("not a URL: {e}"),
        })?;
        if uri.scheme_str() != Some("https") {
            return Err(Error::Unreachable {
                url: url.to_string(),
                problem: "relays speak HTTPS only; use https://HOST:PORT".into(),
            });
        }
        let Some(host) = uri.host().map(|h| h.trim_matches(['[', ']']).to_string()) else {
            return Err(Error::Unreachable {
                url: url.to_string(),
                problem: "the URL has no host".into(),
            });
        };
        Ok(RelayClient {
            url: url.trim_end_matches('/').to_string(),
            host,
            port: uri.port_u16().unwrap_or(443),
            source: TrustSource::Fixed { tls, trust },
            expected,
            timeout: Duration::from_secs(600),
            lifetime: Duration::from_secs(3_600),
            pool: Arc::new(Mutex::new(Vec::new())),
            opened: Arc::new(AtomicU64::new(0)),
        })
    }

    /// A relay's client for a peer: like [`RelayClient::new`], with the
    /// trust in force at each request, and kept-alive connections that end
    /// when the CRLs change or after `lifetime`.
    pub fn for_peer(
        url: &str,
        live: Arc<LiveTrust>,
        expected: ExpectedRelay,
        lifetime: Duration,
    ) -> Result<RelayClient, Error> {
        let set = live.current();
        let mut client = RelayClient::new(
            url,
            set.client_tls.clone(),
            set.peer_trust.clone(),
            expected,
        )?;
        client.source = TrustSource::Live(live);
        client.lifetime = lifetime;
        Ok(client)
    }

    /// Sets the time allowed for one whole request.
    pub fn with_timeout(mut self, timeout: Duration) -> RelayClient {
        self.timeout = timeout;
        self
    }

    /// How many TLS connections this client and its clones have opened.
    pub fn connections_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// The relay's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn unreachable(&self, problem: impl std::fmt::Display) -> Error {
        Error::Unreachable {
            url: self.url.clone(),
            problem: problem.to_string(),
        }
    }

    /// One request on a new connection, for answers streamed to disk.
    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Body,
        content_type: &str,
    ) -> Result<hyper::Response<hyper::body::Incoming>, Error> {
        let (response, _connection) = self.exchange(method, path, body, content_type).await?;
        Ok(response)
    }

    /// One request, on a kept-alive connection when one is idle and still
    /// good (same trust generation, young enough), else on a new one. Give
    /// the connection back with [`RelayClient::give_back`] once the answer
    /// is read to its end.
    async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Body,
        content_type: &str,
    ) -> Result<(hyper::Response<hyper::body::Incoming>, Pooled), Error> {
        let (tls, trust, generation) = self.source.now();
        let idle = match self.take_idle(generation) {
            Some(mut pooled) => {
                // Ready once the connection has finished with the last answer.
                let ready =
                    tokio::time::timeout(Duration::from_secs(1), pooled.sender.ready()).await;
                matches!(ready, Ok(Ok(()))).then_some(pooled)
            }
            None => None,
        };
        let reused = idle.is_some();
        let mut connection = match idle {
            Some(pooled) => pooled,
            None => self.connect(tls.clone(), &trust, generation).await?,
        };
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.host.as_str())
            .header("content-type", content_type)
            .body(body)
            .map_err(|e| self.unreachable(e))?;
        let mut sent = self.send_on(&mut connection, request).await?;
        // A kept-alive connection the server closed meanwhile hands the
        // request back unsent: it goes once more, on a new connection.
        if reused {
            if let Err(mut unsent) = sent {
                match unsent.take_message() {
                    Some(request) => {
                        connection = self.connect(tls, &trust, generation).await?;
                        sent = self.send_on(&mut connection, request).await?;
                    }
                    None => return Err(self.unreachable("the kept-alive connection broke off")),
                }
            }
        }
        match sent {
            Ok(response) => Ok((response, connection)),
            Err(unsent) => {
                let e = unsent.into_error();
                if let Ok(Ok(Err(ended))) =
                    tokio::time::timeout(Duration::from_secs(2), &mut connection.ended).await
                {
                    if crate::tls_reason::explain(&ended).is_some() {
                        return Err(self.connection_failed(&ended));
                    }
                }
                Err(self.connection_failed(&e))
            }
        }
    }

    /// Sends on `connection` within the client's time limit; a request not
    /// sent at all comes back in the error.
    async fn send_on(
        &self,
        connection: &mut Pooled,
        request: Request<Body>,
    ) -> Result<
        Result<
            hyper::Response<hyper::body::Incoming>,
            hyper::client::conn::TrySendError<Request<Body>>,
        >,
        Error,
    > {
        tokio::time::timeout(self.timeout, connection.sender.try_send_request(request))
            .await
            .map_err(|_| self.unreachable("the request timed out"))
    }

    /// An idle connection of this generation, if one is still open.
    fn take_idle(&self, generation: u64) -> Option<Pooled> {
        let mut pool = match self.pool.lock() {
            Ok(pool) => pool,
            Err(poisoned) => poisoned.into_inner(),
        };
        while let Some(pooled) = pool.pop() {
            let good = pooled.generation == generation
                && pooled.opened.elapsed() < self.lifetime
                && pooled.idle_since.elapsed() < POOL_IDLE
                && !pooled.sender.is_closed();
            if good {
                return Some(pooled);
            }
        }
        None
    }

    /// Keeps a connection whose answer was read to its end, for the next
    /// request.
    fn give_back(&self, mut connection: Pooled) {
        if connection.sender.is_closed() {
            return;
        }
        connection.idle_since = Instant::now();
        let mut pool = match self.pool.lock() {
            Ok(pool) => pool,
            Err(poisoned) => poisoned.into_inner(),
        };
        if pool.len() < POOL_MAX {
            pool.push(connection);
        }
    }

    /// A new connection: TCP, TLS, the server checked as the expected relay.
    async fn connect(
        &self,
        tls: Arc<rustls::ClientConfig>,
        trust: &TrustStore,
        generation: u64,
    ) -> Result<Pooled, Error> {
        self.opened.fetch_add(1, Ordering::Relaxed);
        let server_name = ServerName::try_from(self.host.clone())
            .map_err(|e| self.unreachable(format!("bad host name: {e}")))?;
        let connect = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| self.unreachable(e))?;
            tcp.set_nodelay(true).map_err(|e| self.unreachable(e))?;
            let connector = tokio_rustls::TlsConnector::from(tls);
            connector
                .connect(server_name, tcp)
                .await
                .map_err(|e| self.connection_failed(&e))
        };
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| self.unreachable("connection timed out"))??;
        self.check_server(stream.get_ref().1.peer_certificates().unwrap_or(&[]), trust)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.connection_failed(&e))?;
        let (ended_tx, ended_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let ended = conn.await;
            if let Err(e) = &ended {
                tracing::debug!(error = %e, "client connection ended");
            }
            // Nobody may be waiting for why it ended.
            if ended_tx.send(ended).is_err() {
                tracing::trace!("connection ended after its client");
            }
        });
        let now = Instant::now();
        Ok(Pooled {
            sender,
            generation,
            opened: now,
            idle_since: now,
            ended: ended_rx,
        })
    }

    /// A connection or request that failed: with the TLS reason in words
    /// when there is one (an expired or revoked certificate on either side,
    /// an unknown CA), else the error itself.
    fn connection_failed(&self, e: &(dyn std::error::Error + 'static)) -> Error {
        match crate::tls_reason::explain(e) {
            Some(reason) => Error::TlsRefused {
                url: self.url.clone(),
                reason,
            },
            None => self.unreachable(e),
        }
    }

    /// Validates the server's certificate chain for the relay this client
    /// expects. The TLS handshake already checked it chains to a root and
    /// names the host; this adds what congvan's path validation knows: the
    /// relay role, the organization (and that its CA may issue for it),
    /// keyUsage and the CRLs. An impostor with some other certificate of
    /// the PKI gets nothing: not an upload, not a push, not a pull.
    fn check_server(
        &self,
        peer: &[rustls_pki_types::CertificateDer<'_>],
        trust: &TrustStore,
    ) -> Result<(), Error> {
        let impostor = |problem: String| Error::NotTheExpectedRelay {
            url: self.url.clone(),
            problem,
        };
        let leaf = peer
            .first()
            .ok_or_else(|| impostor("it presented no certificate".into()))?;
        let origin = std::path::Path::new("the server's certificate");
        let cert =
            Certificate::from_der(leaf.as_ref(), origin).map_err(|e| impostor(e.to_string()))?;
        let mut chain = Vec::with_capacity(peer.len().saturating_sub(1));
        for der in &peer[1..] {
            chain.push(
                Certificate::from_der(der.as_ref(), origin).map_err(|e| impostor(e.to_string()))?,
            );
        }
        let org = match &self.expected {
            ExpectedRelay::Org(org) => Some(org.clone()),
            ExpectedRelay::Serving(_) => None,
        };
        let purpose = Purpose {
            role: Some(Role::Relay),
            org,
        };
        trust
            .validate(&cert, &chain, &purpose, time::OffsetDateTime::now_utc())
            .map_err(|e| {
                impostor(format!(
                    "its certificate \"{}\" is not valid for it: {e}",
                    cert.display_name()
                ))
            })?;
        if let ExpectedRelay::Serving(office) = &self.expected {
            let serves = cert
                .org()
                .is_some_and(|relay_org| office.is_within(relay_org));
            if !serves {
                return Err(impostor(format!(
                    "it is the relay of {}, which does not serve {office} (name the relay's \
                     organization with --relay-org, or give the registry)",
                    cert.org()
                        .map_or("no organization".to_string(), |o| o.to_string())
                )));
            }
        }
        Ok(())
    }

    async fn read_body(
        &self,
        response: hyper::Response<hyper::body::Incoming>,
    ) -> Result<(StatusCode, hyper::HeaderMap, Bytes), Error> {
        self.read_body_limited(response, MAX_ANSWER).await
    }

    /// [`RelayClient::read_body`], for an answer of at most `max` bytes.
    async fn read_body_limited(
        &self,
        response: hyper::Response<hyper::body::Incoming>,
        max: usize,
    ) -> Result<(StatusCode, hyper::HeaderMap, Bytes), Error> {
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        let read = async {
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| self.connection_failed(&e))?;
                if let Ok(data) = frame.into_data() {
                    if bytes.len() + data.len() > max {
                        return Err(Error::Protocol {
                            url: self.url.clone(),
                            problem: format!("the answer is larger than {max} bytes"),
                        });
                    }
                    bytes.extend_from_slice(&data);
                }
            }
            Ok(())
        };
        tokio::time::timeout(self.timeout, read)
            .await
            .map_err(|_| self.unreachable("the answer timed out"))??;
        Ok((status, headers, Bytes::from(bytes)))
    }

    fn refused(&self, status: StatusCode, body: &[u8]) -> Error {
        let reason = serde_json::from_slice::<crate::api::Refusal>(body)
            .map(|r| r.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned());
        Error::Refused {
            url: self.url.clone(),
            status: status.as_u16(),
            reason,
        }
    }

    async fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Body,
    ) -> Result<T, Error> {
        let (response, connection) = self
            .exchange(method, path, body, "application/json")
            .await?;
        let (status, _, bytes) = self.read_body(response).await?;
        self.give_back(connection);
        if !status.is_success() {
            return Err(self.refused(status, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::Protocol {
            url: self.url.clone(),
            problem: e.to_string(),
        })
    }

    async fn call_empty(&self, method: Method, path: &str, body: Body) -> Result<(), Error> {
        let (response, connection) = self
            .exchange(method, path, body, "application/json")
            .await?;
        let (status, _, bytes) = self.read_body(response).await?;
        self.give_back(connection);
        if !status.is_success() {
            return Err(self.refused(status, &bytes));
        }
        Ok(())
    }

    /// Uploads a dispatch file, streaming it.
    pub async fn send_file(&self, path: &Path) -> Result<Accepted, Error> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Error::io(path, e))?;
        let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
        self.send_body(Body::from_stream(stream)).await
    }

    /// Uploads dispatch bytes.
    pub async fn send_bytes(&self, bytes: Bytes) -> Result<Accepted, Error> {
        self.send_body(Body::from(bytes)).await
    }

    async fn send_body(&self, body: Body) -> Result<Accepted, Error> {
        let (response, connection) = self
            .exchange(
                Method::POST,
                "/v1/dispatches",
                body,
                "application/vnd.congvan.dispatch+zip",
            )
            .await?;
        let (status, _, bytes) = self.read_body(response).await?;
        self.give_back(connection);
        if !status.is_success() {
            return Err(self.refused(status, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::Protocol {
            url: self.url.clone(),
            problem: e.to_string(),
        })
    }

    /// Uploads small dispatches in one request (see `batch.rs`): one
    /// outcome per item, in order. The items together must fit in
    /// [`crate::batch::MAX_BATCH_BYTES`] and number at most
    /// [`crate::batch::MAX_ITEMS`].
    pub async fn send_batch(&self, items: &[Bytes]) -> Result<Vec<ItemOutcome>, Error> {
        let size = items.iter().map(|i| crate::batch::frame_len(i.len())).sum();
        let mut body = Vec::with_capacity(size);
        for item in items {
            crate::batch::push_frame(&mut body, item);
        }
        let (response, connection) = self
            .exchange(
                Method::POST,
                "/v1/dispatches/batch",
                Body::from(body),
                crate::batch::BATCH_MEDIA_TYPE,
            )
            .await?;
        let (status, _, bytes) = self.read_body(response).await?;
        self.give_back(connection);
        if !status.is_success() {
            return Err(self.refused(status, &bytes));
        }
        let answer: BatchOutcome = serde_json::from_slice(&bytes).map_err(|e| Error::Protocol {
            url: self.url.clone(),
            problem: e.to_string(),
        })?;
        if answer.items.len() != items.len() {
            return Err(Error::Protocol {
                url: self.url.clone(),
                problem: format!(
                    "the answer to a batch of {} gave {} outcomes",
                    items.len(),
                    answer.items.len()
                ),
            });
        }
        Ok(answer.items)
    }

    /// Forwards a receipt towards the sender's relay.
    pub async fn send_receipt(&self, message: &ReceiptMessage) -> Result<(), Error> {
        let body = serde_json::to_vec(message).map_err(|e| self.unreachable(e))?;
        self.call_empty(Method::POST, "/v1/receipts", Body::from(body))
            .await
    }

    /// Sends figures reports to the parent relay; an outcome per report.
    pub async fn send_figures(
        &self,
        upload: &crate::api::FiguresUpload,
    ) -> Result<Vec<crate::api::FiguresOutcome>, Error> {
        let body = serde_json::to_vec(upload).map_err(|e| self.unreachable(e))?;
        self.call_json(Method::POST, "/v1/figures", Body::from(body))
            .await
    }

    /// The calling office's inbox.
    pub async fn inbox(&self) -> Result<Vec<InboxItem>, Error> {
        self.call_json(Method::GET, "/v1/inbox", Body::empty())
            .await
    }

    /// The whole inbox, with the dispatches whose recall the office agreed
    /// to (they have left the working inbox), for audit.
    pub async fn inbox_with_recalled(&self) -> Result<Vec<InboxItem>, Error> {
        self.call_json(Method::GET, "/v1/inbox?all=true", Body::empty())
            .await
    }

    /// The issuer's signed notices about a dispatch (its recall request),
    /// to be appended to the fetched file as receipts.
    pub async fn notices(&self, id: &str) -> Result<Vec<congvan_envelope::Jws>, Error> {
        self.call_json(
            Method::GET,
            &format!("/v1/dispatches/{id}/notices"),
            Body::empty(),
        )
        .await
    }

    /// The encryption certificate of `org` and its chain as the relay
    /// publishes them (PEM). Not trusted: the caller validates them.
    pub async fn encryption_certificate(&self, org: &congvan_org::OrgId) -> Result<Vec<u8>, Error> {
        let response = self
            .request(
                Method::GET,
                &format!("/v1/offices/{org}/encryption-certificate"),
                Body::empty(),
                "application/x-pem-file",
            )
            .await?;
        let (status, _, bytes) = self.read_body(response).await?;
        if !status.is_success() {
            return Err(self.refused(status, &bytes));
        }
        Ok(bytes.to_vec())
    }

    /// Downloads a dispatch into `out` (written whole, then renamed).
    pub async fn fetch(&self, id: &str, out: &Path) -> Result<u64, Error> {
        let response = self
            .request(
                Method::GET,
                &format!("/v1/dispatches/{id}"),
                Body::empty(),
                "application/json",
            )
            .await?;
        let status = response.status();
        if !status.is_success() {
            let (status, _, bytes) = self.read_body(response).await?;
            return Err(self.refused(status, &bytes));
        }
        // A new file of a random name beside `out` (never one planted
        // there), renamed into place once complete and synced.
        let file_name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let partial = out.with_file_name(format!(
            ".{file_name}.{:016x}.partial",
            crate::store::random_u64()
        ));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(|e| Error::io(&partial, e))?;
        let mut guard = RemoveUnlessKept(Some(partial.clone()));
        let total = self
            .stream_to(
                response,
                tokio::fs::File::from_std(file.try_clone().map_err(|e| Error::io(&partial, e))?),
                &partial,
                MAX_DISPATCH,
            )
            .await?;
        file.sync_all().map_err(|e| Error::io(&partial, e))?;
        tokio::fs::rename(&partial, out)
            .await
            .map_err(|e| Error::io(out, e))?;
        guard.0 = None;
        Ok(total)
    }

    /// Sends a recipient's signed status for a dispatch.
    pub async fn ack(&self, id: &str, ack: &Ack) -> Result<(), Error> {
        let body = serde_json::to_vec(ack).map_err(|e| self.unreachable(e))?;
        self.call_empty(
            Method::POST,
            &format!("/v1/dispatches/{id}/ack"),
            Body::from(body),
        )
        .await
    }

    /// The timeline of a dispatch this office sent.
    pub async fn track(&self, id: &str) -> Result<Vec<TrackEvent>, Error> {
        self.call_json(
            Method::GET,
            &format!("/v1/dispatches/{id}/track"),
            Body::empty(),
        )
        .await
    }

    /// Where a dispatch this office sent stands, recipient by recipient.
    pub async fn recipients(
        &self,
        id: &str,
    ) -> Result<Vec<crate::progress::RecipientProgress>, Error> {
        self.call_json(
            Method::GET,
            &format!("/v1/dispatches/{id}/recipients"),
            Body::empty(),
        )
        .await
    }

    /// Long-polls the parent for the next item queued for this relay. A
    /// dispatch is streamed into the file `temp` makes (at most
    /// `max_bytes`), never held in memory. `session` names this run of the
    /// pulling relay: a parent that sees a new one releases what an earlier
    /// run had leased and never confirmed (it crashed mid-pull).
    ///
    /// With `batch` above 1 the parent may answer with a run of up to that
    /// many small dispatches (at most [`crate::batch::MAX_BATCH_BYTES`] in
    /// all, held in memory).
    pub async fn pull(
        &self,
        wait_secs: u64,
        session: u64,
        batch: usize,
        max_bytes: u64,
        temp: &(dyn Fn() -> Result<(PathBuf, std::fs::File), Error> + Send + Sync),
    ) -> Result<Option<Pulled>, Error> {
        let batch = batch.clamp(1, crate::batch::MAX_ITEMS);
        let response = self
            .request(
                Method::GET,
                &format!("/v1/pull?wait={wait_secs}&session={session}&batch={batch}"),
                Body::empty(),
                "application/json",
            )
            .await?;
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        if !status.is_success() {
            let (status, _, bytes) = self.read_body(response).await?;
            return Err(self.refused(status, &bytes));
        }
        let protocol = |problem: &str| Error::Protocol {
            url: self.url.clone(),
            problem: problem.to_string(),
        };
        let kind = response
            .headers()
            .get(PULL_KIND_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // A single item names its sequence number in a header of its own; a
        // batch names each of its items' in one list, read with the batch.
        let seq = || {
            response
                .headers()
                .get(PULL_SEQ_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i64>().ok())
                .ok_or_else(|| protocol("a pulled item has no sequence number"))
        };
        match kind.as_deref() {
            Some("dispatch") => {
                let seq = seq()?;
                let (path, file) = temp()?;
                let mut guard = RemoveUnlessKept(Some(path.clone()));
                self.stream_to(response, tokio::fs::File::from_std(file), &path, max_bytes)
                    .await?;
                guard.0 = None;
                Ok(Some(Pulled::Dispatch { seq, path }))
            }
            Some("receipt") => {
                let seq = seq()?;
                let (_, _, bytes) = self.read_body(response).await?;
                let message =
                    serde_json::from_slice(&bytes).map_err(|e| protocol(&e.to_string()))?;
                Ok(Some(Pulled::Receipt { seq, message }))
            }
            Some("batch") => {
                let items = self.read_pulled_batch(response, batch).await?;
                Ok(Some(Pulled::Batch { items }))
            }
            _ => Err(protocol("a pulled item of unknown kind")),
        }
    }

    /// Reads a pulled batch: its queue positions from the header, its items
    /// from the frames of the body, one position per item, at most
    /// `asked` items and [`crate::batch::MAX_BATCH_BYTES`] bytes.
    async fn read_pulled_batch(
        &self,
        response: hyper::Response<hyper::body::Incoming>,
        asked: usize,
    ) -> Result<Vec<(i64, Vec<u8>)>, Error> {
        let protocol = |problem: String| Error::Protocol {
            url: self.url.clone(),
            problem,
        };
        let seqs = response
            .headers()
            .get(PULL_SEQS_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // Checked before the body is read: a list that cannot be right
        // is refused without taking up to 4 MiB from the parent.
        let seqs = batch_seqs(seqs.as_deref(), asked).map_err(protocol)?;
        let (_, _, bytes) = self
            .read_body_limited(response, crate::batch::MAX_BATCH_BYTES)
            .await?;
        pair_batch_items(seqs, &bytes).map_err(protocol)
    }

    /// Tells the parent what became of the items of a pulled batch, in one
    /// request: each is durable here, or refused for good with a reason.
    pub async fn pull_outcomes(&self, outcomes: &PullOutcomes) -> Result<(), Error> {
        let body = serde_json::to_vec(outcomes).map_err(|e| self.unreachable(e))?;
        self.call_empty(Method::POST, "/v1/pull/outcomes", Body::from(body))
            .await
    }

    /// Writes a response body into `file`, at most `max_bytes`.
    async fn stream_to(
        &self,
        response: hyper::Response<hyper::body::Incoming>,
        mut file: tokio::fs::File,
        path: &Path,
        max_bytes: u64,
    ) -> Result<u64, Error> {
        let mut body = response.into_body();
        let mut total = 0u64;
        while let Some(frame) = tokio::time::timeout(self.timeout, body.frame())
            .await
            .map_err(|_| self.unreachable("the download timed out"))?
        {
            let frame = frame.map_err(|e| self.connection_failed(&e))?;
            if let Ok(data) = frame.into_data() {
                total += data.len() as u64;
                if total > max_bytes {
                    return Err(Error::Protocol {
                        url: self.url.clone(),
                        problem: format!("the dispatch is larger than {max_bytes} bytes"),
                    });
                }
                file.write_all(&data)
                    .await
                    .map_err(|e| Error::io(path, e))?;
            }
        }
        file.flush().await.map_err(|e| Error::io(path, e))?;
        Ok(total)
    }

    /// Tells the parent this relay refused a pulled item for good (it will
    /// never be accepted here), so that the parent gives up on it and sends
    /// its sender a non-delivery notice, as for a refused push.
    pub async fn pull_refused(&self, seq: i64, reason: &str) -> Result<(), Error> {
        let body = serde_json::to_vec(&crate::api::Refusal {
            error: reason.to_string(),
        })
        .map_err(|e| self.unreachable(e))?;
        self.call_empty(
            Method::POST,
            &format!("/v1/pull/{seq}/refused"),
            Body::from(body),
        )
        .await
    }

    /// Confirms a pulled item is durable here, so the parent drops it.
    pub async fn pull_done(&self, seq: i64) -> Result<(), Error> {
        self.call_empty(Method::POST, &format!("/v1/pull/{seq}/done"), Body::empty())
            .await
    }
}

/// Removes a partly written file unless the download completed.
struct RemoveUnlessKept(Option<PathBuf>);

impl Drop for RemoveUnlessKept {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "could not remove a partial download");
            }
        }
    }
}

/// Reads a pulled batch's list of sequence numbers (`x-congvan-seqs`): one
/// per item, at most `asked`, none twice. The child reports on each item by
/// its number, so a number named twice would let one report stand for two
/// items, and a list longer than asked would let a parent overrun the batch
/// the child made room for.
fn batch_seqs(header: Option<&str>, asked: usize) -> Result<Vec<i64>, String> {
    let seqs: Vec<i64> = header
        .map(|v| v.split(',').map(str::parse).collect::<Result<_, _>>())
        .and_then(Result::ok)
        .ok_or_else(|| "a pulled batch has no valid list of sequence numbers".to_string())?;
    if seqs.is_empty() || seqs.len() > asked {
        return Err(format!(
            "a pulled batch of {} items, where at most {asked} were asked for",
            seqs.len()
        ));
    }
    let mut distinct = seqs.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != seqs.len() {
        return Err("a pulled batch names the same sequence number twice".to_string());
    }
    Ok(seqs)
}

/// Pairs each frame of a pulled batch's body with its sequence number, in
/// order; a body holding more or fewer items than the list names is refused
/// whole, since nothing would say which number belongs to which item.
fn pair_batch_items(seqs: Vec<i64>, body: &[u8]) -> Result<Vec<(i64, Vec<u8>)>, String> {
    let mut reader = crate::batch::FrameReader::default();
    let mut items = Vec::with_capacity(seqs.len());
    reader
        .feed(body, &mut |_| true, &mut |item| items.push(item))
        .and_then(|_| reader.finish())
        .map_err(|e| format!("not a valid pulled batch: {e}"))?;
    if items.len() != seqs.len() {
        return Err(format!(
            "a pulled batch names {} items and holds {}",
            seqs.len(),
            items.len()
        ));
    }
    Ok(seqs.into_iter().zip(items).collect())
}

#[cfg(test)]
mod pulled_batch_tests {
    use super::{batch_seqs, pair_batch_items};

    fn body(items: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        for item in items {
            crate::batch::push_frame(&mut body, item);
        }
        body
    }

    #[test]
    fn an_honest_batch_pairs_each_item_with_its_number() {
        let seqs = batch_seqs(Some("7,9,12"), 64).unwrap();
        let items = pair_batch_items(seqs, &body(&[b"a", b"b", b"c"])).unwrap();
        assert_eq!(
            items,
            vec![(7, b"a".to_vec()), (9, b"b".to_vec()), (12, b"c".to_vec())]
        );
    }

    #[test]
    fn a_hostile_parents_list_of_numbers_is_refused_before_its_body_is_read() {
        for (header, asked, words) in [
            (None, 64, "no valid list"),
            (Some(""), 64, "no valid list"),
            (Some("1,x,3"), 64, "no valid list"),
            (Some("1,,3"), 64, "no valid list"),
            (Some("1,2,3"), 2, "at most 2 were asked for"),
            (Some("5,6,5"), 64, "the same sequence number twice"),
        ] {
            let refused = batch_seqs(header, asked).unwrap_err();
            assert!(refused.contains(words), "{header:?}: {refused}");
        }
    }

    #[test]
    fn a_body_that_disagrees_with_its_list_is_refused_whole() {
        let too_few = pair_batch_items(vec![1, 2, 3], &body(&[b"a", b"b"])).unwrap_err();
        assert!(too_few.contains("names 3 items and holds 2"), "{too_few}");
        let too_many = pair_batch_items(vec![1], &body(&[b"a", b"b"])).unwrap_err();
        assert!(too_many.contains("names 1 items and holds 2"), "{too_many}");
        let mut cut = body(&[b"abcdef"]);
        cut.truncate(cut.len() - 2);
        let torn = pair_batch_items(vec![1], &cut).unwrap_err();
        assert!(torn.contains("not a valid pulled batch"), "{torn}");
    }
}
