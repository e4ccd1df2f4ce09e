//! Abuse limits: how many STK pushes a device or a phone number may start, and how many wrong
//! voucher codes a device may try, each in a sliding window. The rules are pure (`now` is passed
//! in); wrong voucher guesses are remembered here, in memory (pushes are counted from the
//! payments table by the caller, so a restart does not reset them).
//! Touches: nothing.

use crate::clock::Unix;
use crate::mac::Mac;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Devices whose wrong guesses are remembered at once; beyond this the oldest records go
/// (a router has little memory, and an attacker could otherwise grow the map with fake MACs).
const MAX_DEVICES: usize = 4096;

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

/// Wrong voucher codes per device, remembered in memory.
pub struct Guesses {
    window: Window,
    wrong: Mutex<HashMap<Mac, Vec<Unix>>>,
}

impl Guesses {
    pub fn new(window: Window) -> Self {
        Guesses {
            window,
            wrong: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `mac` may try a code at `now`.
    pub fn check(&self, mac: Mac, now: Unix) -> Result<(), Limited> {
        let wrong = self.lock();
        let times = wrong.get(&mac).map_or(&[][..], Vec::as_slice);
        self.window
            .check(times, now)
            .map_err(|retry_after_s| Limited {
                limit: Limit::VoucherGuesses,
                retry_after_s,
            })
    }

    /// Remembers a wrong code typed on `mac` at `now`.
    pub fn wrong(&self, mac: Mac, now: Unix) {
        let since = self.window.since(now);
        let mut wrong = self.lock();
        if wrong.len() >= MAX_DEVICES && !wrong.contains_key(&mac) {
            wrong.retain(|_, times| times.iter().any(|t| *t >= since));
            if wrong.len() >= MAX_DEVICES {
                // Still full of live records: drop the device whose last guess is oldest.
                if let Some(oldest) = wrong
                    .iter()
                    .min_by_key(|(_, t)| t.iter().max().copied())
                    .map(|(m, _)| *m)
                {
                    wrong.remove(&oldest);
                }
            }
        }
        let times = wrong.entry(mac).or_default();
        times.retain(|t| *t >= since);
        times.push(now);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Mac, Vec<Unix>>> {
        // Every update leaves the map whole, so a panic elsewhere cannot leave it inconsistent.
        self.wrong.lock().unwrap_or_else(|e| e.into_inner())
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
            assert_eq!(g.check(a, 1000 + i), Ok(()));
            g.wrong(a, 1000 + i);
        }
        let e = g.check(a, 1010).unwrap_err();
        assert_eq!((e.limit, e.retry_after_s), (Limit::VoucherGuesses, 590));
        assert_eq!(g.check(b, 1010), Ok(()), "other devices are not affected");
        assert_eq!(
            g.check(a, 1600),
            Ok(()),
            "the first guess has left the window"
        );
        assert!(g.check(a, 1599).is_err());
    }

    #[test]
    fn remembered_devices_are_bounded() {
        let g = Guesses::new(w(1, 60));
        for i in 0..(MAX_DEVICES as u32 + 10) {
            let b = i.to_be_bytes();
            g.wrong(Mac([2, 0, b[0], b[1], b[2], b[3]]), i64::from(i));
        }
        assert!(g.lock().len() <= MAX_DEVICES);
    }
}
