use std::path::PathBuf;

/// Everything that can go wrong in the relay.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file cannot be read or is invalid.
    #[error("relay configuration {path}: {problem}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// Another relay runs on the same data folder (it holds `relay.lock`).
    #[error(
        "another relay is already running on the data folder {data} (it holds {data}/relay.lock); \
         stop it first, or give this relay its own `data` folder"
    )]
    DataFolderInUse {
        /// The data folder.
        data: PathBuf,
    },
    /// The store holds something this build cannot read back.
    #[error(
        "the relay store holds something unreadable: {0}; restore the data folder from a backup"
    )]
    Corrupt(String),
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The SQLite store failed.
    #[error("relay store: {0}")]
    Store(#[from] rusqlite::Error),
    /// TLS could not be set up (bad certificate, key or trust anchors).
    #[error("TLS setup: {0}")]
    Tls(String),
    /// A peer could not be reached or broke off.
    #[error("cannot reach {url}: {problem}")]
    Unreachable {
        /// The peer URL.
        url: String,
        /// What happened.
        problem: String,
    },
    /// The TLS connection was refused, for a reason worth saying: a
    /// certificate (ours or the peer's) expired, revoked, of another PKI.
    #[error("{url}: {reason}")]
    TlsRefused {
        /// The peer URL.
        url: String,
        /// What was refused and what to do.
        reason: String,
    },
    /// The server is not the relay the client meant to reach (another
    /// organization's relay, another province's CA, not a relay at all):
    /// nothing was sent to it.
    #[error("{url} is not the expected relay: {problem}; nothing was sent to it")]
    NotTheExpectedRelay {
        /// The URL.
        url: String,
        /// Why its certificate does not fit.
        problem: String,
    },
    /// A peer answered with a refusal.
    #[error("{url} refused: {status} {reason}")]
    Refused {
        /// The peer URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The reason the peer gave.
        reason: String,
    },
    /// A peer's answer could not be understood.
    #[error("{url}: unexpected answer: {problem}")]
    Protocol {
        /// The peer URL.
        url: String,
        /// What was wrong with it.
        problem: String,
    },
    /// The signing library failed (loading the relay's credential, CRLs).
    #[error(transparent)]
    Sign(#[from] congvan_sign::Error),
    /// The envelope library failed (opening, verifying, appending receipts).
    #[error(transparent)]
    Envelope(#[from] congvan_envelope::Error),
    /// The organization registry failed.
    #[error(transparent)]
    Org(#[from] congvan_org::Error),
    /// The store's writer has stopped (the relay is shutting down or its store failed).
    #[error("the relay store is unavailable (shutting down, or the disk failed); try again later")]
    ShuttingDown,
    /// The timestamp authority of the message log's batches could not be
    /// used: the batch stays pending and is tried again.
    #[error("the batch timestamp failed: {0}")]
    Timestamp(String),
    /// An exported log proof does not hold.
    #[error("the log proof does not hold: {0}")]
    Proof(String),
    /// A batch commit failed, so nothing in it was stored.
    #[error("the relay could not commit to its store (disk full or failing?); nothing was stored, try again later")]
    CommitFailed,
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
