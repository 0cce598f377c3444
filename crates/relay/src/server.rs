//! The HTTPS API: mutual TLS, timeouts against slow clients, and handlers.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use congvan_envelope::ArrivalDigest;
use congvan_org::OrgId;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

use crate::api::{Accepted, Ack, ReceiptMessage};
use crate::batch::{BatchOutcome, FrameReader, ItemOutcome, MAX_BATCH_BYTES};
use crate::caller::Caller;
use crate::connection_limits::PerKey;
use crate::ingest::{ingest_ack, ingest_all, ingest_dispatch, ingest_receipt, Outcome, Refusal};
use crate::metrics::Metrics;
use crate::peer_check::PeerCheck;
use crate::pull_serve;
use crate::state::RelayState;
use crate::upload::{Upload, MEMORY_UPLOAD_LIMIT};
use crate::Error;

/// Who the TLS handshake says is calling, or why they may not.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Result<Caller, String>);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(crate::api::Refusal { error: self.reason })).into_response()
    }
}

pub(crate) fn caller(auth: &Authenticated) -> Result<Caller, Refusal> {
    auth.0.clone().map_err(|reason| Refusal::new(403, reason))
}

/// The API routes.
pub fn routes(state: Arc<RelayState>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/dispatches", post(upload))
        .route("/v1/dispatches/batch", post(upload_batch))
        .route("/v1/receipts", post(receipt))
        .route("/v1/figures", post(figures))
        .route("/v1/inbox", get(inbox))
        .route("/v1/dispatches/{id}", get(fetch))
        .route("/v1/dispatches/{id}/ack", post(ack))
        .route("/v1/dispatches/{id}/track", get(track))
        .route("/v1/dispatches/{id}/notices", get(notices))
        .route("/v1/dispatches/{id}/recipients", get(recipients))
        .route(
            "/v1/offices/{org}/encryption-certificate",
            get(encryption_certificate),
        )
        .route("/v1/pull", get(pull_serve::pull))
        .route("/v1/pull/outcomes", post(pull_serve::outcomes))
        .route("/v1/pull/{seq}/done", post(pull_serve::done))
        .route("/v1/pull/{seq}/refused", post(pull_serve::refused))
        .with_state(state)
}

