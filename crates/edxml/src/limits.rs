//! How much an edXML reader accepts, so that a hostile message cannot
//! exhaust memory or disk.

/// Bounds on what [`crate::read_message`] and the importer accept.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The header: everything but attachment contents (kept in memory).
    pub max_header_bytes: u64,
    /// Attachments in one message.
    pub max_attachments: usize,
    /// One attachment, decoded.
    pub max_attachment_bytes: u64,
    /// All attachments together, decoded.
    pub max_total_bytes: u64,
    /// Files inside one ZIP attachment.
    pub max_packed_entries: usize,
    /// How many times its own size a ZIP attachment may unpack to: a ZIP
    /// bomb turns kilobytes into gigabytes.
    pub max_unpack_ratio: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_header_bytes: 2 * 1024 * 1024,
            max_attachments: 200,
            max_attachment_bytes: 2 * 1024 * 1024 * 1024,
            max_total_bytes: 4 * 1024 * 1024 * 1024,
            max_packed_entries: 200,
            max_unpack_ratio: 100,
        }
    }
}
