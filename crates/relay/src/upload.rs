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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::store::INLINE_BLOB_LIMIT;

/// Uploads up to this size are kept in memory. Below the database's inline
/// limit by a margin that the custody receipt fits in, so that a dispatch
/// received in memory is also stored inline.
pub const MEMORY_UPLOAD_LIMIT: u64 = INLINE_BLOB_LIMIT - 64 * 1024;

/// How many bytes of uploads all connections together may hold in memory
/// at once. Each connection may hold up to [`MEMORY_UPLOAD_LIMIT`], and a
/// relay accepts hundreds of connections. Without a cap, offices with valid
/// certificates could fill its memory by uploading slowly on every
/// connection they may open. An upload that finds the budget spent goes to
/// a file, as a large one does: slower, never refused for it.
pub const MEMORY_UPLOADS_BUDGET: u64 = 64 * 1024 * 1024;

/// The bytes of uploads held in memory now, against
/// [`MEMORY_UPLOADS_BUDGET`].
#[derive(Debug, Default)]
pub struct MemoryBudget {
    held: AtomicU64,
}

impl MemoryBudget {
    /// A reservation of nothing yet, which [`Reservation::grow`] enlarges.
    pub fn start(self: &Arc<Self>) -> Reservation {
        Reservation {
            budget: self.clone(),
            bytes: 0,
        }
    }

    /// Bytes held in memory by all uploads now.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }
}

/// Bytes of one upload counted against the budget until it is dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<MemoryBudget>,
    bytes: u64,
}

impl Reservation {
    /// Counts `more` bytes, or leaves the reservation as it was and says
    /// false when the budget cannot take them.
    pub fn grow(&mut self, more: u64) -> bool {
        let taken = self
            .budget
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(more)
                    .filter(|&total| total <= MEMORY_UPLOADS_BUDGET)
            });
        if taken.is_ok() {
            self.bytes += more;
        }
        taken.is_ok()
    }
}

impl Reservation {
    /// Makes room in `memory` for `more` bytes, with the capacity it
    /// allocates (not only the bytes received) counted here: the buffer
    /// doubles, up to [`MEMORY_UPLOAD_LIMIT`], so that a trickle of small
    /// frames neither copies the upload over and over nor holds memory the
    /// budget does not see. False, with nothing allocated, when the budget
    /// cannot take it.
    pub fn make_room(&mut self, memory: &mut Vec<u8>, more: usize) -> bool {
        let needed = memory.len() + more;
        if needed <= memory.capacity() {
            return true;
        }
        let limit = usize::try_from(MEMORY_UPLOAD_LIMIT).unwrap_or(usize::MAX);
        let target = needed
            .max(memory.capacity() * 2)
            .max(16 * 1024)
            .min(limit.max(needed));
        if !self.grow((target - memory.capacity()) as u64) {
            return false;
        }
        memory.reserve_exact(target - memory.len());
        true
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// A received dispatch, not yet verified.
#[derive(Debug)]
pub enum Upload {
    /// The whole file, at most [`MEMORY_UPLOAD_LIMIT`] bytes as received,
    /// counted against the relay's budget for as long as it is held.
    Memory {
        /// The bytes.
        bytes: Vec<u8>,
        /// Their place in the budget, given back when ingest is done.
        held: Reservation,
    },
    /// A temporary file under the blob folder, owned by whoever ingests
    /// it: adopted as the blob, or removed.
    File(PathBuf),
    /// A temporary file as [`Upload::File`], hashed as it was received:
    /// the custody receipt is then appended without reading it again.
    Spilled {
        /// The file.
        path: PathBuf,
        /// Its bytes' SHA-256, taken as they arrived (boxed: it holds the
        /// last bytes back, and an upload is moved around).
        arrival: Box<congvan_envelope::ArrivalDigest>,
    },
}

impl Upload {
    /// The temporary file, when the upload is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Upload::Memory { .. } => None,
            Upload::File(path) | Upload::Spilled { path, .. } => Some(path),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let budget = Arc::new(MemoryBudget::default());
        let mut first = budget.start();
        assert!(first.grow(MEMORY_UPLOADS_BUDGET - 10));
        let mut second = budget.start();
        assert!(!second.grow(11), "past the budget");
        assert!(second.grow(10), "exactly the budget");
        assert_eq!(budget.held(), MEMORY_UPLOADS_BUDGET);
        drop(first);
        assert_eq!(budget.held(), 10);
        assert!(second.grow(1000));
        drop(second);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn what_a_buffer_allocates_is_counted_not_only_what_it_holds() {
        let budget = Arc::new(MemoryBudget::default());
        let mut held = budget.start();
        let mut memory = Vec::new();
        let mut received = 0;
        for _ in 0..100 {
            assert!(held.make_room(&mut memory, 3000));
            memory.extend_from_slice(&[7u8; 3000]);
            received += 3000;
            assert!(
                budget.held() >= memory.capacity() as u64,
                "{} counted for a buffer of {}",
                budget.held(),
                memory.capacity()
            );
        }
        assert_eq!(memory.len(), received);
        assert!(
            budget.held() <= MEMORY_UPLOAD_LIMIT,
            "never past one upload's limit"
        );

        // A budget that cannot take the next doubling: refused, and the
        // buffer is left as it was.
        let mut other = budget.start();
        assert!(other.grow(MEMORY_UPLOADS_BUDGET - budget.held()));
        let capacity = memory.capacity();
        let more = capacity - memory.len() + 1;
        assert!(!held.make_room(&mut memory, more));
        assert_eq!(memory.capacity(), capacity);
    }
}
