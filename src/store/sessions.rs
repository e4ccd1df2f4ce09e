//! The `sessions` table: who is online, since when, until when, and why it ended.
//! At most one open session per MAC (a unique partial index enforces it).

use super::usage::Bytes;
use super::{Ip, Result};
use crate::clock::Unix;
use crate::mac::Mac;
use crate::reconnect::ReconnectCode;
use crate::units::Kbps;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::net::IpAddr;

/// What paid for a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Payment,
    Voucher,
    /// The owner (CLI or admin page).
    Admin,
    /// A code a RADIUS server accepted.
    Radius,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Payment => "payment",
            Source::Voucher => "voucher",
            Source::Admin => "admin",
            Source::Radius => "radius",
        }
    }
    fn parse(s: &str) -> Option<Source> {
        Some(match s {
            "payment" => Source::Payment,
            "voucher" => Source::Voucher,
            "admin" => Source::Admin,
            "radius" => Source::Radius,
            _ => return None,
        })
    }
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    Expired,
    /// Kicked by the owner.
    Revoked,
    /// Its time left moved to another device (reconnect code or receipt).
    Moved,
    /// Its data allowance is used up.
    DataUsedUp,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Expired => "expired",
            EndReason::Revoked => "revoked",
            EndReason::Moved => "moved",
            EndReason::DataUsedUp => "data_used_up",
        }
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Session {
    pub id: i64,
    pub mac: Mac,
    pub ip: Option<IpAddr>,
    pub source: Source,
    /// Payment id or voucher code.
    pub source_ref: Option<String>,
    pub package_id: Option<i64>,
    pub down: Kbps,
    pub up: Kbps,
    pub started_at: Unix,
    pub expires_at: Unix,
    pub ended_at: Option<Unix>,
    pub end_reason: Option<String>,
    /// The reconnect code (canonical, without the dash); `None` for sessions older than codes.
    pub code: Option<String>,
    /// The data allowance in bytes, down and up together; `None` is unlimited data.
    pub data_limit: Option<u64>,
    /// Bytes moved as persisted (`usage` adds what it counted since).
    pub used: Bytes,
}

impl Session {
    pub fn seconds_left(&self, now: Unix) -> u64 {
        (self.expires_at - now).max(0) as u64
    }

    /// Bytes of the allowance left when `used` bytes have moved; `None` is unlimited data.
    pub fn data_left(&self, used: Bytes) -> Option<u64> {
        self.data_limit.map(|l| l.saturating_sub(used.total()))
    }

    /// The session ended because its data allowance was used up.
    pub fn data_used_up(&self) -> bool {
        self.end_reason.as_deref() == Some(EndReason::DataUsedUp.as_str())
    }
}

/// Time to add for a device.
#[derive(Clone, Debug)]
pub struct Grant {
    pub mac: Mac,
    pub ip: Option<IpAddr>,
    pub source: Source,
    pub source_ref: Option<String>,
    pub package_id: Option<i64>,
    pub duration_s: u32,
    pub down: Kbps,
    pub up: Kbps,
    /// Bytes of data allowance; `None` is unlimited data. Added to a running session's
    /// allowance; a running session with unlimited data keeps it, and an unlimited grant makes
    /// the running session's data unlimited (more time with no allowance adds `Some(0)`).
    pub data: Option<u64>,
}

const COLUMNS: &str =
    "id, mac, ip, source, source_ref, package_id, down_kbps, up_kbps, started_at, expires_at, ended_at, end_reason, code, data_limit, bytes_down, bytes_up";

fn from_row(r: &Row) -> rusqlite::Result<Session> {
    let source: String = r.get(3)?;
    Ok(Session {
        id: r.get(0)?,
        mac: r.get(1)?,
        ip: r.get::<_, Option<Ip>>(2)?.map(|i| i.0),
        source: Source::parse(&source).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                format!("source {source:?}").into(),
            )
        })?,
        source_ref: r.get(4)?,
        package_id: r.get(5)?,
        down: Kbps(r.get(6)?),
        up: Kbps(r.get(7)?),
        started_at: r.get(8)?,
        expires_at: r.get(9)?,
        ended_at: r.get(10)?,
        end_reason: r.get(11)?,
        code: r.get(12)?,
        data_limit: r.get::<_, Option<i64>>(13)?.map(|n| n.max(0) as u64),
        used: Bytes {
            down: r.get::<_, i64>(14)?.max(0) as u64,
            up: r.get::<_, i64>(15)?.max(0) as u64,
        },
    })
}

