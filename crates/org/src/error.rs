use std::path::PathBuf;

/// Everything that can go wrong while parsing organization ids or loading a registry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is neither a QCVN 102:2016 code nor a parent-first code.
    #[error("invalid organization id {id:?}: {why}")]
    InvalidOrgId {
        /// The text as given.
        id: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The registry file could not be read.
    #[error("cannot read organization registry {path}: {source}")]
    RegistryIo {
        /// The registry file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The registry file is not valid TOML of the expected shape.
    #[error("organization registry {path} is malformed: {message}")]
    RegistryFormat {
        /// The registry file (or `<inline>`).
        path: PathBuf,
        /// The parser's explanation.
        message: String,
    },
    /// The registry names the same office twice.
    #[error("organization registry lists {0} more than once")]
    DuplicateOffice(String),
    /// An office names a parent that the registry does not list.
    #[error("office {office} names parent {parent}, which is not in the registry")]
    UnknownParent {
        /// The office whose parent is missing.
        office: String,
        /// The missing parent.
        parent: String,
    },
}
