//! Late confirmations: a payment that ended `timeout` may still have been paid (the customer
//! approved after `poll_timeout`, or Daraja could not be asked). It is asked about again by STK
//! Push Query at growing intervals (`recheck_intervals`, default 2, 5, 15 and 60 minutes, then
//! hourly) for `recheck_for` (24 h); a success grants its time once and marks it `paid_late`.
//! The schedule lives in the `rechecks` table, so a restart resumes it; checks go one at a time
//! with a gap between them, so a backlog never bursts at Daraja.
//! Touches: Daraja (through the client), the store (rechecks, events), sessions (to grant).
//! Never: the kernel, HTTP.

use super::daraja::{self, QueryAnswer};
use super::{messages, Payments};
use crate::clock::Unix;
use crate::config::DarajaConfig;
use crate::store::payments::PaymentState;
use crate::store::rechecks::{self, Due, RecheckState};
use crate::store::{self, events, payments};
use std::sync::Arc;
use std::time::Duration;

/// The loop looks for new timeouts and due checks this often (real time). Cheap: two indexed
/// queries; it writes only when there is something to record.
const WAKE_EVERY: Duration = Duration::from_secs(1);
/// Between two re-check queries: Daraja publishes no rate, and a backlog after an outage must
/// not look like a burst.
const QUERY_GAP: Duration = Duration::from_millis(500);
/// At most this many queries per round; the rest wait for the next.
const PER_ROUND: u32 = 20;

/// When a `timeout` payment is asked about again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Seconds between checks; the first counts from the timeout, the last repeats.
    gaps: Vec<i64>,
    /// Seconds after the timeout during which checks are made.
    window: i64,
}

impl Schedule {
    pub fn from_config(cfg: &DarajaConfig) -> Schedule {
        let mut gaps: Vec<i64> = cfg
            .recheck_intervals
            .iter()
            .map(|&s| i64::from(s))
            .collect();
        if gaps.is_empty() {
            gaps.push(3600);
        }
        Schedule {
            gaps,
            window: cfg.recheck_for.as_secs() as i64,
        }
    }

    /// Seconds from the timeout to the first check.
    pub fn first(&self) -> i64 {
        self.gaps[0]
    }

    /// How long after its timeout a payment is re-checked.
    pub fn window(&self) -> i64 {
        self.window
    }

    /// After `attempts` checks of a payment that timed out at `since`, the last made at `now`:
    /// when the next is due, or `None` if that would be past the window.
    pub fn next(&self, since: Unix, attempts: u32, now: Unix) -> Option<Unix> {
        let i = (attempts as usize).min(self.gaps.len() - 1);
        let at = now + self.gaps[i];
        (at <= since + self.window).then_some(at)
    }
}

/// What one re-check did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rechecked {
    /// M-Pesa confirmed it: granted now, `paid_late`.
    PaidLate,
    /// M-Pesa gave a final answer other than success.
    NotPaid(i64),
    /// No answer yet (pending, or the query failed): asked again later.
    Again,
    /// The window is over without an answer.
    Expired,
    /// Settled some other way meanwhile (a success callback), or already recorded.
    Nothing,
}

/// Runs forever: re-checks `timeout` payments with whichever `Payments` is current (a reload
/// may bring new Daraja settings).
pub async fn run(current: impl Fn() -> Arc<Payments> + Send + 'static) {
    loop {
        let p = current();
        if let Err(e) = p.recheck_round().await {
            log::error!("re-checking timed-out payments: {e}");
        }
        tokio::time::sleep(WAKE_EVERY).await;
    }
}

