//! The workplace's own SQLite file (`DATA/web/web.sqlite`): accounts,
//! sessions, leaders' sealed signing keys, drafts, registers and the audit
//! trail. Dispatches themselves stay in the relay's store.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};

use crate::account::{Account, Role};
use crate::Error;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    office TEXT NOT NULL,
    role TEXT NOT NULL,
    login TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password TEXT NOT NULL,          -- Argon2id PHC string
    totp TEXT,                       -- base32 secret, when the second factor is on
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS signing_keys (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    cert_pem TEXT NOT NULL,
    chain_pem TEXT NOT NULL,
    sealed_key BLOB NOT NULL,        -- PKCS#8 encrypted under the signing PIN
    failures INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS drafts (
    id TEXT PRIMARY KEY,             -- the dispatch id
    office TEXT NOT NULL,
    author INTEGER NOT NULL REFERENCES users(id),
    signer INTEGER NOT NULL REFERENCES users(id),
    state TEXT NOT NULL,             -- awaiting, returned, signed, sent
    number TEXT NOT NULL,
    subject TEXT NOT NULL,
    urgency INTEGER NOT NULL,
    secret INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS drafts_by_office ON drafts (office, state, updated_at);
CREATE TABLE IF NOT EXISTS registers (
    office TEXT NOT NULL,
    year INTEGER NOT NULL,
    book TEXT NOT NULL,              -- 'out' (issued numbers) or 'in' (incoming register)
    last INTEGER NOT NULL,
    PRIMARY KEY (office, year, book)
);
CREATE TABLE IF NOT EXISTS incoming (
    office TEXT NOT NULL,
    dispatch_id TEXT NOT NULL,
    register_no INTEGER NOT NULL,
    assignee TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (office, dispatch_id)
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    office TEXT NOT NULL,
    login TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    address TEXT NOT NULL
);
";

/// A draft on its way from the clerk through the leader's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftRow {
    /// The dispatch id.
    pub id: String,
    /// The issuing office.
    pub office: String,
    /// The clerk who composed it.
    pub author: i64,
    /// The leader asked to sign it.
    pub signer: i64,
    /// `awaiting` (Chờ ký), `returned`, `signed`, `sent`.
    pub state: String,
    /// Number and notation.
    pub number: String,
    /// Subject excerpt.
    pub subject: String,
    /// Urgency code.
    pub urgency: u8,
    /// Mật and above.
    pub secret: bool,
    /// The leader's comment when returned.
    pub comment: String,
    /// Last change (Unix seconds).
    pub updated_at: i64,
}

/// One line of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Unix seconds.
    pub time: i64,
    /// The office the account belongs to.
    pub office: String,
    /// Who.
    pub login: String,
    /// What (`login`, `login-failed`, `sign`, `seal`, `status`...).
    pub action: String,
    /// On what (a dispatch id), never a subject or content.
    pub target: String,
    /// From which address.
    pub address: String,
}

/// A leader's sealed signing key as stored.
#[derive(Clone, Debug)]
pub struct SealedKey {
    /// The official certificate, PEM.
    pub cert_pem: String,
    /// Its chain, PEM.
    pub chain_pem: String,
    /// PKCS#8 `EncryptedPrivateKeyInfo` DER.
    pub sealed_key: Vec<u8>,
    /// Wrong PINs in a row.
    pub failures: u32,
    /// True once too many wrong PINs were given.
    pub locked: bool,
}

/// The workplace store.
#[derive(Clone)]
pub struct WebStore {
    conn: Arc<Mutex<Connection>>,
    dir: PathBuf,
}

