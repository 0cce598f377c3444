//! Login throttling: after repeated failures an account, or an address, is
//! refused for a while, so passwords cannot be guessed at speed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed within [`WINDOW`] before logins are refused.
pub const MAX_FAILURES: u32 = 5;

/// How long failures are remembered, and a refusal lasts.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failures per account and per address (an address tries many accounts).
#[derive(Default)]
pub struct Throttle {
    by_login: Mutex<HashMap<String, (u32, Instant)>>,
    by_address: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

/// Addresses get more tries than one account: an office shares one.
const ADDRESS_FACTOR: u32 = 4;

impl Throttle {
    /// True when a login for `login` from `address` must be refused now.
    pub fn blocked(&self, login: &str, address: IpAddr) -> bool {
        let now = Instant::now();
        over(&self.by_login, &login.to_lowercase(), MAX_FAILURES, now)
            || over(
                &self.by_address,
                &address,
                MAX_FAILURES * ADDRESS_FACTOR,
                now,
            )
    }

    /// Counts a failed login.
    pub fn failed(&self, login: &str, address: IpAddr) {
        let now = Instant::now();
        bump(&self.by_login, login.to_lowercase(), now);
        bump(&self.by_address, address, now);
    }

    /// A successful login clears its account's count.
    pub fn succeeded(&self, login: &str) {
        if let Ok(mut map) = self.by_login.lock() {
            map.remove(&login.to_lowercase());
        }
    }
}

fn over<K: std::hash::Hash + Eq>(
    map: &Mutex<HashMap<K, (u32, Instant)>>,
    key: &K,
    limit: u32,
    now: Instant,
) -> bool {
    // A poisoned lock refuses logins rather than letting guesses through.
    let Ok(map) = map.lock() else {
        return true;
    };
    map.get(key)
        .is_some_and(|(count, since)| *count >= limit && now.duration_since(*since) < WINDOW)
}

fn bump<K: std::hash::Hash + Eq>(map: &Mutex<HashMap<K, (u32, Instant)>>, key: K, now: Instant) {
    let Ok(mut map) = map.lock() else {
        return;
    };
    // Forget old entries now and then so the map stays small.
    if map.len() > 10_000 {
        map.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
    }
    let entry = map.entry(key).or_insert((0, now));
    if now.duration_since(entry.1) >= WINDOW {
        *entry = (0, now);
    }
    entry.0 += 1;
}
