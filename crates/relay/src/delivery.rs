//! Moving queued traffic on: push to peers, pull from a parent, expire.

use std::sync::Arc;
use std::time::Duration;

use congvan_envelope::Jws;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::api::{PullOutcome, PullOutcomes, ReceiptMessage};
use crate::caller::Caller;
use crate::client::{Pulled, RelayClient};
use crate::ingest::{give_up, ingest_all, ingest_dispatch, ingest_receipt, transfer_done, unix_ms};
use crate::metrics::Metrics;
use crate::state::RelayState;
use crate::store::OutboxEntry;
use crate::upload::Upload;
use crate::Error;

/// Exponential backoff with jitter: `initial * 2^attempt`, capped, then a
/// random value between half and all of it, so peers coming back are not
/// hit by every relay at once.
pub fn backoff(initial_ms: u64, max_ms: u64, attempt: u32) -> Duration {
    let exp = initial_ms
        .saturating_mul(1u64 << attempt.min(20))
        .min(max_ms);
    let jitter = crate::store::random_fraction();
    Duration::from_millis(exp / 2 + ((exp / 2) as f64 * jitter) as u64)
}

/// Sends everything queued for one peer, most urgent first, until shutdown.
///
/// Failures are told apart by whom they concern:
///
/// - the peer cannot be reached (connection, TLS, not the expected relay):
///   the whole queue waits, with backoff, so that when it returns the
///   backlog drains in urgency order;
/// - the peer refused one item for good (4xx but 408/429): that item ends
///   in a signed non-delivery notice to its sender, and the rest goes on;
/// - the peer failed on one item for now (5xx, a broken answer): that item
///   waits with its own backoff (`outbox.attempts`), and the rest goes on,
///   so one dispatch the next hop cannot take never holds up the others;
/// - this relay cannot record a finished transfer (its disk is full): the
///   queue backs off rather than send the same item again at once.
pub async fn push_worker(
    state: Arc<RelayState>,
    hop: String,
    client: RelayClient,
    mut shutdown: watch::Receiver<bool>,
) {
    let delivery = state.config.delivery.clone();
    let batch_items = delivery.push_batch_items.clamp(1, crate::batch::MAX_ITEMS);
    let waker = state.waker(&hop);
    let mut failures: u32 = 0;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = unix_ms(OffsetDateTime::now_utc());
        let batch = match state.store.due(&hop, now, 64) {
            Ok(batch) => batch,
            Err(e) => {
                tracing::error!(%hop, error = %e, "cannot read the queue");
                Vec::new()
            }
        };
        let mut stalled = false;
        let mut next = 0;
        while next < batch.len() && !stalled {
            let entry = &batch[next];
            let mut run = small_run(&state, &batch[next..], batch_items);
            let sent = match run.pop() {
                None => vec![(entry, send(&state, &client, entry).await)],
                Some(only) if run.is_empty() => {
                    vec![(entry, client.send_bytes(only).await.map(|_| ()))]
                }
                Some(last) => {
                    run.push(last);
                    send_run(&state, &client, &batch[next..next + run.len()], run).await
                }
            };
            next += sent.len();
            for (entry, result) in sent {
                if settle(&state, &hop, entry, result, &mut failures).await == Next::Stall {
                    stalled = true;
                    break;
                }
            }
        }
        let pause = if stalled {
            backoff(
                delivery.retry_initial_ms,
                delivery.retry_max_ms,
                failures.saturating_sub(1),
            )
        } else if batch.is_empty() {
            Duration::from_secs(1)
        } else {
            continue;
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = async { match &waker { Some(w) if !stalled => w.notified().await, _ => std::future::pending().await } } => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// What the queue does after one item's attempt.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// Go on with the next item.
    Go,
    /// Stop and back off: the peer is unreachable, or this relay cannot
    /// record what happened.
    Stall,
}

/// Records what became of one item sent to `hop` (see [`push_worker`] for
/// how failures are told apart).
async fn settle(
    state: &Arc<RelayState>,
    hop: &str,
    entry: &OutboxEntry,
    result: Result<(), Error>,
    failures: &mut u32,
) -> Next {
    let delivery = &state.config.delivery;
    match result {
        Ok(()) => match transfer_done(state, entry).await {
            Ok(()) => {
                *failures = 0;
                state.hop_health.reached(hop);
                Next::Go
            }
            Err(e) => {
                // Sent, but not recorded: it will be sent again (the next
                // hop answers "duplicate"), later.
                tracing::error!(%hop, error = %e, "cannot record a finished transfer; backing off");
                *failures = failures.saturating_add(1);
                Next::Stall
            }
        },
        Err(Error::Refused { status, reason, .. }) if is_permanent(status) => {
            tracing::warn!(%hop, seq = entry.seq, status, reason = %congvan_text::line(&reason), "next hop refused a transfer");
            let done = if entry.kind == "dispatch" {
                let why = format!("relay {hop} refused it: {}", congvan_text::line(&reason));
                give_up(state, entry.seq, &entry.reference, hop, &why).await
            } else {
                transfer_done(state, entry).await
            };
            match done {
                Ok(()) => {
                    *failures = 0;
                    Next::Go
                }
                Err(e) => {
                    tracing::error!(%hop, error = %e, "cannot record a refusal; backing off");
                    *failures = failures.saturating_add(1);
                    Next::Stall
                }
            }
        }
        Err(e) if is_unreachable(&e) => {
            Metrics::inc(&state.metrics.retried);
            *failures = failures.saturating_add(1);
            state.hop_health.failed(
                hop,
                congvan_envelope::receipt_time(OffsetDateTime::now_utc()),
            );
            tracing::info!(%hop, attempt = *failures, error = %congvan_text::line(&e.to_string()), "next hop unreachable; will retry");
            Next::Stall
        }
        Err(e) => {
            Metrics::inc(&state.metrics.retried);
            let delay = backoff(
                delivery.retry_initial_ms,
                delivery.retry_max_ms,
                entry.attempts,
            );
            tracing::info!(%hop, seq = entry.seq, attempt = entry.attempts + 1, error = %congvan_text::line(&e.to_string()), "transfer failed; this item will retry");
            match retry_later(state, entry.seq, delay).await {
                Ok(()) => Next::Go,
                Err(e) => {
                    tracing::error!(%hop, error = %e, "cannot record a retry; backing off");
                    *failures = failures.saturating_add(1);
                    Next::Stall
                }
            }
        }
    }
}

/// The bytes of the queued dispatches at the front of `entries` that can
/// travel in one batch: dispatches held inline (small), of the same
/// urgency, at most `max` of them and [`crate::batch::MAX_BATCH_BYTES`]
/// together. Empty when the first entry is not one; a store error leaves
/// the entry to [`send`], which reports it.
///
/// One urgency per batch because the next hop takes a batch's items all at
/// once: a Thường item beside a Hỏa tốc one could overtake it there.
pub(crate) fn small_run(
    state: &RelayState,
    entries: &[OutboxEntry],
    max: usize,
) -> Vec<bytes::Bytes> {
    let mut run = Vec::new();
    let mut size = 0;
    let Some(first) = entries.first() else {
        return run;
    };
    for entry in entries.iter().take(max) {
        if entry.kind != "dispatch" || entry.urgency != first.urgency {
            break;
        }
        let bytes = match state.store.dispatch(&entry.reference) {
            Ok(Some(record)) => match state.store.blob(&record.blob) {
                Ok(Some(Some(bytes))) => bytes,
                _ => break,
            },
            _ => break,
        };
        size += crate::batch::frame_len(bytes.len());
        if bytes.len() as u64 > crate::upload::MEMORY_UPLOAD_LIMIT
            || size > crate::batch::MAX_BATCH_BYTES
        {
            break;
        }
        run.push(bytes::Bytes::from(bytes));
    }
    run
}

/// Sends `run` (the bytes of `entries`, in order) as one batch, and gives
/// each entry its own result, as if it had been sent alone. A peer that
/// cannot take a batch (an older relay, or one short of memory) gets the
/// items one by one instead.
async fn send_run<'a>(
    state: &RelayState,
    client: &RelayClient,
    entries: &'a [OutboxEntry],
    run: Vec<bytes::Bytes>,
) -> Vec<(&'a OutboxEntry, Result<(), Error>)> {
    match client.send_batch(&run).await {
        Ok(outcomes) => {
            Metrics::inc(&state.metrics.batches_sent);
            entries
                .iter()
                .zip(outcomes)
                .map(|(entry, outcome)| (entry, item_result(client.url(), entry, outcome)))
                .collect()
        }
        Err(e) if is_unreachable(&e) => vec![(&entries[0], Err(e))],
        Err(e) => {
            tracing::info!(peer = client.url(), error = %congvan_text::line(&e.to_string()), "the peer did not take a batch; sending its items one by one");
            let mut results = Vec::with_capacity(entries.len());
            for (entry, bytes) in entries.iter().zip(run) {
                let result = client.send_bytes(bytes).await.map(|_| ());
                let unreachable = matches!(&result, Err(e) if is_unreachable(e));
                results.push((entry, result));
                if unreachable {
                    break;
                }
            }
            results
        }
    }
}

