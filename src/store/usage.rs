//! Bytes moved: per open session (`sessions.bytes_down/up`) and per EAT day (`traffic_days`).
//! Written by `usage` once a minute and at stop; read by the owner's page, the CLI and the portal.

use super::Result;
use crate::clock::{eat_day, Unix};
use crate::mac::Mac;
use rusqlite::{params, Connection, OptionalExtension};

/// Bytes both ways: to the device (`down`) and from it (`up`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Bytes {
    pub down: u64,
    pub up: u64,
}

impl Bytes {
    /// Each way, the larger of the two counts (a persisted count and a live one).
    pub fn max(self, other: Bytes) -> Bytes {
        Bytes {
            down: self.down.max(other.down),
            up: self.up.max(other.up),
        }
    }

    pub fn total(self) -> u64 {
        self.down.saturating_add(self.up)
    }
}

impl std::ops::AddAssign for Bytes {
    fn add_assign(&mut self, o: Bytes) {
        self.down = self.down.saturating_add(o.down);
        self.up = self.up.saturating_add(o.up);
    }
}

/// SQLite integers are signed; a count past i64 (never, in practice) is held at the maximum.
fn sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Adds `moved` to each device's open session (a device with none, just evicted, counts only
/// towards the day) and to the EAT day of `now`. Part of the caller's transaction.
pub fn add(c: &Connection, moved: &[(Mac, Bytes)], now: Unix) -> Result<()> {
    let mut day = Bytes::default();
    let mut st = c.prepare_cached(
        "UPDATE sessions SET bytes_down = bytes_down + ?2, bytes_up = bytes_up + ?3
         WHERE mac = ?1 AND ended_at IS NULL",
    )?;
    for (mac, b) in moved {
        st.execute(params![mac, sql(b.down), sql(b.up)])?;
        day += *b;
    }
    if day.total() > 0 {
        c.prepare_cached(
            "INSERT INTO traffic_days (day, bytes_down, bytes_up) VALUES (?1, ?2, ?3)
             ON CONFLICT(day) DO UPDATE SET bytes_down = bytes_down + ?2, bytes_up = bytes_up + ?3",
        )?
        .execute(params![eat_day(now), sql(day.down), sql(day.up)])?;
    }
    Ok(())
}

/// What the device's open session has moved so far (as persisted), if it has one.
pub fn of_open(c: &Connection, mac: Mac) -> Result<Option<Bytes>> {
    Ok(c.prepare_cached(
        "SELECT bytes_down, bytes_up FROM sessions WHERE mac = ?1 AND ended_at IS NULL",
    )?
    .query_row([mac], bytes)
    .optional()?)
}

/// Every open session's bytes (as persisted), by device.
pub fn open(c: &Connection) -> Result<Vec<(Mac, Bytes)>> {
    let mut st = c.prepare_cached(
        "SELECT mac, bytes_down, bytes_up FROM sessions WHERE ended_at IS NULL ORDER BY mac",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                Bytes {
                    down: r.get::<_, i64>(1)?.max(0) as u64,
                    up: r.get::<_, i64>(2)?.max(0) as u64,
                },
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The router's traffic on EAT day `day` (as persisted).
pub fn on_day(c: &Connection, day: i64) -> Result<Bytes> {
    Ok(
        c.prepare_cached("SELECT bytes_down, bytes_up FROM traffic_days WHERE day = ?1")?
            .query_row([day], bytes)
            .optional()?
            .unwrap_or_default(),
    )
}

fn bytes(r: &rusqlite::Row) -> rusqlite::Result<Bytes> {
    Ok(Bytes {
        down: r.get::<_, i64>(0)?.max(0) as u64,
        up: r.get::<_, i64>(1)?.max(0) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sessions::{grant, Grant, Source};
    use crate::store::Store;
    use crate::units::Kbps;

    const NOW: Unix = 1_790_000_000;

    fn mac(s: &str) -> Mac {
        s.parse().unwrap()
    }

    #[test]
    fn bytes_add_up_per_open_session_and_per_day() {
        let store = Store::open_in_memory().unwrap();
        let a = mac("02:00:00:00:00:0a");
        let gone = mac("02:00:00:00:00:0b");
        store
            .write(|tx| {
                let g = Grant {
                    mac: a,
                    ip: None,
                    source: Source::Payment,
                    source_ref: None,
                    package_id: None,
                    duration_s: 3600,
                    down: Kbps(1000),
                    up: Kbps(500),
                    data: None,
                };
                grant(tx, &g, NOW)?;
                add(tx, &[(a, Bytes { down: 100, up: 10 })], NOW)?;
                add(
                    tx,
                    &[
                        (a, Bytes { down: 50, up: 5 }),
                        (gone, Bytes { down: 1000, up: 1 }),
                    ],
                    NOW + 60,
                )
            })
            .unwrap();
        store
            .with(|c| {
                assert_eq!(of_open(c, a)?, Some(Bytes { down: 150, up: 15 }));
                assert_eq!(of_open(c, gone)?, None);
                assert_eq!(open(c)?, vec![(a, Bytes { down: 150, up: 15 })]);
                assert_eq!(on_day(c, eat_day(NOW))?, Bytes { down: 1150, up: 16 });
                assert_eq!(on_day(c, eat_day(NOW) - 1)?, Bytes::default());
                Ok(())
            })
            .unwrap();
    }
}
