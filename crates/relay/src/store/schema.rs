//! Opening the SQLite file and creating its tables.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::Error;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    data BLOB,                      -- NULL when the blob is a file on disk
    purged INTEGER NOT NULL DEFAULT 0 -- removed by retention clean-up
);
CREATE TABLE IF NOT EXISTS dispatches (
    id TEXT PRIMARY KEY,
    blob TEXT NOT NULL REFERENCES blobs(sha256),
    manifest_sha256 TEXT NOT NULL,
    sender TEXT NOT NULL,
    number TEXT NOT NULL,
    subject TEXT NOT NULL,
    urgency INTEGER NOT NULL,
    secret INTEGER NOT NULL,
    due TEXT,
    received_at INTEGER NOT NULL,
    sender_name TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL DEFAULT 0,  -- the dispatch's own creation time (Unix ms)
    sealed INTEGER                  -- 1: signed and sealed, 0: signed only, NULL: unknown (secret)
);
-- The figures (store/figures.rs): an office's sent and received by time.
CREATE INDEX IF NOT EXISTS dispatches_by_sender ON dispatches (sender, received_at);
CREATE TABLE IF NOT EXISTS recipients (
    dispatch_id TEXT NOT NULL REFERENCES dispatches(id),
    org TEXT NOT NULL,
    route TEXT NOT NULL,            -- 'local' or the next hop's relay name
    state TEXT NOT NULL,            -- queued, forwarded, delivered, expired, refused
    PRIMARY KEY (dispatch_id, org)
);
CREATE TABLE IF NOT EXISTS inbox (
    office TEXT NOT NULL,
    dispatch_id TEXT NOT NULL REFERENCES dispatches(id),
    delivered_at INTEGER NOT NULL,
    status TEXT,
    PRIMARY KEY (office, dispatch_id)
);
CREATE INDEX IF NOT EXISTS inbox_by_time ON inbox (office, delivered_at);
CREATE TABLE IF NOT EXISTS messages (
    digest TEXT PRIMARY KEY,
    dispatch_id TEXT NOT NULL,
    dest TEXT NOT NULL,
    jws TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,             -- 'dispatch' or 'receipt'
    ref TEXT NOT NULL,
    hop TEXT NOT NULL,
    urgency INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL, -- retry backoff (push) or lease (pull)
    attempts INTEGER NOT NULL DEFAULT 0, -- failed transfers so far, for this entry's backoff
    UNIQUE (kind, ref, hop)
);
CREATE INDEX IF NOT EXISTS outbox_by_hop ON outbox (hop, urgency DESC, seq);
CREATE TABLE IF NOT EXISTS events (
    digest TEXT PRIMARY KEY,
    dispatch_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    office TEXT NOT NULL DEFAULT '',  -- who made the statement (status: the recipient)
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    code TEXT,
    description TEXT NOT NULL,
    jws TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_dispatch ON events (dispatch_id, time);
-- Counting an inbox without its recalled dispatches (status 15) from the
-- index alone.
CREATE INDEX IF NOT EXISTS inbox_by_status ON inbox (office, status);
CREATE TABLE IF NOT EXISTS supersessions (
    old_id TEXT NOT NULL,           -- the earlier dispatch
    new_id TEXT NOT NULL,           -- the dispatch that replaces or updates it
    kind TEXT NOT NULL,             -- 'replaces' or 'updates'
    sender TEXT NOT NULL,           -- their one issuer
    PRIMARY KEY (old_id, new_id)
);
CREATE TABLE IF NOT EXISTS edxml_statuses (
    digest TEXT PRIMARY KEY,        -- an events row the edXML gateway has handled
    written INTEGER NOT NULL        -- 1: written to the outbox; 0: not about an imported dispatch
);
CREATE TABLE IF NOT EXISTS statuses (
    office TEXT NOT NULL,
    dispatch_id TEXT NOT NULL,
    code TEXT NOT NULL,
    time INTEGER NOT NULL,
    PRIMARY KEY (office, dispatch_id, code)
);
CREATE TABLE IF NOT EXISTS mail_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup TEXT NOT NULL UNIQUE,     -- a notice is queued once, whatever restarts
    office TEXT NOT NULL,
    notice TEXT NOT NULL,           -- JSON congvan_notify::Notice
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS mail_unsent ON mail_outbox (sent_at, id);
-- The message log: every dispatch (by manifest digest) and receipt taken
-- in, batch-timestamped (message_log.rs). Kept when retention removes the
-- dispatch: a record is what proves the relay held it.
CREATE TABLE IF NOT EXISTS log_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,             -- 'dispatch' or 'receipt'
    dispatch_id TEXT NOT NULL,
    digest TEXT NOT NULL,           -- the manifest's SHA-256, or the receipt's digest
    logged_at INTEGER NOT NULL,
    batch INTEGER,                  -- NULL until a batch timestamp covers it
    UNIQUE (kind, dispatch_id, digest)
);
CREATE INDEX IF NOT EXISTS log_by_dispatch ON log_records (dispatch_id);
CREATE INDEX IF NOT EXISTS log_by_batch ON log_records (batch, seq);
-- The newest signed figures report of each relay below this one
-- (figure_reports.rs), verified when it came, kept to show and pass up.
CREATE TABLE IF NOT EXISTS figure_reports (
    relay TEXT PRIMARY KEY,
    generated_at INTEGER NOT NULL,  -- when that relay computed it (Unix ms)
    received_at INTEGER NOT NULL,
    signed TEXT NOT NULL            -- JSON SignedFigures, as that relay signed it
);
CREATE TABLE IF NOT EXISTS log_batches (
    number INTEGER PRIMARY KEY,
    size INTEGER NOT NULL,
    root TEXT NOT NULL,             -- base64 of the Merkle root
    statement TEXT NOT NULL,        -- what the token's imprint is over
    token BLOB NOT NULL,            -- the RFC 3161 token (DER)
    gen_time INTEGER NOT NULL,      -- the token's genTime (Unix ms)
    relay_signature TEXT NOT NULL,  -- base64 of the relay's signature over the statement
    relay_certificates TEXT NOT NULL -- JSON array of base64 DER: the relay's certificate, then its CAs
);
";

/// Opens the database in WAL mode with full fsync on commit.
pub(crate) fn open(path: &Path) -> Result<Connection, Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: the WAL is fsynced at every commit, so "accepted" means durable.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Each write of a batch runs in its own savepoint, whose statement
    // journal SQLite otherwise spills to a file in /var/tmp once a batch
    // passes 64 KiB: a file created and deleted per commit under load
    // (strace of examples/relay_load). Kept in memory, it costs at most
    // the pages one batch changes, and it is never needed after a crash:
    // the WAL alone makes the commit atomic.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // The writer runs about twenty distinct statements per dispatch; the
    // default cache of 16 would evict and re-prepare some of them on every
    // write.
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch(SCHEMA)?;
    migrate(&conn)?;
    Ok(conn)
}

/// Opens the database to read only (the writer made its schema).
pub(crate) fn open_read_only(path: &Path) -> Result<Connection, Error> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    Ok(conn)
}

/// Brings a store made by an earlier version up to this schema.
fn migrate(conn: &Connection) -> Result<(), Error> {
    let has_attempts: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('outbox') WHERE name = 'attempts'")?
        .exists([])?;
    if !has_attempts {
        conn.execute_batch("ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")?;
    }
    let has_sealed: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('dispatches') WHERE name = 'sealed'")?
        .exists([])?;
    if !has_sealed {
        conn.execute_batch("ALTER TABLE dispatches ADD COLUMN sealed INTEGER")?;
    }
    Ok(())
}
