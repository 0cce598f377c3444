//! The web workplace's errors.

use std::path::PathBuf;

/// What can go wrong in the web workplace. Pages turn these into a message
/// for people (in Vietnamese) at the edge, in `pages::problem`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The workplace's own database.
    #[error("web store: {0}")]
    Store(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The relay below refused or failed.
    #[error("relay: {0}")]
    Relay(#[from] congvan_relay::Error),
    /// Signing, certificates, keys.
    #[error("{0}")]
    Sign(#[from] congvan_sign::Error),
    /// The dispatch format.
    #[error("{0}")]
    Envelope(#[from] congvan_envelope::Error),
    /// Rendering a PDF.
    #[error("rendering: {0}")]
    Render(#[from] congvan_render::Error),
    /// An account operation that cannot be done as asked.
    #[error("{0}")]
    Account(String),
    /// The office is not one this workplace serves.
    #[error(
        "office {0} is not served by this web workplace; add it under [[web.office]] in relay.toml"
    )]
    UnknownOffice(String),
    /// A background task ended before answering.
    #[error("a background task failed: {0}")]
    Task(String),
    /// The listener or TLS set-up.
    #[error("web listener: {0}")]
    Listen(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
