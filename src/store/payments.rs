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
    /// The package's data allowance as bought, in MB; `None` is unlimited data.
    pub data_mb: Option<u32>,
    pub state: PaymentState,
    pub checkout_request_id: Option<String>,
    pub result_code: Option<i64>,
    pub result_desc: Option<String>,
    pub receipt: Option<String>,
    pub created_at: Unix,
    pub updated_at: Unix,
    /// When M-Pesa confirmed it after it had ended unpaid (`paid_late`); `None` otherwise.
    pub paid_late_at: Option<Unix>,
}

/// What is known before Daraja is called.
pub struct NewPayment<'a> {
    pub mac: Mac,
    pub ip: Option<IpAddr>,
    pub phone: &'a Msisdn,
    pub package: &'a super::packages::Package,
}

/// `result_desc` of new rows is `NULL`: the text is in `texts`, once (see `text_id`).
pub(super) const COLUMNS: &str =
    "id, mac, ip, phone, package_id, package_name, amount_kes, duration_s, down_kbps, up_kbps, \
     state, checkout_request_id, result_code, \
     COALESCE(result_desc, (SELECT text FROM texts WHERE texts.id = payments.result_text)), \
     receipt, created_at, updated_at, paid_late_at, data_mb";

/// The id of `text` in `texts`, added if new: Daraja's few result texts are stored once.
fn text_id(c: &Connection, text: &str) -> Result<i64> {
    c.prepare_cached("INSERT INTO texts (text) VALUES (?1) ON CONFLICT (text) DO NOTHING")?
        .execute([text])?;
    Ok(c.prepare_cached("SELECT id FROM texts WHERE text = ?1")?
        .query_row([text], |r| r.get(0))?)
}

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
        paid_late_at: r.get(17)?,
        data_mb: r.get(18)?,
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
                               state, created_at, updated_at, data_mb)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'created', ?10, ?10, ?11)",
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
            now,
            p.package.data_mb
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
pub fn mark_pushed(c: &Connection, id: i64, checkout: &str, now: Unix) -> Result<bool> {
    let n = c.execute(
        "UPDATE payments SET state = 'pushed', checkout_request_id = ?2, updated_at = ?3
         WHERE id = ?1 AND state = 'created'",
        params![id, checkout, now],
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
        "UPDATE payments SET state = ?2, result_code = ?3, result_desc = NULL, result_text = ?4,
                             receipt = COALESCE(?5, receipt), updated_at = ?6
         WHERE id = ?1 AND state IN ('created', 'pushed')",
        params![
            id,
            s.state,
            s.result_code,
            text_id(c, s.result_desc)?,
            s.receipt,
            now
        ],
    )?;
    Ok(n == 1)
}

