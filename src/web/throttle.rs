//! Login back-off: wrong passwords for one name, or from one address, make the next attempt
//! wait — doubling from 1 s up to 15 min — so that guessing is slow and a guessing neighbour
//! cannot take the station's time from everyone else. A refused attempt costs no password hash.
//!
//! The first [`FREE_TRIES`] failures of a name (and [`FREE_TRIES_PER_ADDRESS`] of an address)
//! are free, so a person who mistypes is never made to wait; a success clears the name and the
//! address. Failures older than [`FORGET_AFTER`] are forgotten.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Failures of one name before back-off starts.
pub const FREE_TRIES: u32 = 5;
/// Failures from one address (any names) before back-off starts.
pub const FREE_TRIES_PER_ADDRESS: u32 = 20;
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// A record with no failure for this long is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// At most this many records (names and addresses) are kept; the stalest go first.
const MAX_RECORDS: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    /// No attempt before this.
    until: Option<Instant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Name(String),
    Address(IpAddr),
}

/// The back-off records. Shared by every login request.
#[derive(Default)]
pub struct Throttle {
    records: Mutex<HashMap<Key, Record>>,
}

impl Throttle {
    /// How long `name` (from `addr`) must still wait before trying again; `None` when it may
    /// try now.
    pub fn wait(&self, name: &str, addr: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let r = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let left = |k: &Key| r.get(k).and_then(|rec| rec.until).and_then(|u| u.checked_duration_since(now));
        let by_name = left(&Key::Name(name.to_owned()));
        let by_addr = addr.and_then(|a| left(&Key::Address(a)));
        by_name.into_iter().chain(by_addr).max().filter(|d| !d.is_zero())
    }

    /// Records a wrong password for `name` from `addr`.
    pub fn failed(&self, name: &str, addr: Option<IpAddr>, now: Instant) {
        let mut r = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if r.len() >= MAX_RECORDS {
            r.retain(|_, rec| now.duration_since(rec.last) < FORGET_AFTER);
            if r.len() >= MAX_RECORDS
                && let Some(stalest) = r.iter().min_by_key(|(_, rec)| rec.last).map(|(k, _)| k.clone())
            {
                r.remove(&stalest);
            }
        }
        let mut bump = |key: Key, free: u32| {
            let rec = r.entry(key).or_insert(Record { failures: 0, last: now, until: None });
            if now.duration_since(rec.last) >= FORGET_AFTER {
                *rec = Record { failures: 0, last: now, until: None };
            }
            rec.failures += 1;
            rec.last = now;
            if rec.failures >= free {
                let doublings = (rec.failures - free).min(20);
                rec.until = Some(now + Duration::from_secs(1u64 << doublings).min(MAX_WAIT));
            }
        };
        bump(Key::Name(name.to_owned()), FREE_TRIES);
        if let Some(a) = addr {
            bump(Key::Address(a), FREE_TRIES_PER_ADDRESS);
        }
    }

    /// Clears `name` and `addr` after a good password.
    pub fn succeeded(&self, name: &str, addr: Option<IpAddr>) {
        let mut r = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        r.remove(&Key::Name(name.to_owned()));
        if let Some(a) = addr {
            r.remove(&Key::Address(a));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_mistakes_are_free_then_the_wait_doubles_and_a_success_clears_it() {
        let t = Throttle::default();
        let now = Instant::now();
        let a: IpAddr = "10.0.0.9".parse().unwrap();
        for _ in 0..FREE_TRIES - 1 {
            t.failed("wang", Some(a), now);
            assert_eq!(t.wait("wang", Some(a), now), None, "mistyping is never punished");
        }
        t.failed("wang", Some(a), now);
        assert_eq!(t.wait("wang", Some(a), now), Some(Duration::from_secs(1)));
        t.failed("wang", Some(a), now);
        assert_eq!(t.wait("wang", Some(a), now), Some(Duration::from_secs(2)));
        assert_eq!(t.wait("li", Some("10.0.0.8".parse().unwrap()), now), None, "other people are not held up");
        assert_eq!(t.wait("wang", None, now + Duration::from_secs(2)), None, "the wait ends");
        t.succeeded("wang", Some(a));
        assert_eq!(t.wait("wang", Some(a), now), None);
    }

    #[test]
    fn one_address_guessing_many_names_is_held_back_too() {
        let t = Throttle::default();
        let now = Instant::now();
        let a: IpAddr = "10.0.0.7".parse().unwrap();
        for i in 0..FREE_TRIES_PER_ADDRESS {
            t.failed(&format!("name{i}"), Some(a), now);
        }
        assert!(t.wait("someone-new", Some(a), now).is_some());
        assert_eq!(t.wait("someone-new", Some("10.0.0.6".parse().unwrap()), now), None);
        // Waits never pass the ceiling.
        for _ in 0..100 {
            t.failed("wang", None, now);
        }
        assert_eq!(t.wait("wang", None, now), Some(MAX_WAIT));
    }
}