/// One batch item's outcome as the result of a single upload. An outcome
/// that names another dispatch than the one sent in its place (a peer that
/// reordered or mixed up its answer) delivers nothing: the item is sent
/// again later, and a peer that holds it answers "duplicate".
fn item_result(
    url: &str,
    entry: &OutboxEntry,
    outcome: crate::batch::ItemOutcome,
) -> Result<(), Error> {
    match outcome.status.as_str() {
        "accepted" | "duplicate" if outcome.id.as_deref() != Some(entry.reference.as_str()) => {
            Err(Error::Protocol {
                url: url.to_string(),
                problem: format!(
                    "the answer to a batch gave dispatch {} the outcome of {}",
                    entry.reference,
                    outcome.id.as_deref().unwrap_or("no dispatch")
                ),
            })
        }
        "accepted" | "duplicate" => Ok(()),
        _ => Err(Error::Refused {
            url: url.to_string(),
            status: outcome.code.unwrap_or(500),
            reason: outcome
                .reason
                .unwrap_or_else(|| "refused without a reason".into()),
        }),
    }
}

/// A refusal that trying again will not change.
fn is_permanent(status: u16) -> bool {
    (400..500).contains(&status) && status != 408 && status != 429
}

/// A failure of the connection to the peer, not of one item.
fn is_unreachable(e: &Error) -> bool {
    matches!(
        e,
        Error::Unreachable { .. } | Error::TlsRefused { .. } | Error::NotTheExpectedRelay { .. }
    )
}

