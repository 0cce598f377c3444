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
    /// Takes one login attempt for `login` from `address`, before the
    /// password is checked: false (and nothing taken) when either has used
    /// its attempts in this window. Counting first means attempts sent all
    /// at once are counted as they arrive, not after their hashes finish.
    pub fn attempt(&self, login: &str, address: IpAddr) -> bool {
        let now = Instant::now();
        let login = login.to_lowercase();
        let (Ok(mut logins), Ok(mut addresses)) = (self.by_login.lock(), self.by_address.lock())
        else {
            // A poisoned lock refuses logins rather than letting guesses through.
            return false;
        };
        if over(&logins, &login, MAX_FAILURES, now)
            || over(&addresses, &address, MAX_FAILURES * ADDRESS_FACTOR, now)
        {
            return false;
        }
        bump(&mut logins, login, now);
        bump(&mut addresses, address, now);
        true
    }

    /// A successful login gives its attempt back and clears the account's
    /// count.
    pub fn succeeded(&self, login: &str, address: IpAddr) {
        if let Ok(mut map) = self.by_login.lock() {
            map.remove(&login.to_lowercase());
        }
        if let Ok(mut map) = self.by_address.lock() {
            if let Some(entry) = map.get_mut(&address) {
                entry.0 = entry.0.saturating_sub(1);
            }
        }
    }
}

fn over<K: std::hash::Hash + Eq>(
    map: &HashMap<K, (u32, Instant)>,
    key: &K,
    limit: u32,
    now: Instant,
) -> bool {
    map.get(key)
        .is_some_and(|(count, since)| *count >= limit && now.duration_since(*since) < WINDOW)
}

fn bump<K: std::hash::Hash + Eq>(map: &mut HashMap<K, (u32, Instant)>, key: K, now: Instant) {
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

/// Requests per address per minute, for the public verification page: it
/// needs no login, so only this keeps anyone from trying dispatch ids at
/// speed (they are random, and the digest beside them unguessable, but a
/// lookup still costs a verification).
pub struct RateLimit {
    per_minute: u32,
    by_address: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

/// How often the table of addresses is swept of finished minutes.
const SWEEP_AT: usize = 10_000;

impl RateLimit {
    /// At most `per_minute` requests per address in each minute.
    pub fn new(per_minute: u32) -> RateLimit {
        RateLimit {
            per_minute,
            by_address: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `address`: false when it has used its minute.
    pub fn take(&self, address: IpAddr) -> bool {
        let now = Instant::now();
        let minute = Duration::from_secs(60);
        let Ok(mut map) = self.by_address.lock() else {
            // A poisoned lock refuses rather than lets a flood through.
            return false;
        };
        if map.len() >= SWEEP_AT {
            map.retain(|_, (_, since)| now.duration_since(*since) < minute);
        }
        let entry = map.entry(address).or_insert((0, now));
        if now.duration_since(entry.1) >= minute {
            *entry = (0, now);
        }
        if entry.0 >= self.per_minute {
            return false;
        }
        entry.0 += 1;
        true
    }
}
