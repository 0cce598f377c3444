//! Accepting a dispatch or a receipt: verify, authorize, store durably, route.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use congvan_envelope::{
    append_receipt_in_place, make_receipt, parse_receipt, receipt_appended_bytes, receipt_time,
    verify_dispatch, verify_receipt, verify_sealed, Envelope, FileDigest, Indication, Jws, Opened,
    SealedEnvelope, Speaker, Statement,
};
use congvan_org::OrgId;
use rusqlite::{params, OptionalExtension, Transaction};
use time::OffsetDateTime;

use crate::caller::Caller;
use crate::metrics::Metrics;
use crate::routing::Route;
use crate::state::RelayState;
use crate::store::{BlobRef, INLINE_BLOB_LIMIT};
use crate::upload::Upload;
use crate::Error;

/// Why a request was refused, with the HTTP status that says so.
#[derive(Debug)]
pub struct Refusal {
    /// HTTP status code.
    pub status: u16,
    /// The reason, for the caller.
    pub reason: String,
}

impl Refusal {
    pub(crate) fn new(status: u16, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
        }
    }
}

impl Refusal {
    /// Counts a refused dispatch in the `rejected` metric (a refusal for
    /// something the sender did; not this relay's own failures, 5xx) and
    /// passes the refusal on.
    pub(crate) fn counted(self, state: &RelayState) -> Refusal {
        if (400..500).contains(&self.status) {
            Metrics::inc(&state.metrics.rejected);
        }
        self
    }
}

impl From<Error> for Refusal {
    /// This relay's own failures, as the caller should see them: 503 (try
    /// again later) with what happened in general words, never an internal
    /// path; the details go to the operator's log. What the caller did
    /// wrong is not an [`Error`] but a [`Refusal::new`].
    fn from(e: Error) -> Refusal {
        match &e {
            Error::Envelope(congvan_envelope::Error::Refused(reason)) => {
                Refusal::new(422, reason.clone())
            }
            e if is_disk_full(e) => {
                tracing::warn!(error = %e, "the disk is full");
                Refusal::new(503, DISK_FULL)
            }
            Error::Io { .. } | Error::Store(_) | Error::CommitFailed => {
                tracing::error!(error = %e, "relay failure while handling a request");
                Refusal::new(
                    503,
                    "the relay could not store this; nothing was kept, try again later",
                )
            }
            Error::ShuttingDown => Refusal::new(503, e.to_string()),
            _ => {
                tracing::error!(error = %e, "relay failure while handling a request");
                Refusal::new(503, "the relay failed while handling this; try again later")
            }
        }
    }
}

/// What a caller is told when this relay's disk is full.
pub(crate) const DISK_FULL: &str = "the relay's disk is full; nothing was kept, try again later";

/// True when `e` (or the I/O error inside it) says there is no space left.
pub(crate) fn is_disk_full(e: &Error) -> bool {
    let io = match e {
        Error::Io { source, .. } => Some(source),
        Error::Envelope(congvan_envelope::Error::Io { source, .. }) => Some(source),
        _ => None,
    };
    io.is_some_and(|io| {
        io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(28)
    }) || matches!(e, Error::Store(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::DiskFull)
}

/// What became of an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// New, stored durably, routed.
    Accepted,
    /// Already held; nothing changed (idempotent receive).
    Duplicate,
}

/// What the store made of a verified dispatch.
enum Recorded {
    /// New, recorded and routed.
    New,
    /// This version was recorded first (a race of two uploads).
    Duplicate,
    /// Another version was recorded first: a conflict.
    OtherVersion,
}

/// How many receipts a dispatch must still have room for when an office
/// hands it to its relay: one per relay on the longest route through the
/// tree and back, with margin. Later relays need room only for their own.
pub(crate) const RECEIPT_RESERVE: usize = 16;

/// Accepts the dispatch `upload` from `caller`. An upload in a file is
/// consumed: adopted as a blob, or removed.
///
/// Refused, with a reason, and nothing stored: a dispatch that does not
/// verify, an office sending as another office or not served here, and a
/// recipient the registry does not know.
pub async fn ingest_dispatch(
    state: &Arc<RelayState>,
    caller: &Caller,
    upload: Upload,
) -> Result<(String, Outcome), Refusal> {
    let mut guard = TempGuard(upload.file().map(Path::to_path_buf));
    let prepared = {
        let state = state.clone();
        let caller = caller.clone();
        tokio::task::spawn_blocking(move || prepare(&state, &caller, upload))
            .await
            .map_err(|e| Refusal::new(500, format!("verification task failed: {e}")))?
    }
    .map_err(|refusal| refusal.counted(state))?;
    let prepared = match prepared {
        Prepared::Duplicate(id) => {
            Metrics::inc(&state.metrics.duplicates);
            return Ok((id, Outcome::Duplicate));
        }
        Prepared::New(p) => p,
    };
    // Large: the upload's file becomes the content-addressed blob, synced
    // before the commit that refers to it. (A small one's file, if it came
    // in one, stays in the guard, which removes it once the commit holds
    // its bytes; one received in memory never had a file.) If the commit then does
    // not record it (another upload of the same dispatch won, or the
    // commit failed), the adopted file is removed again: nothing refers to
    // it. A crash in between leaves it for the sweep at start.
    let adopted = match (&prepared.blob, guard.0.take()) {
        (BlobRef::File, Some(path)) => {
            state.store.blobs().adopt(&path, &prepared.blob_sha256)?;
            Some(prepared.blob_sha256.clone())
        }
        (BlobRef::File, None) => {
            // `prepare` keeps an upload held in memory inline: a file blob
            // without a file would be recorded with nothing at its address.
            return Err(Refusal::new(
                500,
                "the relay lost track of the upload's file; nothing was kept, send it again",
            ));
        }
        (BlobRef::Inline(_), path) => {
            guard.0 = path;
            None
        }
    };
    let id = prepared.id.clone();
    let hops = prepared.hops();
    let local_count = prepared.local.len();
    let router = state.router.clone();
    let my_name = state.config.name.clone();
    let outcome = state
        .writer
        .write(move |txn| record_dispatch(txn, &prepared, &router, &my_name))
        .await;
    drop(guard); // an inline upload is in the database now; remove the file
    if let Some(sha256) = &adopted {
        if !matches!(outcome, Ok(Recorded::New)) {
            state.store.remove_blob_if_unreferenced(sha256)?;
        }
    }
    let outcome = match outcome? {
        Recorded::New => Outcome::Accepted,
        Recorded::Duplicate => Outcome::Duplicate,
        Recorded::OtherVersion => return Err(another_version(&id).counted(state)),
    };
    match outcome {
        Outcome::Accepted => {
            Metrics::inc(&state.metrics.accepted);
            for _ in 0..local_count {
                Metrics::inc(&state.metrics.delivered);
            }
            for hop in hops {
                state.wake(&hop);
            }
            tracing::info!(dispatch = %id, "accepted");
        }
        Outcome::Duplicate => Metrics::inc(&state.metrics.duplicates),
    }
    Ok((id, outcome))
}

