//! Payments: the Daraja client, the payment state machine and the poller that confirms payments.
//! A payment row is written before Daraja is called and updated at every step; confirmation is by
//! STK Push Query (routers sit behind NAT); settling goes through `Sessions::settle`, which grants
//! time in the same transaction and only once.
//! Touches: Daraja, the store, sessions. Never: the kernel directly.

pub mod daraja;
pub mod messages;

use crate::clock::Clock;
use crate::config::DarajaConfig;
use crate::mac::Mac;
use crate::phone::Msisdn;
use crate::sessions::Sessions;
use crate::store::payments::{NewPayment, Payment, PaymentState};
use crate::store::{self, events, packages, payments, Store};
use daraja::{Daraja, Push, QueryAnswer};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Waits between queries never grow beyond this, however often Daraja says "busy".
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Why a payment could not be started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no package {0} on sale")]
    UnknownPackage(i64),
    #[error("a payment for this device is already waiting for its PIN")]
    AlreadyPending(i64),
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
}

impl Payments {
    pub fn new(
        store: Store,
        sessions: Arc<Sessions>,
        daraja: Daraja,
        cfg: &DarajaConfig,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        Arc::new(Payments {
            store,
            sessions,
            daraja: Arc::new(daraja),
            clock,
            poll_first: cfg.poll_first,
            poll_interval: cfg.poll_interval,
            poll_timeout: cfg.poll_timeout,
        })
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
        let now = self.clock.now();
        let ph = phone.clone();
        let created: Result<Payment, Error> = self
            .store
            .transact(move |tx| {
                let pkg = match packages::get(tx, package_id)? {
                    Some(p) if p.active => p,
                    _ => return Ok(Err(Error::UnknownPackage(package_id))),
                };
                if let Some(p) = payments::unfinished(tx)?.into_iter().find(|p| p.mac == mac) {
                    return Ok(Err(Error::AlreadyPending(p.id)));
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
                events::record(
                    tx,
                    now,
                    "payment.created",
                    Some(mac),
                    Some(id),
                    &format!("{} {} {}", pkg.name, pkg.price, ph.masked()),
                )?;
                Ok(Ok(payments::get(tx, id)?.expect("just inserted")))
            })
            .await?;
        let payment = created?;
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
                let (id, checkout, merchant, now) = (
                    payment.id,
                    accepted.checkout_request_id.clone(),
                    accepted.merchant_request_id,
                    self.clock.now(),
                );
                self.store
                    .transact(move |tx| {
                        if payments::mark_pushed(tx, id, &checkout, &merchant, now)? {
                            events::record(tx, now, "payment.pushed", None, Some(id), &checkout)?;
                        }
                        Ok(())
                    })
                    .await?;
                log::info!(
                    "payment {} pushed checkout={}",
                    payment.id,
                    accepted.checkout_request_id
                );
                let me = self.clone();
                let id = payment.id;
                let first = me.poll_first;
                tokio::spawn(async move { me.confirm(id, first).await });
            }
            Err(e) => {
                let (desc, loud) = match &e {
                    daraja::Error::Rejected { code, message } => {
                        (format!("M-Pesa refused: {code} {message}"), false)
                    }
                    daraja::Error::Credentials(m) => {
                        (format!("Daraja credentials refused: {m}"), true)
                    }
                    daraja::Error::Transient(m) => (format!("M-Pesa unreachable: {m}"), false),
                    daraja::Error::Setup(m) => (format!("Daraja client setup: {m}"), true),
                };
                if loud {
                    log::error!("payment {}: {desc} — fix the Daraja settings", payment.id);
                } else {
                    log::warn!("payment {}: {desc}", payment.id);
                }
                self.sessions
                    .settle(payment.id, PaymentState::Failed, None, desc, None)
                    .await?;
            }
        }
        Ok(self.get(payment.id).await?.expect("payment exists"))
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

    /// Polls STK Push Query until the payment is final or its time is up.
    async fn confirm(self: Arc<Self>, id: i64, first_wait: Duration) {
        tokio::time::sleep(first_wait).await;
        let mut wait = self.poll_interval;
        loop {
            let p = match self.get(id).await {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(e) => {
                    log::error!("payment {id}: {e}");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            if p.state.is_final() {
                return;
            }
            let Some(checkout) = p.checkout_request_id.clone() else {
                return;
            };
            let deadline_passed =
                self.clock.now() >= p.created_at + self.poll_timeout.as_secs() as i64;
            let outcome = match self.daraja.stk_query(&checkout, self.clock.now()).await {
                Ok(QueryAnswer::Done {
                    result_code,
                    result_desc,
                }) => Some((result_code, result_desc)),
                Ok(QueryAnswer::Pending) => {
                    wait = self.poll_interval;
                    None
                }
                Err(e) => {
                    log::warn!("payment {id}: query failed, will retry: {e}");
                    wait = (wait * 2).min(MAX_BACKOFF);
                    None
                }
            };
            let settled = match outcome {
                Some((code, desc)) => {
                    let state = messages::state_for(code);
                    if messages::is_misconfiguration(code) {
                        log::error!(
                            "payment {id}: ResultCode {code}: {} ({desc})",
                            messages::for_owner(code)
                        );
                    }
                    log::info!(
                        "payment {id} {} code={code} ({})",
                        state.as_str(),
                        messages::for_owner(code)
                    );
                    self.sessions
                        .settle(id, state, Some(code), desc, None)
                        .await
                }
                None if deadline_passed => {
                    log::info!(
                        "payment {id} timeout: no answer from M-Pesa in {:?}",
                        self.poll_timeout
                    );
                    let desc = "no confirmation from M-Pesa in time".to_string();
                    self.sessions
                        .settle(id, PaymentState::Timeout, None, desc, None)
                        .await
                }
                None => {
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            match settled {
                Ok(_) => return,
                Err(e) => {
                    log::error!("payment {id}: recording the outcome failed, will retry: {e}");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}