/// Serves HTTPS with mutual TLS on `listener` until `shutdown` turns true.
///
/// Connections are budgeted so that no one can take the relay's away
/// (`connection_limits.rs`): per IP address from the first byte, a small
/// budget of TLS handshakes with their own deadline, and only then one of
/// the connection slots, per certificate too. Request headers and bodies
/// have idle and total deadlines, so an authenticated caller that stops
/// talking loses its connection rather than holding it.
pub async fn serve(
    state: Arc<RelayState>,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), Error> {
    let limits = state.config.limits.clone();
    let handshakes = Arc::new(Semaphore::new(limits.max_handshakes));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = PerKey::<IpAddr>::new(limits.max_connections_per_address);
    let per_certificate = PerKey::<[u8; 32]>::new(limits.max_connections_per_certificate);
    let router = routes(state.clone());
    loop {
        let (tcp, peer_addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return Ok(()),
        };
        // Without it, Nagle holds back a small write (the rest of the TLS
        // flight, the session tickets, the answer) until the peer ACKs the
        // previous one, and the peer delays that ACK by up to 40 ms: seen as
        // ~30-40 ms stalls on most hops (examples/relay_load, part b).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%peer_addr, error = %e, "cannot set TCP_NODELAY");
        }
        let Some(from_address) = per_address.acquire(peer_addr.ip()) else {
            tracing::warn!(%peer_addr, "too many connections from this address; closing a new one");
            continue;
        };
        let Ok(handshake) = handshakes.clone().try_acquire_owned() else {
            tracing::warn!(%peer_addr, "too many TLS handshakes in progress; closing a new one");
            continue;
        };
        // The trust in force for this connection's handshake; later
        // requests are judged under whatever is in force then.
        let trust_set = state.live_trust.current();
        let acceptor = tokio_rustls::TlsAcceptor::from(trust_set.server_tls.clone());
        let router = router.clone();
        let state = state.clone();
        let slots = slots.clone();
        let per_certificate = per_certificate.clone();
        let header_timeout = Duration::from_secs(limits.header_timeout_secs);
        tokio::spawn(async move {
            let _from_address = from_address;
            let tls = match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::info!(%peer_addr, error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer_addr, "TLS handshake too slow; closed");
                    return;
                }
            };
            drop(handshake);
            let Ok(_slot) = slots.try_acquire_owned() else {
                tracing::warn!(%peer_addr, "too many connections; closing a new one");
                return;
            };
            let peer = {
                let (_, conn) = tls.get_ref();
                let certificates = conn
                    .peer_certificates()
                    .unwrap_or(&[])
                    .iter()
                    .map(|c| c.clone().into_owned())
                    .collect();
                Arc::new(PeerCheck::new(certificates, &trust_set))
            };
            drop(trust_set);
            let _per_certificate = match peer.fingerprint().map(|f| per_certificate.acquire(f)) {
                Some(None) => {
                    tracing::warn!(%peer_addr, "too many connections with one certificate; closing a new one");
                    return;
                }
                Some(Some(held)) => Some(held),
                None => None,
            };
            if let Err(reason) = peer.caller(&state.live_trust) {
                tracing::info!(%peer_addr, reason = %congvan_text::line(&reason), "caller not authorized");
            }
            let service = {
                let (peer, state) = (peer.clone(), state.clone());
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut req = req.map(Body::new);
                    // Judged at every request: a peer revoked since the
                    // handshake is refused now, not at its next connection.
                    req.extensions_mut()
                        .insert(Authenticated(peer.caller(&state.live_trust)));
                    req.extensions_mut().insert(peer.clone());
                    router.clone().oneshot(req)
                })
            };
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(tls), service);
            let mut conn = std::pin::pin!(conn);
            let mut reloads = state.live_trust.subscribe();
            let lifetime = tokio::time::sleep(Duration::from_secs(limits.connection_max_secs));
            let mut lifetime = std::pin::pin!(lifetime);
            let (mut closing, mut watching) = (false, true);
            let ended = loop {
                tokio::select! {
                    ended = conn.as_mut() => break ended,
                    // Watched while closing too: a request still running
                    // (a long-poll, a large upload) ends with the peer's
                    // revocation.
                    changed = reloads.changed(), if watching => {
                        if changed.is_err() {
                            watching = false;
                        } else if let Err(reason) = peer.caller(&state.live_trust) {
                            // Newly loaded lists refuse the peer: the
                            // connection ends now (a commit already under
                            // way runs to its end in its own task).
                            tracing::warn!(%peer_addr, reason = %congvan_text::line(&reason), "closing the connection of a peer the new CRLs refuse");
                            return;
                        }
                    }
                    _ = lifetime.as_mut(), if !closing => {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            };
            if let Err(e) = ended {
                tracing::debug!(%peer_addr, error = %e, "connection ended with an error");
            }
        });
    }
}

async fn health(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
) -> Result<Response, Refusal> {
    let caller = caller(&auth)?;
    Ok(Json(serde_json::json!({"relay": state.config.name, "org": state.config.org.to_string(), "caller": caller.org().to_string()})).into_response())
}

/// Who may upload: an office (checked further at ingest) or a configured
/// peer relay; any other relay is refused.
fn uploader(auth: &Authenticated, state: &RelayState) -> Result<Caller, Refusal> {
    let caller = caller(auth)?;
    if let Caller::Relay { org, .. } = &caller {
        if !state.is_peer(org) {
            return Err(Refusal::new(
                403,
                format!("relay {org} is not a configured peer of this relay"),
            ));
        }
    }
    Ok(caller)
}

/// An upload's own refusal (too large, too slow), counted; one that broke
/// off (400: the sender went away) refused nothing and is not.
fn counted_unless_broken_off(refusal: Refusal, state: &RelayState) -> Refusal {
    if refusal.status == 400 {
        refusal
    } else {
        refusal.counted(state)
    }
}