/// Ingests the items of a batch (pushed to this relay, or pulled by it),
/// all at once, so that they are verified on every core and commit
/// together; each item's result is what its own upload would have had, in
/// order. Every item runs to its end in its own task, as a single upload
/// does: a sender that goes away does not cut a commit short. An item
/// larger than this relay takes is refused as its own upload would be.
pub async fn ingest_all(
    state: &Arc<RelayState>,
    caller: &Caller,
    items: Vec<Upload>,
) -> Vec<Result<(String, Outcome), Refusal>> {
    let max = state.config.limits.max_dispatch_bytes;
    let tasks: Vec<_> = items
        .into_iter()
        .map(|upload| {
            let state = state.clone();
            let caller = caller.clone();
            tokio::spawn(async move {
                match &upload {
                    Upload::Memory { bytes, .. } if bytes.len() as u64 > max => Err(Refusal::new(
                        413,
                        format!("the dispatch is larger than this relay accepts ({max} bytes)"),
                    )
                    .counted(&state)),
                    _ => ingest_dispatch(&state, &caller, upload).await,
                }
            })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(match task.await {
            Ok(result) => result,
            Err(e) => Err(Refusal::new(500, format!("the ingest task failed: {e}"))),
        });
    }
    results
}

/// Removes an upload unless ownership moved on.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            if path.exists() {
                if let Err(e) = std::fs::remove_file(&path) {
                    tracing::warn!(path = %path.display(), error = %e, "could not remove a refused upload");
                }
            }
        }
    }
}

/// The result of the blocking part of ingest.
enum Prepared {
    /// Already held.
    Duplicate(String),
    /// Verified and ready to record.
    New(Box<NewDispatch>),
}

/// A verified dispatch ready to be recorded.
struct NewDispatch {
    id: String,
    blob: BlobRef,
    blob_sha256: String,
    blob_size: u64,
    manifest_sha256: String,
    sender: OrgId,
    number: String,
    subject: String,
    urgency: u8,
    secret: bool,
    due: Option<String>,
    now_ms: i64,
    expires_ms: i64,
    local: Vec<OrgId>,
    forwarded: Vec<(OrgId, String)>,
    /// The custody receipt as stored (its JSON), made off the writer
    /// thread: every commit goes through that one thread.
    custody_json: String,
    custody_digest: String,
    custody_time: String,
    custody_text: String,
    relay_org: String,
    sender_name: String,
    created_ms: i64,
    notify: bool,
    /// The earlier dispatch this one replaces or updates, and how.
    supersedes: Option<(String, String)>,
    /// Whether it carries both an official's signature and the office's
    /// seal; `None` when the relay cannot see (a secret dispatch).
    signed_and_sealed: Option<bool>,
    /// The upload's place in the relay's memory budget, when it came in
    /// memory; given back once the record is written.
    held: Option<crate::upload::Reservation>,
}

impl NewDispatch {
    fn hops(&self) -> Vec<String> {
        let mut hops: Vec<String> = self
            .forwarded
            .iter()
            .map(|(_, h)| h.clone())
            .filter(|h| h != crate::folder_gateway::EDXML_ROUTE)
            .collect();
        hops.sort();
        hops.dedup();
        hops
    }
}

/// How an upload is named in what the sender is told.
const UPLOAD_LABEL: &str = "the upload";

/// The CPU and file work of ingest, on a blocking thread.
fn prepare(state: &RelayState, caller: &Caller, upload: Upload) -> Result<Prepared, Refusal> {
    // The archive's own mimetype says which kind of dispatch this is.
    let (opened, file, held, arrival) = match upload {
        Upload::Memory { bytes, held } => (
            Opened::from_bytes(bytes, Path::new(UPLOAD_LABEL)),
            None,
            Some(held),
            None,
        ),
        Upload::File(path) => (Opened::open(&path), Some(path), None, None),
        Upload::Spilled { path, arrival } => (Opened::open(&path), Some(path), None, Some(arrival)),
    };
    let file = file.as_deref().map(|path| UploadFile {
        path,
        arrival: arrival.as_deref(),
    });
    let opened = opened
        .map_err(|e| Refusal::new(422, format!("not a valid dispatch: {}", told(&e, file))))?;
    let mut prepared = match opened {
        Opened::Dispatch(envelope) => prepare_clear(state, caller, file, *envelope),
        Opened::Sealed(sealed) => prepare_sealed(state, caller, file, *sealed),
    }?;
    // The bytes stay in memory, inline, until the commit: so does their
    // place in the budget.
    if let (Prepared::New(new), Some(held)) = (&mut prepared, held) {
        new.held = Some(held);
    }
    Ok(prepared)
}

/// An upload's temporary file and, when it was hashed as it arrived, that
/// digest.
#[derive(Clone, Copy)]
struct UploadFile<'a> {
    path: &'a Path,
    arrival: Option<&'a congvan_envelope::ArrivalDigest>,
}

/// `problem` as the sender is told it: naming the upload, not the
/// relay's temporary file.
fn told(problem: &dyn std::fmt::Display, file: Option<UploadFile<'_>>) -> String {
    let text = problem.to_string();
    match file {
        Some(file) => text.replace(&file.path.display().to_string(), UPLOAD_LABEL),
        None => text,
    }
}