impl Payments {
    /// Enrols new timeouts, then makes the checks that are due. Returns what each did.
    pub async fn recheck_round(&self) -> Result<Vec<(i64, Rechecked)>, store::Error> {
        let now = self.clock.now();
        let (window, first) = (self.recheck.window(), self.recheck.first());
        let due = self
            .store
            .call(move |c| {
                let added = rechecks::enrol(c, now, window, first)?;
                if added > 0 {
                    log::info!(
                        "{added} timed-out payments will be asked about again for {window} s"
                    );
                }
                rechecks::due(c, now, PER_ROUND)
            })
            .await?;
        let mut out = Vec::with_capacity(due.len());
        for (i, d) in due.into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(QUERY_GAP).await;
            }
            let id = d.recheck.payment_id;
            out.push((id, self.recheck_one(d).await?));
        }
        Ok(out)
    }

    /// One STK Push Query for a payment under re-check, and what follows from its answer.
    async fn recheck_one(&self, d: Due) -> Result<Rechecked, store::Error> {
        let id = d.recheck.payment_id;
        let state = self
            .store
            .call(move |c| payments::get(c, id))
            .await?
            .map(|p| p.state);
        if state != Some(PaymentState::Timeout) {
            // A success callback got there first (it closes the re-check itself), or the row is
            // gone: nothing left to ask.
            let now = self.clock.now();
            self.store
                .transact(move |tx| rechecks::close(tx, id, RecheckState::Settled, now, "settled"))
                .await?;
            return Ok(Rechecked::Nothing);
        }
        let answer = self
            .daraja
            .stk_query(&d.checkout_request_id, self.clock.now())
            .await;
        let now = self.clock.now();
        match answer {
            Ok(QueryAnswer::Done {
                result_code: 0,
                result_desc,
            }) => {
                log::warn!(
                    "payment {id} confirmed by M-Pesa {} s after it timed out: granting it late",
                    now - d.recheck.since
                );
                let granted = self
                    .sessions
                    .settle_paid_late(id, format!("{result_desc} (re-check)"))
                    .await?;
                Ok(if granted.is_some() {
                    Rechecked::PaidLate
                } else {
                    Rechecked::Nothing
                })
            }
            Ok(QueryAnswer::Done {
                result_code,
                result_desc,
            }) => {
                let said = format!(
                    "{result_code} {} ({result_desc})",
                    messages::for_owner(result_code)
                );
                log::info!("payment {id} re-checked: not paid, {said}");
                self.store
                    .transact(move |tx| {
                        if rechecks::close(tx, id, RecheckState::NotPaid, now, &said)? {
                            events::record(tx, now, "payment.recheck", None, Some(id), &said)?;
                        }
                        Ok(())
                    })
                    .await?;
                Ok(Rechecked::NotPaid(result_code))
            }
            Ok(QueryAnswer::Pending) => self.recheck_again(&d, now, "still processing").await,
            Err(e) => {
                if let daraja::Error::Transient(m) = &e {
                    self.note_unreachable(m);
                }
                log::warn!("payment {id}: re-check query failed: {e}");
                self.recheck_again(&d, now, &e.to_string()).await
            }
        }
    }

    /// No outcome this time: the next check per the schedule, or the end of the window.
    async fn recheck_again(
        &self,
        d: &Due,
        now: Unix,
        said: &str,
    ) -> Result<Rechecked, store::Error> {
        let r = &d.recheck;
        let next = self.recheck.next(r.since, r.attempts + 1, now);
        let (id, said) = (r.payment_id, said.chars().take(200).collect::<String>());
        let recorded = self
            .store
            .transact(move |tx| {
                let changed = rechecks::attempted(tx, id, now, next, &said)?;
                if changed && next.is_none() {
                    let why = format!("no answer from M-Pesa within the re-check window ({said})");
                    events::record(tx, now, "payment.recheck_expired", None, Some(id), &why)?;
                }
                Ok(changed)
            })
            .await?;
        Ok(match (recorded, next) {
            (false, _) => Rechecked::Nothing,
            (true, Some(_)) => Rechecked::Again,
            (true, None) => {
                log::warn!(
                    "payment {id}: M-Pesa never confirmed it; the owner should check the statement"
                );
                Rechecked::Expired
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn schedule(text: &str) -> Schedule {
        Schedule::from_config(&Config::parse(text, "t").unwrap().daraja)
    }

    #[test]
    fn default_schedule_is_2_5_15_60_minutes_then_hourly_for_a_day() {
        let s = schedule("");
        let since = 1_000_000;
        assert_eq!(s.first(), 120);
        let mut at = since + s.first();
        let mut checks = vec![at];
        let mut attempts = 1;
        while let Some(next) = s.next(since, attempts, at) {
            at = next;
            checks.push(at);
            attempts += 1;
        }
        let minutes: Vec<i64> = checks.iter().map(|t| (t - since) / 60).collect();
        assert_eq!(&minutes[..6], [2, 7, 22, 82, 142, 202]);
        assert_eq!(
            *minutes.last().unwrap(),
            1402,
            "hourly until the 24 h are up"
        );
        assert_eq!(checks.len(), 26, "few enough queries for Daraja");
    }

    #[test]
    fn the_schedule_is_configurable_and_checked() {
        let s = schedule(
            "config daraja 'daraja'\n\toption recheck_intervals '1 2'\n\toption recheck_for '5'\n",
        );
        assert_eq!(s.first(), 1);
        assert_eq!(s.next(100, 1, 101), Some(103));
        assert_eq!(s.next(100, 2, 103), Some(105));
        assert_eq!(s.next(100, 3, 105), None);
        for bad in ["''", "'0 5'", "'5 x'", "'1 2 3 4 5 6 7 8 9 10 11'"] {
            let text = format!("config daraja 'daraja'\n\toption recheck_intervals {bad}\n");
            let e = Config::parse(&text, "lango.conf").unwrap_err().to_string();
            assert!(
                e.starts_with("lango.conf:2: option recheck_intervals:"),
                "{e}"
            );
        }
        let c = Config::parse(
            "config daraja 'daraja'\n\toption recheck_intervals '60 600'\n",
            "t",
        )
        .unwrap();
        assert_eq!(Config::parse(&c.to_uci(), "again").unwrap(), c);
    }
}