async fn upload(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    request: Request,
) -> Result<Response, Refusal> {
    let caller = match uploader(&auth, &state) {
        Ok(caller) => caller,
        Err(refusal) => return Err(refuse_unread(&state, request, refusal).await),
    };
    // Refusals from ingest are counted there (it also serves pulled
    // dispatches); these are the upload's own.
    let temp = receive_body(&state, request.into_body())
        .await
        .map_err(|r| counted_unless_broken_off(r, &state))?;
    // Ingest runs to the end in its own task: if the caller goes away while
    // the dispatch is being committed (a peer relay killed mid-transfer),
    // the commit still happens, and so must what follows it (the metrics,
    // waking the next hop's worker). Dropping the handler's future there
    // left a stored dispatch uncounted and its next hop unwoken.
    let (id, outcome) = {
        let state = state.clone();
        let caller = caller.clone();
        tokio::spawn(async move { ingest_dispatch(&state, &caller, temp).await })
            .await
            .map_err(|e| Refusal::new(500, format!("the ingest task failed: {e}")))??
    };
    let status = match outcome {
        Outcome::Accepted => "accepted",
        Outcome::Duplicate => "duplicate",
    };
    Ok(Json(Accepted {
        id,
        status: status.into(),
    })
    .into_response())
}

/// `POST /v1/dispatches/batch`: small dispatches from a peer relay (or an
/// office) in one request (`batch.rs`). Each item is ingested as an upload
/// of its own, all at once, so they are verified on every core and commit
/// together; the answer gives each item's outcome. A refusal of the whole
/// request is only for the request itself: not a peer, a malformed body,
/// or no memory to hold it (503, send again).
async fn upload_batch(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    request: Request,
) -> Result<Response, Refusal> {
    let caller = match uploader(&auth, &state) {
        Ok(caller) => caller,
        Err(refusal) => return Err(refuse_unread(&state, request, refusal).await),
    };
    let items = receive_batch(&state, request.into_body())
        .await
        .map_err(|r| counted_unless_broken_off(r, &state))?;
    let mut outcomes = Vec::with_capacity(items.len());
    for ingested in ingest_all(&state, &caller, items).await {
        let outcome = match ingested {
            Ok((id, outcome)) => ItemOutcome {
                id: Some(id),
                status: match outcome {
                    Outcome::Accepted => "accepted",
                    Outcome::Duplicate => "duplicate",
                }
                .into(),
                code: None,
                reason: None,
            },
            Err(refusal) => ItemOutcome {
                id: None,
                status: "refused".into(),
                code: Some(refusal.status),
                reason: Some(refusal.reason),
            },
        };
        outcomes.push(outcome);
    }
    Ok(Json(BatchOutcome { items: outcomes }).into_response())
}

