//! Who may hold how many of the relay's connections.
//!
//! A connection costs a task, a socket and memory until it ends, so the
//! relay counts them three ways: TLS handshakes in progress (a small budget
//! of their own, since anyone can open a socket and say nothing), and
//! connections per IP address and per client certificate (so one caller,
//! even an authenticated one, cannot take every slot). The overall
//! connection budget is taken only once a handshake has succeeded.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Counts held per key, up to a limit each.
pub(crate) struct PerKey<K> {
    limit: usize,
    counts: Mutex<HashMap<K, usize>>,
}

impl<K: Eq + Hash + Clone> PerKey<K> {
    /// At most `limit` held per key at once.
    pub(crate) fn new(limit: usize) -> Arc<PerKey<K>> {
        Arc::new(PerKey {
            limit,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// One more for `key`, released when the guard drops; `None` when the
    /// key already holds its limit.
    pub(crate) fn acquire(self: &Arc<Self>, key: K) -> Option<Held<K>> {
        let mut counts = lock(&self.counts);
        let count = counts.entry(key.clone()).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Held {
            owner: self.clone(),
            key,
        })
    }
}

/// One counted connection; the count drops with it.
pub(crate) struct Held<K: Eq + Hash + Clone> {
    owner: Arc<PerKey<K>>,
    key: K,
}

impl<K: Eq + Hash + Clone> Drop for Held<K> {
    fn drop(&mut self) {
        let mut counts = lock(&self.owner.counts);
        if let Some(count) = counts.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// The map, even if a thread panicked while holding it: counts are plain
/// numbers, never left half-updated.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key_and_releases_on_drop() {
        let limits = PerKey::new(2);
        let a1 = limits.acquire("a");
        let a2 = limits.acquire("a");
        assert!(a1.is_some() && a2.is_some());
        assert!(limits.acquire("a").is_none());
        let b = limits.acquire("b");
        assert!(b.is_some());
        drop(a1);
        assert!(limits.acquire("a").is_some());
        drop((a2, b));
        assert!(lock(&limits.counts).is_empty());
    }
}
