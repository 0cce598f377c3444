//! The relay's message log and its batch timestamps.
//!
//! Every dispatch a relay takes in (by its manifest digest, which stays the
//! same on every hop) and every receipt is appended to a log in the same
//! transaction that stores it. Once a day (`[timestamping]
//! batch_interval_secs`) the relay takes the records no batch covers yet,
//! builds an RFC 6962 Merkle tree over them, and has one RFC 3161 token
//! made over a short statement naming the relay, the batch, its size and
//! its root: the way X-Road batch-stamps its message log. One token then
//! proves when each of thousands of records existed, and a timestamp
//! authority that is down delays the batch, never the traffic.
//!
//! `relay proof ID` exports, for each record about a dispatch, the leaf,
//! its inclusion proof, the statement and the token ([`LogProof`]);
//! `relay check-proof` (or any RFC 6962 verifier with an RFC 3161 one, e.g.
//! Go's `sumdb/tlog` and `openssl ts -verify`) checks it.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use congvan_sign::TrustStore;
use rusqlite::{params, Transaction};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::merkle::{self, Hash};
use crate::store::{LogRecord, Store};
use crate::{Error, RelayState};

/// The `format` of an exported proof.
pub const LOG_PROOF_FORMAT: &str = "congvan-log-proof/1";

/// The first line of a batch statement.
const STATEMENT_HEADER: &str = "congvan relay log batch/1";

/// Most records in one batch; a busier interval takes several batches.
const MAX_BATCH: usize = 100_000;

/// Appends a record to the log, in the transaction that stores what it is
/// about. Idempotent: a record already logged is not logged twice.
pub(crate) fn append(
    txn: &Transaction<'_>,
    kind: &str,
    dispatch_id: &str,
    digest: &str,
    now_ms: i64,
) -> Result<(), Error> {
    txn.prepare_cached(
        "INSERT OR IGNORE INTO log_records (kind, dispatch_id, digest, logged_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![kind, dispatch_id, digest, now_ms])?;
    Ok(())
}

/// The leaf a record is in the tree: one line of text, so that anyone can
/// recompute its hash (`SHA-256(0x00 || leaf)`).
pub fn leaf_text(record: &LogRecord) -> String {
    format!(
        "congvan-log-record/1 {} {} {}\n",
        record.kind, record.dispatch_id, record.digest
    )
}

/// The statement a batch token is over (its imprint is the statement's
/// SHA-256): the relay, the batch number, the tree size and root.
pub fn statement(relay: &str, batch: i64, size: u64, root: &Hash) -> String {
    format!(
        "{STATEMENT_HEADER}\nrelay {relay}\nbatch {batch}\nsize {size}\nroot {}\n",
        STANDARD.encode(root)
    )
}

/// What a statement says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The relay (its organization).
    pub relay: String,
    /// The batch number.
    pub batch: i64,
    /// The tree size.
    pub size: u64,
    /// The tree root.
    pub root: Hash,
}

/// Reads a statement, refusing anything but the exact form
/// [`statement`] writes.
pub fn parse_statement(text: &str) -> Result<Statement, Error> {
    let bad = || {
        Error::Proof(format!(
            "{:?} is not a batch statement",
            congvan_text::line(text)
        ))
    };
    let body = text
        .strip_prefix(STATEMENT_HEADER)
        .and_then(|t| t.strip_prefix('\n'))
        .ok_or_else(bad)?;
    let mut lines = body.lines();
    let mut field = |name: &str| {
        lines
            .next()
            .and_then(|l| l.strip_prefix(name))
            .and_then(|l| l.strip_prefix(' '))
            .map(str::to_string)
    };
    let relay = field("relay").ok_or_else(bad)?;
    let batch = field("batch")
        .and_then(|b| b.parse().ok())
        .ok_or_else(bad)?;
    let size = field("size").and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let root = field("root")
        .and_then(|r| STANDARD.decode(r).ok())
        .and_then(|r| Hash::try_from(r.as_slice()).ok())
        .ok_or_else(bad)?;
    let parsed = Statement {
        relay,
        batch,
        size,
        root,
    };
    // Exactly the form `statement` writes, nothing before, after or between.
    if statement(&parsed.relay, parsed.batch, parsed.size, &parsed.root) != text {
        return Err(bad());
    }
    Ok(parsed)
}