/// Reads a batch body into its items, each held in memory within the
/// relay's budget for uploads, with the same time limits as an upload.
/// The next bytes of an upload's `body` (`what`: "upload" or "batch"),
/// none at its end; a body that stalls for `idle` or runs past `deadline`
/// is refused (408), one that broke off is answered 400.
async fn next_data(
    body: &mut Body,
    idle: Duration,
    deadline: tokio::time::Instant,
    what: &str,
) -> Result<Option<bytes::Bytes>, Refusal> {
    loop {
        let next = tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + idle),
            body.frame(),
        )
        .await;
        match next {
            Err(_) => {
                return Err(Refusal::new(
                    408,
                    format!("the {what} was too slow to arrive; send it again"),
                ))
            }
            Ok(None) => return Ok(None),
            Ok(Some(Err(e))) => {
                return Err(Refusal::new(400, format!("the {what} broke off: {e}")))
            }
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

async fn receive_batch(state: &RelayState, body: Body) -> Result<Vec<Upload>, Refusal> {
    let (idle, deadline) = upload_timeouts(&state.config.limits);
    let mut body = body;
    let mut reader = FrameReader::default();
    let mut reservations = Vec::new();
    let mut items = Vec::new();
    let mut total = 0usize;
    loop {
        let Some(data) = next_data(&mut body, idle, deadline, "batch").await? else {
            break;
        };
        total += data.len();
        if total > MAX_BATCH_BYTES {
            drain(&mut body, idle, deadline).await;
            return Err(Refusal::new(
                413,
                format!("the batch is larger than {MAX_BATCH_BYTES} bytes; send fewer at a time"),
            ));
        }
        let mut room = |len: usize| {
            let mut held = state.upload_memory.start();
            let granted = held.grow(len as u64);
            reservations.push(held);
            granted
        };
        let went_on = reader
            .feed(&data, &mut room, &mut |item| items.push(item))
            .map_err(|e| Refusal::new(422, format!("not a valid batch: {e}")))?;
        if !went_on {
            drain(&mut body, idle, deadline).await;
            return Err(Refusal::new(
                503,
                "this relay is holding as many uploads in memory as it may; send the batch \
                 again shortly, or its dispatches one by one",
            ));
        }
    }
    reader
        .finish()
        .map_err(|e| Refusal::new(422, format!("not a valid batch: {e}")))?;
    Ok(items
        .into_iter()
        .zip(reservations)
        .map(|(bytes, held)| Upload::Memory { bytes, held })
        .collect())
}

/// Receives a request body, enforcing the size limit, a per-chunk idle
/// timeout (slow senders) and a total time limit. A small dispatch stays in
/// memory; one larger than [`MEMORY_UPLOAD_LIMIT`], or one that finds the
/// relay's memory budget for uploads spent, is streamed into a temporary
/// file from that point on.
async fn receive_body(state: &RelayState, body: Body) -> Result<Upload, Refusal> {
    let limits = &state.config.limits;
    let mut memory: Vec<u8> = Vec::new();
    let mut held = state.upload_memory.start();
    // A spilled upload is hashed as it arrives, for the custody append.
    let mut spilled: Option<(tokio::fs::File, RemoveOnDrop, ArrivalDigest)> = None;
    let mut body = body;
    let (idle, deadline) = upload_timeouts(limits);
    let mut total = 0u64;
    loop {
        let Some(data) = next_data(&mut body, idle, deadline, "upload").await? else {
            break;
        };
        total += data.len() as u64;
        if total > limits.max_dispatch_bytes {
            drain(&mut body, idle, deadline).await;
            return Err(Refusal::new(
                413,
                format!(
                    "the dispatch is larger than this relay accepts ({} bytes)",
                    limits.max_dispatch_bytes
                ),
            ));
        }
        if spilled.is_none()
            && total <= MEMORY_UPLOAD_LIMIT
            && held.make_room(&mut memory, data.len())
        {
            memory.extend_from_slice(&data);
            continue;
        }
        if spilled.is_none() {
            let (path, file) = state.store.blobs().temp_file()?;
            let guard = RemoveOnDrop::new(path);
            Metrics::inc(&state.metrics.uploads_to_file);
            let mut file = tokio::fs::File::from_std(file);
            write_upload(&mut body, &mut file, &guard, &memory, idle, deadline).await?;
            let mut arrival = ArrivalDigest::new();
            arrival.update(&memory);
            memory = Vec::new();
            held = state.upload_memory.start(); // given back: the bytes are in the file
            spilled = Some((file, guard, arrival));
        }
        if let Some((file, guard, arrival)) = &mut spilled {
            write_upload(&mut body, file, guard, &data, idle, deadline).await?;
            arrival.update(&data);
        }
    }
    let Some((mut file, guard, arrival)) = spilled else {
        return Ok(Upload::Memory {
            bytes: memory,
            held,
        });
    };
    // Finish tokio's pending write; no fsync here. The upload as received is
    // never the durable copy: ingest rewrites the file to append the custody
    // receipt, and `Blobs::adopt` syncs it before the commit that refers to
    // it. An fsync here cost one unbatched disk flush per upload (measured
    // by examples/relay_load).
    if let Err(e) = file.flush().await {
        let e = Error::io(&guard.path, e);
        if crate::ingest::is_disk_full(&e) {
            return Err(Refusal::new(503, crate::ingest::DISK_FULL));
        }
        return Err(e.into());
    }
    drop(file);
    Ok(Upload::Spilled {
        path: guard.keep(),
        arrival: Box::new(arrival),
    })
}

/// Writes one piece of an upload to its temporary file. A full disk reads
/// the rest of the body, so that the sender hears why instead of a broken
/// connection.
async fn write_upload(
    body: &mut Body,
    file: &mut tokio::fs::File,
    guard: &RemoveOnDrop,
    data: &[u8],
    idle: std::time::Duration,
    deadline: tokio::time::Instant,
) -> Result<(), Refusal> {
    if let Err(e) = file.write_all(data).await {
        let e = Error::io(&guard.path, e);
        if crate::ingest::is_disk_full(&e) {
            tracing::warn!(error = %e, "the disk is full; refusing an upload");
            drain(body, idle, deadline).await;
            return Err(Refusal::new(503, crate::ingest::DISK_FULL));
        }
        return Err(e.into());
    }
    Ok(())
}

/// Largest receipt or acknowledgement body.
const SMALL_BODY_MAX: usize = 1024 * 1024;

/// Largest figures upload (at most `UPLOAD_REPORTS` reports).
const FIGURES_BODY_MAX: usize = 8 * 1024 * 1024;

/// Reads a small request body (a receipt, an acknowledgement) with the same
/// idle and total deadlines as an upload: a caller that starts a body and
/// goes quiet is cut off instead of holding its connection forever.
pub(crate) async fn small_body(
    state: &RelayState,
    body: Body,
    what: &str,
) -> Result<Vec<u8>, Refusal> {
    bounded_body(state, body, what, SMALL_BODY_MAX).await
}

/// [`small_body`] with a limit of `max` bytes.
async fn bounded_body(
    state: &RelayState,
    body: Body,
    what: &str,
    max: usize,
) -> Result<Vec<u8>, Refusal> {
    let limits = &state.config.limits;
    let idle = Duration::from_secs(limits.header_timeout_secs.max(1) * 3);
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(limits.header_timeout_secs.max(1) * 6);
    let mut body = body;
    let mut bytes = Vec::new();
    loop {
        let next = tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + idle),
            body.frame(),
        )
        .await;
        match next {
            Err(_) => {
                return Err(Refusal::new(
                    408,
                    format!("the {what} was too slow to arrive; send it again"),
                ))
            }
            Ok(None) => return Ok(bytes),
            Ok(Some(Err(e))) => {
                return Err(Refusal::new(400, format!("the {what} broke off: {e}")))
            }
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if bytes.len() + data.len() > max {
                        return Err(Refusal::new(
                            413,
                            format!("the {what} is larger than {max} bytes"),
                        ));
                    }
                    bytes.extend_from_slice(&data);
                }
            }
        }
    }
}

