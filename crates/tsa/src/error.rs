//! Everything that can go wrong with a timestamp, each with its reason.

/// Why a token, a request or a reply was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not the ASN.1 structure they should be.
    #[error("malformed {what}: {problem}")]
    Malformed {
        /// What was being read (a token, a reply, a request).
        what: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The TSA answered, but did not grant a token.
    #[error("the timestamp authority refused the request: {0}")]
    NotGranted(String),
    /// The token is over another hash than the one it should vouch for.
    #[error(
        "the token's message imprint does not match the data: it is a timestamp of something else"
    )]
    WrongImprint,
    /// The reply's nonce is not the request's: a replayed or misdirected reply.
    #[error("the reply's nonce is not the one sent: a replayed or misdirected reply")]
    NonceMismatch,
    /// Something the format requires is missing.
    #[error("the token lacks {0}")]
    Missing(&'static str),
    /// The token's signed attributes do not match its content or signer.
    #[error("the token's signed attributes do not match: {0}")]
    AttributeMismatch(&'static str),
    /// The signature over the signed attributes does not verify.
    #[error("the token's signature does not verify with the TSA certificate's key: the token was altered or not signed by that certificate")]
    BadSignature,
    /// The signing certificate is not a timestamp authority's.
    #[error("{0}")]
    NotTimestampCertificate(String),
    /// The TSA's certificate does not validate under the trust anchors.
    #[error("the timestamp authority is not trusted: {0}")]
    Untrusted(congvan_sign::Error),
    /// An algorithm or structure congvan does not handle.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A request the authority refuses (answered with status rejection).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The TSA could not be reached or answered outside the protocol.
    #[error("timestamp authority {url}: {problem}")]
    Http {
        /// The TSA's URL.
        url: String,
        /// What happened.
        problem: String,
    },
    /// Signing failed or the authority's credential is unusable.
    #[error("{0}")]
    Sign(#[from] congvan_sign::Error),
}

impl Error {
    pub(crate) fn malformed(what: &'static str, problem: impl std::fmt::Display) -> Error {
        Error::Malformed {
            what,
            problem: problem.to_string(),
        }
    }
}
