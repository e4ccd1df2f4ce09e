//! Read-only queries over the `payments` table for the owner's page: revenue per EAT day (the
//! chart), and the filtered payment list behind the Payments page and its CSV (the success rate
//! comes from `payments::figures`). Never writes.

use super::payments::{from_row, Payment, PaymentState, COLUMNS};
use super::Result;
use crate::clock::{eat_day_start, Unix};
use crate::phone::Msisdn;
use crate::units::Kes;
use rusqlite::types::ToSql;
use rusqlite::{params, Connection};

/// Money received on EAT days `from_day ..= to_day`, one entry per day (zero where none),
/// counted on the day the payment was confirmed; pruned payments count through `daily_totals`.
pub fn revenue_per_day(c: &Connection, from_day: i64, to_day: i64) -> Result<Vec<(i64, Kes)>> {
    let mut st = c.prepare_cached(
        "SELECT (updated_at + 10800) / 86400 AS day, sum(amount_kes) FROM payments
         WHERE state = 'paid' AND updated_at >= ?1 AND updated_at < ?2 GROUP BY day",
    )?;
    let mut days: Vec<(i64, Kes)> = (from_day..=to_day).map(|d| (d, Kes(0))).collect();
    let rows = st.query_map(
        params![eat_day_start(from_day), eat_day_start(to_day + 1)],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
    )?;
    let pruned = super::retention::totals_per_day(c, from_day, to_day)?;
    for (day, sum) in rows
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .chain(pruned)
    {
        if let Some(slot) = days.iter_mut().find(|(d, _)| *d == day) {
            let total = u64::from(slot.1 .0) + u64::try_from(sum).unwrap_or(0);
            slot.1 = Kes(u32::try_from(total).unwrap_or(u32::MAX));
        }
    }
    Ok(days)
}

/// Which payments the owner asks for. Empty fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub state: Option<PaymentState>,
    /// A whole number in any form (`0712…`, `+254…`), or some of its digits.
    pub phone: String,
    /// EAT days, inclusive.
    pub from_day: Option<i64>,
    pub to_day: Option<i64>,
}

impl Filter {
    fn clause(&self) -> (String, Vec<Box<dyn ToSql>>) {
        let mut wh: Vec<&str> = vec![];
        let mut args: Vec<Box<dyn ToSql>> = vec![];
        if let Some(s) = self.state {
            wh.push("state = ?");
            args.push(Box::new(s));
        }
        let phone = self.phone.trim();
        if let Ok(m) = phone.parse::<Msisdn>() {
            wh.push("phone = ?");
            args.push(Box::new(m));
        } else {
            let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            if !digits.is_empty() {
                // Digits only: nothing in the pattern but digits and the two wildcards.
                wh.push("phone LIKE ?");
                args.push(Box::new(format!("%{digits}%")));
            }
        }
        if let Some(d) = self.from_day {
            wh.push("created_at >= ?");
            args.push(Box::new(eat_day_start(d)));
        }
        if let Some(d) = self.to_day {
            wh.push("created_at < ?");
            args.push(Box::new(eat_day_start(d + 1)));
        }
        let sql = if wh.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", wh.join(" AND "))
        };
        (sql, args)
    }
}