fn query(c: &Connection, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Session>> {
    let mut st = c.prepare_cached(&format!("SELECT {COLUMNS} FROM sessions {filter}"))?;
    let rows = st
        .query_map(args, from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The session of `mac` that has not been ended (it may have run out of time already).
pub fn open_for(c: &Connection, mac: Mac) -> Result<Option<Session>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sessions WHERE mac = ?1 AND ended_at IS NULL"
    ))?;
    Ok(st.query_row([mac], from_row).optional()?)
}

/// Every session not yet ended.
pub fn open(c: &Connection) -> Result<Vec<Session>> {
    query(c, "WHERE ended_at IS NULL ORDER BY expires_at", [])
}

/// Open sessions whose time has run out by `now`.
pub fn due(c: &Connection, now: Unix) -> Result<Vec<Session>> {
    query(
        c,
        "WHERE ended_at IS NULL AND expires_at <= ?1 ORDER BY expires_at",
        [now],
    )
}

/// The earliest expiry among open sessions.
pub fn next_expiry(c: &Connection) -> Result<Option<Unix>> {
    Ok(c.query_row(
        "SELECT min(expires_at) FROM sessions WHERE ended_at IS NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Adds time for `g.mac`: extends its running session, or starts a new one with a fresh
/// reconnect code. An extension keeps the faster of the old and new speeds, so buying a short
/// cheap package never slows down time already paid for at a higher speed, and adds the data
/// allowances (unlimited stays unlimited).
pub fn grant(c: &Connection, g: &Grant, now: Unix) -> Result<Session> {
    grant_coded(c, g, now, None)
}

/// `grant`, a new session taking `code` (a moved session's) instead of a fresh one.
fn grant_coded(c: &Connection, g: &Grant, now: Unix, code: Option<&str>) -> Result<Session> {
    if let Some(s) = open_for(c, g.mac)? {
        if s.expires_at > now {
            c.execute(
                "UPDATE sessions SET expires_at = expires_at + ?2, down_kbps = max(down_kbps, ?3), up_kbps = max(up_kbps, ?4),
                        ip = COALESCE(?5, ip), data_limit = data_limit + ?6
                 WHERE id = ?1",
                params![s.id, g.duration_s, g.down.0, g.up.0, g.ip.map(Ip), g.data.map(sql_bytes)],
            )?;
            return Ok(query(c, "WHERE id = ?1", [s.id])?.remove(0));
        }
        end(c, g.mac, EndReason::Expired, s.expires_at)?;
    }
    let mut tries = 0;
    loop {
        let fresh = ReconnectCode::random();
        let inserted = c.execute(
            "INSERT INTO sessions (mac, ip, source, source_ref, package_id, down_kbps, up_kbps, started_at, expires_at, code, data_limit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                g.mac,
                g.ip.map(Ip),
                g.source.as_str(),
                g.source_ref,
                g.package_id,
                g.down.0,
                g.up.0,
                now,
                now + i64::from(g.duration_s),
                code.unwrap_or(fresh.as_str()),
                g.data.map(sql_bytes)
            ],
        );
        match inserted {
            // A fresh code already taken by an open session: draw again (one in 10^6 at most).
            Err(rusqlite::Error::SqliteFailure(e, _))
                if code.is_none()
                    && e.code == rusqlite::ErrorCode::ConstraintViolation
                    && tries < CODE_DRAWS =>
            {
                tries += 1;
            }
            r => {
                r?;
                return Ok(query(c, "WHERE id = ?1", [c.last_insert_rowid()])?.remove(0));
            }
        }
    }
}

/// SQLite integers are signed; an allowance past i64 (never: at most 1 TB) is held at the maximum.
fn sql_bytes(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Draws of a fresh reconnect code before giving up (each collides with odds of n/31^6).
const CODE_DRAWS: u32 = 5;

/// The open session with reconnect code `code`.
pub fn by_code(c: &Connection, code: &ReconnectCode) -> Result<Option<Session>> {
    Ok(query(c, "WHERE code = ?1 AND ended_at IS NULL", [code.as_str()])?.pop())
}

/// The newest session that had reconnect code `code`, open or ended.
pub fn last_by_code(c: &Connection, code: &ReconnectCode) -> Result<Option<Session>> {
    Ok(query(
        c,
        "WHERE code = ?1 ORDER BY id DESC LIMIT 1",
        [code.as_str()],
    )?
    .pop())
}

/// The newest session of `mac`, open or ended.
pub fn latest_for(c: &Connection, mac: Mac) -> Result<Option<Session>> {
    Ok(query(c, "WHERE mac = ?1 ORDER BY id DESC LIMIT 1", [mac])?.pop())
}

/// Moves the time `from` has left at `now` to `mac`: `from` ends (`moved`); `mac`'s running
/// session is extended by it (faster speeds kept), or a new one starts with `from`'s code,
/// source and speeds, with the data `from` had left. Returns the session `mac` has now.
pub fn move_to(
    c: &Connection,
    from: &Session,
    mac: Mac,
    ip: Option<IpAddr>,
    now: Unix,
) -> Result<Session> {
    let left = u32::try_from(from.seconds_left(now)).unwrap_or(u32::MAX);
    end(c, from.mac, EndReason::Moved, now)?;
    let g = Grant {
        mac,
        ip,
        source: from.source,
        source_ref: from.source_ref.clone(),
        package_id: from.package_id,
        duration_s: left,
        down: from.down,
        up: from.up,
        // The data left as persisted: what was counted in the last minute is not taken off.
        data: from.data_left(from.used),
    };
    grant_coded(c, &g, now, from.code.as_deref())
}

/// Moves every open session's times by `secs` (the wall clock jumped; paid time must not).
pub fn shift_open(c: &Connection, secs: i64) -> Result<usize> {
    Ok(c.execute(
        "UPDATE sessions SET started_at = started_at + ?1, expires_at = expires_at + ?1 WHERE ended_at IS NULL",
        [secs],
    )?)
}

/// Sets an open session's time left (from `now`) and speeds, where given (RADIUS CoA).
pub fn set_limits(
    c: &Connection,
    mac: Mac,
    now: Unix,
    seconds: Option<u32>,
    rate: Option<(Kbps, Kbps)>,
) -> Result<Option<Session>> {
    let Some(s) = open_for(c, mac)? else {
        return Ok(None);
    };
    let expires = seconds.map_or(s.expires_at, |t| now + i64::from(t));
    let (down, up) = rate.unwrap_or((s.down, s.up));
    c.execute(
        "UPDATE sessions SET expires_at = ?2, down_kbps = ?3, up_kbps = ?4 WHERE id = ?1",
        params![s.id, expires, down.0, up.0],
    )?;
    Ok(query(c, "WHERE id = ?1", [s.id])?.pop())
}

/// Ends the open session of `mac`, if any, and returns it as it was.
pub fn end(c: &Connection, mac: Mac, reason: EndReason, now: Unix) -> Result<Option<Session>> {
    let Some(s) = open_for(c, mac)? else {
        return Ok(None);
    };
    c.execute(
        "UPDATE sessions SET ended_at = ?2, end_reason = ?3 WHERE id = ?1",
        params![s.id, now, reason.as_str()],
    )?;
    Ok(Some(s))
}

/// Ends `mac`'s open session as `data_used_up` if the bytes persisted for it have reached its
/// allowance (checked here, in the caller's transaction, so an allowance bought meanwhile wins).
/// Returns the session as it was, if it was ended.
pub fn end_used_up(c: &Connection, mac: Mac, now: Unix) -> Result<Option<Session>> {
    match open_for(c, mac)? {
        Some(s) if s.data_left(s.used) == Some(0) => end(c, mac, EndReason::DataUsedUp, now),
        _ => Ok(None),
    }
}

/// Open sessions with a data allowance: (device, allowance in bytes, bytes persisted).
pub fn limited(c: &Connection) -> Result<Vec<(Mac, u64, Bytes)>> {
    Ok(
        query(c, "WHERE ended_at IS NULL AND data_limit IS NOT NULL", [])?
            .into_iter()
            .filter_map(|s| Some((s.mac, s.data_limit?, s.used)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_devices_latest_session_is_found_by_index() {
        let s = Store::open_in_memory().unwrap();
        let plan: String = s
            .with(|c| {
                Ok(c.query_row(
                    "EXPLAIN QUERY PLAN SELECT id FROM sessions WHERE mac = ?1 ORDER BY id DESC LIMIT 1",
                    ["02:00:00:00:00:01"],
                    |r| r.get(3),
                )?)
            })
            .unwrap();
        assert!(
            plan.contains("USING COVERING INDEX sessions_mac")
                || plan.contains("USING INDEX sessions_mac"),
            "{plan}"
        );
    }

    fn g(mac: &str, secs: u32, down: u32) -> Grant {
        Grant {
            mac: mac.parse().unwrap(),
            ip: None,
            source: Source::Admin,
            source_ref: None,
            package_id: None,
            duration_s: secs,
            down: Kbps(down),
            up: Kbps(1000),
            data: None,
        }
    }

    #[test]
    fn buying_again_extends_and_keeps_the_faster_speed() {
        let s = Store::open_in_memory().unwrap();
        s.with(|c| {
            let a = grant(c, &g("aa:bb:cc:dd:ee:01", 3600, 5000), 1000)?;
            let b = grant(c, &g("aa:bb:cc:dd:ee:01", 600, 2000), 2000)?;
            assert_eq!(a.id, b.id);
            assert_eq!(b.expires_at, 1000 + 3600 + 600);
            assert_eq!(b.down, Kbps(5000));
            assert_eq!(open(c)?.len(), 1);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn buying_again_adds_to_the_data_allowance_and_unlimited_stays_unlimited() {
        let s = Store::open_in_memory().unwrap();
        let mb = |n: u64| Some(n * 1_000_000);
        s.with(|c| {
            let mac: Mac = "aa:bb:cc:dd:ee:01".parse().unwrap();
            let bundle = |mbs| Grant {
                data: mb(mbs),
                ..g("aa:bb:cc:dd:ee:01", 3600, 5000)
            };
            let a = grant(c, &bundle(20), 1000)?;
            assert_eq!(a.data_limit, mb(20));
            crate::store::usage::add(
                c,
                &[(
                    mac,
                    Bytes {
                        down: 15_000_000,
                        up: 0,
                    },
                )],
                1010,
            )?;
            let b = grant(c, &bundle(100), 1020)?;
            assert_eq!((b.id, b.data_limit), (a.id, mb(120)));
            assert_eq!(b.data_left(b.used), mb(105), "the bytes used stay used");
            // More time and no allowance (the owner's "add minutes") keeps the allowance.
            let c2 = grant(
                c,
                &Grant {
                    data: Some(0),
                    ..g("aa:bb:cc:dd:ee:01", 60, 5000)
                },
                1030,
            )?;
            assert_eq!(c2.data_limit, mb(120));
            // A package with unlimited data lifts the allowance; a bundle on top keeps it lifted.
            assert_eq!(
                grant(c, &g("aa:bb:cc:dd:ee:01", 60, 5000), 1040)?.data_limit,
                None
            );
            assert_eq!(grant(c, &bundle(5), 1050)?.data_limit, None);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_session_ends_as_data_used_up_only_once_its_bytes_reach_the_allowance() {
        let s = Store::open_in_memory().unwrap();
        s.with(|c| {
            let mac: Mac = "aa:bb:cc:dd:ee:01".parse().unwrap();
            let free: Mac = "aa:bb:cc:dd:ee:02".parse().unwrap();
            let bundle = Grant {
                data: Some(1000),
                ..g("aa:bb:cc:dd:ee:01", 3600, 5000)
            };
            grant(c, &bundle, 1000)?;
            grant(c, &g("aa:bb:cc:dd:ee:02", 3600, 5000), 1000)?;
            assert_eq!(limited(c)?.len(), 1, "only the bundle has an allowance");
            crate::store::usage::add(
                c,
                &[
                    (mac, Bytes { down: 900, up: 99 }),
                    (free, Bytes { down: 5000, up: 0 }),
                ],
                1010,
            )?;
            assert!(end_used_up(c, mac, 1011)?.is_none(), "999 of 1000 bytes");
            assert!(end_used_up(c, free, 1011)?.is_none(), "unlimited data");
            crate::store::usage::add(c, &[(mac, Bytes { down: 0, up: 1 })], 1012)?;
            let ended = end_used_up(c, mac, 1013)?.expect("1000 of 1000 bytes");
            assert_eq!(ended.used.total(), 1000);
            let last = latest_for(c, mac)?.unwrap();
            assert!(last.data_used_up());
            assert_eq!(last.ended_at, Some(1013));
            // Buying again starts a fresh session with a fresh allowance.
            let again = grant(c, &bundle, 1020)?;
            assert_eq!(
                (again.data_left(again.used), again.used.total()),
                (Some(1000), 0)
            );
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn moving_a_bundle_moves_the_data_left() {
        let s = Store::open_in_memory().unwrap();
        s.with(|c| {
            let a: Mac = "aa:bb:cc:dd:ee:01".parse().unwrap();
            let b: Mac = "aa:bb:cc:dd:ee:02".parse().unwrap();
            let bundle = Grant {
                data: Some(1000),
                ..g("aa:bb:cc:dd:ee:01", 3600, 5000)
            };
            grant(c, &bundle, 1000)?;
            crate::store::usage::add(c, &[(a, Bytes { down: 300, up: 0 })], 1010)?;
            let from = open_for(c, a)?.unwrap();
            let moved = move_to(c, &from, b, None, 1020)?;
            assert_eq!((moved.data_limit, moved.used.total()), (Some(700), 0));
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_grant_after_expiry_starts_a_new_session() {
        let s = Store::open_in_memory().unwrap();
        s.with(|c| {
            let a = grant(c, &g("aa:bb:cc:dd:ee:01", 60, 5000), 1000)?;
            assert_eq!(due(c, 1059)?.len(), 0);
            assert_eq!(due(c, 1060)?.len(), 1);
            let b = grant(c, &g("aa:bb:cc:dd:ee:01", 60, 2000), 5000)?;
            assert_ne!(a.id, b.id);
            assert_eq!(
                (b.started_at, b.expires_at, b.down),
                (5000, 5060, Kbps(2000))
            );
            let ended: (i64, String) = c.query_row(
                "SELECT ended_at, end_reason FROM sessions WHERE id = ?1",
                [a.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            assert_eq!(ended, (1060, "expired".into()));
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn moving_keeps_the_code_and_the_time_left() {
        let s = Store::open_in_memory().unwrap();
        s.with(|c| {
            let (a, b, d): (Mac, Mac, Mac) = (
                "aa:bb:cc:dd:ee:01".parse().unwrap(),
                "aa:bb:cc:dd:ee:02".parse().unwrap(),
                "aa:bb:cc:dd:ee:03".parse().unwrap(),
            );
            let first = grant(c, &g("aa:bb:cc:dd:ee:01", 3600, 5000), 1000)?;
            let code = ReconnectCode::from_stored(first.code.clone().unwrap());
            assert_eq!(code.as_str().len(), crate::reconnect::LEN);
            let other = grant(c, &g("aa:bb:cc:dd:ee:03", 3600, 2000), 1000)?;
            assert_ne!(other.code, first.code, "each session its own code");

            let moved = move_to(c, &first, b, None, 1600)?;
            assert_eq!(
                (moved.mac, moved.expires_at, moved.down, moved.code.clone()),
                (b, 1600 + 3000, Kbps(5000), first.code.clone())
            );
            assert!(open_for(c, a)?.is_none());
            assert_eq!(
                latest_for(c, a)?.unwrap().end_reason.as_deref(),
                Some("moved")
            );
            assert_eq!(by_code(c, &code)?.unwrap().mac, b);

            // Onto a device with time of its own: added to it, at the faster speed.
            let merged = move_to(c, &moved, d, None, 1700)?;
            assert_eq!(
                (merged.id, merged.expires_at, merged.down),
                (other.id, 1000 + 3600 + 2900, Kbps(5000))
            );
            assert!(
                by_code(c, &code)?.is_none(),
                "the moved code ended with its session"
            );
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn end_closes_the_open_session_only() {
        let s = Store::open_in_memory().unwrap();
        s.with(|c| {
            let mac: Mac = "aa:bb:cc:dd:ee:01".parse().unwrap();
            assert!(end(c, mac, EndReason::Revoked, 5)?.is_none());
            grant(c, &g("aa:bb:cc:dd:ee:01", 60, 5000), 1000)?;
            assert!(end(c, mac, EndReason::Revoked, 1010)?.is_some());
            assert!(open_for(c, mac)?.is_none());
            assert_eq!(next_expiry(c)?, None);
            Ok(())
        })
        .unwrap();
    }
}
