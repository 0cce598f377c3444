//! The parent's side of pulling: a child relay that the parent cannot reach
//! (behind NAT, on a poor link) long-polls it for the traffic coming down.
//!
//! An item handed to the child is leased to it, not removed: it leaves the
//! queue only when the child says it is durable there (`done`) or refused
//! for good (`refused`, and the sender hears, as for a refused push). If the
//! child never says, the lease runs out and the item is offered again; a
//! child that restarted (a new session number) gets all its leases back at
//! once.
//!
//! A child that asks for a batch (`batch=N`) gets a run of small dispatches
//! of the same urgency in one answer ([`crate::batch`] frames) and reports
//! on all of them in one request (`POST /v1/pull/outcomes`). Receipts,
//! large dispatches and a lone small one still come one per answer.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use crate::api::{
    PullOutcomes, ReceiptMessage, PULL_KIND_HEADER, PULL_SEQS_HEADER, PULL_SEQ_HEADER,
};
use crate::batch::{BATCH_MEDIA_TYPE, MAX_ITEMS};
use crate::caller::Caller;
use crate::ingest::{transfer_done, Refusal};
use crate::peer_check::PeerCheck;
use crate::server::{blob_response, caller, small_body, Authenticated};
use crate::state::RelayState;
use crate::store::OutboxEntry;

#[derive(serde::Deserialize)]
pub(crate) struct PullQuery {
    wait: Option<u64>,
    /// The pulling relay's run: a new one means an earlier run ended
    /// without confirming what it had leased.
    session: Option<u64>,
    /// Most items the child takes in this answer (1 when absent).
    batch: Option<usize>,
}

/// How long a pulled item is leased to the child that took it.
const PULL_LEASE_MS: i64 = 60_000;

/// The name of the pulling child relay making this request, or why it may not pull.
fn pulling_child_name(auth: &Authenticated, state: &RelayState) -> Result<String, Refusal> {
    let Caller::Relay { org, .. } = caller(auth)? else {
        return Err(Refusal::new(403, "only child relays pull"));
    };
    state
        .pulling_child(&org)
        .map(|c| c.name.clone())
        .ok_or_else(|| {
            Refusal::new(
                403,
                format!("relay {org} is not configured to pull from this relay"),
            )
        })
}

