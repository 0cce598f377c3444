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
///
/// An IPv6 address counts by its /64, which one subscriber holds whole. The
/// table holds at most [`MAX_ADDRESSES`] addresses: past it, finished
/// minutes are swept (at most once a second), and a new address that still
/// finds no room is refused until some minute ends: a flood from many
/// addresses costs memory and time bounded by that, not by its size.
pub struct RateLimit {
    per_minute: u32,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    by_address: HashMap<IpAddr, (u32, Instant)>,
    swept: Option<Instant>,
}

/// Most addresses the table remembers.
pub const MAX_ADDRESSES: usize = 100_000;

impl RateLimit {
    /// At most `per_minute` requests per address in each minute.
    pub fn new(per_minute: u32) -> RateLimit {
        RateLimit {
            per_minute,
            table: Mutex::new(Table::default()),
        }
    }

    /// Takes one request for `address`: false when it has used its minute,
    /// or the table is full of addresses still counting theirs.
    pub fn take(&self, address: IpAddr) -> bool {
        let now = Instant::now();
        let minute = Duration::from_secs(60);
        let key = subscriber(address);
        // A poisoned lock was poisoned by a panic while counting; the
        // counts are still counts, so carry on with them.
        let mut table = match self.table.lock() {
            Ok(table) => table,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !table.by_address.contains_key(&key) && table.by_address.len() >= MAX_ADDRESSES {
            let due = table
                .swept
                .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1));
            if due {
                table
                    .by_address
                    .retain(|_, (_, since)| now.duration_since(*since) < minute);
                table.swept = Some(now);
            }
            if table.by_address.len() >= MAX_ADDRESSES {
                return false;
            }
        }
        let entry = table.by_address.entry(key).or_insert((0, now));
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

/// What one subscriber holds: an IPv4 address, or an IPv6 /64.
fn subscriber(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::V6(octets.into())
        }
    }
}

#[cfg(test)]
mod rate_limit_tests {
    use super::*;

    #[test]
    fn an_ipv6_subscriber_counts_once_for_its_whole_64() {
        let limit = RateLimit::new(2);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limit.take(a));
        assert!(limit.take(b));
        assert!(!limit.take(a), "a third request from the same /64");
        assert!(limit.take(other));
        let v4: IpAddr = "198.51.100.7".parse().unwrap();
        assert!(limit.take(v4) && limit.take(v4) && !limit.take(v4));
    }
}
