//! The `packages` table: what a customer can buy.

use super::Result;
use crate::units::{Kbps, Kes};
use rusqlite::{params, Connection, OptionalExtension, Row};

/// Time at a speed for a price.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Package {
    pub id: i64,
    pub name: String,
    pub duration_s: u32,
    pub down: Kbps,
    pub up: Kbps,
    pub price: Kes,
    pub active: bool,
    /// The data allowance in MB (1 MB = 1 000 000 bytes); `None` is unlimited data.
    pub data_mb: Option<u32>,
}

/// Bytes in the MB of a data allowance (decimal, as `units::ByteCount` prints them).
pub const MB: u64 = 1_000_000;

/// A data allowance in MB to bytes.
pub fn mb_to_bytes(mb: Option<u32>) -> Option<u64> {
    mb.map(|mb| u64::from(mb) * MB)
}

impl Package {
    /// The data allowance in bytes; `None` is unlimited data.
    pub fn data_bytes(&self) -> Option<u64> {
        mb_to_bytes(self.data_mb)
    }
}

const COLUMNS: &str = "id, name, duration_s, down_kbps, up_kbps, price_kes, active, data_mb";

fn from_row(r: &Row) -> rusqlite::Result<Package> {
    Ok(Package {
        id: r.get(0)?,
        name: r.get(1)?,
        duration_s: r.get(2)?,
        down: Kbps(r.get(3)?),
        up: Kbps(r.get(4)?),
        price: Kes(r.get(5)?),
        active: r.get(6)?,
        data_mb: r.get(7)?,
    })
}

/// Packages on sale, cheapest first.
pub fn active(c: &Connection) -> Result<Vec<Package>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM packages WHERE active = 1 ORDER BY price_kes, id"
    ))?;
    let rows = st
        .query_map([], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Every package, also the ones taken off sale.
pub fn all(c: &Connection) -> Result<Vec<Package>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM packages ORDER BY price_kes, id"
    ))?;
    let rows = st
        .query_map([], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn get(c: &Connection, id: i64) -> Result<Option<Package>> {
    let mut st = c.prepare_cached(&format!("SELECT {COLUMNS} FROM packages WHERE id = ?1"))?;
    Ok(st.query_row([id], from_row).optional()?)
}

/// Adds a package; returns its id.
pub fn insert(c: &Connection, p: &Package) -> Result<i64> {
    c.execute(
        "INSERT INTO packages (name, duration_s, down_kbps, up_kbps, price_kes, active, data_mb) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![p.name, p.duration_s, p.down.0, p.up.0, p.price.0, p.active, p.data_mb],
    )?;
    Ok(c.last_insert_rowid())
}

/// Rewrites package `p.id`; returns false if there is no such package.
pub fn update(c: &Connection, p: &Package) -> Result<bool> {
    let n = c.execute(
        "UPDATE packages SET name = ?2, duration_s = ?3, down_kbps = ?4, up_kbps = ?5, price_kes = ?6, active = ?7, data_mb = ?8 WHERE id = ?1",
        params![p.id, p.name, p.duration_s, p.down.0, p.up.0, p.price.0, p.active, p.data_mb],
    )?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn seeds_are_on_sale_cheapest_first() {
        let s = Store::open_in_memory().unwrap();
        let p = s.with(active).unwrap();
        let names: Vec<_> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Basic", "Standard", "Premium", "Ultra"]);
        assert_eq!(
            (p[1].duration_s, p[1].down, p[1].price),
            (10800, Kbps(5000), Kes(50))
        );
    }

    #[test]
    fn disabled_packages_leave_the_portal() {
        let s = Store::open_in_memory().unwrap();
        s.with(|c| {
            let mut p = get(c, 1)?.unwrap();
            p.active = false;
            assert!(update(c, &p)?);
            assert_eq!(active(c)?.len(), 3);
            assert_eq!(all(c)?.len(), 4);
            Ok(())
        })
        .unwrap();
    }
}
