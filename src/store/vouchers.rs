//! The `vouchers` table: prepaid codes the owner prints; each grants its package once.

use super::Result;
use crate::clock::Unix;
use crate::mac::Mac;
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Voucher {
    pub code: String,
    pub package_id: i64,
    pub batch: String,
    /// `unused`, `used` or `revoked`.
    pub state: String,
    pub created_at: Unix,
    pub expires_at: Option<Unix>,
    pub used_by_mac: Option<String>,
    pub used_at: Option<Unix>,
}

/// Adds a code; false if the code already exists (the caller draws another).
pub fn insert(
    c: &Connection,
    code: &str,
    package_id: i64,
    batch: &str,
    expires_at: Option<Unix>,
    now: Unix,
) -> Result<bool> {
    let n = c.execute(
        "INSERT OR IGNORE INTO vouchers (code, package_id, batch, state, created_at, expires_at) VALUES (?1, ?2, ?3, 'unused', ?4, ?5)",
        params![code, package_id, batch, now, expires_at],
    )?;
    Ok(n == 1)
}

pub fn get(c: &Connection, code: &str) -> Result<Option<Voucher>> {
    let mut st = c.prepare_cached(
        "SELECT code, package_id, batch, state, created_at, expires_at, used_by_mac, used_at FROM vouchers WHERE code = ?1",
    )?;
    Ok(st
        .query_row([code], |r| {
            Ok(Voucher {
                code: r.get(0)?,
                package_id: r.get(1)?,
                batch: r.get(2)?,
                state: r.get(3)?,
                created_at: r.get(4)?,
                expires_at: r.get(5)?,
                used_by_mac: r.get(6)?,
                used_at: r.get(7)?,
            })
        })
        .optional()?)
}

/// `unused` -> `used` by `mac`. False if it was not unused (someone was faster).
pub fn mark_used(c: &Connection, code: &str, mac: Mac, now: Unix) -> Result<bool> {
    let n = c.execute(
        "UPDATE vouchers SET state = 'used', used_by_mac = ?2, used_at = ?3 WHERE code = ?1 AND state = 'unused'",
        params![code, mac, now],
    )?;
    Ok(n == 1)
}
