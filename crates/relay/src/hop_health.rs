//! Which next hops this relay cannot reach right now, for `track`.
//!
//! While a next hop is unreachable its whole queue waits (see
//! `delivery::push_worker`) and no item counts a failed attempt of its own,
//! so a clerk asking where a dispatch is would read "0 failed attempts".
//! The push worker records here since when, and how often, it has failed to
//! reach each hop, and clears it once the hop answers. It lives in memory:
//! after a restart the worker finds out again within one try.

use std::collections::HashMap;
use std::sync::Mutex;

/// A next hop that has not answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreachable {
    /// Since when (RFC 3339, UTC): the first failed try of this run.
    pub since: String,
    /// Tries that failed since then.
    pub tries: u32,
}

/// The unreachable next hops, by relay name.
#[derive(Debug, Default)]
pub struct HopHealth(Mutex<HashMap<String, Unreachable>>);

impl HopHealth {
    /// A try to reach `hop` failed at `now` (RFC 3339).
    pub fn failed(&self, hop: &str, now: String) {
        let mut map = self.lock();
        let entry = map.entry(hop.to_string()).or_insert(Unreachable {
            since: now,
            tries: 0,
        });
        entry.tries = entry.tries.saturating_add(1);
    }

    /// `hop` answered.
    pub fn reached(&self, hop: &str) {
        self.lock().remove(hop);
    }

    /// Whether `hop` is unreachable, and since when.
    pub fn trouble(&self, hop: &str) -> Option<Unreachable> {
        self.lock().get(hop).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Unreachable>> {
        // The map holds no invariant a panicking holder could break: a
        // poisoned lock is as good as a held one.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
