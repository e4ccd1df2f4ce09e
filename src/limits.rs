//! Abuse limits: how many STK pushes a device or a phone number may start, how many wrong
//! voucher codes a device may try and how many passwords an address may try, each in a sliding
//! window. The rules are pure (`now` is passed in); guesses and passwords are remembered here, in
//! memory (pushes are counted from the payments table by the caller, so a restart does not reset
//! them).
//! Touches: nothing.

use crate::clock::Unix;
use crate::mac::Mac;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

/// Keys (devices, addresses) whose attempts are remembered at once; beyond this the oldest
/// records go (a router has little memory, and an attacker could otherwise grow the map with
/// fake MACs or addresses).
const MAX_KEYS: usize = 4096;

/// At most `max` attempts in any `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub max: u32,
    pub per: Duration,
}

/// Which limit was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// STK pushes started from one device.
    PushesPerDevice,
    /// STK pushes sent to one phone number (a stranger must not spam a victim with PIN prompts).
    PushesPerPhone,
    /// Wrong voucher codes typed on one device.
    VoucherGuesses,
}

/// A refusal: which limit, and how long until one more attempt is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{limit:?} reached; allowed again in {retry_after_s} s")]
pub struct Limited {
    pub limit: Limit,
    pub retry_after_s: u64,
}

impl Limited {
    /// Whole minutes to wait, rounded up (what the customer is told).
    pub fn minutes(&self) -> u64 {
        self.retry_after_s.div_ceil(60).max(1)
    }
}

impl Window {
    /// Whether one more attempt is allowed at `now`, given the times of `earlier` ones (any
    /// order; those outside the window are ignored). If not: the seconds until it is.
    pub fn check(&self, earlier: &[Unix], now: Unix) -> Result<(), u64> {
        let per = self.per.as_secs().max(1) as i64;
        let mut inside: Vec<Unix> = earlier.iter().copied().filter(|t| *t > now - per).collect();
        if inside.len() < self.max as usize {
            return Ok(());
        }
        inside.sort_unstable();
        // Once this attempt leaves the window, one fewer than `max` remain.
        let leaving = inside[inside.len() - self.max as usize];
        Err((leaving + per - now).max(1) as u64)
    }

    /// The oldest time that still counts at `now` (for the caller's query).
    pub fn since(&self, now: Unix) -> Unix {
        now - self.per.as_secs().max(1) as i64 + 1
    }
}

/// The push limits, both at once: the device's, then the phone number's.
pub fn check_push(
    per_device: &Window,
    per_phone: &Window,
    device_times: &[Unix],
    phone_times: &[Unix],
    now: Unix,
) -> Result<(), Limited> {
    per_device
        .check(device_times, now)
        .map_err(|retry_after_s| Limited {
            limit: Limit::PushesPerDevice,
            retry_after_s,
        })?;
    per_phone
        .check(phone_times, now)
        .map_err(|retry_after_s| Limited {
            limit: Limit::PushesPerPhone,
            retry_after_s,
        })
}

/// Attempts per key (wrong voucher codes per device, passwords per address), remembered in
/// memory. An attempt is counted *before* it is judged, so attempts sent all at once cannot slip
/// past the limit while the first ones are still being checked; a right one is then forgiven.
pub struct Attempts<K> {
    window: Window,
    seen: Mutex<HashMap<K, Vec<Unix>>>,
}

/// Wrong voucher codes per device.
pub type Guesses = Attempts<Mac>;

