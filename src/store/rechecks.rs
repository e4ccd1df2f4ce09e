//! The `rechecks` table: payments that ended `timeout` and are asked about again, slowly, in case
//! M-Pesa confirms them late. One row per payment; it is what survives a restart (the next
//! check's time, how many were made, how it ended).
//! Touches: the database only. Never: Daraja, the kernel.

use super::Result;
use crate::clock::Unix;
use rusqlite::{params, Connection, OptionalExtension};

/// Where a re-check stands. Only `Open` is checked again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecheckState {
    /// Still asked about at `next_at`.
    Open,
    /// M-Pesa said paid: the payment was granted late.
    PaidLate,
    /// M-Pesa gave a final answer other than success: no money moved.
    NotPaid,
    /// The payment was settled some other way first (a success callback).
    Settled,
    /// The re-check window passed without an answer.
    Expired,
}

impl RecheckState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecheckState::Open => "open",
            RecheckState::PaidLate => "paid_late",
            RecheckState::NotPaid => "not_paid",
            RecheckState::Settled => "settled",
            RecheckState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use RecheckState::*;
        [Open, PaidLate, NotPaid, Settled, Expired]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// One payment under re-check.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Recheck {
    pub payment_id: i64,
    /// When the payment ended `timeout`: the window counts from here.
    pub since: Unix,
    /// Queries made so far (answered or not).
    pub attempts: u32,
    pub next_at: Unix,
    pub state: RecheckState,
    /// What the last query said, for the owner.
    pub last_answer: String,
    pub updated_at: Unix,
}

