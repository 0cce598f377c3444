//! Bounds on what a reader accepts, so a hostile container cannot exhaust
//! memory or disk.

/// Limits applied while reading a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest `metadata.json` accepted, in bytes.
    pub max_metadata: u64,
    /// Largest manifest accepted, in bytes.
    pub max_manifest: u64,
    /// Largest signature or receipt entry, in bytes (x5c chains included).
    pub max_signature: u64,
    /// Most entries in the container.
    pub max_entries: usize,
    /// Most signatures.
    pub max_signatures: usize,
    /// Most receipts. A dispatch collects one custody receipt per relay it
    /// passes (a handful), so this leaves room for any route while a file of
    /// junk receipts is refused before it costs anything to verify.
    pub max_receipts: usize,
    /// Most bytes of receipt entries in all.
    pub max_receipt_bytes: u64,
    /// Largest single attachment, in bytes.
    pub max_attachment: u64,
    /// Most bytes of preservation records in all (their certificates and
    /// CRLs: some tens of KB per record).
    pub max_preservation_bytes: u64,
    /// Most preservation records: one is added each time a dispatch is
    /// preserved again (every few years, before its last timestamp's
    /// authority expires), so this lasts a lifetime.
    pub max_preservations: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_metadata: 4 * 1024 * 1024,
            max_manifest: 4 * 1024 * 1024,
            max_signature: 256 * 1024,
            max_entries: 20_000,
            max_signatures: 100,
            max_receipts: 64,
            max_receipt_bytes: 1024 * 1024,
            max_attachment: 64 * 1024 * 1024 * 1024,
            max_preservation_bytes: 4 * 1024 * 1024,
            max_preservations: 16,
        }
    }
}