impl WebStore {
    /// Opens (creating) the store in `dir` (the relay's `DATA/web`).
    pub fn open(dir: &Path) -> Result<WebStore, Error> {
        // Owner only: the database and its WAL hold password hashes and
        // sealed keys, drafts/ holds secret drafts in clear.
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        restrict(dir, 0o700)?;
        std::fs::create_dir_all(dir.join("drafts")).map_err(|e| Error::io(dir, e))?;
        std::fs::create_dir_all(dir.join("work")).map_err(|e| Error::io(dir, e))?;
        let conn = Connection::open(dir.join("web.sqlite"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        restrict(&dir.join("web.sqlite"), 0o600)?;
        Ok(WebStore {
            conn: Arc::new(Mutex::new(conn)),
            dir: dir.to_path_buf(),
        })
    }

    /// Where drafts' dispatch files are kept.
    pub fn draft_path(&self, id: &str) -> PathBuf {
        self.dir.join("drafts").join(format!("{id}.cvd"))
    }

    /// A scratch folder for files being read or uploaded.
    pub fn work_dir(&self) -> PathBuf {
        self.dir.join("work")
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| Error::Task("the web store lock was poisoned".into()))?;
        Ok(f(&conn)?)
    }

    /// Adds an account; the login must be new.
    pub fn add_user(&self, account: &Account, password_hash: &str) -> Result<i64, Error> {
        let exists = self.user_by_login(&account.login)?.is_some();
        if exists {
            return Err(Error::Account(format!(
                "the login {:?} is taken; choose another",
                account.login
            )));
        }
        self.with(|c| {
            c.execute(
                "INSERT INTO users (office, role, login, name, password, totp, disabled, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
                params![
                    account.office,
                    account.role.name(),
                    account.login,
                    account.name,
                    password_hash,
                    account.totp,
                    now()
                ],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// The account with this login, and its password hash.
    pub fn user_by_login(&self, login: &str) -> Result<Option<(Account, String)>, Error> {
        self.with(|c| {
            c.query_row(
                "SELECT id, office, role, login, name, totp, disabled, password FROM users WHERE login = ?1",
                params![login],
                |r| Ok((account_row(r)?, r.get(7)?)),
            )
            .optional()
        })
    }

    /// The account with this id.
    pub fn user(&self, id: i64) -> Result<Option<Account>, Error> {
        self.with(|c| {
            c.query_row(
                "SELECT id, office, role, login, name, totp, disabled FROM users WHERE id = ?1",
                params![id],
                account_row,
            )
            .optional()
        })
    }

    /// Every account, by office then login.
    pub fn users(&self) -> Result<Vec<Account>, Error> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, office, role, login, name, totp, disabled FROM users ORDER BY office, login",
            )?;
            let rows = stmt.query_map([], account_row)?;
            rows.collect()
        })
    }

    /// The office's leaders who can sign here (enabled, with a key).
    pub fn signers(&self, office: &str) -> Result<Vec<Account>, Error> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT u.id, u.office, u.role, u.login, u.name, u.totp, u.disabled FROM users u
                 JOIN signing_keys k ON k.user_id = u.id
                 WHERE u.office = ?1 AND u.role = 'leader' AND u.disabled = 0 AND k.locked = 0
                 ORDER BY u.name",
            )?;
            let rows = stmt.query_map(params![office], account_row)?;
            rows.collect()
        })
    }

    /// Disables an account and ends its sessions.
    pub fn disable_user(&self, login: &str) -> Result<(), Error> {
        let changed = self.with(|c| {
            let n = c.execute(
                "UPDATE users SET disabled = 1 WHERE login = ?1",
                params![login],
            )?;
            c.execute(
                "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE login = ?1)",
                params![login],
            )?;
            Ok(n)
        })?;
        if changed == 0 {
            return Err(Error::Account(format!("there is no account {login:?}")));
        }
        Ok(())
    }

    /// Sets a new password hash and ends the account's sessions.
    pub fn set_password(&self, login: &str, hash: &str) -> Result<(), Error> {
        let changed = self.with(|c| {
            let n = c.execute(
                "UPDATE users SET password = ?1 WHERE login = ?2",
                params![hash, login],
            )?;
            c.execute(
                "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE login = ?1)",
                params![login],
            )?;
            Ok(n)
        })?;
        if changed == 0 {
            return Err(Error::Account(format!("there is no account {login:?}")));
        }
        Ok(())
    }

    /// Stores a leader's sealed key (replacing an earlier one, unlocked).
    pub fn put_key(&self, user: i64, key: &SealedKey) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO signing_keys (user_id, cert_pem, chain_pem, sealed_key, failures, locked)
                 VALUES (?1, ?2, ?3, ?4, 0, 0)",
                params![user, key.cert_pem, key.chain_pem, key.sealed_key],
            )?;
            Ok(())
        })
    }

    /// A leader's sealed key.
    pub fn key(&self, user: i64) -> Result<Option<SealedKey>, Error> {
        self.with(|c| {
            c.query_row(
                "SELECT cert_pem, chain_pem, sealed_key, failures, locked FROM signing_keys WHERE user_id = ?1",
                params![user],
                |r| {
                    Ok(SealedKey {
                        cert_pem: r.get(0)?,
                        chain_pem: r.get(1)?,
                        sealed_key: r.get(2)?,
                        failures: r.get(3)?,
                        locked: r.get(4)?,
                    })
                },
            )
            .optional()
        })
    }

    /// Takes one PIN try before the PIN is checked: false when the key is
    /// locked or its `limit` tries are used up (it is locked then). Taken
    /// first, so tries sent all at once are counted as they arrive.
    pub fn take_pin_try(&self, user: i64, limit: u32) -> Result<bool, Error> {
        self.with(|c| {
            let taken = c.execute(
                "UPDATE signing_keys SET failures = failures + 1
                 WHERE user_id = ?1 AND locked = 0 AND failures < ?2",
                params![user, limit],
            )?;
            if taken == 0 {
                c.execute(
                    "UPDATE signing_keys SET locked = 1 WHERE user_id = ?1",
                    params![user],
                )?;
            }
            Ok(taken == 1)
        })
    }

    /// After a wrong PIN: the tries used so far, and the key locked once
    /// they reach `limit`.
    pub fn pin_failed(&self, user: i64, limit: u32) -> Result<u32, Error> {
        self.with(|c| {
            c.execute(
                "UPDATE signing_keys SET locked = 1 WHERE user_id = ?1 AND failures >= ?2",
                params![user, limit],
            )?;
            c.query_row(
                "SELECT failures FROM signing_keys WHERE user_id = ?1",
                params![user],
                |r| r.get(0),
            )
        })
    }

    /// A right PIN clears the count.
    pub fn pin_succeeded(&self, user: i64) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "UPDATE signing_keys SET failures = 0 WHERE user_id = ?1",
                params![user],
            )?;
            Ok(())
        })
    }

    /// Starts a session; the store keeps the token's digest only.
    pub fn create_session(&self, token: &str, user: i64, csrf: &str) -> Result<(), Error> {
        let digest = crate::random::token_digest(token);
        self.with(|c| {
            c.execute(
                "INSERT INTO sessions (token_sha256, user_id, csrf, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![digest, user, csrf, now()],
            )?;
            Ok(())
        })
    }

    /// The session's user, CSRF token and last activity.
    pub fn session(&self, token: &str) -> Result<Option<(i64, String, i64)>, Error> {
        let digest = crate::random::token_digest(token);
        self.with(|c| {
            c.query_row(
                "SELECT user_id, csrf, last_seen FROM sessions WHERE token_sha256 = ?1",
                params![digest],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
        })
    }

    /// Marks activity on a session.
    pub fn touch_session(&self, token: &str) -> Result<(), Error> {
        let digest = crate::random::token_digest(token);
        self.with(|c| {
            c.execute(
                "UPDATE sessions SET last_seen = ?2 WHERE token_sha256 = ?1",
                params![digest, now()],
            )?;
            Ok(())
        })
    }

    /// Ends a session.
    pub fn end_session(&self, token: &str) -> Result<(), Error> {
        let digest = crate::random::token_digest(token);
        self.with(|c| {
            c.execute(
                "DELETE FROM sessions WHERE token_sha256 = ?1",
                params![digest],
            )?;
            Ok(())
        })
    }

    /// Records a draft composed by a clerk.
    pub fn add_draft(&self, d: &DraftRow) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "INSERT INTO drafts (id, office, author, signer, state, number, subject, urgency, secret, comment, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
                params![d.id, d.office, d.author, d.signer, d.state, d.number, d.subject, d.urgency, d.secret, d.comment, now()],
            )?;
            Ok(())
        })
    }

    /// A draft of `office`.
    pub fn draft(&self, office: &str, id: &str) -> Result<Option<DraftRow>, Error> {
        self.with(|c| {
            c.query_row(
                &format!("{DRAFT_SELECT} WHERE office = ?1 AND id = ?2"),
                params![office, id],
                draft_row,
            )
            .optional()
        })
    }

    /// The office's drafts in a state, newest first.
    pub fn drafts(&self, office: &str, state: &str) -> Result<Vec<DraftRow>, Error> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "{DRAFT_SELECT} WHERE office = ?1 AND state = ?2 ORDER BY urgency DESC, updated_at DESC"
            ))?;
            let rows = stmt.query_map(params![office, state], draft_row)?;
            rows.collect()
        })
    }

    /// Moves a draft from state `from` to `to` (with a comment); false when
    /// it was not in `from` (someone else acted first).
    pub fn move_draft(
        &self,
        office: &str,
        id: &str,
        from: &str,
        to: &str,
        comment: &str,
    ) -> Result<bool, Error> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE drafts SET state = ?4, comment = ?5, updated_at = ?6
                 WHERE office = ?1 AND id = ?2 AND state = ?3",
                params![office, id, from, to, comment, now()],
            )?;
            Ok(n == 1)
        })
    }

    /// The next number in the office's book for this year, without taking it.
    pub fn peek_number(&self, office: &str, year: i32, book: &str) -> Result<i64, Error> {
        self.with(|c| {
            let last: Option<i64> = c
                .query_row(
                    "SELECT last FROM registers WHERE office = ?1 AND year = ?2 AND book = ?3",
                    params![office, year, book],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(last.unwrap_or(0) + 1)
        })
    }

    /// Takes the next number in the office's book for this year.
    pub fn take_number(&self, office: &str, year: i32, book: &str) -> Result<i64, Error> {
        self.with(|c| {
            c.execute(
                "INSERT INTO registers (office, year, book, last) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (office, year, book) DO UPDATE SET last = last + 1",
                params![office, year, book],
            )?;
            c.query_row(
                "SELECT last FROM registers WHERE office = ?1 AND year = ?2 AND book = ?3",
                params![office, year, book],
                |r| r.get(0),
            )
        })
    }

    /// The incoming register number of a dispatch: the one it was given,
    /// or the next of this year's book, taken and recorded in one
    /// transaction (two clerks registering at once get one number).
    pub fn register_incoming(&self, office: &str, id: &str, year: i32) -> Result<i64, Error> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| Error::Task("the web store lock was poisoned".into()))?;
        let tx = conn.transaction()?;
        let given: Option<i64> = tx
            .query_row(
                "SELECT register_no FROM incoming WHERE office = ?1 AND dispatch_id = ?2",
                params![office, id],
                |r| r.get(0),
            )
            .optional()?;
        let number = match given {
            Some(n) => n,
            None => {
                tx.execute(
                    "INSERT INTO registers (office, year, book, last) VALUES (?1, ?2, 'in', 1)
                     ON CONFLICT (office, year, book) DO UPDATE SET last = last + 1",
                    params![office, year],
                )?;
                let n: i64 = tx.query_row(
                    "SELECT last FROM registers WHERE office = ?1 AND year = ?2 AND book = 'in'",
                    params![office, year],
                    |r| r.get(0),
                )?;
                tx.execute(
                    "INSERT INTO incoming (office, dispatch_id, register_no) VALUES (?1, ?2, ?3)",
                    params![office, id, n],
                )?;
                n
            }
        };
        tx.commit()?;
        Ok(number)
    }

    /// The incoming register number of a dispatch, if registered.
    pub fn incoming_number(&self, office: &str, id: &str) -> Result<Option<i64>, Error> {
        self.with(|c| {
            c.query_row(
                "SELECT register_no FROM incoming WHERE office = ?1 AND dispatch_id = ?2",
                params![office, id],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// Appends to the audit trail.
    pub fn audit(&self, entry: &AuditEntry) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "INSERT INTO audit (time, office, login, action, target, address) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![entry.time, entry.office, entry.login, entry.action, entry.target, entry.address],
            )?;
            Ok(())
        })
    }

    /// The office's audit trail, newest first.
    pub fn audit_trail(&self, office: &str, limit: usize) -> Result<Vec<AuditEntry>, Error> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT time, office, login, action, target, address FROM audit
                 WHERE office = ?1 ORDER BY seq DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![office, limit as i64], |r| {
                Ok(AuditEntry {
                    time: r.get(0)?,
                    office: r.get(1)?,
                    login: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    address: r.get(5)?,
                })
            })?;
            rows.collect()
        })
    }
}

const DRAFT_SELECT: &str = "SELECT id, office, author, signer, state, number, subject, urgency, secret, comment, updated_at FROM drafts";

fn draft_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DraftRow> {
    Ok(DraftRow {
        id: r.get(0)?,
        office: r.get(1)?,
        author: r.get(2)?,
        signer: r.get(3)?,
        state: r.get(4)?,
        number: r.get(5)?,
        subject: r.get(6)?,
        urgency: r.get(7)?,
        secret: r.get(8)?,
        comment: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    let role: String = r.get(2)?;
    Ok(Account {
        id: r.get(0)?,
        office: r.get(1)?,
        role: Role::parse(&role).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("unknown role {role:?}").into(),
            )
        })?,
        login: r.get(3)?,
        name: r.get(4)?,
        totp: r.get(5)?,
        disabled: r.get(6)?,
    })
}

/// Unix seconds now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Sets `path`'s mode (owner only).
fn restrict(path: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(path, e))
}