impl<K: Copy + Eq + Hash> Attempts<K> {
    pub fn new(window: Window) -> Self {
        Attempts {
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt by `key` at `now`, or refuses it (uncounted) if the window is full:
    /// then the seconds until one more is allowed.
    pub fn begin(&self, key: K, now: Unix) -> Result<(), u64> {
        let since = self.window.since(now);
        let mut seen = self.lock();
        if let Some(times) = seen.get(&key) {
            self.window.check(times, now)?;
        }
        if seen.len() >= MAX_KEYS && !seen.contains_key(&key) {
            seen.retain(|_, times| times.iter().any(|t| *t >= since));
            if seen.len() >= MAX_KEYS {
                // Still full of live records: drop the key whose last attempt is oldest.
                if let Some(oldest) = seen
                    .iter()
                    .min_by_key(|(_, t)| t.iter().max().copied())
                    .map(|(k, _)| *k)
                {
                    seen.remove(&oldest);
                }
            }
        }
        let times = seen.entry(key).or_default();
        times.retain(|t| *t >= since);
        times.push(now);
        Ok(())
    }

    /// The attempt `key` began at `now` was right: it does not count.
    pub fn forgive(&self, key: K, now: Unix) {
        let mut seen = self.lock();
        if let Some(times) = seen.get_mut(&key) {
            if let Some(i) = times.iter().rposition(|t| *t == now) {
                times.remove(i);
            }
            if times.is_empty() {
                seen.remove(&key);
            }
        }
    }

    /// Forgets every attempt of `key` (the owner logged in).
    pub fn clear(&self, key: K) {
        self.lock().remove(&key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Vec<Unix>>> {
        // Every update leaves the map whole, so a panic elsewhere cannot leave it inconsistent.
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(max: u32, secs: u64) -> Window {
        Window {
            max,
            per: Duration::from_secs(secs),
        }
    }

    #[test]
    fn a_window_counts_only_recent_attempts() {
        let three = w(3, 300);
        assert_eq!(three.check(&[], 1000), Ok(()));
        assert_eq!(three.check(&[900, 950], 1000), Ok(()));
        // The third-newest attempt (at 900) leaves the window at 1200.
        assert_eq!(three.check(&[950, 900, 990], 1000), Err(200));
        assert_eq!(three.check(&[900, 950, 990], 1199), Err(1));
        assert_eq!(three.check(&[900, 950, 990], 1200), Ok(()));
        // Attempts older than the window do not count at all.
        assert_eq!(three.check(&[100, 200, 300, 990], 1000), Ok(()));
        // More than max inside (limit lowered): wait for enough of them to leave.
        assert_eq!(three.check(&[800, 850, 900, 950], 1000), Err(150));
        assert_eq!(three.since(1000), 701);
    }

    #[test]
    fn pushes_are_limited_per_device_then_per_phone() {
        let (dev, phone) = (w(3, 300), w(3, 300));
        assert_eq!(check_push(&dev, &phone, &[1, 2], &[1, 2], 10), Ok(()));
        let e = check_push(&dev, &phone, &[1, 2, 3], &[], 10).unwrap_err();
        assert_eq!(
            (e.limit, e.retry_after_s, e.minutes()),
            (Limit::PushesPerDevice, 291, 5)
        );
        let e = check_push(&dev, &phone, &[], &[5, 6, 7], 10).unwrap_err();
        assert_eq!(e.limit, Limit::PushesPerPhone);
    }

    #[test]
    fn wrong_guesses_lock_a_device_until_the_window_passes() {
        let g = Guesses::new(w(5, 600));
        let (a, b) = (Mac([2, 0, 0, 0, 0, 1]), Mac([2, 0, 0, 0, 0, 2]));
        for i in 0..5 {
            assert_eq!(g.begin(a, 1000 + i), Ok(()));
        }
        assert_eq!(g.begin(a, 1010), Err(590));
        assert_eq!(g.begin(b, 1010), Ok(()), "other devices are not affected");
        assert!(
            g.begin(a, 1599).is_err(),
            "refused attempts are not counted"
        );
        assert_eq!(
            g.begin(a, 1600),
            Ok(()),
            "the first guess has left the window"
        );
    }

    #[test]
    fn regression_attempts_sent_at_once_count_before_they_are_judged() {
        let g = std::sync::Arc::new(Guesses::new(w(5, 600)));
        let a = Mac([2, 0, 0, 0, 0, 1]);
        let let_in: usize = (0..30)
            .map(|_| {
                let g = g.clone();
                std::thread::spawn(move || g.begin(a, 1000).is_ok())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| usize::from(t.join().unwrap()))
            .sum();
        assert_eq!(let_in, 5);
    }

    #[test]
    fn right_attempts_are_forgiven() {
        let g = Attempts::new(w(2, 60));
        let ip: std::net::IpAddr = "192.168.1.10".parse().unwrap();
        for t in 0..10 {
            g.begin(ip, t).unwrap();
            g.forgive(ip, t);
        }
        g.begin(ip, 20).unwrap();
        g.begin(ip, 21).unwrap();
        assert!(g.begin(ip, 22).is_err());
        g.clear(ip);
        assert_eq!(g.begin(ip, 22), Ok(()));
    }

    #[test]
    fn remembered_keys_are_bounded() {
        let g = Guesses::new(w(1, 60));
        for i in 0..(MAX_KEYS as u32 + 10) {
            let b = i.to_be_bytes();
            g.begin(Mac([2, 0, b[0], b[1], b[2], b[3]]), i64::from(i))
                .unwrap();
        }
        assert!(g.lock().len() <= MAX_KEYS);
    }
}
