//! The relay's durable state: SQLite (WAL) for records, content-addressed
//! blobs for dispatch files.
//!
//! Every write goes through one writer thread that commits whatever is
//! queued in a single transaction: one fsync covers a whole batch of
//! accepted dispatches, so throughput is not capped at one fsync each.
//! A caller is answered only after the commit that holds its write.

mod blobs;
mod digest;
mod figures;
mod log;
mod schema;
mod writer;

pub(crate) use blobs::{random_fraction, random_u64};
pub use blobs::{BlobRef, Blobs, INLINE_BLOB_LIMIT};
pub use figures::StoredReport;
pub use log::{LogBatch, LogRecord};
pub use writer::Writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};

use crate::Error;

/// What the relay stores about a dispatch, besides its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchRecord {
    /// Dispatch id.
    pub id: String,
    /// SHA-256 of the stored file.
    pub blob: String,
    /// SHA-256 of its manifest (receipts name it).
    pub manifest_sha256: String,
    /// The issuing office.
    pub sender: String,
    /// Number and notation.
    pub number: String,
    /// Subject excerpt; withheld from listings when `secret`.
    pub subject: String,
    /// Urgency code 0..=4.
    pub urgency: u8,
    /// True for Mật and above.
    pub secret: bool,
    /// Due date, if any.
    pub due: Option<String>,
    /// When this relay accepted it (Unix ms).
    pub received_at: i64,
}

/// One line of an office's inbox.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InboxItem {
    /// Dispatch id.
    pub id: String,
    /// The issuing office.
    pub from: String,
    /// Number and notation.
    pub number: String,
    /// Subject excerpt; `None` for a secret (Mật and above) dispatch, whose
    /// subject no listing shows: it is read in the dispatch itself.
    pub subject: Option<String>,
    /// Urgency code 0..=4.
    pub urgency: u8,
    /// True for Mật and above.
    pub secret: bool,
    /// Due date, if any.
    pub due: Option<String>,
    /// When it reached the inbox (Unix ms).
    pub delivered_at: i64,
    /// The last status code this office sent for it, if any.
    pub status: Option<String>,
    /// True when its issuer has requested its recall (status 13); the
    /// office answers with 15 (agreed: it leaves the working inbox) or 16.
    #[serde(default)]
    pub recall_requested: bool,
    /// The dispatch that replaces or updates it, and how
    /// (`replaces`/`updates`), when one has arrived here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<Supersession>,
}

/// A later dispatch of the same issuer that replaces or updates one.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Supersession {
    /// `replaces` or `updates`.
    pub kind: String,
    /// The later dispatch.
    pub id: String,
}

/// One entry of a dispatch's timeline.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrackEvent {
    /// `custody`, `status` or `non_delivery`.
    pub kind: String,
    /// When (RFC 3339).
    pub time: String,
    /// Who: the relay or office that signed it.
    pub actor: String,
    /// The status code, for status events.
    pub code: Option<String>,
    /// What happened, for people.
    pub description: String,
    /// The signed receipt itself (JWS JSON), so the sender can check it.
    pub receipt: String,
}

/// One queued transfer to a next hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Queue position (also the pull token).
    pub seq: i64,
    /// `dispatch` or `receipt`.
    pub kind: String,
    /// The dispatch id or the receipt digest.
    pub reference: String,
    /// The next hop's relay name.
    pub hop: String,
    /// Urgency; higher goes first.
    pub urgency: u8,
    /// When it was queued (Unix ms).
    pub created_at: i64,
    /// Failed transfers so far.
    pub attempts: u32,
}