/// Most of an oversized upload read (and dropped) before answering 413.
const DRAIN_MAX: u64 = 16 * 1024 * 1024;

/// How long an upload may pause between frames, and when it must be done.
fn upload_timeouts(limits: &crate::config::LimitsConfig) -> (Duration, tokio::time::Instant) {
    let idle = Duration::from_secs(limits.header_timeout_secs.max(1) * 3);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(limits.body_timeout_secs);
    (idle, deadline)
}

/// A refusal decided before the upload was read: the upload is drained
/// first (see [`drain`]), so that the sender hears the refusal.
async fn refuse_unread(state: &RelayState, request: Request, refusal: Refusal) -> Refusal {
    let (idle, deadline) = upload_timeouts(&state.config.limits);
    drain(&mut request.into_body(), idle, deadline).await;
    refusal.counted(state)
}

/// Reads and discards what is left of a refused upload, up to `DRAIN_MAX`
/// bytes or the upload's time limits, so that the sender is reading when
/// the refusal comes: closing a connection with unread data resets it, and
/// the sender then sees a broken connection instead of the reason.
async fn drain(body: &mut Body, idle: Duration, deadline: tokio::time::Instant) {
    let mut drained = 0u64;
    while drained <= DRAIN_MAX {
        let next = tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + idle),
            body.frame(),
        )
        .await;
        match next {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    drained += data.len() as u64;
                }
            }
            _ => return,
        }
    }
}

