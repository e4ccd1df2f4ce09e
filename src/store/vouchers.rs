//! The `vouchers` table: prepaid codes the owner prints; each grants its package once.

use super::Result;
use crate::clock::Unix;
use crate::mac::Mac;
use rusqlite::{params, Connection, OptionalExtension};

/// Where a code stands. (Past its `expires_at`, an unused code is refused but stays `Unused`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VoucherState {
    Unused,
    Used,
    Revoked,
}

impl VoucherState {
    pub fn as_str(self) -> &'static str {
        match self {
            VoucherState::Unused => "unused",
            VoucherState::Used => "used",
            VoucherState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Unused, Self::Used, Self::Revoked]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Voucher {
    pub code: String,
    pub package_id: i64,
    pub batch: String,
    pub state: VoucherState,
    pub created_at: Unix,
    pub expires_at: Option<Unix>,
    pub used_by_mac: Option<Mac>,
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
    let mut st = c.prepare_cached(&format!("SELECT {COLUMNS} FROM vouchers WHERE code = ?1"))?;
    Ok(st.query_row([code], from_row).optional()?)
}

const COLUMNS: &str =
    "code, package_id, batch, state, created_at, expires_at, used_by_mac, used_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Voucher> {
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
}

/// `unused` -> `used` by `mac`. False if it was not unused (someone was faster).
pub fn mark_used(c: &Connection, code: &str, mac: Mac, now: Unix) -> Result<bool> {
    let n = c.execute(
        "UPDATE vouchers SET state = 'used', used_by_mac = ?2, used_at = ?3 WHERE code = ?1 AND state = 'unused'",
        params![code, mac, now],
    )?;
    Ok(n == 1)
}

/// One printed batch at a glance.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Batch {
    pub batch: String,
    pub package_id: i64,
    pub created_at: Unix,
    pub expires_at: Option<Unix>,
    pub total: u32,
    pub unused: u32,
    pub used: u32,
    pub revoked: u32,
}

/// The newest batches first, at most `limit`.
pub fn batches(c: &Connection, limit: u32) -> Result<Vec<Batch>> {
    let mut st = c.prepare_cached(
        "SELECT batch, min(package_id), min(created_at), max(expires_at), count(*),
                sum(state = 'unused'), sum(state = 'used'), sum(state = 'revoked')
         FROM vouchers GROUP BY batch ORDER BY min(created_at) DESC, batch DESC LIMIT ?1",
    )?;
    let rows = st
        .query_map([limit], |r| {
            Ok(Batch {
                batch: r.get(0)?,
                package_id: r.get(1)?,
                created_at: r.get(2)?,
                expires_at: r.get(3)?,
                total: r.get(4)?,
                unused: r.get(5)?,
                used: r.get(6)?,
                revoked: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Every code of `batch`, in the order drawn.
pub fn in_batch(c: &Connection, batch: &str) -> Result<Vec<Voucher>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM vouchers WHERE batch = ?1 ORDER BY rowid"
    ))?;
    let rows = st
        .query_map([batch], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// `unused` -> `revoked`. False if the code was not unused.
pub fn revoke(c: &Connection, code: &str) -> Result<bool> {
    let n = c.execute(
        "UPDATE vouchers SET state = 'revoked' WHERE code = ?1 AND state = 'unused'",
        [code],
    )?;
    Ok(n == 1)
}

/// Revokes every unused code of `batch`; returns how many.
pub fn revoke_batch(c: &Connection, batch: &str) -> Result<usize> {
    Ok(c.execute(
        "UPDATE vouchers SET state = 'revoked' WHERE batch = ?1 AND state = 'unused'",
        [batch],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn batches_count_states_and_revoke_touches_unused_only() {
        let s = Store::open_in_memory().unwrap();
        s.with(|c| {
            for code in ["AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC"] {
                assert!(insert(c, code, 1, "b1", Some(500), 10)?);
            }
            assert!(insert(c, "DDDDDDDDDD", 2, "b2", None, 20)?);
            assert!(mark_used(
                c,
                "AAAAAAAAAA",
                "02:aa:00:00:00:01".parse().unwrap(),
                30
            )?);
            assert!(revoke(c, "BBBBBBBBBB")?);
            assert!(!revoke(c, "AAAAAAAAAA")?, "a used code stays used");
            let b = batches(c, 10)?;
            assert_eq!(b[0].batch, "b2");
            assert_eq!(
                (
                    b[1].total,
                    b[1].unused,
                    b[1].used,
                    b[1].revoked,
                    b[1].expires_at
                ),
                (3, 1, 1, 1, Some(500))
            );
            assert_eq!(revoke_batch(c, "b1")?, 1);
            let codes: Vec<_> = in_batch(c, "b1")?.into_iter().map(|v| v.state).collect();
            assert_eq!(
                codes,
                [
                    VoucherState::Used,
                    VoucherState::Revoked,
                    VoucherState::Revoked
                ]
            );
            Ok(())
        })
        .unwrap();
    }
}
