//! The `payments` table: one row per STK push, written before Daraja is called, updated at each step.
//! A payment's terms (amount, time, speed) are copied from the package at push time, so a later
//! price change never alters a pending payment.

use super::Result;
use crate::clock::Unix;
use crate::mac::Mac;
use crate::phone::Msisdn;
use crate::units::{Kbps, Kes};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, Row};
use std::net::IpAddr;

/// Where a payment is in its life. `Paid`, `Failed`, `Cancelled` and `Timeout` are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentState {
    /// Row written; Daraja not yet answered the push.
    Created,
    /// Daraja accepted the push; the customer has the PIN prompt.
    Pushed,
    Paid,
    Failed,
    Cancelled,
    Timeout,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Created => "created",
            PaymentState::Pushed => "pushed",
            PaymentState::Paid => "paid",
            PaymentState::Failed => "failed",
            PaymentState::Cancelled => "cancelled",
            PaymentState::Timeout => "timeout",
        }
    }

    pub fn is_final(self) -> bool {
        !matches!(self, PaymentState::Created | PaymentState::Pushed)
    }
}

impl std::str::FromStr for PaymentState {
    type Err = ();
    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        Ok(match s {
            "created" => PaymentState::Created,
            "pushed" => PaymentState::Pushed,
            "paid" => PaymentState::Paid,
            "failed" => PaymentState::Failed,
            "cancelled" => PaymentState::Cancelled,
            "timeout" => PaymentState::Timeout,
            _ => return Err(()),
        })
    }
}

impl ToSql for PaymentState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for PaymentState {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        v.as_str()?.parse().map_err(|_| FromSqlError::InvalidType)
    }
}

/// A payment as recorded.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Payment {
    pub id: i64,
    pub mac: Mac,
    pub ip: Option<IpAddr>,
    #[serde(skip)]
    pub phone: Msisdn,
    pub package_id: i64,
    pub package_name: String,
    pub amount: Kes,
    pub duration_s: u32,
    pub down: Kbps,
    pub up: Kbps,
    pub state: PaymentState,
    pub checkout_request_id: Option<String>,
    pub result_code: Option<i64>,
    pub result_desc: Option<String>,
    pub receipt: Option<String>,
    pub created_at: Unix,
    pub updated_at: Unix,
}

/// What is known before Daraja is called.
pub struct NewPayment<'a> {
    pub mac: Mac,
    pub ip: Option<IpAddr>,
    pub phone: &'a Msisdn,
    pub package: &'a super::packages::Package,
}

pub(super) const COLUMNS: &str =
    "id, mac, ip, phone, package_id, package_name, amount_kes, duration_s, down_kbps, up_kbps, \
     state, checkout_request_id, result_code, result_desc, receipt, created_at, updated_at";

pub(super) fn from_row(r: &Row) -> rusqlite::Result<Payment> {
    Ok(Payment {
        id: r.get(0)?,
        mac: r.get(1)?,
        ip: r.get::<_, Option<super::Ip>>(2)?.map(|i| i.0),
        phone: r.get(3)?,
        package_id: r.get(4)?,
        package_name: r.get(5)?,
        amount: Kes(r.get(6)?),
        duration_s: r.get(7)?,
        down: Kbps(r.get(8)?),
        up: Kbps(r.get(9)?),
        state: r.get(10)?,
        checkout_request_id: r.get(11)?,
        result_code: r.get(12)?,
        result_desc: r.get(13)?,
        receipt: r.get(14)?,
        created_at: r.get(15)?,
        updated_at: r.get(16)?,
    })
}