/// The newest payments matching `f`, at most `limit`.
pub fn search(c: &Connection, f: &Filter, limit: u32) -> Result<Vec<Payment>> {
    let (wh, mut args) = f.clause();
    args.push(Box::new(limit));
    let mut st = c.prepare(&format!(
        "SELECT {COLUMNS} FROM payments {wh} ORDER BY id DESC LIMIT ?"
    ))?;
    let rows = st
        .query_map(rusqlite::params_from_iter(args.iter()), from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Payments started since `since` that ended unpaid where money may have moved: `timeout`
/// (M-Pesa never answered in time) or `failed` without a ResultCode (Lango lost Daraja's answer),
/// unless a later re-check heard M-Pesa say no. Newest first, at most `limit`.
pub fn attention(c: &Connection, since: Unix, limit: u32) -> Result<Vec<Payment>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM payments
         WHERE created_at >= ?1 AND (state = 'timeout' OR (state = 'failed' AND result_code IS NULL))
           AND NOT EXISTS (SELECT 1 FROM rechecks r WHERE r.payment_id = payments.id AND r.state = 'not_paid')
         ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = st
        .query_map(params![since, limit], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// How many payments match `f`, and the money among them that was paid.
pub fn count(c: &Connection, f: &Filter) -> Result<(u64, Kes)> {
    let (wh, args) = f.clause();
    let (n, paid): (i64, i64) = c.query_row(
        &format!(
            "SELECT count(*), coalesce(sum(CASE WHEN state = 'paid' THEN amount_kes END), 0) FROM payments {wh}"
        ),
        rusqlite::params_from_iter(args.iter()),
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((n as u64, Kes(u32::try_from(paid).unwrap_or(u32::MAX))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{eat_day, Unix};
    use crate::store::payments::{insert, settle, NewPayment, Settlement};
    use crate::store::{packages, Store};

    /// 2026-11-22 00:00 EAT.
    const DAY0: Unix = 1_795_294_800;

    fn pay(c: &Connection, phone: &str, pkg: i64, at: Unix, state: PaymentState) -> i64 {
        let p = packages::get(c, pkg).unwrap().unwrap();
        let phone: Msisdn = phone.parse().unwrap();
        let id = insert(
            c,
            &NewPayment {
                mac: "02:aa:00:00:00:01".parse().unwrap(),
                ip: None,
                phone: &phone,
                package: &p,
            },
            at,
        )
        .unwrap();
        if state.is_final() {
            let s = Settlement {
                state,
                result_code: Some(0),
                result_desc: "x",
                receipt: Some("R1"),
            };
            settle(c, id, &s, at + 30).unwrap();
        }
        id
    }

    #[test]
    fn revenue_is_counted_per_nairobi_day() {
        let s = Store::open_in_memory().unwrap();
        s.with(|c| {
            let day0 = eat_day(DAY0);
            pay(c, "0708374149", 2, DAY0 + 60, PaymentState::Paid); // 50
            pay(c, "0708374149", 1, DAY0 + 86_400 - 100, PaymentState::Paid); // 20, 23:58:50 + 30 s
            pay(c, "0708374149", 1, DAY0 + 86_400 - 10, PaymentState::Paid); // confirmed next day
            pay(c, "0708374149", 3, DAY0 + 100, PaymentState::Failed);
            pay(c, "0708374149", 3, DAY0 + 200, PaymentState::Pushed);
            let r = revenue_per_day(c, day0 - 1, day0 + 1)?;
            assert_eq!(
                r,
                vec![(day0 - 1, Kes(0)), (day0, Kes(70)), (day0 + 1, Kes(20))]
            );
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn search_filters_by_state_phone_and_dates() {
        let s = Store::open_in_memory().unwrap();
        s.with(|c| {
            let day0 = eat_day(DAY0);
            let a = pay(c, "0708374149", 2, DAY0 + 60, PaymentState::Paid);
            let b = pay(c, "0712340001", 1, DAY0 + 86_400 + 60, PaymentState::Failed);
            let cc = pay(c, "0712340002", 1, DAY0 + 2 * 86_400, PaymentState::Paid);
            let ids = |f: &Filter| -> Vec<i64> {
                search(c, f, 100).unwrap().iter().map(|p| p.id).collect()
            };
            assert_eq!(ids(&Filter::default()), [cc, b, a]);
            let paid = Filter {
                state: Some(PaymentState::Paid),
                ..Default::default()
            };
            assert_eq!(ids(&paid), [cc, a]);
            let phone = |p: &str| Filter {
                phone: p.into(),
                ..Default::default()
            };
            assert_eq!(ids(&phone("+254 708 374 149")), [a]);
            assert_eq!(ids(&phone("1234000")), [cc, b]);
            assert_eq!(ids(&phone("%")), [cc, b, a], "wildcards are not digits");
            let day = Filter {
                from_day: Some(day0 + 1),
                to_day: Some(day0 + 1),
                ..Default::default()
            };
            assert_eq!(ids(&day), [b]);
            assert_eq!(count(c, &Filter::default())?, (3, Kes(70)));
            assert_eq!(search(c, &Filter::default(), 1)?.len(), 1);
            Ok(())
        })
        .unwrap();
    }
}