/// The ingest of a dispatch in clear.
fn prepare_clear(
    state: &RelayState,
    caller: &Caller,
    file: Option<UploadFile<'_>>,
    mut envelope: Envelope,
) -> Result<Prepared, Refusal> {
    let metadata = envelope.metadata().clone();
    let id = metadata.id.clone();
    // Who answers for it here: its issuer, or the gateway office that
    // sealed a copy of a dispatch from outside congvan.
    let sender = metadata.responsible_office().clone();

    check_sender(state, caller, &sender, &metadata.from.id)?;
    // A secret dispatch crosses relays only encrypted: one in clear would
    // leave its subject and content in every relay's store.
    if let Some(secrecy) = metadata.secrecy {
        return Err(Refusal::new(
            422,
            format!(
                "dispatch {id} is marked {} but is not encrypted: a secret dispatch travels \
                 only sealed for its recipients (`congvan send` encrypts it by itself; or \
                 `congvan dispatch encrypt`)",
                secrecy.name()
            ),
        ));
    }

    // A copy taken in from outside congvan, from any caller, relays
    // included: only an office the registry names as a gateway makes such
    // copies, and never of a dispatch in the name of an office on congvan.
    if let Some(origin) = &metadata.details.origin {
        let registry = state.router.registry();
        if !registry.is_gateway(&origin.gateway) {
            return Err(Refusal::new(
                403,
                format!(
                    "dispatch {id} says office {} took it in from outside congvan, but the \
                     registry does not name {} as an edXML gateway (gateway = true)",
                    origin.gateway, origin.gateway
                ),
            ));
        }
        if registry.get(&metadata.from.id).is_some_and(|o| !o.external) {
            return Err(Refusal::new(
                403,
                format!(
                    "{} is an office on congvan: its dispatches come from it, signed, not as \
                     a gateway's copy",
                    metadata.from.id
                ),
            ));
        }
    }

    check_receipt_room(caller, envelope.receipt_room(), envelope.receipts())?;

    let now = OffsetDateTime::now_utc();
    let report = verify_dispatch(&mut envelope, &state.trust(), now, &mut |_| {})
        .map_err(|e| Refusal::new(422, format!("cannot verify: {}", told(&e, file))))?;
    admit(&report)?;
    let signed_and_sealed = signed_and_sealed(&report);
    let manifest_sha256 = congvan_envelope::sha256_hex(envelope.manifest_bytes());
    if let Some(duplicate) = already_held(state, &id, &manifest_sha256)? {
        return Ok(duplicate);
    }

    // Only the issuer of a dispatch may replace or update it: the earlier
    // dispatch, when this relay holds it, must have the same sender.
    let supersedes = match &metadata.details.supersedes {
        Some(s) => {
            if let Some(earlier) = state.store.dispatch(&s.id)? {
                if earlier.sender != sender.to_string() {
                    return Err(Refusal::new(
                        403,
                        format!(
                            "dispatch {id} says it {} dispatch {}, which {} issued, not {sender}; \
                             only the issuer of a dispatch can replace or update it",
                            s.kind.name(),
                            s.id,
                            earlier.sender
                        ),
                    ));
                }
            }
            Some((s.id.clone(), s.kind.name().to_string()))
        }
        None => None,
    };

    let to: Vec<OrgId> = metadata.to.iter().map(|o| o.id.clone()).collect();
    let (local, forwarded) = route_recipients(
        state,
        &to,
        metadata.urgency == congvan_envelope::metadata::Urgency::HoaTocHenGio,
        metadata.secrecy.is_some(),
    )?;

    let signatures = envelope.signatures().to_vec();
    let mut held = None;
    let custody = take_custody(state, &id, &manifest_sha256, &signatures, now, |jws| {
        keep_with_receipt(state, &mut envelope, jws, file, &mut held)
    })?;
    drop(envelope);

    let blob = custody.blob;
    let (blob_size, blob_sha256) = (custody.written.size, custody.written.sha256.clone());
    let now_ms = unix_ms(now);
    let urgency = metadata.urgency.code();
    let expiry_secs = state.config.delivery.expiry_secs[usize::from(urgency.min(4))];
    Ok(Prepared::New(Box::new(NewDispatch {
        id,
        blob,
        blob_sha256,
        blob_size,
        manifest_sha256,
        sender,
        number: metadata.number.clone(),
        subject: metadata.subject.clone(),
        urgency,
        secret: metadata.secrecy.is_some(),
        due: metadata.due.map(|d| d.to_string()),
        now_ms,
        expires_ms: now_ms + (expiry_secs as i64) * 1000,
        local,
        forwarded,
        custody_json: custody.json,
        custody_digest: custody.digest,
        custody_time: custody.time,
        custody_text: custody.text,
        relay_org: state.config.org.to_string(),
        sender_name: metadata.from.name.clone(),
        created_ms: OffsetDateTime::parse(
            &metadata.created_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_or(now_ms, unix_ms),
        notify: state.config.mail.is_some(),
        supersedes,
        signed_and_sealed: Some(signed_and_sealed),
        held,
    })))
}

/// True when a verified dispatch carries both an official's signature and
/// the issuing office's seal (the provinces' figure of "ký số và đóng dấu").
fn signed_and_sealed(report: &congvan_envelope::VerificationReport) -> bool {
    use congvan_envelope::SignatureRole;
    let has = |role| report.signatures.iter().any(|s| s.role == Some(role));
    has(SignatureRole::Signer) && has(SignatureRole::Seal)
}

/// A container a custody receipt is appended to: in its file, or as new
/// bytes when it was read from memory. Both kinds of dispatch are.
trait ReceiptTarget {
    /// In the upload's own file, in place (see
    /// [`congvan_envelope::append_receipt_in_place`]).
    fn append_in_file(
        &mut self,
        jws: &Jws,
        arrival: Option<&congvan_envelope::ArrivalDigest>,
    ) -> Result<FileDigest, congvan_envelope::Error>;
    fn append_in_memory(
        &mut self,
        jws: &Jws,
    ) -> Result<(Vec<u8>, FileDigest), congvan_envelope::Error>;
}

impl ReceiptTarget for Envelope {
    fn append_in_file(
        &mut self,
        jws: &Jws,
        arrival: Option<&congvan_envelope::ArrivalDigest>,
    ) -> Result<FileDigest, congvan_envelope::Error> {
        append_receipt_in_place(self, jws, arrival).map(|(_, digest)| digest)
    }
    fn append_in_memory(
        &mut self,
        jws: &Jws,
    ) -> Result<(Vec<u8>, FileDigest), congvan_envelope::Error> {
        receipt_appended_bytes(self, jws).map(|(_, bytes, digest)| (bytes, digest))
    }
}

impl ReceiptTarget for SealedEnvelope {
    fn append_in_file(
        &mut self,
        jws: &Jws,
        arrival: Option<&congvan_envelope::ArrivalDigest>,
    ) -> Result<FileDigest, congvan_envelope::Error> {
        self.append_receipt_in_place(jws, arrival)
            .map(|(_, digest)| digest)
    }
    fn append_in_memory(
        &mut self,
        jws: &Jws,
    ) -> Result<(Vec<u8>, FileDigest), congvan_envelope::Error> {
        self.receipt_appended_bytes(jws)
            .map(|(_, bytes, digest)| (bytes, digest))
    }
}

/// Appends the custody receipt where the upload is, and says how the
/// result is kept: an upload in memory stays inline; one in `file` goes
/// by [`blob_of`].
fn keep_with_receipt(
    state: &RelayState,
    target: &mut impl ReceiptTarget,
    jws: &Jws,
    file: Option<UploadFile<'_>>,
    held: &mut Option<crate::upload::Reservation>,
) -> Result<(BlobRef, FileDigest), Refusal> {
    match file {
        Some(file) => {
            let written = target
                .append_in_file(jws, file.arrival)
                .map_err(Error::from)?;
            Ok((blob_of(state, file.path, &written, held)?, written))
        }
        None => {
            let (bytes, written) = target.append_in_memory(jws).map_err(Error::from)?;
            Ok((BlobRef::Inline(bytes), written))
        }
    }
}

/// A small file is kept in memory for the database; a large one stays a
/// file and becomes the blob. So does a small one when the relay's memory
/// budget for uploads is spent: the bytes would wait for the commit
/// uncounted (`held` carries the bytes' place in the budget otherwise).
/// (An upload received in memory is kept inline:
/// [`crate::upload::MEMORY_UPLOAD_LIMIT`] leaves room for the custody
/// receipt under the inline limit.)
fn blob_of(
    state: &RelayState,
    temp: &Path,
    written: &FileDigest,
    held: &mut Option<crate::upload::Reservation>,
) -> Result<BlobRef, Refusal> {
    if written.size > INLINE_BLOB_LIMIT {
        return Ok(BlobRef::File);
    }
    let mut reservation = state.upload_memory.start();
    if !reservation.grow(written.size) {
        return Ok(BlobRef::File);
    }
    let bytes = std::fs::read(temp).map_err(|e| Error::io(temp, e))?;
    if bytes.len() as u64 != written.size {
        return Err(Error::io(
            temp,
            std::io::Error::other("the file changed while it was being stored"),
        )
        .into());
    }
    *held = Some(reservation);
    Ok(BlobRef::Inline(bytes))
}

/// The ingest of a sealed (secret) dispatch: what a relay can check
/// without reading it. The sender office's seal over the outer manifest
/// (who sent it), the routing header (where it goes), the JWE's form (the
/// routing header is its additional data, the ciphertext has the declared
/// size). The relay keeps the ciphertext, and its listings and notices
/// carry no number or subject: it has none.
fn prepare_sealed(
    state: &RelayState,
    caller: &Caller,
    file: Option<UploadFile<'_>>,
    mut sealed: SealedEnvelope,
) -> Result<Prepared, Refusal> {
    congvan_secret::check_structure(&sealed).map_err(|e| {
        Refusal::new(
            422,
            format!("not a valid sealed dispatch: {}", told(&e, file)),
        )
    })?;
    let routing = sealed.routing().clone();
    let id = routing.id.clone();
    check_sender(state, caller, &routing.from, &routing.from)?;
    check_receipt_room(caller, sealed.receipt_room(), sealed.receipts())?;

    let now = OffsetDateTime::now_utc();
    let report = verify_sealed(&sealed, &state.trust(), now)
        .map_err(|e| Refusal::new(422, format!("cannot verify: {}", told(&e, file))))?;
    admit(&report)?;
    let manifest_sha256 = congvan_envelope::sha256_hex(sealed.manifest_bytes());
    if let Some(duplicate) = already_held(state, &id, &manifest_sha256)? {
        return Ok(duplicate);
    }
    let (local, forwarded) = route_recipients(
        state,
        &routing.to,
        routing.urgency == congvan_envelope::metadata::Urgency::HoaTocHenGio,
        true,
    )?;
    let signatures = sealed.signatures().to_vec();
    let mut held = None;
    let custody = take_custody(state, &id, &manifest_sha256, &signatures, now, |jws| {
        keep_with_receipt(state, &mut sealed, jws, file, &mut held)
    })?;
    drop(sealed);
    let blob = custody.blob;

    // Opening checked both times of the routing header.
    let bad_time = |e: congvan_envelope::Error| Refusal::new(422, e.to_string());
    let created_ms = unix_ms(routing.created().map_err(bad_time)?);
    let now_ms = unix_ms(now);
    let urgency = routing.urgency.code();
    let expiry_secs = state.config.delivery.expiry_secs[usize::from(urgency.min(4))];
    let mut expires_ms = now_ms + (expiry_secs as i64) * 1000;
    // The sender's own expiry, when earlier, is honoured.
    if let Some(until) = routing.expires().map_err(bad_time)? {
        expires_ms = expires_ms.min(unix_ms(until));
    }
    Ok(Prepared::New(Box::new(NewDispatch {
        id,
        blob,
        blob_sha256: custody.written.sha256.clone(),
        blob_size: custody.written.size,
        manifest_sha256,
        sender: routing.from.clone(),
        // A relay knows neither: they are inside, encrypted.
        number: String::new(),
        subject: String::new(),
        urgency,
        secret: true,
        due: None,
        now_ms,
        expires_ms,
        local,
        forwarded,
        custody_json: custody.json,
        custody_digest: custody.digest,
        custody_time: custody.time,
        custody_text: custody.text,
        relay_org: state.config.org.to_string(),
        // Office codes only: the routing header carries no names.
        sender_name: routing.from.to_string(),
        created_ms,
        notify: state.config.mail.is_some(),
        supersedes: None,
        signed_and_sealed: None,
        held,
    })))
}

/// Lets a dispatch in only when it verified PASSED. A relay whose CRL is
/// out of date answers 503: not the dispatch's fault, and the sender
/// retries; a current CRL lets it through.
fn admit(report: &congvan_envelope::VerificationReport) -> Result<(), Refusal> {
    if report.sub_indication == Some(congvan_envelope::SubIndication::TryLater) {
        return Err(Refusal::new(
            503,
            format!(
                "this relay cannot decide revocation now: {}",
                report.summary
            ),
        ));
    }
    if report.indication != Indication::Passed {
        let sub = report.sub_indication.map_or("", |s| s.name());
        return Err(Refusal::new(
            422,
            format!(
                "verification {} {sub}: {}",
                report.indication.name(),
                report.summary
            ),
        ));
    }
    Ok(())
}

/// A dispatch already held: a duplicate when it is the same version.
/// Asked only after verification, so a forged copy of a dispatch already
/// held is refused rather than answered "duplicate"; a genuine other
/// version (another manifest under the same id) is a conflict.
fn already_held(
    state: &RelayState,
    id: &str,
    manifest_sha256: &str,
) -> Result<Option<Prepared>, Refusal> {
    match state.store.dispatch(id)? {
        Some(held) if held.manifest_sha256 != manifest_sha256 => Err(another_version(id)),
        Some(_) => Ok(Some(Prepared::Duplicate(id.to_string()))),
        None => Ok(None),
    }
}

/// This relay's custody of a dispatch, signed and appended to the file it
/// keeps.
struct Custody {
    /// The receipt, as JSON.
    json: String,
    digest: String,
    time: String,
    text: String,
    /// The dispatch as kept, with the receipt appended.
    blob: BlobRef,
    /// Its size and SHA-256.
    written: FileDigest,
}

/// Signs the custody receipt over `manifest_sha256` and the signatures,
/// and appends it with `append` (in the upload's file, or to bytes in
/// memory). No fsync here: a small dispatch becomes
/// durable in the batch commit, a large one when it is adopted as a blob
/// (synced before its commit). The blob address, the SHA-256 of the file
/// kept, is taken as the file is written, so a large dispatch is not read
/// again for it.
fn take_custody(
    state: &RelayState,
    id: &str,
    manifest_sha256: &str,
    signatures: &[congvan_envelope::StoredJws],
    now: OffsetDateTime,
    append: impl FnOnce(&Jws) -> Result<(BlobRef, FileDigest), Refusal>,
) -> Result<Custody, Refusal> {
    let mut digests = Vec::with_capacity(signatures.len());
    for stored in signatures {
        digests.push(
            stored
                .jws
                .signature_digest(&stored.entry)
                .map_err(|e| Refusal::new(422, e.to_string()))?,
        );
    }
    let time = receipt_time(now);
    let statement = Statement::Custody {
        dispatch_id: id.to_string(),
        manifest_sha256: manifest_sha256.to_string(),
        signatures: digests,
        relay: state.config.org.clone(),
        relay_name: state.config.name.clone(),
        time: time.clone(),
    };
    let text = statement.describe();
    let mut jws = make_receipt(&statement, &state.credential).map_err(Error::from)?;
    if let Some(url) = custody_tsa(state) {
        stamp_custody(state, url, id, &mut jws);
    }
    let (blob, written) = append(&jws)?;
    let digest = receipt_key(&statement, &jws)?;
    let json = serde_json::to_string(&jws).map_err(|e| Error::Protocol {
        url: "local".into(),
        problem: e.to_string(),
    })?;
    Ok(Custody {
        json,
        digest,
        time,
        text,
        blob,
        written,
    })
}

/// The authority that timestamps custody receipts, when configured.
fn custody_tsa(state: &RelayState) -> Option<&str> {
    state
        .config
        .timestamping
        .as_ref()
        .filter(|t| t.custody)
        .map(|t| t.tsa.as_str())
}

/// How long ingress waits for a custody timestamp.
const CUSTODY_TIMESTAMP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Adds a timestamp from `url` over the custody receipt's signature. Runs
/// on a blocking thread of the runtime (ingress prepares there). A failure
/// is logged and the receipt stays unstamped: traffic does not wait on the
/// authority, and the day's batch timestamp still covers the dispatch.
fn stamp_custody(state: &RelayState, url: &str, id: &str, jws: &mut Jws) {
    // A flood of uploads must not become a flood of the authority, nor
    // hold every blocking thread: past a few stamps at once, the rest go
    // unstamped (the day's batch timestamp still covers them).
    let Ok(_slot) = CUSTODY_STAMPS.try_acquire() else {
        tracing::debug!(dispatch = %id, "custody receipt not timestamped: the authority is busy");
        return;
    };
    let imprint = congvan_envelope::signature_timestamp_imprint(jws);
    let trust = state.trust();
    let asked = congvan_tsa::request_token(url, &imprint, &trust);
    let outcome = tokio::runtime::Handle::current()
        .block_on(async { tokio::time::timeout(CUSTODY_TIMESTAMP_WAIT, asked).await });
    let unstamped = |why: &str| {
        tracing::warn!(dispatch = %id, problem = %congvan_text::line(why), "custody receipt not timestamped");
    };
    let token = match outcome {
        Ok(Ok((token, _))) => token,
        Ok(Err(e)) => return unstamped(&e.to_string()),
        Err(_) => return unstamped("the authority did not answer in time"),
    };
    // A token the size of a file would make the receipt one no reader
    // takes, and the dispatch with it.
    if token.len() > MAX_CUSTODY_TOKEN {
        return unstamped(&format!("a token of {} bytes", token.len()));
    }
    let unstamped_jws = jws.clone();
    if let Err(e) = congvan_envelope::add_signature_timestamp(jws, &token) {
        return unstamped(&e.to_string());
    }
    // What every verifier will check of it (a token dated before the
    // receipt, from clocks apart, would make it invalid and break the
    // custody chain): checked here, or the receipt goes unstamped.
    match congvan_envelope::verify_receipt(jws, "custody", &state.trust()) {
        Ok(verified) if verified.timestamp.is_some() => {}
        Ok(_) => {
            *jws = unstamped_jws;
            unstamped("the authority is not trusted by this relay");
        }
        Err(e) => {
            *jws = unstamped_jws;
            unstamped(&e.to_string());
        }
    }
}

/// Custody stamps asked for at once, at most.
static CUSTODY_STAMPS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(8);

/// The largest custody token kept (a P-256 token with its chain is 2-3 KB).
const MAX_CUSTODY_TOKEN: usize = 16 * 1024;

/// An office may only send as itself, and only through its own relay; a
/// gateway office also sends the copies it sealed of dispatches from
/// offices outside congvan (never in the name of an office on it).
fn check_sender(
    state: &RelayState,
    caller: &Caller,
    sender: &OrgId,
    issuer: &OrgId,
) -> Result<(), Refusal> {
    if let Caller::Office { org } = caller {
        if org != sender {
            return Err(Refusal::new(
                403,
                format!("this office ({org}) may not send a dispatch issued by {issuer}"),
            ));
        }
        if !state.router.serves(org) {
            return Err(Refusal::new(
                403,
                format!("office {org} is not served by this relay; send through its own relay"),
            ));
        }
    }
    Ok(())
}

/// Room for this relay's custody receipt, and from the first relay for the
/// whole route: a dispatch the next hop could not take is refused here,
/// now, with the reason, rather than stuck there.
fn check_receipt_room(
    caller: &Caller,
    room: usize,
    receipts: &[congvan_envelope::StoredJws],
) -> Result<(), Refusal> {
    let needed = match caller {
        Caller::Office { .. } => RECEIPT_RESERVE,
        Caller::Relay { .. } => 1,
    };
    if room < needed {
        return Err(Refusal::new(
            422,
            format!(
                "the dispatch has room for {room} more receipt(s), and its route needs {needed}: \
                 it carries {} receipts, numbered up to {}",
                receipts.len(),
                receipts.iter().map(|r| r.number).max().unwrap_or(0)
            ),
        ));
    }
    Ok(())
}

/// Where each recipient goes from here: delivered locally, or queued for a
/// hop (a child or parent relay, or the edXML gateway for an office outside
/// congvan, which never takes an appointed-time or secret dispatch).
#[allow(clippy::type_complexity)]
fn route_recipients(
    state: &RelayState,
    to: &[OrgId],
    appointed: bool,
    secret: bool,
) -> Result<(Vec<OrgId>, Vec<(OrgId, String)>), Refusal> {
    let mut local = Vec::new();
    let mut forwarded = Vec::new();
    for recipient in to {
        match state.router.route(recipient) {
            Some(Route::Local) => local.push(recipient.clone()),
            Some(Route::Hop(hop)) => forwarded.push((recipient.clone(), hop)),
            // An office the registry lists as outside congvan: it leaves as
            // edXML from the relay that runs the gateway, and travels up
            // towards it from the others.
            None if state.router.registry().is_external(recipient) => {
                if appointed {
                    return Err(Refusal::new(
                        422,
                        format!(
                            "recipient {} is outside congvan, and edXML cannot carry the \
                             appointed time of urgency 4 (Hỏa tốc hẹn giờ)",
                            recipient
                        ),
                    ));
                }
                if secret {
                    return Err(Refusal::new(
                        422,
                        format!(
                            "recipient {} is outside congvan, and a secret dispatch does not \
                             leave congvan as edXML, which carries it in clear",
                            recipient
                        ),
                    ));
                }
                let route = match (&state.config.edxml, &state.config.parent) {
                    (Some(_), _) => crate::folder_gateway::EDXML_ROUTE.to_string(),
                    (None, Some(parent)) => parent.name.clone(),
                    (None, None) => {
                        return Err(Refusal::new(
                            422,
                            format!(
                                "recipient {} is outside congvan, and neither this relay nor \
                                 one above it runs the edXML gateway ([edxml])",
                                recipient
                            ),
                        ))
                    }
                };
                forwarded.push((recipient.clone(), route));
            }
            None => {
                return Err(Refusal::new(
                    422,
                    format!(
                        "recipient {} is unknown to the registry or unreachable from this relay",
                        recipient
                    ),
                ));
            }
        }
    }

    Ok((local, forwarded))
}

/// The refusal of another version of a dispatch already held.
fn another_version(id: &str) -> Refusal {
    Refusal::new(
        409,
        format!(
            "another version of dispatch {id} is already held here (a different manifest under \
             the same id); a dispatch is never replaced in place: issue the change as a new \
             dispatch"
        ),
    )
}

/// Records an accepted dispatch in one savepoint of the batch.
fn record_dispatch(
    txn: &Transaction<'_>,
    p: &NewDispatch,
    router: &crate::routing::Router,
    my_name: &str,
) -> Result<Recorded, Error> {
    let held: Option<String> = txn
        .query_row(
            "SELECT manifest_sha256 FROM dispatches WHERE id = ?1",
            params![p.id],
            |r| r.get(0),
        )
        .optional()?;
    match held {
        Some(manifest) if manifest == p.manifest_sha256 => return Ok(Recorded::Duplicate),
        Some(_) => return Ok(Recorded::OtherVersion),
        None => {}
    }
    let data = match &p.blob {
        BlobRef::Inline(bytes) => Some(bytes.as_slice()),
        BlobRef::File => None,
    };
    txn.prepare_cached("INSERT OR IGNORE INTO blobs (sha256, size, data) VALUES (?1, ?2, ?3)")?
        .execute(params![p.blob_sha256, p.blob_size as i64, data])?;
    txn.prepare_cached("INSERT INTO dispatches (id, blob, manifest_sha256, sender, number, subject, urgency, secret, due, received_at, sender_name, created_at, sealed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")?.execute(params![p.id, p.blob_sha256, p.manifest_sha256, p.sender.to_string(), p.number, p.subject, p.urgency, p.secret, p.due, p.now_ms, p.sender_name, p.created_ms, p.signed_and_sealed])?;
    for office in &p.local {
        txn.prepare_cached("INSERT INTO recipients (dispatch_id, org, route, state) VALUES (?1, ?2, 'local', 'delivered')")?.execute(params![p.id, office.to_string()])?;
        txn.prepare_cached(
            "INSERT OR IGNORE INTO inbox (office, dispatch_id, delivered_at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![office.to_string(), p.id, p.now_ms])?;
        if p.notify {
            crate::notices::queue_arrival(txn, &p.id, &office.to_string(), p.now_ms)?;
        }
    }
    if let Some((earlier, kind)) = &p.supersedes {
        txn.prepare_cached("INSERT OR IGNORE INTO supersessions (old_id, new_id, kind, sender) VALUES (?1, ?2, ?3, ?4)")?.execute(params![earlier, p.id, kind, p.sender.to_string()])?;
    }
    for (office, hop) in &p.forwarded {
        txn.prepare_cached(
            "INSERT INTO recipients (dispatch_id, org, route, state) VALUES (?1, ?2, ?3, 'queued')",
        )?
        .execute(params![p.id, office.to_string(), hop])?;
        if hop == crate::folder_gateway::EDXML_ROUTE {
            // Written out by the gateway, not sent to a relay.
            continue;
        }
        txn.prepare_cached("INSERT OR IGNORE INTO outbox (kind, ref, hop, urgency, created_at, expires_at, next_attempt_at)
             VALUES ('dispatch', ?1, ?2, ?3, ?4, ?5, 0)")?.execute(params![p.id, hop, p.urgency, p.now_ms, p.expires_ms])?;
    }
    crate::message_log::append(txn, "dispatch", &p.id, &p.manifest_sha256, p.now_ms)?;
    route_receipt_in(
        txn,
        router,
        &ReceiptRow {
            digest: p.custody_digest.clone(),
            dispatch_id: p.id.clone(),
            dest: p.sender.clone(),
            kind: "custody".into(),
            office: p.relay_org.clone(),
            mail: None,
            time: p.custody_time.clone(),
            actor: my_name.to_string(),
            code: None,
            description: p.custody_text.clone(),
            jws: p.custody_json.clone(),
            urgency: p.urgency,
            now_ms: p.now_ms,
        },
    )?;
    Ok(Recorded::New)
}

/// A receipt on its way to the sender's relay, or arrived there.
pub(crate) struct ReceiptRow {
    pub digest: String,
    pub dispatch_id: String,
    pub dest: OrgId,
    pub kind: String,
    /// Who made the statement: the recipient office for a status, the relay for the rest.
    pub office: String,
    /// What to tell the sender's clerks by e-mail, when mail is on.
    pub mail: Option<crate::notices::MailHint>,
    pub time: String,
    pub actor: String,
    pub code: Option<String>,
    pub description: String,
    pub jws: String,
    pub urgency: u8,
    pub now_ms: i64,
}

/// Records a receipt as a timeline event when its destination office is
/// served here, or queues it towards that office. Idempotent by digest.
/// Returns the hop it was queued for, if any.
pub(crate) fn route_receipt_in(
    txn: &Transaction<'_>,
    router: &crate::routing::Router,
    row: &ReceiptRow,
) -> Result<Option<String>, Error> {
    if router.route(&row.dest).is_some() {
        crate::message_log::append(txn, "receipt", &row.dispatch_id, &row.digest, row.now_ms)?;
    }
    match router.route(&row.dest) {
        Some(Route::Local) => {
            let new = txn.prepare_cached("INSERT OR IGNORE INTO events (digest, dispatch_id, kind, office, time, actor, code, description, jws)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?.execute(params![row.digest, row.dispatch_id, row.kind, row.office, row.time, row.actor, row.code, row.description, row.jws])?;
            if let (true, Some(hint)) = (new > 0, &row.mail) {
                crate::notices::queue_event_notice(txn, row, hint)?;
            }
            Ok(None)
        }
        Some(Route::Hop(hop)) => {
            let new = txn.prepare_cached("INSERT OR IGNORE INTO messages (digest, dispatch_id, dest, jws, received_at) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(params![row.digest, row.dispatch_id, row.dest.to_string(), row.jws, row.now_ms])?;
            if new > 0 {
                txn.prepare_cached("INSERT OR IGNORE INTO outbox (kind, ref, hop, urgency, created_at, expires_at, next_attempt_at)
                     VALUES ('receipt', ?1, ?2, ?3, ?4, ?5, 0)")?.execute(params![row.digest, hop, row.urgency, row.now_ms, i64::MAX])?;
            }
            Ok(Some(hop))
        }
        None => {
            tracing::warn!(dispatch = %row.dispatch_id, dest = %row.dest, "receipt for an office with no route; dropped");
            Ok(None)
        }
    }
}

/// The key a receipt is stored and deduplicated by. A status counts once per
/// (office, dispatch, code): an office that acknowledges twice, or re-signs
/// the same status, changes nothing and triggers no second notice. Any other
/// receipt is keyed by its statement's bytes, not its signature's: the same
/// statement signed twice (or a malleated copy) is the same receipt.
pub(crate) fn receipt_key(statement: &Statement, jws: &Jws) -> Result<String, Refusal> {
    let text = match statement {
        Statement::Status {
            dispatch_id,
            by,
            code,
            ..
        } => format!("status\n{dispatch_id}\n{by}\n{}", code.code()),
        _ => {
            let payload = jws
                .payload_bytes("receipt")
                .map_err(|e| Refusal::new(400, e.to_string()))?;
            return Ok(congvan_envelope::sha256_hex(&payload));
        }
    };
    Ok(congvan_envelope::sha256_hex(text.as_bytes()))
}

/// Accepts a receipt travelling back to a sender from a peer relay.
///
/// Who may say what: only a configured peer sends receipts; only about a
/// dispatch this relay handled and handed to that peer; only towards the
/// dispatch's stored sender, about its stored manifest. A status must come
/// from a recipient this relay reached through that peer; a custody or
/// non-delivery receipt from a relay that can be on the dispatch's route
/// through that peer (above the sender, or above a recipient reached through
/// it). Anything else is refused, so a relay elsewhere in the PKI cannot
/// write into another office's timeline or trigger its mail.
pub async fn ingest_receipt(
    state: &Arc<RelayState>,
    caller: &Caller,
    dest: &str,
    jws: Jws,
) -> Result<(), Refusal> {
    let Caller::Relay { org: peer_org, .. } = caller else {
        return Err(Refusal::new(
            403,
            "only relays forward receipts; offices use /ack",
        ));
    };
    let Some(hop) = state.peer_name(peer_org) else {
        return Err(Refusal::new(
            403,
            format!("relay {peer_org} is not a configured peer of this relay"),
        ));
    };
    let dest = OrgId::parse(dest).map_err(|e| Refusal::new(400, e.to_string()))?;
    let verified = verify_receipt(&jws, "receipt", &state.trust()).map_err(receipt_refused)?;
    let statement = &verified.statement;
    let id = statement.dispatch_id();
    let record = state.store.dispatch(id)?.ok_or_else(|| {
        Refusal::new(
            404,
            format!(
                "this relay never handled dispatch {id}: receipts travel back only along a \
                 dispatch's route"
            ),
        )
    })?;
    if dest.to_string() != record.sender {
        return ingest_recall_from_peer(state, hop.to_string(), dest, &record, &jws, &verified)
            .await;
    }
    if statement.manifest_sha256() != record.manifest_sha256 {
        return Err(Refusal::new(
            422,
            format!("the receipt is about another version of dispatch {id}"),
        ));
    }
    let reached: Vec<OrgId> = state
        .store
        .recipients_via(id, hop)?
        .iter()
        .filter_map(|o| OrgId::parse(o).ok())
        .collect();
    if reached.is_empty() {
        return Err(Refusal::new(
            403,
            format!(
                "this relay did not hand dispatch {id} to relay {hop}, so it cannot report on it"
            ),
        ));
    }
    let sender = OrgId::parse(&record.sender).map_err(Error::from)?;
    let on_route =
        |relay: &OrgId| sender.is_within(relay) || reached.iter().any(|r| r.is_within(relay));
    match statement {
        // Travelling back to the sender, only recipients' statements: an
        // issuer's notice (13, superseded) never comes from a recipient.
        _ if statement.is_issuer_notice() => {
            return Err(Refusal::new(
                403,
                format!(
                    "a {} about dispatch {id} is its issuer's to send, and travels to its \
                     recipients, not back to it",
                    statement.kind()
                ),
            ));
        }
        Statement::Status { by, .. } if !reached.contains(by) => {
            return Err(Refusal::new(
                403,
                format!("{by} is not a recipient of dispatch {id} reached through relay {hop}"),
            ));
        }
        Statement::Custody { relay, .. } if !on_route(relay) => {
            return Err(Refusal::new(
                403,
                format!(
                    "relay {relay} cannot be on the route of dispatch {id} through relay {hop}"
                ),
            ));
        }
        Statement::NonDelivery {
            relay, undelivered, ..
        } if !on_route(relay) || undelivered.iter().any(|o| !reached.contains(o)) => {
            return Err(Refusal::new(
                403,
                format!(
                    "relay {relay} cannot report non-delivery of dispatch {id} for those \
                     recipients through relay {hop}"
                ),
            ));
        }
        _ => {}
    }
    let row = receipt_row(state, &jws, verified.clone(), dest, record.urgency)?;
    store_receipt(state, row).await
}

/// An issuer's notice forwarded towards a recipient. Only the issuer's
/// recall request (13) and supersession notice travel that way, only to a recipient of the dispatch, and only
/// from the peer on the route towards the issuer.
async fn ingest_recall_from_peer(
    state: &Arc<RelayState>,
    hop: String,
    dest: OrgId,
    record: &crate::store::DispatchRecord,
    jws: &Jws,
    verified: &congvan_envelope::VerifiedReceipt,
) -> Result<(), Refusal> {
    let id = &record.id;
    let issuer_notice = verified.statement.is_issuer_notice()
        && verified.statement.required_signer().1.to_string() == record.sender;
    if !issuer_notice {
        return Err(Refusal::new(
            422,
            format!(
                "receipts about dispatch {id} go back to its sender {}, not {dest}; only its \
                 issuer's notices (a recall request, what supersedes it) travel to recipients",
                record.sender
            ),
        ));
    }
    if !state.store.recipient_orgs(id)?.contains(&dest.to_string()) {
        return Err(Refusal::new(
            422,
            format!("{dest} is not a recipient of dispatch {id}"),
        ));
    }
    let sender = OrgId::parse(&record.sender).map_err(Error::from)?;
    if state.router.route(&sender) != Some(Route::Hop(hop.clone())) {
        return Err(Refusal::new(
            403,
            format!(
                "relay {hop} is not on the route towards {sender}, so it cannot pass on \
                 {sender}'s recall request"
            ),
        ));
    }
    if verified.statement.manifest_sha256() != record.manifest_sha256 {
        return Err(Refusal::new(
            422,
            format!("the recall request is about another version of dispatch {id}"),
        ));
    }
    let row = receipt_row(state, jws, verified.clone(), dest, record.urgency)?;
    store_receipt(state, row).await
}

/// Accepts a status (ack) from a recipient office for a dispatch in its inbox.
pub async fn ingest_ack(
    state: &Arc<RelayState>,
    caller: &Caller,
    dispatch_id: &str,
    jws: Jws,
) -> Result<(), Refusal> {
    let Caller::Office { org } = caller else {
        return Err(Refusal::new(
            403,
            "only a recipient office can acknowledge a dispatch",
        ));
    };
    let record = state.store.dispatch(dispatch_id)?;
    // The issuer's notices go to its recipients. The issuer may also be a
    // recipient (a gateway office that took in a dispatch addressed to
    // itself): its other statuses are a recipient's.
    // (An unreadable receipt is no notice; it is refused below, with why.)
    let issuer_notice = parse_receipt(&jws, "receipt")
        .map(|(_, _, statement, _)| statement.is_issuer_notice())
        .unwrap_or(false);
    let in_inbox = state.store.in_inbox(&org.to_string(), dispatch_id)?;
    if let Some(record) = record.as_ref().filter(|r| r.sender == org.to_string()) {
        if issuer_notice || !in_inbox {
            return ingest_issuer_notice(state, org, record, jws).await;
        }
    }
    if !in_inbox {
        return Err(Refusal::new(
            404,
            format!("dispatch {dispatch_id} is not in the inbox of {org}"),
        ));
    }
    let record = record.ok_or_else(|| Refusal::new(404, "no such dispatch"))?;
    let sender = OrgId::parse(&record.sender).map_err(Error::from)?;
    let verified = verify_receipt(&jws, "receipt", &state.trust()).map_err(receipt_refused)?;
    let (code, status) = match &verified.statement {
        Statement::Status { by, code, .. } if by == org => (code.code().to_string(), *code),
        _ => {
            return Err(Refusal::new(
                403,
                format!("an acknowledgement must be a status signed by {org}"),
            ))
        }
    };
    if status.said_by() == Speaker::Issuer {
        return Err(Refusal::new(
            403,
            format!(
                "status {status} is the issuer's to send; {org} is a recipient of dispatch \
                 {dispatch_id}"
            ),
        ));
    }
    if status.answers_recall() && !state.store.recall_requested(dispatch_id)? {
        return Err(Refusal::new(
            409,
            format!(
                "status {status} answers a recall request, and the issuer of dispatch \
                 {dispatch_id} has requested none"
            ),
        ));
    }
    if verified.statement.dispatch_id() != dispatch_id
        || verified.statement.manifest_sha256() != record.manifest_sha256
    {
        return Err(Refusal::new(
            422,
            "the status is about another dispatch or another version of it",
        ));
    }
    let office = org.to_string();
    if state.store.has_status(&office, dispatch_id, &code)? {
        // Sent before: already on its way to the sender, and noticed once.
        return Ok(());
    }
    let row = receipt_row(state, &jws, verified, sender, record.urgency)?;
    let id = dispatch_id.to_string();
    state
        .writer
        .write(move |txn| {
            txn.prepare_cached("UPDATE inbox SET status = ?1 WHERE office = ?2 AND dispatch_id = ?3")?.execute(params![code, office, id])?;
            txn.prepare_cached("INSERT OR IGNORE INTO statuses (office, dispatch_id, code, time) VALUES (?1, ?2, ?3, ?4)")?.execute(params![office, id, code, unix_ms(OffsetDateTime::now_utc())])?;
            Ok(())
        })
        .await?;
    store_receipt(state, row).await
}

/// The issuer's notice about a dispatch it sent through this relay: its
/// recall request (status 13), or that a later dispatch of its own replaces
/// or updates it. Kept in its own timeline and sent to every recipient along
/// the dispatch's routes.
async fn ingest_issuer_notice(
    state: &Arc<RelayState>,
    issuer: &OrgId,
    record: &crate::store::DispatchRecord,
    jws: Jws,
) -> Result<(), Refusal> {
    let id = record.id.clone();
    let verified = verify_receipt(&jws, "receipt", &state.trust()).map_err(receipt_refused)?;
    let statement = &verified.statement;
    let signed_by_issuer = match statement {
        Statement::Status { by, .. } | Statement::Superseded { by, .. } => by == issuer,
        _ => false,
    };
    if !signed_by_issuer {
        return Err(Refusal::new(
            403,
            format!("a notice about dispatch {id} must be a statement signed by {issuer}"),
        ));
    }
    if !statement.is_issuer_notice() {
        let what = match statement {
            Statement::Status { code, .. } => format!("status {code}"),
            other => other.kind().to_string(),
        };
        return Err(Refusal::new(
            403,
            format!(
                "{issuer} issued dispatch {id}: its recipients send {what}; the issuer can \
                 request a recall (13) or say what supersedes it"
            ),
        ));
    }
    if statement.dispatch_id() != id || statement.manifest_sha256() != record.manifest_sha256 {
        return Err(Refusal::new(
            422,
            "the notice is about another dispatch or another version of it",
        ));
    }
    // What this notice is remembered by, so that it is sent once.
    let key = match statement {
        Statement::Superseded { superseded_by, .. } => {
            let later = state.store.dispatch(superseded_by)?;
            if later.as_ref().map(|d| d.sender.as_str()) != Some(issuer.to_string().as_str()) {
                return Err(Refusal::new(
                    409,
                    format!(
                        "dispatch {superseded_by} is not one {issuer} sent through this relay; \
                         send it first, then say that it supersedes {id}"
                    ),
                ));
            }
            format!("superseded {superseded_by}")
        }
        _ => "13".to_string(),
    };
    if state.store.has_status(&issuer.to_string(), &id, &key)? {
        return Ok(());
    }
    let mut dests: Vec<OrgId> = state
        .store
        .recipient_orgs(&id)?
        .iter()
        .filter_map(|o| OrgId::parse(o).ok())
        .collect();
    // The issuer's own timeline shows the notice too.
    dests.push(issuer.clone());
    let rows = dests
        .into_iter()
        .map(|dest| receipt_row(state, &jws, verified.clone(), dest, record.urgency))
        .collect::<Result<Vec<_>, _>>()?;
    let router = state.router.clone();
    let office = issuer.to_string();
    let hops = state
        .writer
        .write(move |txn| {
            txn.prepare_cached("INSERT OR IGNORE INTO statuses (office, dispatch_id, code, time) VALUES (?1, ?2, ?3, ?4)")?.execute(params![office, id, key, unix_ms(OffsetDateTime::now_utc())])?;
            let mut hops = Vec::new();
            for row in &rows {
                hops.extend(route_receipt_in(txn, &router, row)?);
            }
            Ok(hops)
        })
        .await?;
    Metrics::inc(&state.metrics.receipts);
    for hop in hops {
        state.wake(&hop);
    }
    Ok(())
}

/// The row a verified receipt is stored as.
fn receipt_row(
    state: &RelayState,
    jws: &Jws,
    verified: congvan_envelope::VerifiedReceipt,
    dest: OrgId,
    urgency: u8,
) -> Result<ReceiptRow, Refusal> {
    let statement = &verified.statement;
    let code = match statement {
        Statement::Status { code, .. } => Some(code.code().to_string()),
        _ => None,
    };
    // A recall request travels to every recipient: one receipt per
    // destination, or the first would hide the others.
    let digest = match statement {
        _ if statement.is_issuer_notice() => congvan_envelope::sha256_hex(
            format!("{}\n{dest}", receipt_key(statement, jws)?).as_bytes(),
        ),
        _ => receipt_key(statement, jws)?,
    };
    Ok(ReceiptRow {
        digest,
        dispatch_id: statement.dispatch_id().to_string(),
        dest,
        kind: statement.kind().to_string(),
        office: statement.required_signer().1.to_string(),
        mail: crate::notices::MailHint::for_statement(statement, state.config.mail.is_some()),
        time: statement.time().to_string(),
        actor: match statement {
            // Relays are named as the registry names them, everywhere.
            Statement::Custody { relay_name, .. } => relay_name.clone(),
            _ => verified.signer.display_name().to_string(),
        },
        code,
        description: statement.describe(),
        jws: serde_json::to_string(jws).map_err(|e| Refusal::new(400, e.to_string()))?,
        urgency,
        now_ms: unix_ms(OffsetDateTime::now_utc()),
    })
}

async fn store_receipt(state: &Arc<RelayState>, row: ReceiptRow) -> Result<(), Refusal> {
    let router = state.router.clone();
    let hop = state
        .writer
        .write(move |txn| route_receipt_in(txn, &router, &row))
        .await?;
    Metrics::inc(&state.metrics.receipts);
    if let Some(hop) = hop {
        state.wake(&hop);
    }
    Ok(())
}

/// Makes and routes a non-delivery notice for recipients a relay gave up on.
pub async fn give_up(
    state: &Arc<RelayState>,
    seq: i64,
    dispatch_id: &str,
    hop: &str,
    reason: &str,
) -> Result<(), Error> {
    let Some(record) = state.store.dispatch(dispatch_id)? else {
        return Ok(());
    };
    let undelivered: Vec<OrgId> = state
        .store
        .queued_recipients(dispatch_id, hop)?
        .iter()
        .filter_map(|o| OrgId::parse(o).ok())
        .collect();
    let now = OffsetDateTime::now_utc();
    let statement = Statement::NonDelivery {
        dispatch_id: dispatch_id.to_string(),
        manifest_sha256: record.manifest_sha256.clone(),
        relay: state.config.org.clone(),
        undelivered: undelivered.clone(),
        reason: reason.to_string(),
        time: receipt_time(now),
    };
    let jws = make_receipt(&statement, &state.credential)?;
    let row = ReceiptRow {
        digest: receipt_key(&statement, &jws).map_err(|r| Error::Protocol {
            url: "local".into(),
            problem: r.reason,
        })?,
        dispatch_id: dispatch_id.to_string(),
        dest: OrgId::parse(&record.sender)?,
        kind: "non_delivery".into(),
        office: state.config.org.to_string(),
        mail: crate::notices::MailHint::for_statement(&statement, state.config.mail.is_some()),
        time: statement.time().to_string(),
        actor: state.config.name.clone(),
        code: None,
        description: statement.describe(),
        jws: serde_json::to_string(&jws).map_err(|e| Error::Protocol {
            url: "local".into(),
            problem: e.to_string(),
        })?,
        urgency: record.urgency,
        now_ms: unix_ms(now),
    };
    let router = state.router.clone();
    let id = dispatch_id.to_string();
    let hop_name = hop.to_string();
    let next = state
        .writer
        .write(move |txn| {
            txn.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?.execute(params![seq])?;
            txn.prepare_cached("UPDATE recipients SET state = 'expired' WHERE dispatch_id = ?1 AND route = ?2 AND state = 'queued'")?.execute(params![id, hop_name])?;
            route_receipt_in(txn, &router, &row)
        })
        .await?;
    Metrics::inc(&state.metrics.expired);
    tracing::warn!(dispatch = %dispatch_id, hop, "gave up; non-delivery notice sent to the sender");
    if let Some(next) = next {
        state.wake(&next);
    }
    Ok(())
}

/// Marks a transfer done after the next hop confirmed it.
pub async fn transfer_done(
    state: &Arc<RelayState>,
    entry: &crate::store::OutboxEntry,
) -> Result<(), Error> {
    let seq = entry.seq;
    let id = entry.reference.clone();
    let hop = entry.hop.clone();
    let is_dispatch = entry.kind == "dispatch";
    // Unsynced: the next hop holds the item durably already. A crash that
    // undoes this sends it again, and the next hop answers "duplicate".
    state
        .writer
        .write_unsynced(move |txn| {
            txn.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?.execute(params![seq])?;
            if is_dispatch {
                txn.prepare_cached("UPDATE recipients SET state = 'forwarded' WHERE dispatch_id = ?1 AND route = ?2 AND state = 'queued'")?.execute(params![id, hop])?;
            }
            Ok(())
        })
        .await?;
    Metrics::inc(&state.metrics.forwarded);
    if is_dispatch {
        let waited = unix_ms(OffsetDateTime::now_utc()) - entry.created_at;
        state
            .metrics
            .observe_hop_latency(waited.max(0) as f64 / 1000.0);
    }
    Ok(())
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// A receipt [`verify_receipt`] did not accept: 422, unless only this
/// relay's stale CRL stands in the way (503: the sender keeps it and tries
/// again, as for a dispatch).
fn receipt_refused(refusal: congvan_envelope::ReceiptRefusal) -> Refusal {
    if refusal.try_later {
        Refusal::new(
            503,
            format!("this relay cannot decide revocation now: {refusal}"),
        )
    } else {
        Refusal::new(422, format!("receipt refused: {refusal}"))
    }
}