const COLUMNS: &str = "payment_id, since, attempts, next_at, state, last_answer, updated_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Recheck> {
    Ok(Recheck {
        payment_id: r.get(0)?,
        since: r.get(1)?,
        attempts: r.get(2)?,
        next_at: r.get(3)?,
        state: r.get(4)?,
        last_answer: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

/// A re-check that is due, with what the query needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub recheck: Recheck,
    pub checkout_request_id: String,
}

/// Puts under re-check every payment that ended `timeout` within `window` seconds before `now`,
/// has a CheckoutRequestID to ask about, and is not under re-check yet; its first check is
/// `first` seconds after it ended. Returns how many were added.
pub fn enrol(c: &Connection, now: Unix, window: i64, first: i64) -> Result<usize> {
    let n = c
        .prepare_cached(
            "INSERT INTO rechecks (payment_id, since, attempts, next_at, state, updated_at)
             SELECT id, updated_at, 0, updated_at + ?2, 'open', ?1 FROM payments
             WHERE state = 'timeout' AND checkout_request_id IS NOT NULL AND updated_at >= ?1 - ?3
               AND NOT EXISTS (SELECT 1 FROM rechecks r WHERE r.payment_id = payments.id)",
        )?
        .execute(params![now, first, window])?;
    Ok(n)
}

/// Open re-checks due at `now`, the most overdue first, at most `limit`.
pub fn due(c: &Connection, now: Unix, limit: u32) -> Result<Vec<Due>> {
    let cols = COLUMNS
        .split(", ")
        .map(|k| format!("r.{k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut st = c.prepare_cached(&format!(
        "SELECT {cols}, p.checkout_request_id FROM rechecks r JOIN payments p ON p.id = r.payment_id
         WHERE r.state = 'open' AND r.next_at <= ?1 AND p.checkout_request_id IS NOT NULL
         ORDER BY r.next_at LIMIT ?2"
    ))?;
    let rows = st
        .query_map(params![now, limit], |r| {
            Ok(Due {
                recheck: from_row(r)?,
                checkout_request_id: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// When the next open re-check is due, if any.
pub fn next_at(c: &Connection) -> Result<Option<Unix>> {
    Ok(c.query_row(
        "SELECT min(next_at) FROM rechecks WHERE state = 'open'",
        [],
        |r| r.get(0),
    )?)
}

pub fn get(c: &Connection, payment_id: i64) -> Result<Option<Recheck>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM rechecks WHERE payment_id = ?1"
    ))?;
    Ok(st.query_row([payment_id], from_row).optional()?)
}

/// Records a query that settled nothing: one more attempt, and the next at `next` (`None`: the
/// window is over, the re-check is `expired`). False if the re-check was no longer open.
pub fn attempted(
    c: &Connection,
    payment_id: i64,
    now: Unix,
    next: Option<Unix>,
    answer: &str,
) -> Result<bool> {
    let state = match next {
        Some(_) => RecheckState::Open,
        None => RecheckState::Expired,
    };
    let n = c.execute(
        "UPDATE rechecks SET attempts = attempts + 1, next_at = COALESCE(?3, next_at), state = ?4,
                             last_answer = ?5, updated_at = ?2
         WHERE payment_id = ?1 AND state = 'open'",
        params![payment_id, now, next, state, answer],
    )?;
    Ok(n == 1)
}

/// Ends an open re-check in `state` after a query that answered `answer`. False if it was no
/// longer open (the caller then does nothing more).
pub fn close(
    c: &Connection,
    payment_id: i64,
    state: RecheckState,
    now: Unix,
    answer: &str,
) -> Result<bool> {
    debug_assert_ne!(state, RecheckState::Open);
    let n = c.execute(
        "UPDATE rechecks SET attempts = attempts + 1, state = ?3, last_answer = ?4, updated_at = ?2
         WHERE payment_id = ?1 AND state = 'open'",
        params![payment_id, now, state, answer],
    )?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::payments::{self, PaymentState, Settlement};
    use crate::store::Store;

    /// A payment pushed as `checkout` and settled `state` at `at`.
    fn ended(s: &Store, checkout: Option<&str>, state: PaymentState, at: Unix) -> i64 {
        s.with(|c| {
            let id = payments::started(c, 1, at - 200)?;
            if let Some(ck) = checkout {
                payments::mark_pushed(c, id, ck, at - 199)?;
            }
            let how = Settlement {
                state,
                result_code: None,
                result_desc: "",
                receipt: None,
            };
            payments::settle(c, id, &how, at)?;
            Ok(id)
        })
        .unwrap()
    }

    #[test]
    fn only_recent_timeouts_with_a_checkout_id_are_enrolled_once() {
        let s = Store::open_in_memory().unwrap();
        let now = 100_000;
        let young = ended(&s, Some("ws_CO_1"), PaymentState::Timeout, now - 60);
        ended(&s, Some("ws_CO_2"), PaymentState::Timeout, now - 90_000); // too old
        ended(&s, None, PaymentState::Timeout, now - 60); // nothing to ask about
        ended(&s, Some("ws_CO_3"), PaymentState::Cancelled, now - 60); // M-Pesa answered
        s.with(|c| {
            assert_eq!(enrol(c, now, 86_400, 120)?, 1);
            assert_eq!(enrol(c, now, 86_400, 120)?, 0, "once");
            let r = get(c, young)?.unwrap();
            assert_eq!(
                (r.since, r.next_at, r.state, r.attempts),
                (now - 60, now + 60, RecheckState::Open, 0)
            );
            assert_eq!(next_at(c)?, Some(now + 60));
            assert!(due(c, now, 10)?.is_empty());
            let d = due(c, now + 60, 10)?;
            assert_eq!(d.len(), 1);
            assert_eq!(d[0].checkout_request_id, "ws_CO_1");
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn attempts_move_the_next_check_and_a_closed_recheck_stays_closed() {
        let s = Store::open_in_memory().unwrap();
        let id = ended(&s, Some("ws_CO_1"), PaymentState::Timeout, 1000);
        s.with(|c| {
            enrol(c, 1000, 86_400, 120)?;
            assert!(attempted(c, id, 1120, Some(1420), "HTTP 503")?);
            let r = get(c, id)?.unwrap();
            assert_eq!(
                (r.attempts, r.next_at, r.last_answer.as_str()),
                (1, 1420, "HTTP 503")
            );
            assert!(close(c, id, RecheckState::PaidLate, 1420, "0")?);
            assert!(!close(c, id, RecheckState::NotPaid, 1421, "1032")?, "once");
            assert!(!attempted(c, id, 1422, Some(2000), "x")?);
            assert_eq!(get(c, id)?.unwrap().state, RecheckState::PaidLate);
            assert_eq!(next_at(c)?, None);
            Ok(())
        })
        .unwrap();

        let other = ended(&s, Some("ws_CO_2"), PaymentState::Timeout, 5000);
        s.with(|c| {
            enrol(c, 5000, 86_400, 120)?;
            assert!(attempted(c, other, 91_000, None, "still processing")?);
            assert_eq!(get(c, other)?.unwrap().state, RecheckState::Expired);
            assert!(due(c, i64::MAX, 10)?.is_empty());
            Ok(())
        })
        .unwrap();
    }
}
