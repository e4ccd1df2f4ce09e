//! Payments: the Daraja client, the payment state machine, the poller and the callback listener.
//! A payment row is written before Daraja is called and updated at every step; confirmation is by
//! STK Push Query (routers sit behind NAT) and, where the owner set one up, by Daraja's callback;
//! settling goes through `Sessions`, which grants time in the same transaction and only once.
//! Touches: Daraja, the store, sessions. Never: the kernel directly.

pub mod callback;
pub mod daraja;
mod health;
pub mod messages;
mod poll;
pub mod recheck;

pub use health::Health;

use crate::clock::{Clock, Unix};
use crate::config::{DarajaConfig, LimitsConfig};
use crate::limits::{self, Limited, Window};
use crate::mac::Mac;
use crate::phone::Msisdn;
use crate::sessions::Sessions;
use crate::store::payments::{NewPayment, Payment, PaymentState};
use crate::store::{self, events, packages, payments, Store};
use daraja::{Daraja, Push};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a payment could not be started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("M-Pesa is not set up (empty: {})", .0.join(", "))]
    NotSetUp(Vec<&'static str>),
    #[error("no package {0} on sale")]
    UnknownPackage(i64),
    #[error("a payment for this device is already waiting for its PIN")]
    AlreadyPending(i64),
    /// Daraja cannot be reached (uplink down, Safaricom down). Nothing was charged.
    #[error("M-Pesa cannot be reached: {0}")]
    Unavailable(String),
    #[error(transparent)]
    TooMany(Limited),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// Starts payments and sees them through to a final state.
pub struct Payments {
    store: Store,
    sessions: Arc<Sessions>,
    daraja: Arc<Daraja>,
    clock: Arc<dyn Clock>,
    poll_first: Duration,
    poll_interval: Duration,
    poll_timeout: Duration,
    /// Daraja's callbacks reach Lango: a failing query answer is held for a moment, in case a
    /// success callback follows (a success callback wins).
    callbacks: bool,
    /// Empty settings M-Pesa needs; while any, no push is attempted.
    missing: Vec<&'static str>,
    pushes_per_mac: Window,
    pushes_per_phone: Window,
    health: Mutex<Health>,
    /// When `timeout` payments are asked about again.
    recheck: recheck::Schedule,
}

/// What a new payment's transaction decided (a refusal writes nothing).
enum Admission {
    Created(Payment),
    Refused(Error),
}

impl Payments {
    pub fn new(
        store: Store,
        sessions: Arc<Sessions>,
        daraja: Daraja,
        cfg: &DarajaConfig,
        limits: &LimitsConfig,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        let missing = cfg.missing();
        let health = if missing.is_empty() {
            Health::Unchecked
        } else {
            Health::NotSetUp {
                missing: missing.clone(),
            }
        };
        Arc::new(Payments {
            store,
            sessions,
            daraja: Arc::new(daraja),
            clock,
            poll_first: cfg.poll_first,
            poll_interval: cfg.poll_interval,
            poll_timeout: cfg.poll_timeout,
            callbacks: cfg.callback_listen.is_some(),
            missing,
            pushes_per_mac: limits.pushes_per_mac,
            pushes_per_phone: limits.pushes_per_phone,
            health: Mutex::new(health),
            recheck: recheck::Schedule::from_config(cfg),
        })
    }

    /// Whether M-Pesa payments can be attempted at all (the settings are filled in).
    pub fn is_set_up(&self) -> bool {
        self.missing.is_empty()
    }

    /// Records a payment, sends the STK push and starts confirming it. Returns the payment as it
    /// stands after the push (`pushed`, or already `failed` if Daraja refused).
    pub async fn start(
        self: &Arc<Self>,
        mac: Mac,
        ip: Option<IpAddr>,
        package_id: i64,
        phone: Msisdn,
    ) -> Result<Payment, Error> {
        if !self.missing.is_empty() {
            return Err(Error::NotSetUp(self.missing.clone()));
        }
        if let Some(reason) = self.recently_unreachable() {
            return Err(Error::Unavailable(reason));
        }
        let now = self.clock.now();
        let ph = phone.clone();
        let (per_mac, per_phone) = (self.pushes_per_mac, self.pushes_per_phone);
        let created = self
            .store
            .transact(move |tx| {
                let pkg = match packages::get(tx, package_id)? {
                    Some(p) if p.active => p,
                    _ => return Ok(Admission::Refused(Error::UnknownPackage(package_id))),
                };
                if let Some(p) = payments::unfinished(tx)?.into_iter().find(|p| p.mac == mac) {
                    return Ok(Admission::Refused(Error::AlreadyPending(p.id)));
                }
                let by_mac = payments::started_by_mac(tx, mac, per_mac.since(now))?;
                let by_phone = payments::started_for_phone(tx, &ph, per_phone.since(now))?;
                if let Err(l) = limits::check_push(&per_mac, &per_phone, &by_mac, &by_phone, now) {
                    return Ok(Admission::Refused(Error::TooMany(l)));
                }
                let id = payments::insert(
                    tx,
                    &NewPayment {
                        mac,
                        ip,
                        phone: &ph,
                        package: &pkg,
                    },
                    now,
                )?;
                // Package, amount and phone are in the payment's row: the event stays small.
                events::record(tx, now, "payment.created", Some(mac), Some(id), "")?;
                Ok(Admission::Created(
                    payments::get(tx, id)?.expect("just inserted"),
                ))
            })
            .await?;
        let payment = match created {
            Admission::Created(p) => p,
            Admission::Refused(Error::TooMany(l)) => {
                log::warn!("payment refused mac={mac} phone={}: {l}", phone.masked());
                return Err(Error::TooMany(l));
            }
            Admission::Refused(e) => return Err(e),
        };
        log::info!(
            "payment {} created mac={mac} phone={} amount={}",
            payment.id,
            phone.masked(),
            payment.amount
        );

        let push = Push {
            phone: &phone,
            amount: payment.amount,
            account_reference: "Lango",
            description: &payment.package_name,
        };
        match self.daraja.stk_push(&push, self.clock.now()).await {
            Ok(accepted) => {
                let (id, checkout, now) = (
                    payment.id,
                    accepted.checkout_request_id.clone(),
                    self.clock.now(),
                );
                self.store
                    .transact(move |tx| {
                        // The CheckoutRequestID is in the payment's row: the event stays small.
                        if payments::mark_pushed(tx, id, &checkout, now)? {
                            events::record(tx, now, "payment.pushed", None, Some(id), "")?;
                        }
                        Ok(())
                    })
                    .await?;
                log::info!(
                    "payment {} pushed checkout={}",
                    payment.id,
                    accepted.checkout_request_id
                );
                self.health_after_push();
                let me = self.clone();
                let id = payment.id;
                let first = me.poll_first;
                tokio::spawn(async move { me.confirm(id, first).await });
            }
            Err(e) => {
                let desc = match &e {
                    daraja::Error::Rejected { code, message } => {
                        format!("M-Pesa refused: {code} {message}")
                    }
                    daraja::Error::Credentials(m) => format!("Daraja credentials refused: {m}"),
                    daraja::Error::Transient(m) => format!("M-Pesa unreachable: {m}"),
                    daraja::Error::Busy(m) => format!("M-Pesa busy: {m}"),
                    daraja::Error::Unanswered(m) => {
                        format!("M-Pesa's answer to the push was lost: {m}")
                    }
                    daraja::Error::Setup(m) => format!("Daraja client setup: {m}"),
                };
                if matches!(e, daraja::Error::Unanswered(_)) {
                    // Recorded before the payment fails: its success callback may be adopted.
                    self.answer_lost(payment.id).await?;
                }
                if matches!(e, daraja::Error::Credentials(_) | daraja::Error::Setup(_)) {
                    self.misconfigured(Some(payment.id), Some(mac), &desc).await;
                } else {
                    log::warn!("payment {}: {desc}", payment.id);
                }
                self.sessions
                    .settle(payment.id, PaymentState::Failed, None, desc.clone(), None)
                    .await?;
                match &e {
                    daraja::Error::Transient(m) => {
                        self.note_unreachable(m);
                        return Err(Error::Unavailable(desc));
                    }
                    // Nothing was charged; Daraja is there, just not taking pushes right now.
                    daraja::Error::Busy(_) => return Err(Error::Unavailable(desc)),
                    _ => {}
                }
            }
        }
        Ok(self.get(payment.id).await?.expect("payment exists"))
    }

    /// The customer gave up waiting for a prompt that never came ("change number"): the payment
    /// ends cancelled in Lango so the phone may start another. If M-Pesa confirms it after all,
    /// it is paid late like any other. False if it had already ended.
    pub async fn abandon(&self, id: i64) -> Result<bool, Error> {
        let desc = "the customer changed the number before M-Pesa answered".to_string();
        let before = self.get(id).await?.map(|p| p.state.is_final());
        self.sessions
            .settle(id, PaymentState::Cancelled, None, desc, None)
            .await?;
        log::info!("payment {id} abandoned by the customer");
        Ok(before == Some(false))
    }

    pub async fn get(&self, id: i64) -> Result<Option<Payment>, store::Error> {
        self.store.call(move |c| payments::get(c, id)).await
    }

    /// After a restart: payments that never reached Daraja fail; pushed ones are confirmed again.
    pub async fn resume(self: &Arc<Self>) -> Result<usize, Error> {
        let open = self.store.call(payments::unfinished).await?;
        let mut resumed = 0;
        for p in open {
            match p.state {
                PaymentState::Created => {
                    // Lango stopped between writing the row and recording Daraja's answer: the
                    // push may have reached the phone, but without its CheckoutRequestID it
                    // cannot be followed. The owner sees why in the payment's description.
                    log::warn!(
                        "payment {} was interrupted before M-Pesa's answer to the push was recorded; marking it failed (phone={} amount={})",
                        p.id,
                        p.phone.masked(),
                        p.amount
                    );
                    self.answer_lost(p.id).await?;
                    let desc = "interrupted before M-Pesa answered the push".to_string();
                    self.sessions
                        .settle(p.id, PaymentState::Failed, None, desc, None)
                        .await?;
                }
                _ => {
                    resumed += 1;
                    let me = self.clone();
                    tokio::spawn(async move { me.confirm(p.id, Duration::ZERO).await });
                }
            }
        }
        if resumed > 0 {
            log::info!("resumed confirming {resumed} payments");
        }
        Ok(resumed)
    }

    /// Records that a payment's push may have reached the phone although Lango never learnt its
    /// CheckoutRequestID (the answer was lost, or Lango stopped mid-push).
    async fn answer_lost(&self, id: i64) -> Result<(), Error> {
        Ok(self
            .store
            .transact(move |tx| payments::mark_answer_lost(tx, id))
            .await?)
    }

    /// The owner's Daraja settings are wrong: an error in the log, an `events` row of kind
    /// `daraja.misconfigured` (the owner's page flags it) and the health the status shows.
    async fn misconfigured(&self, payment_id: Option<i64>, mac: Option<Mac>, why: &str) {
        match payment_id {
            Some(id) => log::error!("payment {id}: {why} — fix the Daraja settings"),
            None => log::error!("{why} — fix the Daraja settings"),
        }
        let now = self.clock.now();
        self.set_health(Health::Refused {
            at: now,
            reason: why.to_string(),
        });
        self.record_event(now, "daraja.misconfigured", mac, payment_id, why)
            .await;
    }

    /// Appends an audit event; a failure to do so is logged, never fatal.
    async fn record_event(
        &self,
        now: Unix,
        kind: &'static str,
        mac: Option<Mac>,
        payment_id: Option<i64>,
        detail: &str,
    ) {
        let detail = detail.to_string();
        let written = self
            .store
            .transact(move |tx| events::record(tx, now, kind, mac, payment_id, &detail))
            .await;
        if let Err(e) = written {
            log::error!("recording event {kind}: {e}");
        }
    }
}
