//! Reconnect codes: every session has a short code (voucher alphabet, shown `K7Q-3MP`) on the
//! "You are online" page. Typed on another device, or after the phone changed its MAC, it moves
//! the time left there (`Sessions::reconnect`); the M-Pesa receipt from the customer's SMS works
//! as well where Lango knows it. Here: the code type, what a customer may type, and the limit on
//! wrong tries (counted before the code is looked at, so parallel tries cannot race past it).
//! Touches: nothing (memory only). Never: SQL, the kernel, HTTP.

use crate::clock::Unix;
use crate::limits::{Limit, Limited, Window};
use crate::mac::Mac;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// 31^6 ≈ 8.9·10^8 codes: with a few hundred sessions open and tries limited per device,
/// guessing one is hopeless; short enough to copy from one phone to another.
pub const LEN: usize = 6;
/// Devices whose tries are remembered at once (a router has little memory; fake MACs are cheap).
const MAX_DEVICES: usize = 4096;
/// M-Pesa receipts are 10 capital letters and digits, e.g. `NLJ7RT61SV`.
const RECEIPT_LEN: usize = 10;

/// A reconnect code in canonical form (upper case, no dash).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ReconnectCode(String);

impl ReconnectCode {
    pub fn random() -> Self {
        ReconnectCode(crate::voucher::draw::<LEN>())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// From the database: a stored code is trusted to be canonical.
    pub fn from_stored(s: String) -> Self {
        ReconnectCode(s)
    }
}

impl fmt::Display for ReconnectCode {
    /// `K7Q-3MP`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.get(..3).zip(self.0.get(3..)) {
            Some((a, b)) => write!(f, "{a}-{b}"),
            None => f.write_str(&self.0),
        }
    }
}

impl fmt::Debug for ReconnectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What a customer typed into "Already paid?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Code(ReconnectCode),
    /// An M-Pesa receipt (upper case).
    Receipt(String),
}

/// Typed text that is neither a reconnect code nor an M-Pesa receipt.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is neither a reconnect code like K7Q-3MP nor an M-Pesa code like NLJ7RT61SV")]
pub struct BadKey(pub String);

impl Key {
    /// Accepts any case, spaces and dashes: 6 characters of the voucher alphabet are a code,
    /// 10 letters and digits an M-Pesa receipt.
    pub fn parse(typed: &str) -> Result<Key, BadKey> {
        let c: String = typed
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect::<String>()
            .to_ascii_uppercase();
        if c.len() == LEN && c.bytes().all(|b| crate::voucher::ALPHABET.contains(&b)) {
            return Ok(Key::Code(ReconnectCode(c)));
        }
        if c.len() == RECEIPT_LEN && c.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(Key::Receipt(c));
        }
        Err(BadKey(typed.chars().take(40).collect()))
    }
}

/// Tries per device in a sliding window. A try is counted before its code is looked at, and
/// forgiven if it was right: so two tries sent at once both count while they run.
pub struct Attempts {
    window: Window,
    tries: Mutex<HashMap<Mac, Vec<Unix>>>,
}

impl Attempts {
    pub fn new(window: Window) -> Self {
        Attempts {
            window,
            tries: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a try by `mac` at `now`, if the limit allows one more.
    pub fn begin(&self, mac: Mac, now: Unix) -> Result<(), Limited> {
        let since = self.window.since(now);
        let mut tries = self.lock();
        if tries.len() >= MAX_DEVICES && !tries.contains_key(&mac) {
            tries.retain(|_, t| t.iter().any(|at| *at >= since));
            if tries.len() >= MAX_DEVICES {
                return Err(Limited {
                    limit: Limit::VoucherGuesses,
                    retry_after_s: self.window.per.as_secs().max(1),
                });
            }
        }
        let times = tries.entry(mac).or_default();
        times.retain(|at| *at >= since);
        self.window
            .check(times, now)
            .map_err(|retry_after_s| Limited {
                limit: Limit::VoucherGuesses,
                retry_after_s,
            })?;
        times.push(now);
        Ok(())
    }

    /// The try `mac` began at `at` was right: it does not count against the device.
    pub fn forgive(&self, mac: Mac, at: Unix) {
        let mut tries = self.lock();
        if let Some(times) = tries.get_mut(&mac) {
            if let Some(i) = times.iter().position(|t| *t == at) {
                times.swap_remove(i);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Mac, Vec<Unix>>> {
        // Every update leaves the map whole, so a panic elsewhere cannot leave it inconsistent.
        self.tries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn codes_and_receipts_are_told_apart() {
        for _ in 0..50 {
            let c = ReconnectCode::random();
            assert_eq!(Key::parse(&c.to_string()), Ok(Key::Code(c.clone())));
            assert_eq!(
                Key::parse(&c.as_str().to_lowercase()),
                Ok(Key::Code(c.clone()))
            );
        }
        assert_eq!(
            Key::parse("k7q 3mp").unwrap(),
            Key::Code(ReconnectCode("K7Q3MP".into()))
        );
        assert_eq!(
            Key::parse(" nlj7rt61sv ").unwrap(),
            Key::Receipt("NLJ7RT61SV".into())
        );
        assert_eq!(ReconnectCode("K7Q3MP".into()).to_string(), "K7Q-3MP");
        for bad in ["", "K7Q-3M", "K7Q-3M0", "NLJ7RT61S;", "ABCDE-FGH23X"] {
            assert!(Key::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tries_count_before_the_check_and_right_ones_are_forgiven() {
        let a = Attempts::new(Window {
            max: 3,
            per: Duration::from_secs(600),
        });
        let (m, other) = (Mac([2, 0, 0, 0, 0, 1]), Mac([2, 0, 0, 0, 0, 2]));
        // Three tries in flight at once: the fourth is refused before any was judged.
        for _ in 0..3 {
            a.begin(m, 1000).unwrap();
        }
        let e = a.begin(m, 1001).unwrap_err();
        assert_eq!((e.limit, e.retry_after_s), (Limit::VoucherGuesses, 599));
        assert!(
            a.begin(other, 1001).is_ok(),
            "other devices are not affected"
        );
        // One of them was right: one more try is allowed.
        a.forgive(m, 1000);
        assert!(a.begin(m, 1002).is_ok());
        assert!(a.begin(m, 1003).is_err());
        assert!(a.begin(m, 1600).is_ok(), "the window passed");
    }
}
