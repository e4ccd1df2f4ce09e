//! The RADIUS tables: what the server said about an open session (User-Name, Class, interim
//! interval), how far each open session's accounting got, and the queue of Accounting-Requests not
//! yet answered. The queue is written in the same transaction that decides a record is due, so
//! a record is made once and kept until the server answers it.

use super::usage::Bytes;
use super::{Ip, Result};
use crate::clock::Unix;
use crate::mac::Mac;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::net::IpAddr;

/// A session as accounting sees it.
#[derive(Clone, Debug)]
pub struct Accounted {
    pub id: i64,
    pub mac: Mac,
    pub ip: Option<IpAddr>,
    /// `sessions.source` as stored (`payment`, `voucher`, `admin`, `radius`).
    pub source: String,
    pub source_ref: Option<String>,
    pub package_id: Option<i64>,
    pub started_at: Unix,
    pub ended_at: Option<Unix>,
    pub end_reason: Option<String>,
    /// Bytes as last persisted.
    pub bytes: Bytes,
    /// What a RADIUS server said when it accepted the code (`None` for other sessions).
    pub user_name: Option<String>,
    pub class: Option<Vec<u8>>,
    pub interim_s: Option<u32>,
}

/// An Accounting-Request waiting for its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub id: i64,
    pub session_id: i64,
    /// Acct-Status-Type: 1 Start, 2 Stop, 3 Interim-Update.
    pub status: u32,
    pub made_at: Unix,
    /// The attributes, encoded (type, length, value ...).
    pub attrs: Vec<u8>,
    pub tries: u32,
}

const COLUMNS: &str =
    "s.id, s.mac, s.ip, s.source, s.source_ref, s.package_id, s.started_at, s.ended_at,
     s.end_reason, s.bytes_down, s.bytes_up, r.user_name, r.class, r.interim_s";

fn accounted(r: &Row) -> rusqlite::Result<Accounted> {
    Ok(Accounted {
        id: r.get(0)?,
        mac: r.get(1)?,
        ip: r.get::<_, Option<Ip>>(2)?.map(|i| i.0),
        source: r.get(3)?,
        source_ref: r.get(4)?,
        package_id: r.get(5)?,
        started_at: r.get(6)?,
        ended_at: r.get(7)?,
        end_reason: r.get(8)?,
        bytes: Bytes {
            down: r.get::<_, i64>(9)?.max(0) as u64,
            up: r.get::<_, i64>(10)?.max(0) as u64,
        },
        user_name: r.get(11)?,
        class: r.get(12)?,
        interim_s: r.get(13)?,
    })
}

fn select(c: &Connection, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Accounted>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sessions s LEFT JOIN radius_sessions r ON r.session_id = s.id {filter}"
    ))?;
    // A plain loop: `query_map(..).collect()` would add a copy of the iterator adapters.
    let mut rows = st.query(args)?;
    let mut out = vec![];
    while let Some(r) = rows.next()? {
        out.push(accounted(r)?);
    }
    Ok(out)
}

/// Records what the server said about a session it granted (part of the grant's transaction).
pub fn remember(
    c: &Connection,
    session_id: i64,
    user_name: &str,
    class: Option<&[u8]>,
    interim_s: Option<u32>,
) -> Result<()> {
    c.execute(
        "INSERT INTO radius_sessions (session_id, user_name, class, interim_s) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(session_id) DO UPDATE SET user_name = ?2, class = COALESCE(?3, class),
             interim_s = COALESCE(?4, interim_s)",
        params![session_id, user_name, class, interim_s],
    )?;
    Ok(())
}

/// Open sessions whose Start is not queued yet.
pub fn to_start(c: &Connection) -> Result<Vec<Accounted>> {
    select(
        c,
        "WHERE s.ended_at IS NULL AND COALESCE(r.started, 0) = 0 ORDER BY s.id",
        [],
    )
}

/// Started sessions that ended and whose Stop is not queued yet.
pub fn to_stop(c: &Connection) -> Result<Vec<Accounted>> {
    select(
        c,
        "WHERE r.started = 1 AND s.ended_at IS NOT NULL ORDER BY s.id",
        [],
    )
}

/// Open, started sessions whose next Interim-Update is due at `now`.
pub fn interim_due(c: &Connection, now: Unix) -> Result<Vec<Accounted>> {
    select(
        c,
        "WHERE r.started = 1 AND s.ended_at IS NULL AND r.next_interim <= ?1 ORDER BY s.id",
        [now],
    )
}

/// Open sessions that were started, as accounting sees them.
pub fn open(c: &Connection) -> Result<Vec<Accounted>> {
    select(
        c,
        "WHERE r.started = 1 AND s.ended_at IS NULL ORDER BY s.id",
        [],
    )
}

/// Notes that the Start of `session_id` is queued; the first Interim-Update is due at `next`.
pub fn started(c: &Connection, session_id: i64, next: Unix) -> Result<()> {
    c.execute(
        "INSERT INTO radius_sessions (session_id, started, next_interim) VALUES (?1, 1, ?2)
         ON CONFLICT(session_id) DO UPDATE SET started = 1, next_interim = ?2",
        params![session_id, next],
    )?;
    Ok(())
}

