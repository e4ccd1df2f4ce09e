//! Sessions: grant, extend, revoke, expire and restore — the one place that keeps the database
//! and the kernel agreeing. Every change commits to the store first; then one worker task, the
//! only one that talks to the gate, reads the committed truth for the devices that changed and
//! applies it in one batch. Because the worker applies state rather than replaying messages,
//! reordering cannot leave the kernel behind the database; if the gate fails, the worker re-syncs
//! everything on its next round.
//! Touches: the store and the gate. Never: HTTP, Daraja.

use crate::clock::{Clock, Unix};
use crate::gate::{self, Change, Gate};

use crate::mac::Mac;
use crate::reconnect::{Key, ReconnectCode};
use crate::store::payments::Settlement;
use crate::store::rechecks::RecheckState;
use crate::store::sessions::{EndReason, Grant, Session, Source};
use crate::store::vouchers::VoucherState;
use crate::store::{self, events, packages, payments, vouchers, Store};
use crate::voucher::VoucherCode;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};

/// How often the kernel is checked for a missing table (e.g. after `nft flush ruleset`).
const WATCHDOG_EVERY: Duration = Duration::from_secs(2);
/// A wall clock that disagrees with the steady clock by more than this has been set (NTP
/// after boot; routers without a battery clock start years off). Smaller drifts are NTP slewing.
const CLOCK_JUMP: i64 = 30;

/// Why a voucher does not open the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VoucherProblem {
    #[error("no such voucher")]
    Unknown,
    #[error("voucher already used")]
    Used,
    #[error("voucher revoked")]
    Revoked,
    #[error("voucher expired")]
    Expired,
}

/// Why a reconnect code or receipt moves no time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReconnectProblem {
    #[error("no session has that code or receipt")]
    Unknown,
    #[error("the time it paid for has run out")]
    NothingLeft,
    #[error("the data it paid for is used up")]
    DataUsedUp,
}

/// Where a device stands (`Standing::of` its latest session).
pub enum Standing {
    /// Its session has time left.
    Online(Session),
    /// Its bundle's data ran out while its time would have run on.
    DataUsedUp,
    /// Neither: it must buy or redeem.
    Captive,
}

impl Standing {
    /// Where a device stands at `now`, from its latest session (`store::sessions::latest_for`).
    pub fn of(latest: Option<Session>, now: Unix) -> Standing {
        match latest {
            Some(s) if s.ended_at.is_none() && s.expires_at > now => Standing::Online(s),
            Some(s) if s.data_used_up() && s.expires_at > now => Standing::DataUsedUp,
            _ => Standing::Captive,
        }
    }
}

/// What a voucher's transaction decided (a refusal writes nothing).
enum Redemption {
    Granted(Session),
    Refused(VoucherProblem),
}

/// What a reconnect's transaction decided (a refusal writes nothing).
enum Move {
    Done(Box<Reconnected>),
    Refused(ReconnectProblem),
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("{0}")]
    Voucher(VoucherProblem),
    #[error("{0}")]
    Reconnect(ReconnectProblem),
}

/// Work a grant does in its own transaction (boxed: one copy of the grant's code serves all).
pub type Also =
    Box<dyn FnOnce(&rusqlite::Transaction, &Session) -> Result<(), store::Error> + Send>;

/// What brought the news that a payment which ended unpaid was paid after all.
enum Late {
    Callback,
    Recheck,
    /// The owner, after checking; who and why are recorded.
    Owner {
        who: String,
        why: String,
    },
}

impl Late {
    fn as_str(&self) -> &'static str {
        match self {
            Late::Callback => "success callback",
            Late::Recheck => "re-check query",
            Late::Owner { .. } => "owner's grant",
        }
    }
}

/// What a reconnect did.
#[derive(Debug, Clone)]
pub enum Reconnected {
    /// The time moved from `from` (as it was; cut off now) to the asking device's `session`.
    Moved { from: Session, session: Session },
    /// The code is this device's own: nothing to move.
    AlreadyHere(Session),
}