/// When payments were started from `mac` since `since` (for the abuse limits).
pub fn started_by_mac(c: &Connection, mac: Mac, since: Unix) -> Result<Vec<Unix>> {
    let mut st =
        c.prepare_cached("SELECT created_at FROM payments WHERE mac = ?1 AND created_at >= ?2")?;
    let rows = st
        .query_map(params![mac, since], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// When payments were pushed to `phone` since `since` (for the abuse limits).
pub fn started_for_phone(c: &Connection, phone: &Msisdn, since: Unix) -> Result<Vec<Unix>> {
    let mut st =
        c.prepare_cached("SELECT created_at FROM payments WHERE phone = ?1 AND created_at >= ?2")?;
    let rows = st
        .query_map(params![phone, since], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// A success callback for a payment already settled as failed, cancelled or timeout (a success
/// callback wins: the customer's money arrived), or one a later STK Push Query found paid. Moves it
/// to `paid`, marks it `paid_late`, and returns the state it
/// had; `None` if it was not in one of those states (unfinished, or already paid).
pub fn settle_late_success(
    c: &Connection,
    id: i64,
    s: &Settlement,
    now: Unix,
) -> Result<Option<PaymentState>> {
    debug_assert_eq!(s.state, PaymentState::Paid);
    let Some(before) = get(c, id)?.map(|p| p.state) else {
        return Ok(None);
    };
    let n = c.execute(
        "UPDATE payments SET state = 'paid', result_code = ?2, result_desc = NULL, result_text = ?3,
                             receipt = COALESCE(?4, receipt), updated_at = ?5, paid_late_at = ?5
         WHERE id = ?1 AND state IN ('failed', 'cancelled', 'timeout')",
        params![id, s.result_code, text_id(c, s.result_desc)?, s.receipt, now],
    )?;
    Ok((n == 1).then_some(before))
}

/// The paid payment with M-Pesa receipt `receipt`.
pub fn by_receipt(c: &Connection, receipt: &str) -> Result<Option<Payment>> {
    Ok(query(
        c,
        "WHERE receipt = ?1 AND state = 'paid' ORDER BY id DESC LIMIT 1",
        [receipt],
    )?
    .pop())
}

/// The newest payment from `mac` that M-Pesa confirmed late, at or after `since`.
pub fn paid_late_for(c: &Connection, mac: Mac, since: Unix) -> Result<Option<Payment>> {
    Ok(query(
        c,
        "WHERE mac = ?1 AND paid_late_at >= ?2 ORDER BY paid_late_at DESC, id DESC LIMIT 1",
        params![mac, since],
    )?
    .pop())
}

/// The newest failed payment for `phone` and `amount`, started at or after `since`, that never
/// got a CheckoutRequestID although its push left Lango: Lango stopped, or lost Daraja's answer,
/// in the middle of its push. A success callback with that phone and amount is its money.
pub fn unanswered_push(
    c: &Connection,
    phone: &Msisdn,
    amount: Kes,
    since: Unix,
) -> Result<Option<Payment>> {
    Ok(query(
        c,
        "WHERE state = 'failed' AND checkout_request_id IS NULL AND answer_lost = 1 AND phone = ?1
           AND amount_kes = ?2 AND created_at >= ?3 ORDER BY id DESC LIMIT 1",
        params![phone, amount.0, since],
    )?
    .pop())
}

/// Marks an unfinished payment whose push may have reached the phone without Lango learning
/// its CheckoutRequestID: only such a payment may adopt a success callback's.
pub fn mark_answer_lost(c: &Connection, id: i64) -> Result<()> {
    c.execute(
        "UPDATE payments SET answer_lost = 1 WHERE id = ?1 AND state = 'created'",
        [id],
    )?;
    Ok(())
}

/// Gives a payment the CheckoutRequestID a callback revealed. False if it had one already.
pub fn adopt_checkout(c: &Connection, id: i64, checkout: &str) -> Result<bool> {
    let n = c.execute(
        "UPDATE payments SET checkout_request_id = ?2 WHERE id = ?1 AND checkout_request_id IS NULL",
        params![id, checkout],
    )?;
    Ok(n == 1)
}

/// Records the M-Pesa receipt of a paid payment that has none yet (a callback after the poller
/// settled it). False if it was not paid or already had one.
pub fn set_receipt(c: &Connection, id: i64, receipt: &str) -> Result<bool> {
    let n = c.execute(
        "UPDATE payments SET receipt = ?2 WHERE id = ?1 AND state = 'paid' AND receipt IS NULL",
        params![id, receipt],
    )?;
    Ok(n == 1)
}

/// Tests of other tables: a payment for package `pkg` from 0712345678 on 02:aa:00:00:00:01,
/// started at `at`.
#[cfg(test)]
pub(crate) fn started(c: &Connection, pkg: i64, at: Unix) -> Result<i64> {
    let package = super::packages::get(c, pkg)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    let phone: Msisdn = "0712345678"
        .parse()
        .map_err(|_| rusqlite::Error::InvalidQuery)?;
    let mac = "02:aa:00:00:00:01"
        .parse()
        .map_err(|_| rusqlite::Error::InvalidQuery)?;
    insert(
        c,
        &NewPayment {
            mac,
            ip: None,
            phone: &phone,
            package: &package,
        },
        at,
    )
}

/// How payments started since a moment fared: the owner's figures.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Figures {
    pub since: Unix,
    /// Payments started (rows written), whatever became of them.
    pub started: u32,
    pub paid: u32,
    pub cancelled: u32,
    pub timeout: u32,
    pub failed: u32,
    /// Not final yet (`created` or `pushed`).
    pub pending: u32,
    /// Sum of the paid ones.
    pub revenue_kes: u64,
    /// Shares of the finished payments, in percent, one decimal (all 0 when none finished).
    pub success_pct: f64,
    pub cancel_pct: f64,
    pub timeout_pct: f64,
    pub failure_pct: f64,
    /// Median seconds from the push to the confirmation, over the paid ones.
    pub median_confirm_s: Option<f64>,
}

/// The figures of the payments started at or after `since`.
pub fn figures(c: &Connection, since: Unix) -> Result<Figures> {
    let mut f = Figures {
        since,
        ..Figures::default()
    };
    let mut st = c.prepare_cached(
        "SELECT state, count(*), COALESCE(sum(amount_kes), 0) FROM payments
         WHERE created_at >= ?1 GROUP BY state",
    )?;
    let mut rows = st.query([since])?;
    while let Some(r) = rows.next()? {
        let (state, n, kes): (PaymentState, u32, u64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        f.started += n;
        match state {
            PaymentState::Created | PaymentState::Pushed => f.pending += n,
            PaymentState::Paid => {
                f.paid += n;
                f.revenue_kes += kes;
            }
            PaymentState::Cancelled => f.cancelled += n,
            PaymentState::Timeout => f.timeout += n,
            PaymentState::Failed => f.failed += n,
        }
    }
    let finished = f.started - f.pending;
    let pct = |n: u32| {
        if finished == 0 {
            0.0
        } else {
            (1000.0 * f64::from(n) / f64::from(finished)).round() / 10.0
        }
    };
    (f.success_pct, f.cancel_pct, f.timeout_pct, f.failure_pct) =
        (pct(f.paid), pct(f.cancelled), pct(f.timeout), pct(f.failed));
    let mut st = c.prepare_cached(
        "SELECT updated_at - created_at FROM payments
         WHERE state = 'paid' AND created_at >= ?1 ORDER BY 1",
    )?;
    let waits: Vec<i64> = st
        .query_map([since], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    f.median_confirm_s = match waits.len() {
        0 => None,
        n if n % 2 == 1 => Some(waits[n / 2] as f64),
        n => Some((waits[n / 2 - 1] + waits[n / 2]) as f64 / 2.0),
    };
    Ok(f)
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
            assert!(mark_pushed(c, id, "ws_CO_1", 101)?);
            assert!(!mark_pushed(c, id, "ws_CO_2", 102)?);
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

    fn settled(s: &Store, state: PaymentState, created: Unix, settled_at: Unix) -> i64 {
        let id = new_payment(s);
        s.with(|c| {
            c.execute(
                "UPDATE payments SET created_at = ?2 WHERE id = ?1",
                params![id, created],
            )?;
            if state.is_final() {
                let how = Settlement {
                    state,
                    result_code: None,
                    result_desc: "",
                    receipt: None,
                };
                settle(c, id, &how, settled_at)?;
            }
            Ok(id)
        })
        .unwrap()
    }

    #[test]
    fn figures_count_outcomes_and_the_median_wait() {
        let s = Store::open_in_memory().unwrap();
        let empty = s.with(|c| figures(c, 0)).unwrap();
        assert_eq!(
            (empty.started, empty.success_pct, empty.median_confirm_s),
            (0, 0.0, None)
        );

        settled(&s, PaymentState::Paid, 50, 60); // before the period
        for (state, created, at) in [
            (PaymentState::Paid, 1000, 1010),
            (PaymentState::Paid, 1000, 1030),
            (PaymentState::Paid, 1000, 1020),
            (PaymentState::Paid, 1000, 1014),
            (PaymentState::Cancelled, 1000, 1005),
            (PaymentState::Timeout, 1000, 1180),
            (PaymentState::Failed, 1000, 1001),
            (PaymentState::Failed, 1000, 1001),
            (PaymentState::Pushed, 1000, 0),
        ] {
            settled(&s, state, created, at);
        }
        let f = s.with(|c| figures(c, 100)).unwrap();
        assert_eq!(
            (
                f.started,
                f.paid,
                f.cancelled,
                f.timeout,
                f.failed,
                f.pending
            ),
            (9, 4, 1, 1, 2, 1)
        );
        assert_eq!(f.revenue_kes, 200);
        assert_eq!(
            (f.success_pct, f.cancel_pct, f.timeout_pct, f.failure_pct),
            (50.0, 12.5, 12.5, 25.0)
        );
        assert_eq!(f.median_confirm_s, Some(17.0));
    }

    #[test]
    fn a_success_callback_beats_an_earlier_failure_once() {
        let s = Store::open_in_memory().unwrap();
        let id = settled(&s, PaymentState::Failed, 100, 110);
        let open = new_payment(&s);
        let paid = Settlement {
            state: PaymentState::Paid,
            result_code: Some(0),
            result_desc: "callback",
            receipt: Some("SIMRECEIPT"),
        };
        s.with(|c| {
            assert_eq!(
                settle_late_success(c, id, &paid, 120)?,
                Some(PaymentState::Failed)
            );
            assert_eq!(settle_late_success(c, id, &paid, 121)?, None);
            assert!(!set_receipt(c, id, "OTHER")?, "a receipt is kept");
            let p = get(c, id)?.unwrap();
            assert_eq!(
                (p.state, p.receipt.as_deref()),
                (PaymentState::Paid, Some("SIMRECEIPT"))
            );
            // An unfinished payment is the poller's and the normal settle's, not this one's.
            assert_eq!(settle_late_success(c, open, &paid, 122)?, None);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn an_interrupted_push_can_be_found_by_phone_and_amount() {
        let s = Store::open_in_memory().unwrap();
        let lost = |created: Unix| {
            let id = new_payment(&s);
            s.with(|c| {
                c.execute(
                    "UPDATE payments SET created_at = ?2 WHERE id = ?1",
                    params![id, created],
                )?;
                mark_answer_lost(c, id)?;
                let how = Settlement {
                    state: PaymentState::Failed,
                    result_code: None,
                    result_desc: "",
                    receipt: None,
                };
                settle(c, id, &how, created + 1)
            })
            .unwrap();
            id
        };
        let old = lost(100);
        let newer = lost(200);
        // Refused by Daraja: its push never reached a phone, so it is never matched.
        settled(&s, PaymentState::Failed, 250, 251);
        let pushed = new_payment(&s);
        s.with(|c| {
            mark_pushed(c, pushed, "ws_CO_9", 300)?;
            let phone: Msisdn = "0708374149".parse().unwrap();
            let found = unanswered_push(c, &phone, Kes(50), 0)?.unwrap();
            assert_eq!(found.id, newer);
            assert!(unanswered_push(c, &phone, Kes(20), 0)?.is_none(), "amount");
            assert!(unanswered_push(c, &phone, Kes(50), 201)?.is_none(), "since");
            assert!(adopt_checkout(c, newer, "ws_CO_5")?);
            assert!(!adopt_checkout(c, newer, "ws_CO_6")?);
            assert_eq!(unanswered_push(c, &phone, Kes(50), 0)?.unwrap().id, old);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn pushes_are_counted_per_device_and_per_phone() {
        let s = Store::open_in_memory().unwrap();
        settled(&s, PaymentState::Failed, 100, 101);
        settled(&s, PaymentState::Pushed, 200, 0);
        s.with(|c| {
            let mac: Mac = "aa:bb:cc:dd:ee:01".parse().unwrap();
            let phone: Msisdn = "0708374149".parse().unwrap();
            assert_eq!(started_by_mac(c, mac, 100)?.len(), 2);
            assert_eq!(started_by_mac(c, mac, 101)?, [200]);
            assert_eq!(started_for_phone(c, &phone, 0)?.len(), 2);
            let other: Msisdn = "0712345678".parse().unwrap();
            assert!(started_for_phone(c, &other, 0)?.is_empty());
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn daraja_texts_are_stored_once() {
        let s = Store::open_in_memory().unwrap();
        let (a, b) = (new_payment(&s), new_payment(&s));
        s.with(|c| {
            for id in [a, b] {
                let how = Settlement {
                    state: PaymentState::Cancelled,
                    result_code: Some(1032),
                    result_desc: "Request cancelled by user",
                    receipt: None,
                };
                assert!(settle(c, id, &how, 120)?);
            }
            assert_eq!(
                get(c, b)?.unwrap().result_desc.as_deref(),
                Some("Request cancelled by user")
            );
            let (texts, inline): (i64, i64) = c.query_row(
                "SELECT (SELECT count(*) FROM texts), (SELECT count(*) FROM payments WHERE result_desc IS NOT NULL)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            assert_eq!((texts, inline), (1, 0));
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
