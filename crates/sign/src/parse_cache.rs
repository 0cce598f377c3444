//! Certificates parsed before, found again by their encoding.
//!
//! The same signers' certificates come back in dispatch after dispatch, and
//! parsing one (base64, then x509-parser) costs far more than finding it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::{Certificate, Error};

/// How many bytes at the end of an encoding index the cache.
///
/// A certificate ends with its signature value, so its last bytes differ
/// from every other certificate's (in DER and in base64 alike), and looking
/// them up costs the same for a 500-byte and a 5 KB certificate.
const TAIL: usize = 48;

/// The most certificates one cache remembers; past it, it starts over.
const CAPACITY: usize = 10_000;

/// A remembered certificate and the exact encoding it was parsed from.
struct Remembered {
    encoding: Box<[u8]>,
    certificate: Certificate,
}

/// Parsed certificates keyed by the tail of their encoding.
///
/// Sound because parsing is a pure function of the encoding: a remembered
/// certificate is returned only when the whole encoding is byte for byte the
/// one it was parsed from, and a failure is never remembered. Two encodings
/// with the same tail share one slot: the later one replaces the earlier, so
/// crafted look-alikes cost a parse each, as without a cache, and never
/// grow the map.
pub(crate) struct ParseCache {
    slots: Mutex<HashMap<[u8; TAIL], Remembered>>,
}

impl ParseCache {
    /// An empty cache.
    pub(crate) fn new() -> ParseCache {
        ParseCache {
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The certificate parsed from `encoding`, by `parse` unless it was
    /// parsed before.
    pub(crate) fn get_or_parse(
        &self,
        encoding: &[u8],
        parse: impl FnOnce() -> Result<Certificate, Error>,
    ) -> Result<Certificate, Error> {
        let key = tail(encoding);
        if let Some(hit) = self.lock().get(&key) {
            if *hit.encoding == *encoding {
                return Ok(hit.certificate.clone());
            }
        }
        // Parse without holding the lock: other threads keep looking up.
        let certificate = parse()?;
        let mut slots = self.lock();
        if slots.len() >= CAPACITY {
            slots.clear();
        }
        slots.insert(
            key,
            Remembered {
                encoding: encoding.into(),
                certificate: certificate.clone(),
            },
        );
        Ok(certificate)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<[u8; TAIL], Remembered>> {
        lock_or_reset(&self.slots)
    }
}

/// A cache map, even after a panic elsewhere while it was locked: every
/// operation on one is a single `HashMap` call, so it is never left half
/// updated; it is emptied anyway, to be safe.
pub(crate) fn lock_or_reset<K, V>(cache: &Mutex<HashMap<K, V>>) -> MutexGuard<'_, HashMap<K, V>> {
    cache.lock().unwrap_or_else(|poisoned| {
        let mut cache = poisoned.into_inner();
        cache.clear();
        cache
    })
}

/// The last [`TAIL`] bytes of `encoding`, zero-padded in front when shorter.
fn tail(encoding: &[u8]) -> [u8; TAIL] {
    let mut key = [0u8; TAIL];
    let n = encoding.len().min(TAIL);
    key[TAIL - n..].copy_from_slice(&encoding[encoding.len() - n..]);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_pads_short_encodings_and_keeps_the_end_of_long_ones() {
        let short = tail(b"abc");
        assert_eq!(&short[TAIL - 3..], b"abc");
        assert!(short[..TAIL - 3].iter().all(|b| *b == 0));
        let long: Vec<u8> = (0..200u8).collect();
        assert_eq!(&tail(&long)[..], &long[200 - TAIL..]);
    }
}