/// A batch just stamped.
#[derive(Clone, Debug)]
pub struct StampedBatch {
    /// Its number.
    pub number: i64,
    /// How many records it covers.
    pub size: u64,
    /// The token's genTime.
    pub gen_time: OffsetDateTime,
}

/// Stamps the records no batch covers yet, if any: builds their tree, has
/// `tsa_url` timestamp the statement (checked under the relay's trust
/// store), and records the batch. A failure leaves them pending.
pub async fn stamp_pending(
    state: &Arc<RelayState>,
    tsa_url: &str,
) -> Result<Option<StampedBatch>, Error> {
    // Reading and hashing a day of records is blocking work: off the
    // async threads the relay's traffic runs on.
    let reading = state.clone();
    let pending = tokio::task::spawn_blocking(move || -> Result<_, Error> {
        let records = reading.store.unbatched_log(MAX_BATCH)?;
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Ok(None);
        };
        let leaves: Vec<Hash> = records
            .iter()
            .map(|r| merkle::leaf_hash(leaf_text(r).as_bytes()))
            .collect();
        Ok(merkle::root(&leaves).map(|root| (first.seq, last.seq, leaves.len(), root)))
    })
    .await
    .map_err(|e| Error::Timestamp(format!("the batch task failed: {e}")))??;
    let Some((first_seq, last_seq, count, root)) = pending else {
        return Ok(None);
    };
    let number = state.store.last_log_batch()? + 1;
    let size = count as u64;
    let text = statement(&state.config.org.to_string(), number, size, &root);
    let imprint = congvan_tsa::Imprint::sha256_of(text.as_bytes());
    let (token, checked) = congvan_tsa::request_token(tsa_url, &imprint, &state.trust())
        .await
        .map_err(|e| Error::Timestamp(format!("{tsa_url}: {e}")))?;
    let gen_time = checked.gen_time;
    let gen_ms = (gen_time.unix_timestamp_nanos() / 1_000_000) as i64;
    let root_text = STANDARD.encode(root);
    // The relay signs the statement: the token proves when, the signature
    // who. Anyone can have a public authority stamp a statement of their
    // own making.
    let credential = &state.credential;
    let signature = STANDARD.encode(credential.key().sign(text.as_bytes())?);
    let certificates: Vec<String> = std::iter::once(credential.cert())
        .chain(credential.chain())
        .map(|c| STANDARD.encode(c.der()))
        .collect();
    let certificates = serde_json::to_string(&certificates)
        .map_err(|e| Error::Timestamp(format!("cannot encode the relay's certificates: {e}")))?;
    state
        .writer
        .write(move |txn| {
            txn.execute(
                "INSERT INTO log_batches (number, size, root, statement, token, gen_time,
                                          relay_signature, relay_certificates)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    number,
                    size as i64,
                    root_text,
                    text,
                    token,
                    gen_ms,
                    signature,
                    certificates
                ],
            )?;
            let covered = txn.execute(
                "UPDATE log_records SET batch = ?1
                 WHERE batch IS NULL AND seq BETWEEN ?2 AND ?3",
                params![number, first_seq, last_seq],
            )?;
            // Only this task assigns batches, so the records read are the
            // ones still pending; anything else is a broken store.
            if covered as u64 != size {
                return Err(Error::Corrupt(format!(
                    "batch {number} was built over {size} records but {covered} were pending"
                )));
            }
            Ok(())
        })
        .await?;
    Ok(Some(StampedBatch {
        number,
        size,
        gen_time,
    }))
}