/// Keeps sessions in the database and the kernel in step.
pub struct Sessions {
    store: Store,
    clock: Arc<dyn Clock>,
    /// To the gate worker: devices whose kernel state must be brought up to date.
    jobs: mpsc::UnboundedSender<Job>,
    /// Woken when a session is added or changed, so the expiry loop re-plans.
    changed: Notify,
}

/// Work for the gate worker.
enum Job {
    /// Bring this device's kernel state in line with the database; reply when applied.
    Refresh {
        mac: Mac,
        ip: Option<IpAddr>,
        done: Option<oneshot::Sender<()>>,
    },
    /// Re-install the whole gate from the database.
    Resync { done: Option<oneshot::Sender<()>> },
    /// Watchdog: re-install only if the table went missing from the kernel.
    Check,
}

impl Sessions {
    /// Creates the service and starts its gate worker (call inside a tokio runtime).
    pub fn new(store: Store, gate: Arc<dyn Gate>, clock: Arc<dyn Clock>) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = Worker {
            store: store.clone(),
            gate,
            clock: clock.clone(),
            healthy: true,
        };
        tokio::spawn(worker.run(rx));
        Arc::new(Sessions {
            store,
            clock,
            jobs: tx,
            changed: Notify::new(),
        })
    }

    pub fn now(&self) -> Unix {
        self.clock.now()
    }

    /// Adds time for a device (owner's gift or CLI `auth`).
    pub async fn grant(&self, g: Grant) -> Result<Session, Error> {
        self.grant_with(g, Box::new(|_, _| Ok(()))).await
    }

    /// Grants time as `grant` does, with `also` run in the same transaction on the session it
    /// made (a RADIUS Accept records the server's words there): both are durable, or neither.
    pub async fn grant_with(&self, g: Grant, also: Also) -> Result<Session, Error> {
        let now = self.now();
        let s = self
            .store
            .transact(move |tx| {
                let s = store::sessions::grant(tx, &g, now)?;
                also(tx, &s)?;
                events::record(
                    tx,
                    now,
                    "session.grant",
                    Some(g.mac),
                    None,
                    &format!("{}s by {:?}", g.duration_s, g.source),
                )?;
                Ok(s)
            })
            .await?;
        self.admit(&s).await;
        Ok(s)
    }

    /// Commits `f`, then puts the session it made or changed (if any) in the gate: durable
    /// first, acted on after.
    async fn commit_then_admit(
        &self,
        f: impl FnOnce(&rusqlite::Transaction) -> store::Result<Option<Session>> + Send + 'static,
    ) -> Result<Option<Session>, store::Error> {
        let s = self.store.transact(f).await?;
        if let Some(s) = &s {
            self.admit(s).await;
        }
        Ok(s)
    }

    /// Sets `mac`'s time left and/or speeds (a RADIUS CoA) and applies them to the kernel at
    /// once. Returns the session as it is now, `None` if the device has no open session.
    pub async fn set_limits(
        &self,
        mac: Mac,
        seconds: Option<u32>,
        rate: Option<(crate::units::Kbps, crate::units::Kbps)>,
    ) -> Result<Option<Session>, Error> {
        let now = self.now();
        let s = self
            .commit_then_admit(move |tx| {
                let s = store::sessions::set_limits(tx, mac, now, seconds, rate)?;
                if let Some(s) = &s {
                    let detail = format!("{}s left, {}/{}", s.seconds_left(now), s.down, s.up);
                    events::record(tx, now, "session.limits", Some(mac), None, &detail)?;
                }
                Ok(s)
            })
            .await?;
        Ok(s)
    }

    /// Settles a payment and, if it was paid, grants its time — in one transaction, once.
    /// Returns the session if this call is the one that granted.
    pub async fn settle(
        &self,
        payment_id: i64,
        state: payments::PaymentState,
        code: Option<i64>,
        desc: String,
        receipt: Option<String>,
    ) -> Result<Option<Session>, store::Error> {
        let now = self.now();
        self.commit_then_admit(move |tx| {
            let settlement = Settlement {
                state,
                result_code: code,
                result_desc: &desc,
                receipt: receipt.as_deref(),
            };
            if !payments::settle(tx, payment_id, &settlement, now)? {
                return Ok(None);
            }
            let p = payments::get(tx, payment_id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            // Daraja's words are in the payment's row (stored once): the event stays small.
            let detail = format!(
                "{} code={}",
                state.as_str(),
                code.map_or("-".into(), |c| c.to_string())
            );
            events::record(tx, now, "payment.settled", Some(p.mac), Some(p.id), &detail)?;
            if state != payments::PaymentState::Paid {
                return Ok(None);
            }
            grant_paid(tx, &p, now).map(Some)
        })
        .await
    }

    /// A success callback for a payment already settled as failed, cancelled or timeout: the
    /// customer's money arrived, so it becomes paid and grants its time — in one transaction,
    /// once. Returns the session if this call is the one that granted.
    pub async fn settle_late_success(
        &self,
        payment_id: i64,
        desc: String,
        receipt: Option<String>,
    ) -> Result<Option<Session>, store::Error> {
        self.settle_late(payment_id, desc, receipt, Late::Callback)
            .await
    }

    /// A `timeout` payment that a later STK Push Query found paid: like a late success
    /// callback, it becomes paid (`paid_late`) and grants its time, once.
    pub async fn settle_paid_late(
        &self,
        payment_id: i64,
        desc: String,
    ) -> Result<Option<Session>, store::Error> {
        self.settle_late(payment_id, desc, None, Late::Recheck)
            .await
    }

    /// The owner found the money of a payment that ended unpaid (the M-Pesa statement, the
    /// customer's SMS): it becomes paid and grants what it bought, once; `who` and `why` go into
    /// the audit trail (event `payment.owner_grant`).
    pub async fn settle_by_owner(
        &self,
        payment_id: i64,
        who: String,
        why: String,
    ) -> Result<Option<Session>, store::Error> {
        let desc = format!("granted by the owner: {why}");
        self.settle_late(payment_id, desc, None, Late::Owner { who, why })
            .await
    }

    /// Pays a payment that had ended unpaid, grants its time and closes its re-check — in one
    /// transaction, once. `by` says what brought the news, for the audit trail.
    async fn settle_late(
        &self,
        payment_id: i64,
        desc: String,
        receipt: Option<String>,
        by: Late,
    ) -> Result<Option<Session>, store::Error> {
        let now = self.now();
        self.commit_then_admit(move |tx| {
            let settlement = Settlement {
                state: payments::PaymentState::Paid,
                result_code: Some(0),
                result_desc: &desc,
                receipt: receipt.as_deref(),
            };
            let ended_at = payments::get(tx, payment_id)?.map_or(now, |p| p.updated_at);
            let Some(before) = payments::settle_late_success(tx, payment_id, &settlement, now)?
            else {
                return Ok(None);
            };
            let p = payments::get(tx, payment_id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            let said = by.as_str();
            let detail = format!("paid code=0 {desc} ({said} after {})", before.as_str());
            events::record(tx, now, "payment.settled", Some(p.mac), Some(p.id), &detail)?;
            let late = format!(
                "{said}, {} s after it ended {}",
                now - ended_at,
                before.as_str()
            );
            events::record(tx, now, "payment.paid_late", Some(p.mac), Some(p.id), &late)?;
            if let Late::Owner { who, why } = &by {
                let detail = format!("{} by {who}: {why}", p.amount);
                events::record(
                    tx,
                    now,
                    "payment.owner_grant",
                    Some(p.mac),
                    Some(p.id),
                    &detail,
                )?;
            }
            store::rechecks::close(tx, p.id, RecheckState::PaidLate, now, "0 paid")?;
            grant_paid(tx, &p, now).map(Some)
        })
        .await
    }

    /// Redeems a voucher for `g.mac`: the package's time, once.
    pub async fn redeem(
        &self,
        code: VoucherCode,
        mac: Mac,
        ip: Option<std::net::IpAddr>,
    ) -> Result<Session, Error> {
        let now = self.now();
        let out = self
            .store
            .transact(move |tx| {
                let Some(v) = vouchers::get(tx, code.as_str())? else {
                    return Ok(Redemption::Refused(VoucherProblem::Unknown));
                };
                match v.state {
                    VoucherState::Used => return Ok(Redemption::Refused(VoucherProblem::Used)),
                    VoucherState::Revoked => {
                        return Ok(Redemption::Refused(VoucherProblem::Revoked))
                    }
                    VoucherState::Unused => {}
                }
                if v.expires_at.is_some_and(|e| e <= now) {
                    return Ok(Redemption::Refused(VoucherProblem::Expired));
                }
                let Some(pkg) = packages::get(tx, v.package_id)? else {
                    return Ok(Redemption::Refused(VoucherProblem::Revoked));
                };
                if !vouchers::mark_used(tx, code.as_str(), mac, now)? {
                    return Ok(Redemption::Refused(VoucherProblem::Used));
                }
                let g = Grant {
                    mac,
                    ip,
                    source: Source::Voucher,
                    source_ref: Some(code.as_str().to_string()),
                    package_id: Some(pkg.id),
                    duration_s: pkg.duration_s,
                    down: pkg.down,
                    up: pkg.up,
                    data: pkg.data_bytes(),
                };
                let s = store::sessions::grant(tx, &g, now)?;
                events::record(
                    tx,
                    now,
                    "voucher.redeemed",
                    Some(mac),
                    None,
                    &format!("{} {}", code, pkg.name),
                )?;
                Ok(Redemption::Granted(s))
            })
            .await?;
        let out = match out {
            Redemption::Granted(s) => s,
            Redemption::Refused(why) => return Err(Error::Voucher(why)),
        };
        self.admit(&out).await;
        Ok(out)
    }

    /// Moves the time left of the session `key` names (its reconnect code, or the M-Pesa receipt
    /// of a payment that paid for it) to `mac`; the old device is cut off in the same kernel
    /// batch. One transaction; an `events` row `session.moved` records it.
    pub async fn reconnect(
        &self,
        key: Key,
        mac: Mac,
        ip: Option<IpAddr>,
    ) -> Result<Reconnected, Error> {
        let now = self.now();
        let done = self
            .store
            .transact(move |tx| {
                let from = match &key {
                    Key::Code(code) => store::sessions::by_code(tx, code)?,
                    Key::Receipt(r) => match payments::by_receipt(tx, r)? {
                        // The session the payment went to, wherever its code has moved since.
                        Some(p) => match store::sessions::latest_for(tx, p.mac)? {
                            Some(s) if s.ended_at.is_none() => Some(s),
                            Some(s) => {
                                match s.code.filter(|_| s.end_reason.as_deref() == Some("moved")) {
                                    Some(c) => store::sessions::by_code(
                                        tx,
                                        &ReconnectCode::from_stored(c),
                                    )?,
                                    None => None,
                                }
                            }
                            None => None,
                        },
                        None => None,
                    },
                };
                let Some(from) = from else {
                    // Not movable: say so if what it paid for was cut off as used up.
                    let last = match &key {
                        Key::Code(code) => store::sessions::last_by_code(tx, code)?,
                        Key::Receipt(r) => match payments::by_receipt(tx, r)? {
                            Some(p) => store::sessions::latest_for(tx, p.mac)?,
                            None => None,
                        },
                    };
                    return Ok(Move::Refused(if last.is_some_and(|s| s.data_used_up()) {
                        ReconnectProblem::DataUsedUp
                    } else {
                        ReconnectProblem::Unknown
                    }));
                };
                if from.expires_at <= now {
                    return Ok(Move::Refused(ReconnectProblem::NothingLeft));
                }
                if from.mac == mac {
                    return Ok(Move::Done(Box::new(Reconnected::AlreadyHere(from))));
                }
                let left = from.seconds_left(now);
                let to = store::sessions::move_to(tx, &from, mac, ip, now)?;
                let how = match &key {
                    Key::Code(c) => format!("code {c}"),
                    Key::Receipt(r) => format!("M-Pesa receipt {r}"),
                };
                let payment = from
                    .source_ref
                    .as_deref()
                    .filter(|_| from.source == store::sessions::Source::Payment)
                    .and_then(|r| r.parse().ok());
                events::record(
                    tx,
                    now,
                    "session.moved",
                    Some(mac),
                    payment,
                    &format!("{left}s from {} by {how}", from.mac),
                )?;
                Ok(Move::Done(Box::new(Reconnected::Moved {
                    from,
                    session: to,
                })))
            })
            .await?;
        let done = match done {
            Move::Done(r) => *r,
            Move::Refused(why) => return Err(Error::Reconnect(why)),
        };
        if let Reconnected::Moved { from, session } = &done {
            log::info!(
                "session moved from mac={} to mac={} seconds={}",
                from.mac,
                session.mac,
                session.seconds_left(now)
            );
            self.refresh(vec![(from.mac, from.ip), (session.mac, session.ip)])
                .await;
            self.changed.notify_one();
        }
        Ok(done)
    }

    /// Ends `mac`'s session now (owner's kick). Returns the session that was ended.
    pub async fn revoke(&self, mac: Mac) -> Result<Option<Session>, Error> {
        let now = self.now();
        let ended = self
            .store
            .transact(move |tx| {
                let s = store::sessions::end(tx, mac, EndReason::Revoked, now)?;
                if s.is_some() {
                    events::record(tx, now, "session.revoke", Some(mac), None, "kicked")?;
                }
                Ok(s)
            })
            .await?;
        if let Some(s) = &ended {
            self.refresh(vec![(s.mac, s.ip)]).await;
        }
        Ok(ended)
    }

    /// Ends the sessions of `macs` whose persisted bytes have reached their data allowance
    /// (checked again in the transaction) and evicts them in one batch, the way a kick does:
    /// element, classes and connections. Returns the sessions that were ended.
    pub async fn end_used_up(&self, macs: Vec<Mac>) -> Result<Vec<Session>, Error> {
        let now = self.now();
        let ended = self
            .store
            .transact(move |tx| {
                let mut ended = vec![];
                for mac in macs {
                    if let Some(s) = store::sessions::end_used_up(tx, mac, now)? {
                        let detail =
                            format!("{} of {} bytes", s.used.total(), s.data_limit.unwrap_or(0));
                        events::record(tx, now, "session.data_used_up", Some(mac), None, &detail)?;
                        ended.push(s);
                    }
                }
                Ok(ended)
            })
            .await?;
        for s in &ended {
            log::info!(
                "session ended mac={} data used up bytes={}",
                s.mac,
                s.used.total()
            );
        }
        if !ended.is_empty() {
            self.refresh(ended.iter().map(|s| (s.mac, s.ip)).collect())
                .await;
        }
        Ok(ended)
    }

    /// The newest session of `mac`, open or ended.
    pub async fn latest(&self, mac: Mac) -> Result<Option<Session>, Error> {
        Ok(self
            .store
            .call(move |c| store::sessions::latest_for(c, mac))
            .await?)
    }

    /// The session of `mac` with time left, if any.
    pub async fn active(&self, mac: Mac) -> Result<Option<Session>, Error> {
        let now = self.now();
        let s = self
            .store
            .call(move |c| store::sessions::open_for(c, mac))
            .await?;
        Ok(s.filter(|s| s.expires_at > now))
    }

    /// Every session with time left.
    pub async fn online(&self) -> Result<Vec<Session>, Error> {
        let now = self.now();
        let all = self.store.call(store::sessions::open).await?;
        Ok(all.into_iter().filter(|s| s.expires_at > now).collect())
    }

    /// Ends every session whose time is up and evicts it from the kernel in one batch.
    /// (The kernel already dropped them by its own timeout; this removes shaping and connections.)
    pub async fn expire_due(&self) -> Result<usize, Error> {
        let ended = self.end_due().await?;
        if !ended.is_empty() {
            log::info!("expired {} sessions", ended.len());
            self.refresh(ended.iter().map(|s| (s.mac, s.ip)).collect())
                .await;
        }
        Ok(ended.len())
    }

    /// Ends, in the database only, every session whose time is up.
    async fn end_due(&self) -> Result<Vec<Session>, Error> {
        let now = self.now();
        let ended = self
            .store
            .transact(move |tx| {
                let due = store::sessions::due(tx, now)?;
                for s in &due {
                    store::sessions::end(tx, s.mac, EndReason::Expired, s.expires_at)?;
                    events::record(tx, now, "session.expire", Some(s.mac), None, "")?;
                }
                Ok(due)
            })
            .await?;
        Ok(ended)
    }

    /// Start-up: ends what ran out while Lango was down, then installs the gate from scratch with
    /// exactly the sessions that still have time, in one batch. Returns how many were restored.
    pub async fn restore(&self) -> Result<usize, Error> {
        let expired = self.end_due().await?.len();
        let n = self.online().await?.len();
        let (done, applied) = oneshot::channel();
        if self.jobs.send(Job::Resync { done: Some(done) }).is_ok() {
            let _ = applied.await;
        }
        log::info!("restored {n} sessions into the gate ({expired} ran out while stopped)");
        Ok(n)
    }

    /// Applies a session's current state to the kernel and waits until it is there.
    async fn admit(&self, s: &Session) {
        self.refresh(vec![(s.mac, s.ip)]).await;
        self.changed.notify_one();
    }

    /// Brings these devices' kernel state in line with the database (one worker round serves
    /// them all) and waits until it is applied.
    async fn refresh(&self, devices: Vec<(Mac, Option<IpAddr>)>) {
        let mut waits = vec![];
        for (mac, ip) in devices {
            let (tx, rx) = oneshot::channel();
            if self
                .jobs
                .send(Job::Refresh {
                    mac,
                    ip,
                    done: Some(tx),
                })
                .is_ok()
            {
                waits.push(rx);
            }
        }
        for w in waits {
            let _ = w.await;
        }
    }

    /// Runs forever: ends sessions when their time is up, and re-installs the gate when it
    /// went missing (e.g. `nft flush ruleset`).
    pub async fn run(self: Arc<Self>) {
        let mut last_check = tokio::time::Instant::now();
        let mut clock_seen = (self.now(), self.clock.monotonic());
        loop {
            let next = self
                .store
                .call(store::sessions::next_expiry)
                .await
                .ok()
                .flatten();
            let wait = match next {
                Some(at) => Duration::from_secs((at - self.now()).clamp(0, 3600) as u64),
                None => WATCHDOG_EVERY,
            }
            .min(WATCHDOG_EVERY);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.changed.notified() => {}
            }
            // Before expiring anything: a clock that was just set must not end everyone's time.
            if let Err(e) = self.follow_clock(&mut clock_seen).await {
                log::error!("following a clock change: {e}");
            }
            if let Err(e) = self.expire_due().await {
                log::error!("expiring sessions: {e}");
            }
            if last_check.elapsed() >= WATCHDOG_EVERY {
                last_check = tokio::time::Instant::now();
                let _ = self.jobs.send(Job::Check);
            }
        }
    }

    /// Detects a wall-clock jump since `seen` and moves open sessions with it, so that the time
    /// customers have left stays what it was. The kernel's timeouts are steady already.
    async fn follow_clock(&self, seen: &mut (Unix, Duration)) -> Result<(), Error> {
        let (wall, steady) = (self.now(), self.clock.monotonic());
        let expected = seen.0 + steady.saturating_sub(seen.1).as_secs() as i64;
        *seen = (wall, steady);
        let jump = wall - expected;
        if jump.abs() <= CLOCK_JUMP {
            return Ok(());
        }
        let moved = self
            .store
            .transact(move |tx| {
                let n = store::sessions::shift_open(tx, jump)?;
                events::record(
                    tx,
                    wall,
                    "clock.jump",
                    None,
                    None,
                    &format!("{jump:+} s; {n} sessions moved"),
                )?;
                Ok(n)
            })
            .await?;
        log::warn!("wall clock jumped {jump:+} s; moved {moved} open sessions so their time left is unchanged");
        Ok(())
    }

    /// Removes Lango from the kernel (clean stop). Sessions stay in the database.
    pub async fn teardown(&self, gate: Arc<dyn Gate>) {
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || gate.teardown()).await {
            log::error!("gate teardown: {e}");
        }
    }
}

