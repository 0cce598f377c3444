use std::path::PathBuf;

/// Everything that can go wrong while encrypting or decrypting a secret
/// dispatch. Each says what was wrong; none carries key material or
/// plaintext.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The JWE is not in the form congvan reads (RFC 7516 general JSON,
    /// ECDH-ES+A256KW recipients, A256GCM content).
    #[error("the JWE is malformed: {0}")]
    Malformed(String),
    /// An algorithm congvan does not accept (in `alg` or `enc`).
    #[error("unsupported algorithm: {0}")]
    Unsupported(String),
    /// The key given is not one of the recipients'.
    #[error("{0}")]
    NotARecipient(String),
    /// Authenticated decryption failed: the ciphertext, a tag, the routing
    /// header, the protected header or a wrapped key was altered, or the
    /// key is not the one it was wrapped for.
    #[error("decryption failed: {0}")]
    Decryption(String),
    /// A certificate or key cannot be used for encryption.
    #[error("{0}")]
    Key(String),
    /// Encrypting could not be done (the recipients do not cover the
    /// dispatch's recipients, a random number could not be drawn).
    #[error("{0}")]
    Refused(String),
    /// The container library refused.
    #[error(transparent)]
    Envelope(#[from] congvan_envelope::Error),
    /// The signing library refused (a certificate, a key).
    #[error(transparent)]
    Sign(#[from] congvan_sign::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
