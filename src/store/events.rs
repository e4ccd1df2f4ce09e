//! The `events` table: the audit trail of every state change that matters to the owner.

use super::Result;
use crate::clock::Unix;
use crate::mac::Mac;
use rusqlite::{params, Connection};

#[derive(Clone, Debug, serde::Serialize)]
pub struct Event {
    pub at: Unix,
    pub kind: String,
    pub mac: Option<String>,
    pub payment_id: Option<i64>,
    pub detail: String,
}

/// Appends one event.
pub fn record(
    c: &Connection,
    now: Unix,
    kind: &str,
    mac: Option<Mac>,
    payment_id: Option<i64>,
    detail: &str,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO events (at, kind, mac, payment_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![now, kind, mac, payment_id, detail])?;
    Ok(())
}

/// Events of the given kinds since `since`, newest first, at most `limit`.
pub fn recent(c: &Connection, kinds: &[&str], since: Unix, limit: u32) -> Result<Vec<Event>> {
    let marks = vec!["?"; kinds.len()].join(", ");
    let mut st = c.prepare_cached(&format!(
        "SELECT at, kind, mac, payment_id, detail FROM events
         WHERE at >= ? AND kind IN ({marks}) ORDER BY id DESC LIMIT ?"
    ))?;
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&since];
    args.extend(kinds.iter().map(|k| k as &dyn rusqlite::ToSql));
    args.push(&limit);
    let rows = st
        .query_map(args.as_slice(), row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<Event> {
    Ok(Event {
        at: r.get(0)?,
        kind: r.get(1)?,
        mac: r.get(2)?,
        payment_id: r.get(3)?,
        detail: r.get(4)?,
    })
}

/// The events of one payment, oldest first.
pub fn for_payment(c: &Connection, payment_id: i64) -> Result<Vec<Event>> {
    let mut st = c.prepare_cached(
        "SELECT at, kind, mac, payment_id, detail FROM events WHERE payment_id = ?1 ORDER BY id",
    )?;
    let rows = st
        .query_map([payment_id], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