/// The only task that talks to the gate.
struct Worker {
    store: Store,
    gate: Arc<dyn Gate>,
    clock: Arc<dyn Clock>,
    /// False after a failed batch: the next round re-syncs everything.
    healthy: bool,
}

impl Worker {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Job>) {
        while let Some(first) = rx.recv().await {
            // Take everything queued: one kernel batch serves them all.
            let mut jobs = vec![first];
            while let Ok(j) = rx.try_recv() {
                jobs.push(j);
            }
            self.round(jobs).await;
        }
    }

    async fn round(&mut self, jobs: Vec<Job>) {
        let mut dirty: Vec<(Mac, Option<IpAddr>)> = vec![];
        let mut full = !self.healthy;
        let mut check_only = true;
        let mut waiting = vec![];
        for j in jobs {
            match j {
                Job::Refresh { mac, ip, done } => {
                    check_only = false;
                    if !dirty.iter().any(|(m, _)| *m == mac) {
                        dirty.push((mac, ip));
                    }
                    waiting.extend(done);
                }
                Job::Resync { done } => {
                    full = true;
                    check_only = false;
                    waiting.extend(done);
                }
                Job::Check => {}
            }
        }
        if check_only && !full {
            // A watchdog tick: re-install only if the table went missing.
            let g = self.gate.clone();
            full = !matches!(
                tokio::task::spawn_blocking(move || g.installed()).await,
                Ok(Ok(true))
            );
            if full {
                log::warn!("gate table missing from the kernel; re-installing");
            }
        }
        let result = if full {
            self.sync().await
        } else if dirty.is_empty() {
            Ok(())
        } else {
            self.update(dirty).await
        };
        match result {
            Ok(()) => self.healthy = true,
            Err(e) => {
                log::error!("gate: {e:#}; full re-sync on the next round");
                self.healthy = false;
            }
        }
        for w in waiting {
            let _ = w.send(());
        }
    }

    async fn sync(&self) -> anyhow::Result<()> {
        let now = self.clock.now();
        let open = self.store.call(store::sessions::open).await?;
        let clients: Vec<_> = open
            .iter()
            .filter(|s| s.expires_at > now)
            .map(|s| client(s, now))
            .collect();
        let g = self.gate.clone();
        tokio::task::spawn_blocking(move || g.sync(&clients)).await??;
        Ok(())
    }

    async fn update(&self, dirty: Vec<(Mac, Option<IpAddr>)>) -> anyhow::Result<()> {
        let now = self.clock.now();
        let changes = self
            .store
            .call(move |c| {
                let mut out = Vec::with_capacity(dirty.len());
                for (mac, ip) in dirty {
                    match store::sessions::open_for(c, mac)? {
                        Some(s) if s.expires_at > now => out.push(Change::Admit(client(&s, now))),
                        _ => out.push(Change::Evict { mac, ip }),
                    }
                }
                Ok(out)
            })
            .await?;
        let g = self.gate.clone();
        tokio::task::spawn_blocking(move || g.apply(&changes)).await??;
        Ok(())
    }
}

