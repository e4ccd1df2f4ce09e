//! Retention on a small flash: payment details, events and ended sessions older than the
//! owner's periods (`config retention`), and voucher codes used or revoked as long ago as ended
//! sessions are kept, are deleted in small steps, each its own short
//! transaction; before a payment goes, its money is added to `daily_totals` (per EAT day of
//! confirmation and package, kept forever) in the same transaction, so revenue figures and the
//! chart never change.
//! Touches: the database only. Never: the kernel, HTTP.

use super::Result;
use crate::clock::{eat_day_start, Unix};
use crate::config::RetentionConfig;
use rusqlite::{params, Connection};

/// Rows one step deletes at most: a step holds the write lock for milliseconds on a router.
pub const STEP_ROWS: u32 = 500;

/// What one step deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    pub payments: usize,
    pub events: usize,
    pub sessions: usize,
    pub vouchers: usize,
}

impl Pruned {
    pub fn any(&self) -> bool {
        self.payments + self.events + self.sessions + self.vouchers > 0
    }

    pub fn add(&mut self, p: Pruned) {
        self.payments += p.payments;
        self.events += p.events;
        self.sessions += p.sessions;
        self.vouchers += p.vouchers;
    }
}

/// When the details of each kind stop being kept, at `now`: whole EAT days, so a day's
/// payments leave together.
fn cutoff(now: Unix, days: u32) -> Unix {
    eat_day_start(crate::clock::eat_day(now) - i64::from(days))
}

/// One step of pruning (call until it deletes nothing). Run it inside one transaction.
pub fn step(c: &Connection, now: Unix, r: &RetentionConfig) -> Result<Pruned> {
    let before = cutoff(now, r.payments_days);
    // Only finished payments leave; their days' money moves to the totals first.
    let ids = "SELECT id FROM payments WHERE created_at < ?1 AND state NOT IN ('created', 'pushed')
               ORDER BY id LIMIT ?2";
    c.prepare_cached(&format!(
        "INSERT INTO daily_totals (day, package_id, package_name, paid, revenue_kes)
         SELECT (updated_at + 10800) / 86400, package_id, max(package_name), count(*), sum(amount_kes)
         FROM payments WHERE state = 'paid' AND id IN ({ids})
         GROUP BY 1, 2
         ON CONFLICT (day, package_id) DO UPDATE SET
             paid = paid + excluded.paid, revenue_kes = revenue_kes + excluded.revenue_kes"
    ))?
    .execute(params![before, STEP_ROWS])?;
    c.prepare_cached(&format!("DELETE FROM rechecks WHERE payment_id IN ({ids})"))?
        .execute(params![before, STEP_ROWS])?;
    let payments = c
        .prepare_cached(&format!("DELETE FROM payments WHERE id IN ({ids})"))?
        .execute(params![before, STEP_ROWS])?;
    let events = c
        .prepare_cached(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ?1 ORDER BY id LIMIT ?2)",
        )?
        .execute(params![cutoff(now, r.events_days), STEP_ROWS])?;
    let sessions = c
        .prepare_cached(
            "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions
               WHERE ended_at IS NOT NULL AND ended_at < ?1 ORDER BY id LIMIT ?2)",
        )?
        .execute(params![cutoff(now, r.sessions_days), STEP_ROWS])?;
    let vouchers = c
        .prepare_cached(
            "DELETE FROM vouchers WHERE rowid IN (SELECT rowid FROM vouchers
               WHERE state IN ('used', 'revoked') AND COALESCE(used_at, created_at) < ?1 LIMIT ?2)",
        )?
        .execute(params![cutoff(now, r.sessions_days), STEP_ROWS])?;
    Ok(Pruned {
        payments,
        events,
        sessions,
        vouchers,
    })
}

/// Money in `daily_totals` per EAT day `from_day ..= to_day` (days whose payments were pruned).
pub fn totals_per_day(c: &Connection, from_day: i64, to_day: i64) -> Result<Vec<(i64, i64)>> {
    let mut st = c.prepare_cached(
        "SELECT day, sum(revenue_kes) FROM daily_totals WHERE day BETWEEN ?1 AND ?2 GROUP BY day",
    )?;
    let rows = st
        .query_map(params![from_day, to_day], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The database's size in bytes (pages in use and free): what it takes on the flash.
pub fn size(c: &Connection) -> Result<u64> {
    let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let page: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok((pages * page) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::eat_day;
    use crate::store::payments::{self, PaymentState, Settlement};
    use crate::store::{events, reports, Store};

    /// 2026-11-22 00:00 EAT.
    const DAY0: Unix = 1_795_294_800;

    fn paid(c: &Connection, pkg: i64, at: Unix, state: PaymentState) -> Result<i64> {
        let id = payments::started(c, pkg, at)?;
        let s = Settlement {
            state,
            result_code: Some(0),
            result_desc: "ok",
            receipt: None,
        };
        payments::settle(c, id, &s, at + 20)?;
        events::record(c, at, "payment.created", None, Some(id), "")?;
        Ok(id)
    }

    #[test]
    fn pruning_keeps_every_shilling_in_the_daily_totals() {
        let s = Store::open_in_memory().unwrap();
        let r = RetentionConfig {
            payments_days: 10,
            events_days: 5,
            sessions_days: 5,
        };
        let now = DAY0 + 40 * 86_400;
        let chart = |s: &Store| {
            s.with(|c| reports::revenue_per_day(c, eat_day(DAY0), eat_day(now)))
                .unwrap()
        };
        s.with(|c| {
            for day in 0..40 {
                for (i, pkg) in [1, 2, 2, 4].into_iter().enumerate() {
                    let state = if i == 3 && day % 2 == 0 {
                        PaymentState::Cancelled
                    } else {
                        PaymentState::Paid
                    };
                    paid(c, pkg, DAY0 + day * 86_400 + 3600 * i as i64, state)?;
                }
            }
            Ok(())
        })
        .unwrap();
        let before = chart(&s);
        let mut steps = 0;
        loop {
            let p = s.write(|tx| step(tx, now, &r)).unwrap();
            steps += 1;
            if !p.any() {
                break;
            }
            assert!(p.payments <= STEP_ROWS as usize);
        }
        assert!(steps >= 2);
        assert_eq!(chart(&s), before, "the chart and totals are unchanged");
        s.with(|c| {
            let left: i64 = c.query_row("SELECT count(*) FROM payments", [], |r| r.get(0))?;
            assert_eq!(left, 40, "the last 10 days of details are kept");
            let oldest: Unix =
                c.query_row("SELECT min(created_at) FROM payments", [], |r| r.get(0))?;
            assert_eq!(oldest, DAY0 + 30 * 86_400);
            let events: i64 = c.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
            assert_eq!(events, 20);
            let totals = totals_per_day(c, eat_day(DAY0), eat_day(DAY0))?;
            assert_eq!(totals, [(eat_day(DAY0), 20 + 50 + 50)]);
            Ok(())
        })
        .unwrap();
        // Nothing more to do: a second run changes nothing.
        assert!(!s.write(|tx| step(tx, now, &r)).unwrap().any());
        assert_eq!(chart(&s), before);
    }
}
