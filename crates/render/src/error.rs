//! The one error type of this crate.

/// Why a PDF could not be produced.
///
/// Each variant names one failure so a caller can tell bad input (which the user can fix) from
/// an internal problem with the bundled fonts (which is a bug to report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The view's date is not a real calendar day (e.g. 30 February), so no date line can be
    /// written.
    #[error("invalid calendar date {year:04}-{month:02}-{day:02}: no such day")]
    InvalidDate {
        /// The year given.
        year: i32,
        /// The month given.
        month: u8,
        /// The day given.
        day: u8,
    },
    /// A Unix timestamp in the view is too far from the present to be shown as a date.
    #[error("timestamp {0} (Unix seconds) is outside the range that can be shown as a date")]
    InvalidTimestamp(i64),
    /// A font bundled with this crate could not be parsed (a packaging bug, not bad input).
    #[error("the bundled font {face} could not be parsed")]
    FontParse {
        /// Which face failed.
        face: &'static str,
    },
    /// Subsetting a bundled font failed (a bug in the font or the subsetter, not bad input).
    #[error("the bundled font {face} could not be subset: {reason}")]
    FontSubset {
        /// Which face failed.
        face: &'static str,
        /// What the subsetter reported.
        reason: String,
    },
    /// The QR payload cannot be put in a QR code, normally because it is too long
    /// (a QR code holds at most 2,953 bytes).
    #[error("the QR payload ({len} bytes) cannot be encoded as a QR code: {reason}")]
    QrEncode {
        /// The payload length in bytes.
        len: usize,
        /// What the encoder reported.
        reason: String,
    },
}
