//! The SHA-256 of a file as it arrives, kept able to answer for the file
//! with its end rewritten.
//!
//! A relay addresses the blob of a dispatch by the SHA-256 of the file it
//! keeps, and what it keeps is the upload with a custody receipt appended:
//! the upload's bytes up to its central directory, then the new entry and a
//! new directory. Appending in place rewrites only that end. Hashing the
//! upload as it is received, holding back the last [`WINDOW`] bytes, gives
//! the digest of every prefix that ends in that window; the directory of a
//! dispatch is there, so the kept file's digest needs no second read of a
//! large upload. A directory that starts earlier (a container of thousands
//! of entries) is still handled: the prefix is read from the file instead.

use ring::digest::{Context, SHA256};

/// How many of the last bytes received are held back unhashed. A
/// dispatch's central directory is a few kilobytes; this covers about ten
/// thousand entries.
pub const WINDOW: usize = 512 * 1024;

/// SHA-256 of the bytes received so far, all but the last [`WINDOW`] of
/// them folded in.
#[derive(Clone)]
pub struct ArrivalDigest {
    /// Everything before `tail`.
    folded: Context,
    /// Bytes `folded_len ..` of what was received: at most twice
    /// [`WINDOW`] plus the last piece.
    tail: Vec<u8>,
    folded_len: u64,
}

impl Default for ArrivalDigest {
    fn default() -> ArrivalDigest {
        ArrivalDigest::new()
    }
}

impl std::fmt::Debug for ArrivalDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrivalDigest")
            .field("received", &self.len())
            .finish()
    }
}

impl ArrivalDigest {
    /// Nothing received yet.
    pub fn new() -> ArrivalDigest {
        ArrivalDigest {
            folded: Context::new(&SHA256),
            tail: Vec::new(),
            folded_len: 0,
        }
    }

    /// Takes in the next piece of the file.
    pub fn update(&mut self, data: &[u8]) {
        self.tail.extend_from_slice(data);
        // Fold in batches of at least WINDOW bytes, so that moving the
        // held-back bytes to the front costs one copy per byte received.
        if self.tail.len() >= 2 * WINDOW {
            let fold = self.tail.len() - WINDOW;
            self.folded.update(&self.tail[..fold]);
            self.tail.drain(..fold);
            self.folded_len += fold as u64;
        }
    }

    /// How many bytes were received.
    pub fn len(&self) -> u64 {
        self.folded_len + self.tail.len() as u64
    }

    /// True before the first byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hash state after the first `len` bytes, when they end in the
    /// held-back window; `None` when the bytes before `len` are folded
    /// already, or `len` is past what was received.
    pub(crate) fn prefix(&self, len: u64) -> Option<Context> {
        let into_tail = usize::try_from(len.checked_sub(self.folded_len)?).ok()?;
        let held = self.tail.get(..into_tail)?;
        let mut context = self.folded.clone();
        context.update(held);
        Some(context)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> Vec<u8> {
        ring::digest::digest(&SHA256, bytes).as_ref().to_vec()
    }

    #[test]
    fn every_prefix_in_the_window_hashes_like_the_bytes_themselves() {
        let data: Vec<u8> = (0..(3 * WINDOW + 12_345))
            .map(|i| (i % 253) as u8)
            .collect();
        let mut arrival = ArrivalDigest::new();
        // Uneven pieces, as frames off a socket come.
        for piece in data.chunks(70_001) {
            arrival.update(piece);
        }
        assert_eq!(arrival.len(), data.len() as u64);
        for len in [data.len(), data.len() - 1, data.len() - WINDOW] {
            let context = arrival.prefix(len as u64).unwrap();
            assert_eq!(
                context.finish().as_ref(),
                sha(&data[..len]).as_slice(),
                "{len}"
            );
        }
    }

    #[test]
    fn a_prefix_folded_already_or_past_the_end_is_not_given() {
        let data = vec![7u8; 3 * WINDOW];
        let mut arrival = ArrivalDigest::new();
        arrival.update(&data);
        assert!(arrival.prefix(10).is_none());
        assert!(arrival.prefix(data.len() as u64 + 1).is_none());
        assert!(arrival.prefix(data.len() as u64).is_some());
    }

    #[test]
    fn a_short_file_is_held_whole() {
        let mut arrival = ArrivalDigest::new();
        arrival.update(b"abc");
        assert_eq!(
            arrival.prefix(2).unwrap().finish().as_ref(),
            sha(b"ab").as_slice()
        );
        assert_eq!(
            arrival.prefix(0).unwrap().finish().as_ref(),
            sha(b"").as_slice()
        );
    }
}