/// A partial upload's file, removed on drop unless [`RemoveOnDrop::keep`]
/// hands it on.
struct RemoveOnDrop {
    path: PathBuf,
    armed: bool,
}

impl RemoveOnDrop {
    fn new(path: PathBuf) -> RemoveOnDrop {
        RemoveOnDrop { path, armed: true }
    }

    /// The file, no longer removed: its new owner removes or adopts it.
    fn keep(mut self) -> PathBuf {
        self.armed = false;
        std::mem::take(&mut self.path)
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e, "could not remove a partial upload");
            }
        }
    }
}

async fn figures(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    body: Body,
) -> Result<Response, Refusal> {
    let caller = caller(&auth)?;
    let bytes = bounded_body(&state, body, "figures upload", FIGURES_BODY_MAX).await?;
    let upload: crate::api::FiguresUpload = serde_json::from_slice(&bytes)
        .map_err(|e| Refusal::new(400, format!("bad figures upload: {e}")))?;
    let outcomes = crate::figure_reports::receive(&state, &caller, upload).await?;
    Ok(Json(outcomes).into_response())
}

async fn receipt(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    body: Body,
) -> Result<Response, Refusal> {
    let caller = caller(&auth)?;
    let bytes = small_body(&state, body, "receipt").await?;
    let message: ReceiptMessage = serde_json::from_slice(&bytes)
        .map_err(|e| Refusal::new(400, format!("bad receipt message: {e}")))?;
    ingest_receipt(&state, &caller, &message.dest, message.receipt).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn office(caller: &Caller) -> Result<String, Refusal> {
    match caller {
        Caller::Office { org } => Ok(org.to_string()),
        Caller::Relay { .. } => Err(Refusal::new(
            403,
            "this is for offices; connect with an office certificate",
        )),
    }
}

/// `GET /v1/inbox[?all=true]`: the working inbox, or with `all` also the
/// dispatches whose recall the office agreed to.
#[derive(Debug, Default, serde::Deserialize)]
struct InboxQuery {
    #[serde(default)]
    all: bool,
}

async fn inbox(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    Query(query): Query<InboxQuery>,
) -> Result<Response, Refusal> {
    let office = office(&caller(&auth)?)?;
    refuse_unserved(&state, &office)?;
    let items = if query.all {
        state.store.inbox_with_recalled(&office)?
    } else {
        state.store.inbox(&office)?
    };
    Ok(Json(items).into_response())
}

/// An office asking a relay that does not serve it is told so, and where
/// its inbox is kept, rather than shown an inbox that is always empty.
fn refuse_unserved(state: &RelayState, office: &str) -> Result<(), Refusal> {
    let org = OrgId::parse(office).map_err(|e| Refusal::new(403, e.to_string()))?;
    if state.router.serves(&org) {
        return Ok(());
    }
    let registry = state.router.registry();
    let elsewhere = match registry.serving_relay(&org) {
        Some(relay) => format!("the registry names {relay} as its relay; connect there"),
        None => "the registry names no relay for it".to_string(),
    };
    Err(Refusal::new(
        404,
        format!(
            "relay {} does not serve {office}, so it keeps no inbox for it: {elsewhere}",
            state.config.name
        ),
    ))
}

async fn fetch(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let office = office(&caller(&auth)?)?;
    let Some(record) = state.store.visible_to(&office, &id)? else {
        return Err(Refusal::new(
            404,
            format!("dispatch {id} is not in the inbox of {office}"),
        ));
    };
    blob_response(&state, &record.blob, HeaderMap::new()).await
}

/// The issuer's signed notices about a dispatch the caller may see (its
/// recall request), to join to the fetched file as receipts.
/// An office's encryption certificate and its chain (PEM), for a sender
/// of a secret dispatch, who validates them with its own trust store: the
/// relay only passes on what the CA published.
async fn encryption_certificate(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    Path(org): Path<String>,
) -> Result<Response, Refusal> {
    caller(&auth)?;
    let org = OrgId::parse(&org).map_err(|e| Refusal::new(400, e.to_string()))?;
    use crate::encryption_certificates::{published_encryption_certificate, Published};
    let pem = match published_encryption_certificate(&state.config, &org)? {
        Published::Pem(pem) => pem,
        Published::NoFolder => {
            return Err(Refusal::new(
                404,
                "this relay publishes no encryption certificates (encryption_certificates in \
                 its configuration); ask the office's CA for its encryption certificate",
            ))
        }
        Published::NotFound => {
            return Err(Refusal::new(
                404,
                format!("this relay holds no encryption certificate of {org}"),
            ))
        }
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/x-pem-file")],
        pem,
    )
        .into_response())
}