/// Puts one queued item back for `delay`, counting the attempt.
async fn retry_later(state: &RelayState, seq: i64, delay: Duration) -> Result<(), Error> {
    let at = unix_ms(OffsetDateTime::now_utc()) + delay.as_millis() as i64;
    state
        .writer
        .write(move |txn| {
            txn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?1 WHERE seq = ?2",
                rusqlite::params![at, seq],
            )?;
            Ok(())
        })
        .await
}

async fn send(state: &RelayState, client: &RelayClient, entry: &OutboxEntry) -> Result<(), Error> {
    if entry.kind == "dispatch" {
        let record = state
            .store
            .dispatch(&entry.reference)?
            .ok_or_else(|| Error::Protocol {
                url: client.url().to_string(),
                problem: format!(
                    "queued dispatch {} is missing from the store",
                    entry.reference
                ),
            })?;
        match state.store.blob(&record.blob)? {
            Some(Some(bytes)) => client.send_bytes(bytes.into()).await?,
            Some(None) => {
                client
                    .send_file(&state.store.blobs().path(&record.blob))
                    .await?
            }
            None => {
                return Err(Error::Protocol {
                    url: client.url().to_string(),
                    problem: format!("the file of dispatch {} is gone", record.id),
                })
            }
        };
        Ok(())
    } else {
        let (_, dest, jws) =
            state
                .store
                .message(&entry.reference)?
                .ok_or_else(|| Error::Protocol {
                    url: client.url().to_string(),
                    problem: "queued receipt is missing".into(),
                })?;
        let receipt: Jws = serde_json::from_str(&jws).map_err(|e| Error::Protocol {
            url: client.url().to_string(),
            problem: e.to_string(),
        })?;
        client.send_receipt(&ReceiptMessage { dest, receipt }).await
    }
}