/// `GET /v1/pull?wait=S&session=N&batch=K`: the next item (or run of
/// items) queued for the calling child, waiting up to `wait` seconds for
/// one; 204 when none came.
pub(crate) async fn pull(
    Extension(auth): Extension<Authenticated>,
    peer: Option<Extension<Arc<PeerCheck>>>,
    State(state): State<Arc<RelayState>>,
    Query(query): Query<PullQuery>,
) -> Result<Response, Refusal> {
    let child = pulling_child_name(&auth, &state)?;
    let wait = Duration::from_secs(
        query
            .wait
            .unwrap_or(0)
            .min(state.config.delivery.long_poll_secs),
    );
    let want = query.batch.unwrap_or(1).clamp(1, MAX_ITEMS);
    let deadline = tokio::time::Instant::now() + wait;
    let waker = state.waker(&child);
    if let Some(session) = query.session {
        let fresh = {
            let mut sessions = state
                .pull_sessions
                .lock()
                .map_err(|_| Refusal::new(503, "the relay is shutting down"))?;
            sessions.insert(child.clone(), session) != Some(session)
        };
        if fresh {
            release_leases(&state, &child).await?;
        }
    }
    loop {
        // A long-poll outlives a CRL reload: the child is judged again,
        // under the lists in force, before anything is handed to it.
        if let Some(Extension(peer)) = &peer {
            pulling_child_name(&Authenticated(peer.caller(&state.live_trust)), &state)?;
        }
        let now = crate::ingest::unix_ms(time::OffsetDateTime::now_utc());
        let due = state.store.due(&child, now, want)?;
        if let Some(first) = due.first() {
            let run = if want > 1 {
                crate::delivery::small_run(&state, &due, want)
            } else {
                Vec::new()
            };
            if run.len() > 1 {
                let entries = &due[..run.len()];
                lease(&state, entries, now).await?;
                return batch_response(entries, &run);
            }
            lease(&state, std::slice::from_ref(first), now).await?;
            return single_response(&state, first).await;
        }
        let Some(waker) = &waker else {
            return Ok(StatusCode::NO_CONTENT.into_response());
        };
        // Wait for new traffic, the end of the long-poll, or the moment a
        // lease on an item runs out and it can be offered again.
        let lease_end = state.store.next_lease_end(&child, now)?.map(|end| {
            tokio::time::Instant::now() + Duration::from_millis((end - now).max(0) as u64 + 1)
        });
        let until = lease_end.map_or(deadline, |end| end.min(deadline));
        if tokio::time::timeout_at(until, waker.notified())
            .await
            .is_err()
            && until >= deadline
        {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
    }
}

/// Leases `entries` to the child, in one commit, so that a concurrent pull
/// does not get them too; if the child never reports, they are offered
/// again when the lease runs out.
async fn lease(state: &RelayState, entries: &[OutboxEntry], now: i64) -> Result<(), Refusal> {
    let seqs: Vec<i64> = entries.iter().map(|e| e.seq).collect();
    // Unsynced: a lease a crash undoes only offers the items again.
    state
        .writer
        .write_unsynced(move |txn| {
            let mut stmt =
                txn.prepare_cached("UPDATE outbox SET next_attempt_at = ?1 WHERE seq = ?2")?;
            for seq in seqs {
                stmt.execute(rusqlite::params![now + PULL_LEASE_MS, seq])?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// One item: a dispatch streamed as its `.cvd`, or a receipt message.
async fn single_response(state: &RelayState, entry: &OutboxEntry) -> Result<Response, Refusal> {
    let mut headers = HeaderMap::new();
    headers.insert(PULL_SEQ_HEADER, HeaderValue::from(entry.seq));
    if entry.kind == "dispatch" {
        headers.insert(PULL_KIND_HEADER, HeaderValue::from_static("dispatch"));
        let record = state
            .store
            .dispatch(&entry.reference)?
            .ok_or_else(|| Refusal::new(500, "queued dispatch is missing"))?;
        return blob_response(state, &record.blob, headers).await;
    }
    headers.insert(PULL_KIND_HEADER, HeaderValue::from_static("receipt"));
    let (_, dest, jws) = state
        .store
        .message(&entry.reference)?
        .ok_or_else(|| Refusal::new(500, "queued receipt is missing"))?;
    let receipt = serde_json::from_str(&jws).map_err(|e| Refusal::new(500, e.to_string()))?;
    Ok((headers, Json(ReceiptMessage { dest, receipt })).into_response())
}

/// A run of small dispatches: their queue positions in a header, their
/// bytes as batch frames, in the same order.
fn batch_response(entries: &[OutboxEntry], run: &[bytes::Bytes]) -> Result<Response, Refusal> {
    let seqs = entries
        .iter()
        .map(|e| e.seq.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut body = Vec::with_capacity(run.iter().map(|b| crate::batch::frame_len(b.len())).sum());
    for item in run {
        crate::batch::push_frame(&mut body, item);
    }
    let mut headers = HeaderMap::new();
    headers.insert(PULL_KIND_HEADER, HeaderValue::from_static("batch"));
    headers.insert("content-type", HeaderValue::from_static(BATCH_MEDIA_TYPE));
    // Digits and commas only, so this cannot fail; were it ever to, the
    // items stay leased and are offered again, so nothing is lost.
    let seqs = HeaderValue::from_str(&seqs)
        .map_err(|e| Refusal::new(500, format!("the batch's list of sequence numbers: {e}")))?;
    headers.insert(PULL_SEQS_HEADER, seqs);
    Ok((headers, body).into_response())
}

/// Offers again everything leased to `child` (it restarted, or this relay
/// did): its earlier run will never confirm it.
pub(crate) async fn release_leases(state: &RelayState, child: &str) -> Result<(), Refusal> {
    let child = child.to_string();
    let released = state
        .writer
        .write(move |txn| {
            Ok(txn.execute(
                "UPDATE outbox SET next_attempt_at = 0 WHERE hop = ?1 AND next_attempt_at > 0",
                rusqlite::params![child],
            )?)
        })
        .await?;
    if released > 0 {
        tracing::info!(released, "released pull leases of an earlier run");
    }
    Ok(())
}

/// `POST /v1/pull/{seq}/refused`: the child refused an item for good.
pub(crate) async fn refused(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    Path(seq): Path<i64>,
    body: Body,
) -> Result<Response, Refusal> {
    let child = pulling_child_name(&auth, &state)?;
    let bytes = small_body(&state, body, "refusal").await?;
    let refusal: crate::api::Refusal = serde_json::from_slice(&bytes)
        .map_err(|e| Refusal::new(400, format!("bad refusal: {e}")))?;
    settle(&state, &child, seq, Some(&refusal.error)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/pull/{seq}/done`: the item is durable at the child.
pub(crate) async fn done(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    Path(seq): Path<i64>,
) -> Result<Response, Refusal> {
    let child = pulling_child_name(&auth, &state)?;
    settle(&state, &child, seq, None).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/pull/outcomes`: the child's report on the items of a batch.
/// All are settled at once, so that their commits group; an item of
/// another relay's queue is left alone and the request answers 403 after
/// the others are settled.
pub(crate) async fn outcomes(
    Extension(auth): Extension<Authenticated>,
    State(state): State<Arc<RelayState>>,
    body: Body,
) -> Result<Response, Refusal> {
    let child = pulling_child_name(&auth, &state)?;
    let bytes = small_body(&state, body, "report").await?;
    let report: PullOutcomes = serde_json::from_slice(&bytes)
        .map_err(|e| Refusal::new(400, format!("bad report of pulled items: {e}")))?;
    if report.items.len() > MAX_ITEMS {
        return Err(Refusal::new(
            413,
            format!("a report covers at most {MAX_ITEMS} pulled items"),
        ));
    }
    let tasks: Vec<_> = report
        .items
        .into_iter()
        .map(|item| {
            let state = state.clone();
            let child = child.clone();
            tokio::spawn(
                async move { settle(&state, &child, item.seq, item.refused.as_deref()).await },
            )
        })
        .collect();
    let mut first_refusal = None;
    for task in tasks {
        let settled = task
            .await
            .map_err(|e| Refusal::new(500, format!("settling a pulled item failed: {e}")))?;
        if let Err(refusal) = settled {
            first_refusal.get_or_insert(refusal);
        }
    }
    match first_refusal {
        Some(refusal) => Err(refusal),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// Ends a pulled item's stay in the queue: delivered (`refused` none), or
/// refused for good, with a non-delivery notice to the sender of a
/// dispatch. Only the child whose queue holds it may say so; an entry
/// already settled is left as it is (a report sent twice).
async fn settle(
    state: &Arc<RelayState>,
    child: &str,
    seq: i64,
    refused: Option<&str>,
) -> Result<(), Refusal> {
    match state.store.outbox_entry(seq)? {
        Some(entry) if entry.hop == child => match refused {
            Some(reason) if entry.kind == "dispatch" => {
                let why = format!("relay {child} refused it: {}", congvan_text::line(reason));
                crate::ingest::give_up(state, seq, &entry.reference, child, &why).await?;
            }
            _ => transfer_done(state, &entry).await?,
        },
        Some(_) => return Err(Refusal::new(403, "that queue entry is for another relay")),
        None => tracing::debug!(seq, "pull report for an entry already done"),
    }
    Ok(())
}
