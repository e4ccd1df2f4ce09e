//! The poller: asks STK Push Query about one payment until it is final or its time is up.
//! "Still processing" (both of Daraja's shapes) means ask again at the poll interval; anything
//! transient (network, spike arrest, quota, 5xx, non-JSON bodies) means ask again later, backing
//! off — never a failure. With callbacks set up, a failing answer is held for a grace period in
//! case a success callback follows.
//! Touches: Daraja (through the client), sessions (to settle).

use super::daraja::QueryAnswer;
use super::{messages, Payments};
use crate::store::payments::PaymentState;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Waits between queries never grow beyond this, however often Daraja says "busy".
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A failing query answer waits this many poll intervals for a success callback.
const GRACE_INTERVALS: u32 = 2;
/// `poll_timeout` counts only while Daraja answers. While it cannot be reached (uplink down)
/// the payment stays pending, since the customer may have paid; after this long it times out.
const UNREACHABLE_LIMIT: i64 = 24 * 3600;

/// A failing answer waiting out the grace period.
struct Held {
    code: i64,
    desc: String,
    until: Instant,
}

impl Payments {
    /// Polls STK Push Query until the payment is final or its time is up.
    pub(super) async fn confirm(self: Arc<Self>, id: i64, first_wait: Duration) {
        tokio::time::sleep(first_wait).await;
        let mut wait = self.poll_interval;
        let mut held: Option<Held> = None;
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
            if let Some(h) = &held {
                let now = Instant::now();
                if now < h.until {
                    tokio::time::sleep(h.until - now).await;
                    continue;
                }
                let (code, desc) = (h.code, h.desc.clone());
                match self.settle_answer(id, code, desc).await {
                    Recorded::Done => return,
                    Recorded::Retry => {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                }
            }
            let Some(checkout) = p.checkout_request_id.clone() else {
                return;
            };
            let age = self.clock.now() - p.created_at;
            let (answer, answered) = match self.daraja.stk_query(&checkout, self.clock.now()).await
            {
                Ok(QueryAnswer::Done {
                    result_code,
                    result_desc,
                }) => (Some((result_code, result_desc)), true),
                Ok(QueryAnswer::Pending) => {
                    wait = self.poll_interval;
                    (None, true)
                }
                Err(e) => {
                    log::warn!("payment {id}: query failed, will retry: {e}");
                    wait = (wait * 2).min(MAX_BACKOFF);
                    match &e {
                        super::daraja::Error::Transient(m) => {
                            self.note_unreachable(m);
                            (None, false)
                        }
                        // Daraja answered, just not with an outcome.
                        _ => (None, true),
                    }
                }
            };
            if answered {
                self.note_reachable();
            }
            let deadline_passed =
                (answered && age >= self.poll_timeout.as_secs() as i64) || age >= UNREACHABLE_LIMIT;
            let settled = match answer {
                Some((code, desc)) if code != 0 && self.callbacks => {
                    let grace = self.poll_interval * GRACE_INTERVALS;
                    log::info!(
                        "payment {id}: query says {code} ({}); waiting {} ms for a success callback",
                        messages::for_owner(code),
                        grace.as_millis()
                    );
                    held = Some(Held {
                        code,
                        desc,
                        until: Instant::now() + grace,
                    });
                    continue;
                }
                Some((code, desc)) => self.settle_answer(id, code, desc).await,
                None if deadline_passed => {
                    log::info!(
                        "payment {id} timeout: no answer from M-Pesa in {:?}",
                        self.poll_timeout
                    );
                    let desc = "no confirmation from M-Pesa in time".to_string();
                    match self
                        .sessions
                        .settle(id, PaymentState::Timeout, None, desc, None)
                        .await
                    {
                        Ok(_) => Recorded::Done,
                        Err(e) => {
                            log::error!(
                                "payment {id}: recording the timeout failed, will retry: {e}"
                            );
                            Recorded::Retry
                        }
                    }
                }
                None => {
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            match settled {
                Recorded::Done => return,
                Recorded::Retry => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Settles a payment with Daraja's final ResultCode (from a query or a callback); flags
    /// the owner's setup errors.
    pub(super) async fn settle_answer(&self, id: i64, code: i64, desc: String) -> Recorded {
        let state = messages::state_for(code);
        if messages::is_misconfiguration(code) {
            let why = format!("ResultCode {code}: {} ({desc})", messages::for_owner(code));
            self.misconfigured(Some(id), None, &why).await;
        }
        log::info!(
            "payment {id} {} code={code} ({})",
            state.as_str(),
            messages::for_owner(code)
        );
        match self
            .sessions
            .settle(id, state, Some(code), desc, None)
            .await
        {
            Ok(_) => Recorded::Done,
            Err(e) => {
                log::error!("payment {id}: recording the outcome failed, will retry: {e}");
                Recorded::Retry
            }
        }
    }
}

/// Whether a payment's outcome reached the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Recorded {
    Done,
    /// The store failed (logged): the outcome must be recorded again later.
    Retry,
}