/// Long-polls the parent for traffic coming down, for a relay the parent
/// cannot reach (behind NAT, or on a poor link).
///
/// Each run of the worker has its own session number: a parent that sees a
/// new one releases what an earlier run leased and never confirmed, so a
/// child that crashed mid-pull gets its item again as soon as it is back.
pub async fn pull_worker(
    state: Arc<RelayState>,
    client: RelayClient,
    parent: Caller,
    mut shutdown: watch::Receiver<bool>,
) {
    let delivery = state.config.delivery.clone();
    let session = crate::store::random_u64();
    let mut failures: u32 = 0;
    loop {
        let blobs = state.store.blobs().clone();
        let temp = move || blobs.temp_file();
        let pulled = tokio::select! {
            pulled = client.pull(delivery.long_poll_secs, session, delivery.pull_batch_items, state.config.limits.max_dispatch_bytes, &temp) => pulled,
            _ = shutdown.changed() => return,
        };
        let result = match pulled {
            Ok(None) => Ok(()),
            Ok(Some(item)) => take(&state, &client, &parent, item).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => failures = 0,
            Err(e) => {
                failures = failures.saturating_add(1);
                Metrics::inc(&state.metrics.retried);
                tracing::info!(parent = client.url(), error = %congvan_text::line(&e.to_string()), "pull failed; will retry");
                let pause = backoff(
                    delivery.retry_initial_ms,
                    delivery.retry_max_ms,
                    failures - 1,
                );
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    }
}

/// Stores one pulled item and tells the parent: done when it is durable
/// here, refused (with the reason) when it never can be, so that the parent
/// gives up on it and its sender hears, as for a refused push. A failure of
/// this relay (503) is neither: the item is pulled again later.
async fn take(
    state: &Arc<RelayState>,
    client: &RelayClient,
    parent: &Caller,
    item: Pulled,
) -> Result<(), Error> {
    let (seq, outcome) = match item {
        Pulled::Batch { items } => return take_batch(state, client, parent, items).await,
        Pulled::Dispatch { seq, path } => (
            seq,
            ingest_dispatch(state, parent, Upload::File(path))
                .await
                .map(|_| ()),
        ),
        Pulled::Receipt { seq, message } => (
            seq,
            ingest_receipt(state, parent, &message.dest, message.receipt).await,
        ),
    };
    match outcome {
        Ok(()) => client.pull_done(seq).await,
        Err(refusal) if refusal.status >= 500 => Err(Error::Protocol {
            url: client.url().to_string(),
            problem: refusal.reason,
        }),
        Err(refusal) => {
            tracing::warn!(seq, reason = %congvan_text::line(&refusal.reason), "refused a pulled item");
            client.pull_refused(seq, &refusal.reason).await
        }
    }
}

/// Stores the dispatches of a pulled batch all at once (their commits
/// group) and reports on them in one request, each as [`take`] would: done,
/// or refused for good. An item this relay cannot take for now (a failure
/// here, or no room in its memory budget for uploads) is left out of the
/// report: the parent offers it again when its lease runs out, and the
/// worker backs off.
async fn take_batch(
    state: &Arc<RelayState>,
    client: &RelayClient,
    parent: &Caller,
    items: Vec<(i64, Vec<u8>)>,
) -> Result<(), Error> {
    Metrics::inc(&state.metrics.batches_pulled);
    let mut seqs = Vec::with_capacity(items.len());
    let mut uploads = Vec::with_capacity(items.len());
    let mut no_room = 0;
    for (seq, bytes) in items {
        let mut held = state.upload_memory.start();
        if held.grow(bytes.len() as u64) {
            seqs.push(seq);
            uploads.push(Upload::Memory { bytes, held });
        } else {
            no_room += 1;
        }
    }
    let mut report = Vec::with_capacity(seqs.len());
    let mut for_now = Vec::new();
    for (seq, result) in seqs
        .into_iter()
        .zip(ingest_all(state, parent, uploads).await)
    {
        match result {
            Ok(_) => report.push(PullOutcome { seq, refused: None }),
            Err(refusal) if refusal.status >= 500 => for_now.push(refusal.reason),
            Err(refusal) => {
                tracing::warn!(seq, reason = %congvan_text::line(&refusal.reason), "refused a pulled item");
                report.push(PullOutcome {
                    seq,
                    refused: Some(refusal.reason),
                });
            }
        }
    }
    if !report.is_empty() {
        client
            .pull_outcomes(&PullOutcomes { items: report })
            .await?;
    }
    match (for_now.first(), no_room) {
        (Some(reason), _) => Err(Error::Protocol {
            url: client.url().to_string(),
            problem: format!(
                "{} pulled dispatches could not be stored for now: {reason}",
                for_now.len() + no_room
            ),
        }),
        (None, 0) => Ok(()),
        (None, n) => Err(Error::Protocol {
            url: client.url().to_string(),
            problem: format!("no room in memory for {n} pulled dispatches; they come again later"),
        }),
    }
}

/// Removes the files of dispatches delivered longer ago than the retention
/// period. Records (inbox rows, timelines) stay, so `track` keeps working;
/// a fetch of a cleaned-up dispatch answers 410 Gone.
pub async fn retention_sweeper(state: Arc<RelayState>, mut shutdown: watch::Receiver<bool>) {
    let retention = state.config.retention.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(retention.sweep_secs.max(1))) => {}
            _ = shutdown.changed() => return,
        }
        let cutoff =
            unix_ms(OffsetDateTime::now_utc()) - (retention.delivered_days as i64) * 86_400_000;
        let blobs = match state.store.expired_blobs(cutoff) {
            Ok(blobs) => blobs,
            Err(e) => {
                tracing::error!(error = %e, "cannot find blobs to clean up");
                continue;
            }
        };
        for sha in blobs {
            let key = sha.clone();
            let marked = state
                .writer
                .write(move |txn| {
                    txn.execute(
                        "UPDATE blobs SET data = NULL, purged = 1 WHERE sha256 = ?1",
                        rusqlite::params![key],
                    )?;
                    Ok(())
                })
                .await;
            if let Err(e) = marked {
                tracing::error!(error = %e, "cannot record a clean-up");
                continue;
            }
            let path = state.store.blobs().path(&sha);
            if path.exists() {
                if let Err(e) = std::fs::remove_file(&path) {
                    tracing::warn!(path = %path.display(), error = %e, "could not remove a cleaned-up blob");
                }
            }
            tracing::info!(blob = %sha, "retention: removed a delivered dispatch's file");
        }
    }
}