async fn notices(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let office = office(&caller(&auth)?)?;
    if state.store.visible_to(&office, &id)?.is_none() {
        return Err(Refusal::new(
            404,
            format!("dispatch {id} is not in the inbox of {office}"),
        ));
    }
    let mut out = Vec::new();
    for text in state.store.issuer_notices(&id)? {
        let jws: congvan_envelope::Jws =
            serde_json::from_str(&text).map_err(|e| Refusal::new(500, e.to_string()))?;
        out.push(jws);
    }
    Ok(Json(out).into_response())
}

pub(crate) async fn blob_response(
    state: &RelayState,
    sha256: &str,
    mut headers: HeaderMap,
) -> Result<Response, Refusal> {
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/vnd.congvan.dispatch+zip"),
    );
    match state.store.blob(sha256)? {
        Some(Some(bytes)) => Ok((headers, bytes).into_response()),
        Some(None) => {
            let path = state.store.blobs().path(sha256);
            let file = tokio::fs::File::open(&path)
                .await
                .map_err(|e| Error::io(&path, e))?;
            let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
            Ok((headers, Body::from_stream(stream)).into_response())
        }
        None => Err(Refusal::new(
            410,
            "the dispatch file is no longer kept here",
        )),
    }
}

async fn ack(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, Refusal> {
    let caller = caller(&auth)?;
    let bytes = small_body(&state, body, "acknowledgement").await?;
    let ack: Ack =
        serde_json::from_slice(&bytes).map_err(|e| Refusal::new(400, format!("bad ack: {e}")))?;
    ingest_ack(&state, &caller, &id, ack.receipt).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn track(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let office = office(&caller(&auth)?)?;
    let record = state.store.dispatch(&id)?;
    match record {
        Some(r) if r.sender == office => {
            let mut events = state.store.events(&id)?;
            // Not a receipt: derived from the later dispatch's signed
            // metadata, which relays accept only from the same issuer.
            for later in state.store.superseded_by(&id)? {
                let noticed = events
                    .iter()
                    .any(|e| e.kind == "superseded" && e.description.contains(&later.id));
                if noticed {
                    continue;
                }
                let time = state
                    .store
                    .dispatch(&later.id)?
                    .and_then(|d| {
                        time::OffsetDateTime::from_unix_timestamp_nanos(
                            i128::from(d.received_at) * 1_000_000,
                        )
                        .ok()
                    })
                    .map(congvan_envelope::receipt_time)
                    .unwrap_or_default();
                events.push(crate::store::TrackEvent {
                    kind: "superseded".into(),
                    time,
                    actor: r.sender.clone(),
                    code: None,
                    description: format!(
                        "{} dispatch {} (its metadata says so; no notice from the issuer yet)",
                        if later.kind == "updates" {
                            "updated by"
                        } else {
                            "replaced by"
                        },
                        later.id
                    ),
                    receipt: String::new(),
                });
            }
            Ok(Json(events).into_response())
        }
        _ => Err(Refusal::new(
            404,
            format!("{office} sent no dispatch {id} through this relay"),
        )),
    }
}

/// Where a dispatch the caller sent stands for each recipient.
async fn recipients(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let office = office(&caller(&auth)?)?;
    match state.store.dispatch(&id)? {
        Some(r) if r.sender == office => {
            let sender = OrgId::parse(&r.sender).map_err(Error::from)?;
            Ok(Json(crate::progress::recipient_progress(&state, &id, &sender)?).into_response())
        }
        _ => Err(Refusal::new(
            404,
            format!("{office} sent no dispatch {id} through this relay"),
        )),
    }
}
