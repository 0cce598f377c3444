use std::path::PathBuf;

/// Everything that can go wrong while building, reading or verifying a `.cvd` envelope.
///
/// Verification outcomes (a bad signature, a revoked certificate) are not
/// errors: they are reported in a [`crate::VerificationReport`]. These are
/// the cases where the work could not be done at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A metadata field is missing or does not satisfy Decree 30/2020 or QCVN 102:2016.
    #[error("metadata field `{field}`: {problem}")]
    InvalidMetadata {
        /// The JSON name of the field (e.g. `number`, `signer.full_name`).
        field: String,
        /// What is wrong and, where useful, what a valid value looks like.
        problem: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a ZIP archive within the container's rules: truncated,
    /// not a ZIP, or laid out so that readers could disagree on what it holds
    /// (hidden or uncounted entries, comments, duplicate names, links).
    #[error("{path}: not a readable dispatch container: {problem}")]
    NotAContainer {
        /// The file.
        path: PathBuf,
        /// What the ZIP reader found.
        problem: String,
    },
    /// The container breaks the format: a missing or misplaced entry, bad
    /// JSON, a compressed attachment, a non-canonical manifest.
    #[error("format error: {0}")]
    Format(String),
    /// An entry that the format does not allow, such as `../evil` or an
    /// extra file that no signature covers.
    #[error("unexpected entry: {0}")]
    UnexpectedEntry(String),
    /// An entry is larger than the reader accepts (a zip bomb, or an absurd metadata file).
    #[error("entry {entry:?} is larger than the {limit}-byte limit; the container is refused")]
    TooLarge {
        /// The entry name.
        entry: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// An attachment listed in the manifest is not in the container.
    #[error("attachment {0:?} is listed in the manifest but missing from the container")]
    MissingAttachment(String),
    /// An attachment's bytes do not match the manifest.
    #[error("attachment {name:?} does not match the manifest: {problem}")]
    AttachmentMismatch {
        /// The attachment name.
        name: String,
        /// Size or hash difference.
        problem: String,
    },
    /// A file given to attach cannot be used.
    #[error("{path}: cannot attach: {problem}")]
    BadAttachment {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A signature or receipt entry is not a well-formed JWS.
    #[error("{entry}: malformed JWS: {problem}")]
    MalformedJws {
        /// The entry name.
        entry: String,
        /// What is wrong.
        problem: String,
    },
    /// The signing library refused (a key, a certificate, a signature).
    #[error(transparent)]
    Sign(#[from] congvan_sign::Error),
    /// The file is a sealed (encrypted) secret dispatch where a dispatch in
    /// clear was expected: it must be decrypted by a recipient first.
    #[error("{0}: this is a sealed (encrypted) secret dispatch; a recipient office decrypts it first (`congvan dispatch decrypt`, or `congvan fetch`, which decrypts by itself)")]
    Sealed(PathBuf),
    /// The operation is not allowed on this dispatch (e.g. signing with a
    /// certificate of another office).
    #[error("{0}")]
    Refused(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True when the input could not be read or used at all (exit 2), false
    /// when it was read and refused (exit 1).
    pub fn is_input_error(&self) -> bool {
        match self {
            Error::Sign(e) => !e.is_rejection(),
            Error::Refused(_) => false,
            _ => true,
        }
    }
}