/// Gives up on dispatches that waited past their expiry, sending signed
/// non-delivery notices to their senders.
pub async fn expiry_sweeper(state: Arc<RelayState>, mut shutdown: watch::Receiver<bool>) {
    let tick = Duration::from_millis(500);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
        let now = unix_ms(OffsetDateTime::now_utc());
        let expired = match state.store.expired(now) {
            Ok(expired) => expired,
            Err(e) => {
                tracing::error!(error = %e, "cannot read expired transfers");
                continue;
            }
        };
        for entry in expired {
            let waited = (now - entry.created_at) / 1000;
            let reason = format!("relay {} could not be reached for {waited} s", entry.hop);
            if let Err(e) = give_up(&state, entry.seq, &entry.reference, &entry.hop, &reason).await
            {
                tracing::error!(error = %e, "cannot expire a transfer");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::ItemOutcome;

    fn queued(id: &str) -> OutboxEntry {
        OutboxEntry {
            seq: 1,
            kind: "dispatch".into(),
            reference: id.into(),
            hop: "relay-h99-01".into(),
            urgency: 0,
            created_at: 0,
            attempts: 0,
        }
    }

    fn answer(id: Option<&str>, status: &str) -> ItemOutcome {
        ItemOutcome {
            id: id.map(str::to_string),
            status: status.into(),
            code: None,
            reason: None,
        }
    }

    #[test]
    fn a_batch_answer_counts_only_for_the_dispatch_it_names() {
        let url = "https://peer.example";
        let sent = queued("cv-1");
        assert!(item_result(url, &sent, answer(Some("cv-1"), "accepted")).is_ok());
        assert!(item_result(url, &sent, answer(Some("cv-1"), "duplicate")).is_ok());
        // A peer that reordered its answers, or gave none for this item,
        // has not said that this dispatch arrived: it stays queued.
        for wrong in [answer(Some("cv-2"), "accepted"), answer(None, "duplicate")] {
            match item_result(url, &sent, wrong) {
                Err(Error::Protocol { problem, .. }) => {
                    assert!(problem.contains("cv-1"), "{problem}");
                }
                other => panic!("a mixed-up answer was taken as delivery: {other:?}"),
            }
        }
        let refused = ItemOutcome {
            code: Some(422),
            reason: Some("chữ ký sai".into()),
            ..answer(None, "refused")
        };
        assert!(matches!(
            item_result(url, &sent, refused),
            Err(Error::Refused { status: 422, .. })
        ));
    }
}