/// Notes that an Interim-Update is queued; the next one is due at `next`.
pub fn interim_queued(c: &Connection, session_id: i64, next: Unix) -> Result<()> {
    c.execute(
        "UPDATE radius_sessions SET next_interim = ?2 WHERE session_id = ?1",
        params![session_id, next],
    )?;
    Ok(())
}

/// The Stop of `session_id` is queued: its row goes (the Stop carries all it held), so the table
/// stays as small as the sessions open.
pub fn stopped(c: &Connection, session_id: i64) -> Result<()> {
    c.execute(
        "DELETE FROM radius_sessions WHERE session_id = ?1",
        [session_id],
    )?;
    Ok(())
}

/// Queues an Accounting-Request made at `now`.
pub fn enqueue(
    c: &Connection,
    session_id: i64,
    status: u32,
    now: Unix,
    attrs: &[u8],
) -> Result<()> {
    c.execute(
        "INSERT INTO radius_queue (session_id, status, made_at, attrs) VALUES (?1, ?2, ?3, ?4)",
        params![session_id, status, now, attrs],
    )?;
    Ok(())
}

/// The oldest request not yet answered.
pub fn next(c: &Connection) -> Result<Option<Queued>> {
    Ok(c.prepare_cached(
        "SELECT id, session_id, status, made_at, attrs, tries FROM radius_queue ORDER BY id LIMIT 1",
    )?
    .query_row([], |r| {
        Ok(Queued {
            id: r.get(0)?,
            session_id: r.get(1)?,
            status: r.get(2)?,
            made_at: r.get(3)?,
            attrs: r.get(4)?,
            tries: r.get(5)?,
        })
    })
    .optional()?)
}

/// The server answered request `id`: it leaves the queue.
pub fn answered(c: &Connection, id: i64) -> Result<()> {
    c.execute("DELETE FROM radius_queue WHERE id = ?1", [id])?;
    Ok(())
}

/// Request `id` went unanswered once more.
pub fn unanswered(c: &Connection, id: i64) -> Result<()> {
    c.execute(
        "UPDATE radius_queue SET tries = tries + 1 WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

/// Requests waiting for an answer.
pub fn queued(c: &Connection) -> Result<u64> {
    Ok(c.query_row("SELECT count(*) FROM radius_queue", [], |r| r.get(0))?)
}

/// The open session a Disconnect or CoA request names, by device, Acct-Session-Id (the session's
/// id) or User-Name.
pub fn find_open(
    c: &Connection,
    mac: Option<Mac>,
    session_id: Option<i64>,
    user_name: Option<&str>,
) -> Result<Option<Mac>> {
    Ok(c.prepare_cached(
        "SELECT s.mac FROM sessions s LEFT JOIN radius_sessions r ON r.session_id = s.id
         WHERE s.ended_at IS NULL AND (s.mac = ?1 OR s.id = ?2 OR r.user_name = ?3)
         ORDER BY s.id LIMIT 1",
    )?
    .query_row(params![mac, session_id, user_name], |r| r.get(0))
    .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sessions::{end, grant, EndReason, Grant, Source};
    use crate::store::Store;
    use crate::units::Kbps;

    #[test]
    fn each_record_is_due_once_and_the_queue_keeps_order() {
        let s = Store::open_in_memory().unwrap();
        s.with(|c| {
            let mac: Mac = "aa:bb:cc:dd:ee:01".parse().unwrap();
            let g = Grant {
                mac,
                ip: None,
                source: Source::Radius,
                source_ref: Some("code1".into()),
                package_id: None,
                duration_s: 600,
                down: Kbps(5000),
                up: Kbps(2000),
                data: None,
            };
            let sess = grant(c, &g, 1000)?;
            remember(c, sess.id, "code1", Some(b"cls"), Some(60))?;
            let due = to_start(c)?;
            assert_eq!(due.len(), 1);
            assert_eq!(due[0].class.as_deref(), Some(&b"cls"[..]));
            started(c, sess.id, 1060)?;
            enqueue(c, sess.id, 1, 1000, b"a")?;
            assert!(to_start(c)?.is_empty());
            assert!(interim_due(c, 1059)?.is_empty());
            assert_eq!(interim_due(c, 1060)?.len(), 1);
            interim_queued(c, sess.id, 1120)?;
            enqueue(c, sess.id, 3, 1060, b"b")?;
            assert!(to_stop(c)?.is_empty());
            assert_eq!(find_open(c, None, None, Some("code1"))?, Some(mac));
            assert_eq!(find_open(c, None, Some(sess.id), None)?, Some(mac));
            end(c, mac, EndReason::Revoked, 1100)?;
            assert!(interim_due(c, 2000)?.is_empty());
            assert_eq!(to_stop(c)?[0].end_reason.as_deref(), Some("revoked"));
            stopped(c, sess.id)?;
            assert!(to_stop(c)?.is_empty());
            assert_eq!(queued(c)?, 2);
            let first = next(c)?.unwrap();
            assert_eq!((first.status, first.attrs.as_slice()), (1, &b"a"[..]));
            unanswered(c, first.id)?;
            assert_eq!(next(c)?.unwrap().tries, 1);
            answered(c, first.id)?;
            assert_eq!(next(c)?.unwrap().status, 3);
            assert_eq!(find_open(c, Some(mac), None, None)?, None);
            Ok(())
        })
        .unwrap();
    }
}