/// Stamps a batch every `interval`, and retries a failed one within a
/// minute, until shutdown.
pub(crate) async fn batch_stamper(
    state: Arc<RelayState>,
    tsa_url: String,
    interval: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let wait = match stamp_pending(&state, &tsa_url).await {
            Ok(Some(batch)) => {
                tracing::info!(
                    batch = batch.number,
                    records = batch.size,
                    "message log batch timestamped"
                );
                if batch.size as usize == MAX_BATCH {
                    // More are pending: the next batch at once.
                    continue;
                }
                interval
            }
            Ok(None) => interval,
            Err(e) => {
                tracing::warn!(problem = %congvan_text::line(&e.to_string()), "the message log batch was not timestamped; retrying");
                interval.min(std::time::Duration::from_secs(60))
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// The proof, for one record, that a relay logged it in a timestamped batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordProof {
    /// The leaf: one line, `congvan-log-record/1 KIND DISPATCH-ID DIGEST`.
    pub record: String,
    /// Its index in the batch's tree.
    pub index: u64,
    /// The tree's size.
    pub size: u64,
    /// The tree's root (standard base64).
    pub root: String,
    /// The sibling hashes from the leaf up (standard base64), RFC 9162
    /// §2.1.3.1.
    pub path: Vec<String>,
    /// The batch statement the token is over.
    pub statement: String,
    /// The RFC 3161 token over the statement (standard base64 of the DER).
    pub token: String,
    /// The relay's signature over the statement's bytes (standard base64;
    /// ECDSA as r || s), made with the key of the first of
    /// `relay_certificates`.
    pub relay_signature: String,
    /// The relay's certificate, then its CAs (standard base64 DER).
    pub relay_certificates: Vec<String>,
}

/// Everything a relay can prove about one dispatch from its log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogProof {
    /// Always [`LOG_PROOF_FORMAT`].
    pub format: String,
    /// The dispatch.
    pub dispatch_id: String,
    /// The relay's organization.
    pub relay: String,
    /// One proof per stamped record about the dispatch.
    pub records: Vec<RecordProof>,
    /// Records logged but not yet in a stamped batch.
    pub pending: usize,
}

/// The proof of everything `store` logged about dispatch `id`.
pub fn prove(store: &Store, relay: &str, id: &str) -> Result<LogProof, Error> {
    let mut records = Vec::new();
    let mut pending = 0;
    for record in store.log_records_of(id)? {
        let Some(number) = record.batch else {
            pending += 1;
            continue;
        };
        let batch = store
            .log_batch(number)?
            .ok_or_else(|| Error::Corrupt(format!("log batch {number} is missing")))?;
        let members = store.batch_records(number)?;
        let leaves: Vec<Hash> = members
            .iter()
            .map(|r| merkle::leaf_hash(leaf_text(r).as_bytes()))
            .collect();
        let index = members
            .iter()
            .position(|r| r.seq == record.seq)
            .ok_or_else(|| Error::Corrupt(format!("record {} is not in its batch", record.seq)))?;
        let path = merkle::inclusion_proof(index, &leaves)
            .ok_or_else(|| Error::Corrupt(format!("batch {number} has no leaf {index}")))?;
        records.push(RecordProof {
            record: leaf_text(&record),
            index: index as u64,
            size: leaves.len() as u64,
            root: batch.root,
            path: path.iter().map(|h| STANDARD.encode(h)).collect(),
            statement: batch.statement,
            token: STANDARD.encode(&batch.token),
            relay_signature: batch.relay_signature,
            relay_certificates: batch.relay_certificates,
        });
    }
    if records.is_empty() && pending == 0 {
        return Err(Error::Proof(format!(
            "this relay's log holds nothing about dispatch {}",
            congvan_text::line(id)
        )));
    }
    Ok(LogProof {
        format: LOG_PROOF_FORMAT.to_string(),
        dispatch_id: id.to_string(),
        relay: relay.to_string(),
        records,
        pending,
    })
}

/// A record proof that holds.
#[derive(Clone, Debug)]
pub struct CheckedRecord {
    /// `dispatch` or `receipt`.
    pub kind: String,
    /// The manifest's or receipt's digest.
    pub digest: String,
    /// The batch statement.
    pub statement: Statement,
    /// The batch token's genTime: the record existed then.
    pub gen_time: OffsetDateTime,
    /// The timestamp authority.
    pub tsa: String,
}

/// Checks every record of `proof`: the leaf names the dispatch, its path
/// leads to the root, the statement names that root and size and the
/// relay, and the token is a valid timestamp over the statement under
/// `trust`. Any failure is an error naming the record.
pub fn check(proof: &LogProof, trust: &TrustStore) -> Result<Vec<CheckedRecord>, Error> {
    if proof.format != LOG_PROOF_FORMAT {
        return Err(Error::Proof(format!(
            "format {:?}, not {LOG_PROOF_FORMAT}",
            congvan_text::line(&proof.format)
        )));
    }
    if proof.records.is_empty() {
        return Err(Error::Proof(
            "it holds no record: nothing in it is timestamped yet (export it again after the \
             relay's next batch)"
                .into(),
        ));
    }
    let mut checked = Vec::with_capacity(proof.records.len());
    for (i, record) in proof.records.iter().enumerate() {
        let fail = |why: String| Error::Proof(format!("record {}: {why}", i + 1));
        let fields: Vec<&str> = record
            .record
            .strip_suffix('\n')
            .unwrap_or("")
            .split(' ')
            .collect();
        let ["congvan-log-record/1", kind @ ("dispatch" | "receipt"), id, digest] =
            fields.as_slice()
        else {
            return Err(fail("the leaf is not a congvan log record".into()));
        };
        if *id != proof.dispatch_id {
            return Err(fail(format!(
                "the leaf is about dispatch {}, not {}",
                congvan_text::line(id),
                congvan_text::line(&proof.dispatch_id)
            )));
        }
        let statement = parse_statement(&record.statement).map_err(|e| fail(e.to_string()))?;
        let root =
            decode_hash(&record.root).ok_or_else(|| fail("the root is not a hash".into()))?;
        if statement.root != root || statement.size != record.size {
            return Err(fail("the statement names another tree".into()));
        }
        if statement.relay != proof.relay {
            return Err(fail(format!(
                "the statement is of relay {}, not {}",
                congvan_text::line(&statement.relay),
                congvan_text::line(&proof.relay)
            )));
        }
        let path: Option<Vec<Hash>> = record.path.iter().map(|h| decode_hash(h)).collect();
        let path = path.ok_or_else(|| fail("a path element is not a hash".into()))?;
        let leaf = merkle::leaf_hash(record.record.as_bytes());
        if !merkle::verify_inclusion(record.index, record.size, &leaf, &path, &root) {
            return Err(fail(format!(
                "the inclusion proof does not lead from leaf {} to the root of batch {}",
                record.index, statement.batch
            )));
        }
        let token = STANDARD
            .decode(&record.token)
            .map_err(|e| fail(format!("the token is not base64: {e}")))?;
        let imprint = congvan_tsa::Imprint::sha256_of(record.statement.as_bytes());
        let stamp = congvan_tsa::check_token(&token, &imprint, trust, &[])
            .map_err(|e| fail(format!("the batch timestamp: {e}")))?;
        // Who stamped: the relay, with a certificate valid when the token
        // was made.
        check_relay_signature(record, &statement, trust, stamp.gen_time).map_err(fail)?;
        checked.push(CheckedRecord {
            kind: kind.to_string(),
            digest: digest.to_string(),
            statement,
            gen_time: stamp.gen_time,
            tsa: stamp.tsa().display_name().to_string(),
        });
    }
    Ok(checked)
}

/// The statement is signed by a relay certificate of the organization it
/// names, valid under `trust`.
fn check_relay_signature(
    record: &RecordProof,
    statement: &Statement,
    trust: &TrustStore,
    at: OffsetDateTime,
) -> Result<(), String> {
    let org = congvan_org::OrgId::parse(&statement.relay)
        .map_err(|e| format!("the statement's relay is not an organization id: {e}"))?;
    crate::relay_signed::check_relay_signed(
        record.statement.as_bytes(),
        &record.relay_signature,
        &record.relay_certificates,
        &org,
        trust,
        at,
    )
    .map_err(|e| format!("the batch statement: {e}"))
}

fn decode_hash(text: &str) -> Option<Hash> {
    Hash::try_from(STANDARD.decode(text).ok()?.as_slice()).ok()
}