/// Grants (or extends) the time a paid payment bought; part of the caller's transaction.
fn grant_paid(
    tx: &rusqlite::Transaction,
    p: &payments::Payment,
    now: Unix,
) -> Result<Session, store::Error> {
    let g = Grant {
        mac: p.mac,
        ip: p.ip,
        source: Source::Payment,
        source_ref: Some(p.id.to_string()),
        package_id: Some(p.package_id),
        duration_s: p.duration_s,
        down: p.down,
        up: p.up,
        data: store::packages::mb_to_bytes(p.data_mb),
    };
    let s = store::sessions::grant(tx, &g, now)?;
    events::record(
        tx,
        now,
        "session.grant",
        Some(p.mac),
        Some(p.id),
        &format!("{}s paid", p.duration_s),
    )?;
    Ok(s)
}

/// The gate's view of a session. A session's speeds are never 0 (packages, the owner's gifts
/// and `lango auth` all give a rate; "unlimited" is `owner::UNSHAPED_KBPS`), so every session
/// gets a class both ways: every device is counted and a data allowance can be enforced.
fn client(s: &Session, now: Unix) -> gate::Client {
    gate::Client {
        mac: s.mac,
        ip: s.ip,
        seconds: s.seconds_left(now),
        down: s.down,
        up: s.up,
    }
}
