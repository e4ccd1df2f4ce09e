//! Wall-clock time as a value passed in, so rules that depend on time can be tested.
//! Touches: the system clock (SystemClock only).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Seconds since the Unix epoch.
pub type Unix = i64;

/// Where "now" comes from.
pub trait Clock: Send + Sync + 'static {
    /// Wall-clock time: what timestamps in the database mean. It can jump (NTP after boot).
    fn now(&self) -> Unix;
    /// Time that only moves forward at a steady rate, from an arbitrary start.
    fn monotonic(&self) -> Duration;
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Unix {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    fn monotonic(&self) -> Duration {
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed()
    }
}

/// A clock tests move by hand. A mutex, not 64-bit atomics: MIPS32 routers have none.
#[derive(Clone)]
pub struct ManualClock {
    /// (wall, steady) seconds.
    times: Arc<Mutex<(i64, i64)>>,
}

impl ManualClock {
    pub fn new(start: Unix) -> Self {
        ManualClock {
            times: Arc::new(Mutex::new((start, 0))),
        }
    }

    fn times(&self) -> std::sync::MutexGuard<'_, (i64, i64)> {
        self.times.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Time passes.
    pub fn advance(&self, secs: i64) {
        let mut t = self.times();
        t.0 += secs;
        t.1 += secs;
    }

    /// The wall clock is set (NTP): no time passes.
    pub fn jump(&self, secs: i64) {
        self.times().0 += secs;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Unix {
        self.times().0
    }

    fn monotonic(&self) -> Duration {
        Duration::from_secs(self.times().1.max(0) as u64)
    }
}

/// Daraja's `Timestamp`: `YYYYMMDDHHmmss` in East Africa Time (UTC+3, no DST).
pub fn eat_timestamp(unix: Unix) -> String {
    utc_timestamp(unix + 3 * 3600)
}

/// `YYYYMMDDHHMMSS` in UTC.
pub fn utc_timestamp(t: Unix) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Parses a Daraja `Timestamp` back to Unix seconds; `None` if it is not a real EAT time.
pub fn parse_eat_timestamp(s: &str) -> Option<Unix> {
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        n(0, 4)?,
        n(4, 6)?,
        n(6, 8)?,
        n(8, 10)?,
        n(10, 12)?,
        n(12, 14)?,
    );
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59
    {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - 3 * 3600)
}

/// `YYYY-MM-DD HH:MM` in EAT, for pages and CSV.
pub fn eat_display(unix: Unix) -> String {
    let s = eat_timestamp(unix);
    format!(
        "{}-{}-{} {}:{}",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[8..10],
        &s[10..12]
    )
}

/// Seconds East Africa Time is ahead of UTC (no daylight saving).
const EAT_OFFSET: i64 = 3 * 3600;

/// The EAT calendar day `unix` falls on, as days since 1970-01-01 (EAT).
pub fn eat_day(unix: Unix) -> i64 {
    (unix + EAT_OFFSET).div_euclid(86_400)
}

/// When EAT day `day` begins (midnight in Nairobi), in Unix seconds.
pub fn eat_day_start(day: i64) -> Unix {
    day * 86_400 - EAT_OFFSET
}

/// `YYYY-MM-DD` of EAT day `day`.
pub fn eat_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` (what `<input type=date>` sends) into an EAT day; `None` if not a date.
pub fn parse_eat_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let ymd = format!("{}{}{}000000", &s[0..4], &s[5..7], &s[8..10]);
    parse_eat_timestamp(&ymd).map(eat_day)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days-from-civil algorithm.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eat_timestamp_is_utc_plus_three() {
        // 2026-11-22 11:30:05 UTC
        assert_eq!(eat_timestamp(1_795_347_005), "20261122143005");
        assert_eq!(parse_eat_timestamp("20261122143005"), Some(1_795_347_005));
        assert_eq!(eat_timestamp(0), "19700101030000");
    }

    #[test]
    fn rejects_impossible_timestamps() {
        for s in [
            "2026112214300",
            "20261322143005",
            "20260230143005",
            "20261122243005",
            "2026112214300x",
        ] {
            assert_eq!(parse_eat_timestamp(s), None, "{s}");
        }
        assert!(parse_eat_timestamp("20240229000000").is_some());
    }

    #[test]
    fn eat_days_start_at_nairobi_midnight() {
        // 2026-11-22 20:59:59 UTC is 23:59:59 EAT; a second later it is the 23rd in Nairobi.
        let t = 1_795_381_199;
        assert_eq!(eat_date(eat_day(t)), "2026-11-22");
        assert_eq!(eat_date(eat_day(t + 1)), "2026-11-23");
        assert_eq!(eat_day_start(eat_day(t + 1)), t + 1);
        assert_eq!(parse_eat_date("2026-11-23"), Some(eat_day(t + 1)));
        for bad in ["2026-11-31", "2026/11/23", "26-11-23", ""] {
            assert_eq!(parse_eat_date(bad), None, "{bad}");
        }
    }
}
