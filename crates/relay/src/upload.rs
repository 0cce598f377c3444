//! A dispatch as it arrived: held in memory when small, in a temporary
//! file when large.
//!
//! Most dispatches are a few kilobytes. Writing each to a file, rewriting
//! that file to append the custody receipt, reading it back into the
//! database row and deleting it cost more than verifying its signatures
//! (a profile of the relay under load put 41% of its system time in
//! creating those files' inodes). A small upload therefore stays in
//! memory from the socket to the commit; only one too large for the
//! database row is spilled to a file, which becomes its blob.

use std::path::{Path, PathBuf};

use crate::store::INLINE_BLOB_LIMIT;

/// Uploads up to this size are kept in memory. Below the database's inline
/// limit by a margin that the custody receipt fits in, so that a dispatch
/// received in memory is also stored inline.
pub const MEMORY_UPLOAD_LIMIT: u64 = INLINE_BLOB_LIMIT - 64 * 1024;

/// A received dispatch, not yet verified.
#[derive(Debug)]
pub enum Upload {
    /// The whole file, at most [`MEMORY_UPLOAD_LIMIT`] bytes as received.
    Memory(Vec<u8>),
    /// A temporary file under the blob folder, owned by whoever ingests
    /// it: adopted as the blob, or removed.
    File(PathBuf),
}

impl Upload {
    /// The temporary file, when the upload is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Upload::Memory(_) => None,
            Upload::File(path) => Some(path),
        }
    }
}