/// The relay store: a read connection here, writes through the [`Writer`].
#[derive(Clone)]
pub struct Store {
    reader: Arc<Mutex<Connection>>,
    blobs: Blobs,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, and starts the writer.
    pub fn open(dir: &Path, batch_max: usize) -> Result<(Store, Writer), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join("relay.sqlite");
        let conn = schema::open(&path)?;
        let writer = Writer::start(conn, batch_max)?;
        // The reader only reads: one writer connection, so no write can
        // ever wait on another connection's lock.
        let reader = schema::open_read_only(&path)?;
        let blobs = Blobs::open(&dir.join("blobs"))?;
        Ok((
            Store {
                reader: Arc::new(Mutex::new(reader)),
                blobs,
                path,
            },
            writer,
        ))
    }

    /// Opens an existing store in `dir` for reading only, without a
    /// writer: for a command run beside the relay (`relay proof`), which
    /// must neither take the relay's data folder nor change it.
    pub fn open_reader(dir: &Path) -> Result<Store, Error> {
        let path = dir.join("relay.sqlite");
        if !path.exists() {
            return Err(Error::Config {
                path: path.clone(),
                problem: "no relay store here: is `data` the relay's data folder?".into(),
            });
        }
        let reader = schema::open_read_only(&path)?;
        let blobs = Blobs::open(&dir.join("blobs"))?;
        Ok(Store {
            reader: Arc::new(Mutex::new(reader)),
            blobs,
            path,
        })
    }

    /// The blob store.
    pub fn blobs(&self) -> &Blobs {
        &self.blobs
    }

    /// The SQLite file, for operators' backups.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        let conn = self.reader.lock().map_err(|_| Error::ShuttingDown)?;
        Ok(f(&conn)?)
    }

    /// The stored dispatch with this id.
    pub fn dispatch(&self, id: &str) -> Result<Option<DispatchRecord>, Error> {
        self.read(|c| {
            c.query_row(
                "SELECT id, blob, manifest_sha256, sender, number, subject, urgency, secret, due, received_at
                 FROM dispatches WHERE id = ?1",
                params![id],
                dispatch_row,
            )
            .optional()
        })
    }

    /// The dispatch with this id if `office` may see it: its sender, or a
    /// recipient holding it in the inbox. The one rule behind the API's
    /// fetch and the web workplace's pages: anything else is "not found".
    pub fn visible_to(&self, office: &str, id: &str) -> Result<Option<DispatchRecord>, Error> {
        let Some(record) = self.dispatch(id)? else {
            return Ok(None);
        };
        if record.sender == office || self.in_inbox(office, id)? {
            Ok(Some(record))
        } else {
            Ok(None)
        }
    }

    /// The dispatches `office` sent through this relay, newest first, at
    /// most `limit`.
    pub fn sent_by(&self, office: &str, limit: usize) -> Result<Vec<DispatchRecord>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, blob, manifest_sha256, sender, number, subject, urgency, secret, due, received_at
                 FROM dispatches WHERE sender = ?1 ORDER BY received_at DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![office, limit as i64], dispatch_row)?;
            rows.collect()
        })
    }

    /// Copies the stored file of a dispatch to `out` (for reading it with
    /// the envelope library). `Ok(false)` when retention removed it.
    pub fn copy_dispatch_file(&self, record: &DispatchRecord, out: &Path) -> Result<bool, Error> {
        match self.blob(&record.blob)? {
            Some(Some(bytes)) => {
                std::fs::write(out, bytes).map_err(|e| Error::io(out, e))?;
                Ok(true)
            }
            Some(None) => {
                let path = self.blobs.path(&record.blob);
                std::fs::copy(&path, out).map_err(|e| Error::io(&path, e))?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// True when `office` has the dispatch in its inbox.
    pub fn in_inbox(&self, office: &str, id: &str) -> Result<bool, Error> {
        self.read(|c| {
            c.query_row(
                "SELECT 1 FROM inbox WHERE office = ?1 AND dispatch_id = ?2",
                params![office, id],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
        })
    }

    /// An office's inbox, most urgent first, then newest first.
    pub fn inbox(&self, office: &str) -> Result<Vec<InboxItem>, Error> {
        self.inbox_page(office, 0, None)
    }

    /// One page of an office's working inbox in the same order: `limit`
    /// items (all when `None`) after the first `offset`. A dispatch whose
    /// recall the office agreed to (15) is no longer in it; see
    /// [`Store::inbox_with_recalled`].
    pub fn inbox_page(
        &self,
        office: &str,
        offset: usize,
        limit: Option<usize>,
    ) -> Result<Vec<InboxItem>, Error> {
        self.inbox_query(office, offset, limit, false)
    }

    /// The whole inbox, recalled dispatches included, for audit.
    pub fn inbox_with_recalled(&self, office: &str) -> Result<Vec<InboxItem>, Error> {
        self.inbox_query(office, 0, None, true)
    }

    fn inbox_query(
        &self,
        office: &str,
        offset: usize,
        limit: Option<usize>,
        with_recalled: bool,
    ) -> Result<Vec<InboxItem>, Error> {
        // SQLite reads a negative LIMIT as "no limit".
        let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        // The page first, then what is looked up per dispatch, so the
        // look-ups run for the page's rows only, not the whole inbox. Two
        // fixed statements rather than a flag in one, which would keep
        // SQLite from planning either well.
        const PAGE: &str = "SELECT p.id, p.sender, p.number, p.subject, p.urgency, p.secret, p.due, p.delivered_at, p.status,
                EXISTS (SELECT 1 FROM events e WHERE e.dispatch_id = p.id AND e.kind = 'status' AND e.code = '13' AND e.office = p.sender),
                (SELECT s.kind || ' ' || s.new_id FROM supersessions s
                  WHERE s.old_id = p.id AND s.sender = p.sender ORDER BY s.rowid DESC LIMIT 1)
         FROM (SELECT d.id, d.sender, d.number, d.subject, d.urgency, d.secret, d.due, i.delivered_at, i.status
               FROM inbox i JOIN dispatches d ON d.id = i.dispatch_id
               WHERE i.office = ?1 FILTER
               ORDER BY d.urgency DESC, i.delivered_at DESC
               LIMIT ?2 OFFSET ?3) p
         ORDER BY p.urgency DESC, p.delivered_at DESC";
        let sql = if with_recalled {
            PAGE.replace("FILTER", "")
        } else {
            PAGE.replace("FILTER", "AND i.status IS NOT '15'")
        };
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![office, limit, offset], |r| {
                let secret: bool = r.get(5)?;
                let superseded: Option<String> = r.get(10)?;
                Ok(InboxItem {
                    id: r.get(0)?,
                    from: r.get(1)?,
                    number: r.get(2)?,
                    subject: if secret { None } else { Some(r.get(3)?) },
                    urgency: r.get(4)?,
                    secret,
                    due: r.get(6)?,
                    delivered_at: r.get(7)?,
                    status: r.get(8)?,
                    recall_requested: r.get(9)?,
                    superseded_by: superseded.and_then(|text| {
                        let (kind, id) = text.split_once(' ')?;
                        Some(Supersession {
                            kind: kind.to_string(),
                            id: id.to_string(),
                        })
                    }),
                })
            })?;
            rows.collect()
        })
    }

    /// True when the issuer's recall request (13) for the dispatch has
    /// reached this relay.
    pub fn recall_requested(&self, id: &str) -> Result<bool, Error> {
        self.read(|c| {
            c.query_row(
                "SELECT 1 FROM events e JOIN dispatches d ON d.id = e.dispatch_id
                 WHERE e.dispatch_id = ?1 AND e.kind = 'status' AND e.code = '13' AND e.office = d.sender
                 LIMIT 1",
                params![id],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
        })
    }

    /// The issuer's signed notices about a dispatch that reached this relay
    /// (its recall request, status 13, and what supersedes it), as JWS JSON
    /// texts.
    pub fn issuer_notices(&self, id: &str) -> Result<Vec<String>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT e.jws FROM events e JOIN dispatches d ON d.id = e.dispatch_id
                 WHERE e.dispatch_id = ?1 AND e.office = d.sender
                   AND ((e.kind = 'status' AND e.code = '13') OR e.kind = 'superseded')
                 GROUP BY e.jws ORDER BY MIN(e.rowid) LIMIT 8",
            )?;
            let rows = stmt.query_map(params![id], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Recipients' statuses about dispatches `sender` answers for that the
    /// edXML gateway has not handled yet: (event digest, dispatch id, blob,
    /// signed receipt).
    pub fn statuses_for_gateway(
        &self,
        sender: &str,
    ) -> Result<Vec<(String, String, String, String)>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT e.digest, e.dispatch_id, d.blob, e.jws FROM events e JOIN dispatches d ON d.id = e.dispatch_id
                 WHERE d.sender = ?1 AND e.kind = 'status' AND e.code != '13'
                   AND NOT EXISTS (SELECT 1 FROM edxml_statuses x WHERE x.digest = e.digest)
                 ORDER BY e.rowid LIMIT 100",
            )?;
            let rows = stmt.query_map(params![sender], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            rows.collect()
        })
    }

    /// Dispatches (id, blob) with recipients still queued on `route`.
    pub fn queued_via(&self, route: &str) -> Result<Vec<(String, String)>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT d.id, d.blob FROM recipients r JOIN dispatches d ON d.id = r.dispatch_id
                 WHERE r.route = ?1 AND r.state = 'queued' ORDER BY d.received_at",
            )?;
            let rows = stmt.query_map(params![route], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// Every recipient of a dispatch this relay routed (locally or on).
    pub fn recipient_orgs(&self, id: &str) -> Result<Vec<String>, Error> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT org FROM recipients WHERE dispatch_id = ?1 ORDER BY org")?;
            let rows = stmt.query_map(params![id], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// The later dispatches of the same issuer that replace or update `id`.
    pub fn superseded_by(&self, id: &str) -> Result<Vec<Supersession>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT s.kind, s.new_id FROM supersessions s JOIN dispatches d ON d.id = s.old_id
                 WHERE s.old_id = ?1 AND s.sender = d.sender ORDER BY s.rowid",
            )?;
            let rows = stmt.query_map(params![id], |r| {
                Ok(Supersession {
                    kind: r.get(0)?,
                    id: r.get(1)?,
                })
            })?;
            rows.collect()
        })
    }

    /// How many dispatches an office's inbox holds.
    pub fn inbox_count(&self, office: &str) -> Result<usize, Error> {
        self.read(|c| {
            c.query_row(
                "SELECT (SELECT COUNT(*) FROM inbox WHERE office = ?1)
                      - (SELECT COUNT(*) FROM inbox WHERE office = ?1 AND status = '15')",
                params![office],
                |r| r.get::<_, i64>(0),
            )
        })
        .map(|n| usize::try_from(n).unwrap_or(0))
    }

    /// Where `office` recorded a dispatch in its inbox, with its last
    /// status: `None` when it is not there.
    pub fn inbox_status(&self, office: &str, id: &str) -> Result<Option<Option<String>>, Error> {
        self.read(|c| {
            c.query_row(
                "SELECT status FROM inbox WHERE office = ?1 AND dispatch_id = ?2",
                params![office, id],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// The timeline of a dispatch, oldest first.
    pub fn events(&self, id: &str) -> Result<Vec<TrackEvent>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT kind, time, actor, code, description, jws FROM events
                 WHERE dispatch_id = ?1 ORDER BY time, rowid",
            )?;
            let rows = stmt.query_map(params![id], |r| {
                Ok(TrackEvent {
                    kind: r.get(0)?,
                    time: r.get(1)?,
                    actor: r.get(2)?,
                    code: r.get(3)?,
                    description: r.get(4)?,
                    receipt: r.get(5)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The next queued transfers for `hop`, most urgent first.
    pub fn due(&self, hop: &str, now_ms: i64, limit: usize) -> Result<Vec<OutboxEntry>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, kind, ref, hop, urgency, created_at, attempts FROM outbox
                 WHERE hop = ?1 AND next_attempt_at <= ?2
                 ORDER BY urgency DESC, seq ASC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![hop, now_ms, limit as i64], outbox_row)?;
            rows.collect()
        })
    }

    /// When the earliest lease on `hop`'s items runs out (Unix ms), if any
    /// is held after `now_ms`.
    pub fn next_lease_end(&self, hop: &str, now_ms: i64) -> Result<Option<i64>, Error> {
        self.read(|c| {
            c.query_row(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE hop = ?1 AND next_attempt_at > ?2",
                params![hop, now_ms],
                |r| r.get(0),
            )
        })
    }

    /// One queued transfer by its queue position.
    pub fn outbox_entry(&self, seq: i64) -> Result<Option<OutboxEntry>, Error> {
        self.read(|c| {
            c.query_row(
                "SELECT seq, kind, ref, hop, urgency, created_at, attempts FROM outbox WHERE seq = ?1",
                params![seq],
                outbox_row,
            )
            .optional()
        })
    }

    /// Queued dispatch transfers whose expiry has passed.
    pub fn expired(&self, now_ms: i64) -> Result<Vec<OutboxEntry>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, kind, ref, hop, urgency, created_at, attempts FROM outbox
                 WHERE kind = 'dispatch' AND expires_at <= ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![now_ms], outbox_row)?;
            rows.collect()
        })
    }

    /// Recipients of a dispatch this relay sent on through `hop` (in any
    /// state: queued, forwarded, expired, refused).
    pub fn recipients_via(&self, id: &str, hop: &str) -> Result<Vec<String>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT org FROM recipients WHERE dispatch_id = ?1 AND route = ?2 ORDER BY org",
            )?;
            let rows = stmt.query_map(params![id, hop], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// True when `office` already sent status `code` for the dispatch.
    pub fn has_status(&self, office: &str, id: &str, code: &str) -> Result<bool, Error> {
        self.read(|c| {
            c.query_row(
                "SELECT 1 FROM statuses WHERE office = ?1 AND dispatch_id = ?2 AND code = ?3",
                params![office, id, code],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
        })
    }

    /// Recipients of a dispatch routed through `hop` and not yet handed on.
    pub fn queued_recipients(&self, id: &str, hop: &str) -> Result<Vec<String>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT org FROM recipients WHERE dispatch_id = ?1 AND route = ?2 AND state = 'queued' ORDER BY org",
            )?;
            let rows = stmt.query_map(params![id, hop], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Every recipient of a dispatch as this relay routed it: the office,
    /// its route (`local` or the next hop's name) and its state here
    /// (queued, forwarded, delivered, expired).
    pub fn recipient_routes(&self, id: &str) -> Result<Vec<(String, String, String)>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT org, route, state FROM recipients WHERE dispatch_id = ?1 ORDER BY org",
            )?;
            let rows = stmt.query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect()
        })
    }

    /// Failed transfers so far of a dispatch still queued for `hop`, or
    /// `None` when it is not queued there.
    pub fn queued_attempts(&self, id: &str, hop: &str) -> Result<Option<u32>, Error> {
        self.read(|c| {
            c.query_row(
                "SELECT attempts FROM outbox WHERE kind = 'dispatch' AND ref = ?1 AND hop = ?2",
                params![id, hop],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// A receipt message in transit: its destination office and JWS.
    pub fn message(&self, digest: &str) -> Result<Option<(String, String, String)>, Error> {
        self.read(|c| {
            c.query_row(
                "SELECT dispatch_id, dest, jws FROM messages WHERE digest = ?1",
                params![digest],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
        })
    }

    /// A blob's bytes when stored inline, `Ok(Some(None))` when it is a
    /// file (see [`Blobs::path`]), `Ok(None)` when unknown or cleaned up.
    pub fn blob(&self, sha256: &str) -> Result<Option<Option<Vec<u8>>>, Error> {
        self.read(|c| {
            c.query_row(
                "SELECT data FROM blobs WHERE sha256 = ?1 AND purged = 0",
                params![sha256],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .optional()
        })
    }

    /// Blobs whose every dispatch was received before `cutoff_ms` and is no
    /// longer queued anywhere: what retention may remove.
    pub fn expired_blobs(&self, cutoff_ms: i64) -> Result<Vec<String>, Error> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT b.sha256 FROM blobs b WHERE b.purged = 0
                 AND NOT EXISTS (SELECT 1 FROM dispatches d WHERE d.blob = b.sha256
                     AND (d.received_at >= ?1
                          OR EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'dispatch' AND o.ref = d.id)))",
            )?;
            let rows = stmt.query_map(params![cutoff_ms], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Removes the blob file with this digest unless a `blobs` row refers
    /// to it: an upload adopted as a blob whose commit did not record it.
    pub fn remove_blob_if_unreferenced(&self, sha256: &str) -> Result<(), Error> {
        if self.blob(sha256)?.is_some() {
            return Ok(());
        }
        let path = self.blobs.path(sha256);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Removes every blob file no `blobs` row refers to: left by a crash
    /// between adopting an upload and the commit that would have recorded
    /// it. Run at start, before any upload is in flight. Returns how many.
    pub fn remove_orphan_blobs(&self) -> Result<usize, Error> {
        let mut removed = 0;
        for sha256 in self.blobs.files()? {
            let referenced = self.read(|c| {
                c.query_row(
                    "SELECT 1 FROM blobs WHERE sha256 = ?1 AND data IS NULL AND purged = 0",
                    params![sha256],
                    |_| Ok(()),
                )
                .optional()
                .map(|o| o.is_some())
            })?;
            if !referenced {
                let path = self.blobs.path(&sha256);
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Number of queued transfers, for metrics.
    pub fn queue_depth(&self) -> Result<i64, Error> {
        self.read(|c| c.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0)))
    }
}

/// Maps a `SELECT id, blob, manifest_sha256, sender, number, subject,
/// urgency, secret, due, received_at FROM dispatches` row.
fn dispatch_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DispatchRecord> {
    Ok(DispatchRecord {
        id: r.get(0)?,
        blob: r.get(1)?,
        manifest_sha256: r.get(2)?,
        sender: r.get(3)?,
        number: r.get(4)?,
        subject: r.get(5)?,
        urgency: r.get(6)?,
        secret: r.get(7)?,
        due: r.get(8)?,
        received_at: r.get(9)?,
    })
}

/// Maps a `SELECT seq, kind, ref, hop, urgency, created_at, attempts FROM outbox` row.
fn outbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    Ok(OutboxEntry {
        seq: r.get(0)?,
        kind: r.get(1)?,
        reference: r.get(2)?,
        hop: r.get(3)?,
        urgency: r.get(4)?,
        created_at: r.get(5)?,
        attempts: r.get(6)?,
    })
}
