//! Everything that can go wrong reading or writing edXML.

use std::path::PathBuf;

/// An edXML error. Each says what was wrong with the message and, where a
/// person can act, what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Bytes come before the XML itself (before `<?xml` or the root).
    #[error(
        "the file has {count} byte(s) before the XML declaration or root element; an edXML \
         message must start with <?xml or <edXML (remove what precedes it)"
    )]
    BytesBeforeXml {
        /// How many bytes precede the first `<` (counted up to a limit).
        count: usize,
    },
    /// The message declares a DTD.
    #[error(
        "the message declares a DTD (<!DOCTYPE …>); edXML needs none, and entity \
         declarations can expand without bound, so it is refused"
    )]
    Dtd,
    /// The XML is not well-formed, or not edXML.
    #[error("malformed edXML: {0}")]
    Malformed(String),
    /// An attachment's base64 content is broken.
    #[error("attachment {index} (counting from 1): its base64 content is invalid: {problem}")]
    Base64 {
        /// Which `ContentTransferEncoded` element, from 1.
        index: usize,
        /// What was wrong.
        problem: String,
    },
    /// The message is larger than this reader accepts.
    #[error("{what} is larger than the {limit} bytes accepted")]
    TooLarge {
        /// What was too large.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// A ZIP inside an attachment is broken or unpacks to too much.
    #[error("attachment {name:?}: {problem}")]
    Packed {
        /// The attachment's name.
        name: String,
        /// What was wrong.
        problem: String,
    },
    /// The message does not map onto a congvan dispatch (or back).
    #[error("cannot map {field}: {problem}")]
    Mapping {
        /// The edXML element or congvan field.
        field: String,
        /// What was wrong and what to do.
        problem: String,
    },
    /// The envelope library refused the dispatch.
    #[error(transparent)]
    Envelope(#[from] congvan_envelope::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn mapping(field: impl Into<String>, problem: impl Into<String>) -> Error {
        Error::Mapping {
            field: field.into(),
            problem: problem.into(),
        }
    }
}
