//! Reading the message log (see `message_log.rs`).

use rusqlite::{params, OptionalExtension};

use super::Store;
use crate::Error;

/// One record of the message log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// Its position in the log.
    pub seq: i64,
    /// `dispatch` or `receipt`.
    pub kind: String,
    /// The dispatch it is about.
    pub dispatch_id: String,
    /// The manifest's SHA-256 (a dispatch) or the receipt's digest.
    pub digest: String,
    /// The batch whose timestamp covers it, once stamped.
    pub batch: Option<i64>,
}

/// A stamped batch of the message log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogBatch {
    /// Its number, from 1.
    pub number: i64,
    /// How many records it holds.
    pub size: i64,
    /// The Merkle root, base64.
    pub root: String,
    /// The statement the token is over.
    pub statement: String,
    /// The RFC 3161 token (DER).
    pub token: Vec<u8>,
    /// The token's genTime (Unix ms).
    pub gen_time: i64,
    /// The relay's signature over the statement (standard base64).
    pub relay_signature: String,
    /// The relay's certificate, then its CAs (standard base64 DER).
    pub relay_certificates: Vec<String>,
}

fn record_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LogRecord> {
    Ok(LogRecord {
        seq: r.get(0)?,
        kind: r.get(1)?,
        dispatch_id: r.get(2)?,
        digest: r.get(3)?,
        batch: r.get(4)?,
    })
}

impl Store {
    /// The records no batch covers yet, oldest first, at most `limit`.
    pub fn unbatched_log(&self, limit: usize) -> Result<Vec<LogRecord>, Error> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT seq, kind, dispatch_id, digest, batch FROM log_records
                 WHERE batch IS NULL ORDER BY seq LIMIT ?1",
            )?
            .query_map(params![limit as i64], record_row)?
            .collect()
        })
    }

    /// The records about dispatch `id`, in log order.
    pub fn log_records_of(&self, id: &str) -> Result<Vec<LogRecord>, Error> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT seq, kind, dispatch_id, digest, batch FROM log_records
                 WHERE dispatch_id = ?1 ORDER BY seq",
            )?
            .query_map(params![id], record_row)?
            .collect()
        })
    }

    /// The records of batch `number`, in log order: its leaves.
    pub fn batch_records(&self, number: i64) -> Result<Vec<LogRecord>, Error> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT seq, kind, dispatch_id, digest, batch FROM log_records
                 WHERE batch = ?1 ORDER BY seq",
            )?
            .query_map(params![number], record_row)?
            .collect()
        })
    }

    /// Batch `number`, if stamped.
    pub fn log_batch(&self, number: i64) -> Result<Option<LogBatch>, Error> {
        self.read(|c| {
            c.query_row(
                "SELECT number, size, root, statement, token, gen_time, relay_signature,
                        relay_certificates
                 FROM log_batches WHERE number = ?1",
                params![number],
                |r| {
                    let certificates: String = r.get(7)?;
                    Ok(LogBatch {
                        number: r.get(0)?,
                        size: r.get(1)?,
                        root: r.get(2)?,
                        statement: r.get(3)?,
                        token: r.get(4)?,
                        gen_time: r.get(5)?,
                        relay_signature: r.get(6)?,
                        // Written by this relay as a JSON array of strings.
                        relay_certificates: serde_json::from_str(&certificates).map_err(|e| {
                            rusqlite::Error::FromSqlConversionFailure(
                                7,
                                rusqlite::types::Type::Text,
                                Box::new(e),
                            )
                        })?,
                    })
                },
            )
            .optional()
        })
    }

    /// The number of the latest stamped batch (0 before the first).
    pub fn last_log_batch(&self) -> Result<i64, Error> {
        self.read(|c| {
            c.query_row(
                "SELECT COALESCE(MAX(number), 0) FROM log_batches",
                [],
                |r| r.get(0),
            )
        })
    }
}