fn query(c: &Connection, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Payment>> {
    let mut st = c.prepare_cached(&format!("SELECT {COLUMNS} FROM payments {filter}"))?;
    let rows = st
        .query_map(args, from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Records a new payment in state `created`; returns its id.
pub fn insert(c: &Connection, p: &NewPayment, now: Unix) -> Result<i64> {
    c.execute(
        "INSERT INTO payments (mac, ip, phone, package_id, package_name, amount_kes, duration_s, down_kbps, up_kbps,
                               state, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'created', ?10, ?10)",
        params![
            p.mac,
            p.ip.map(super::Ip),
            p.phone,
            p.package.id,
            p.package.name,
            p.package.price.0,
            p.package.duration_s,
            p.package.down.0,
            p.package.up.0,
            now
        ],
    )?;
    Ok(c.last_insert_rowid())
}

pub fn get(c: &Connection, id: i64) -> Result<Option<Payment>> {
    Ok(query(c, "WHERE id = ?1", [id])?.pop())
}

pub fn by_checkout(c: &Connection, checkout_request_id: &str) -> Result<Option<Payment>> {
    Ok(query(c, "WHERE checkout_request_id = ?1", [checkout_request_id])?.pop())
}

/// Payments not yet final (to resume after a restart).
pub fn unfinished(c: &Connection) -> Result<Vec<Payment>> {
    query(c, "WHERE state IN ('created', 'pushed') ORDER BY id", [])
}

/// The newest payments first, at most `limit`.
pub fn recent(c: &Connection, limit: u32) -> Result<Vec<Payment>> {
    query(c, "ORDER BY id DESC LIMIT ?1", [limit])
}

/// `created` -> `pushed`. False if the payment was no longer `created`.
pub fn mark_pushed(
    c: &Connection,
    id: i64,
    checkout: &str,
    merchant: &str,
    now: Unix,
) -> Result<bool> {
    let n = c.execute(
        "UPDATE payments SET state = 'pushed', checkout_request_id = ?2, merchant_request_id = ?3, updated_at = ?4
         WHERE id = ?1 AND state = 'created'",
        params![id, checkout, merchant, now],
    )?;
    Ok(n == 1)
}

/// The outcome Daraja gave (or Lango decided) for a payment.
pub struct Settlement<'a> {
    pub state: PaymentState,
    pub result_code: Option<i64>,
    pub result_desc: &'a str,
    pub receipt: Option<&'a str>,
}

/// Moves an unfinished payment to a final state. False if it was already final: the caller
/// must then do nothing (this is what makes duplicate answers harmless).
pub fn settle(c: &Connection, id: i64, s: &Settlement, now: Unix) -> Result<bool> {
    debug_assert!(s.state.is_final());
    let n = c.execute(
        "UPDATE payments SET state = ?2, result_code = ?3, result_desc = ?4, receipt = COALESCE(?5, receipt), updated_at = ?6
         WHERE id = ?1 AND state IN ('created', 'pushed')",
        params![id, s.state, s.result_code, s.result_desc, s.receipt, now],
    )?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{packages, Store};

    fn new_payment(s: &Store) -> i64 {
        s.with(|c| {
            let pkg = packages::get(c, 2)?.unwrap();
            let phone: Msisdn = "0708374149".parse().unwrap();
            insert(
                c,
                &NewPayment {
                    mac: "aa:bb:cc:dd:ee:01".parse().unwrap(),
                    ip: None,
                    phone: &phone,
                    package: &pkg,
                },
                100,
            )
        })
        .unwrap()
    }

    #[test]
    fn a_payment_settles_once() {
        let s = Store::open_in_memory().unwrap();
        let id = new_payment(&s);
        s.with(|c| {
            assert!(mark_pushed(c, id, "ws_CO_1", "m1", 101)?);
            assert!(!mark_pushed(c, id, "ws_CO_2", "m2", 102)?);
            let paid = Settlement {
                state: PaymentState::Paid,
                result_code: Some(0),
                result_desc: "ok",
                receipt: Some("SIM123"),
            };
            assert!(settle(c, id, &paid, 110)?);
            let failed = Settlement {
                state: PaymentState::Failed,
                result_code: Some(1),
                result_desc: "no",
                receipt: None,
            };
            assert!(!settle(c, id, &failed, 111)?);
            let p = by_checkout(c, "ws_CO_1")?.unwrap();
            assert_eq!(
                (p.state, p.receipt.as_deref(), p.amount),
                (PaymentState::Paid, Some("SIM123"), Kes(50))
            );
            assert_eq!(p.phone.as_str(), "254708374149");
            assert!(unfinished(c)?.is_empty());
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn price_is_frozen_at_push_time() {
        let s = Store::open_in_memory().unwrap();
        let id = new_payment(&s);
        s.with(|c| {
            c.execute("UPDATE packages SET price_kes = 80 WHERE id = 2", [])?;
            assert_eq!(get(c, id)?.unwrap().amount, Kes(50));
            Ok(())
        })
        .unwrap();
    }
}
