//! Daraja's STK callback: the listener that receives it (its own address and port, never a
//! captive interface's; one secret path; POST only; body at most 16 KiB), the parser for its
//! body, and what a callback does to a payment. A callback must match a payment by
//! CheckoutRequestID and, for success, by amount; it records the M-Pesa receipt. A success
//! callback wins over a failing query (also after the poller gave up). Everything else is logged
//! and ignored, and answered `{"ResultCode":0,"ResultDesc":"Accepted"}` so Daraja stops retrying.
//! Touches: its listener, the store (reads, receipts, events), sessions (to settle).

use super::daraja::{self, QueryAnswer};
use super::poll::Recorded;
use super::{messages, Payments};
use crate::phone::Msisdn;
use crate::server::{self, BodyError, Request, Response};
use crate::store::payments::{self, Payment, PaymentState};
use crate::units::Kes;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::net::TcpListener;

/// Daraja's callbacks are well under a kilobyte.
pub const MAX_BODY: usize = 16 * 1024;
/// M-Pesa receipts are 10 letters and digits; anything much longer is not one.
const MAX_RECEIPT: usize = 20;
/// The callback's Amount is a JSON number such as 1.00; it must equal the payment's to the cent.
const AMOUNT_TOLERANCE: f64 = 0.005;
/// A success callback for an unknown CheckoutRequestID is matched to a push that never got one
/// (phone and amount) only this far back: a PIN prompt lives about a minute, and Daraja sends
/// its callback within seconds of the customer's answer.
const UNANSWERED_PUSH_WINDOW: i64 = 5 * 60;
/// A success callback for a payment already settled as failed, cancelled or timeout is believed
/// only for payments started this recently, and only once STK Push Query confirms it.
pub const LATE_SUCCESS_WINDOW: i64 = 24 * 3600;
/// Tries at STK Push Query to confirm a late success, and the wait between them.
const CONFIRM_TRIES: u32 = 3;
const CONFIRM_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// One callback, as Daraja sent it (only what Lango uses).
#[derive(Clone, Debug, PartialEq)]
pub struct Callback {
    pub checkout_request_id: String,
    pub result_code: i64,
    pub result_desc: String,
    /// `CallbackMetadata` Amount (success only).
    pub amount: Option<f64>,
    /// `CallbackMetadata` MpesaReceiptNumber (success only).
    pub receipt: Option<String>,
    /// `CallbackMetadata` PhoneNumber (success only).
    pub phone: Option<Msisdn>,
}

/// What a callback did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// Settled a pending payment in this state.
    Settled(PaymentState),
    /// A success after the payment had been settled as failed, cancelled or timeout: now paid.
    LateSuccess,
    /// The payment was paid already; its receipt was recorded now.
    Receipt,
    /// Nothing to do: the payment was already final.
    Duplicate,
    /// No payment has this CheckoutRequestID.
    Unknown,
    /// A success whose amount is not the payment's.
    WrongAmount,
    /// A late success that STK Push Query did not confirm, or came too late: nothing granted,
    /// the owner is told (`payment.callback_unconfirmed`).
    Unconfirmed,
}

/// Parses a callback body (`{"Body":{"stkCallback":{…}}}`); numbers may be strings.
pub fn parse(body: &[u8]) -> Result<Callback, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let cb = v
        .pointer("/Body/stkCallback")
        .ok_or("no Body.stkCallback")?;
    let checkout_request_id = cb
        .get("CheckoutRequestID")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 64)
        .ok_or("no CheckoutRequestID")?;
    // Daraja's are like ws_CO_191220191020363925; anything else (spaces, new lines) is not one
    // and must not reach the log or the database.
    if !checkout_request_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("CheckoutRequestID holds characters Daraja never sends".into());
    }
    let checkout_request_id = checkout_request_id.to_string();
    let result_code = cb
        .get("ResultCode")
        .and_then(|c| match c {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .ok_or("no ResultCode")?;
    let result_desc: String = cb
        .get("ResultDesc")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let item = |name: &str| {
        cb.pointer("/CallbackMetadata/Item")
            .and_then(Value::as_array)?
            .iter()
            .find(|i| i.get("Name").and_then(Value::as_str) == Some(name))?
            .get("Value")
            .cloned()
    };
    let amount = item("Amount").and_then(|a| match a {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let receipt = item("MpesaReceiptNumber")
        .and_then(|r| r.as_str().map(str::to_string))
        .filter(|r| {
            (1..=MAX_RECEIPT).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric())
        });
    let phone = item("PhoneNumber").and_then(|p| match p {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    Ok(Callback {
        checkout_request_id,
        result_code,
        result_desc,
        amount,
        receipt,
        phone,
    })
}

/// Serves Daraja's callbacks on `listener`, answering only POSTs to `path`.
pub async fn serve(listener: TcpListener, path: String, payments: Arc<Payments>) {
    let path = Arc::new(path);
    server::serve(listener, move |req, peer| {
        let (path, payments) = (path.clone(), payments.clone());
        async move { receive(&payments, &path, req, peer).await }
    })
    .await
}

async fn receive(payments: &Payments, path: &str, req: Request, peer: server::Peer) -> Response {
    if req.uri().path() != path {
        log::debug!(
            "callback listener: {} {} from {} refused",
            req.method(),
            req.uri().path(),
            peer.remote
        );
        return server::text(StatusCode::NOT_FOUND, "");
    }
    if req.method() != Method::POST {
        return server::text(StatusCode::METHOD_NOT_ALLOWED, "");
    }
    let body = match server::read_body(req, MAX_BODY).await {
        Ok(b) => b,
        Err(e @ BodyError::TooLarge(_)) => {
            log::warn!("callback from {}: {e}; ignored", peer.remote);
            return server::text(StatusCode::PAYLOAD_TOO_LARGE, "");
        }
        Err(e) => {
            log::warn!("callback from {}: {e}; ignored", peer.remote);
            return server::text(StatusCode::BAD_REQUEST, "");
        }
    };
    match parse(&body) {
        Ok(cb) => {
            payments.on_callback(cb).await;
        }
        Err(e) => log::warn!("callback from {}: {e}; ignored", peer.remote),
    }
    accepted()
}

/// What Daraja wants to hear, whatever Lango made of the callback.
fn accepted() -> Response {
    server::json(
        StatusCode::OK,
        &json!({"ResultCode": 0, "ResultDesc": "Accepted"}),
    )
}

impl Payments {
    /// Applies one callback to its payment, at most once.
    pub async fn on_callback(&self, cb: Callback) -> Handled {
        let checkout = cb.checkout_request_id.clone();
        let found = self
            .store
            .call(move |c| payments::by_checkout(c, &checkout))
            .await;
        let p = match found {
            Ok(Some(p)) => p,
            Ok(None) => {
                if let Some(handled) = self.adopt(&cb).await {
                    return handled;
                }
                let now = self.clock.now();
                let why = format!(
                    "callback for unknown CheckoutRequestID {} (ResultCode {}, amount {:?})",
                    cb.checkout_request_id, cb.result_code, cb.amount
                );
                if cb.result_code == 0 {
                    // Money may have arrived for a push Lango has no record of: the owner must look.
                    log::error!("{why}: check the M-Pesa statement");
                    self.record_event(now, "payment.callback_unmatched", None, None, &why)
                        .await;
                } else {
                    log::warn!("{why}; ignored");
                }
                return Handled::Unknown;
            }
            Err(e) => {
                log::error!("callback {}: {e}; ignored", cb.checkout_request_id);
                return Handled::Unknown;
            }
        };
        if cb.result_code == 0 {
            self.callback_success(p, cb, false).await
        } else {
            self.callback_failure(p, cb).await
        }
    }

    /// A success callback whose CheckoutRequestID Lango never learnt (it stopped, or lost
    /// Daraja's answer, mid-push): if STK Push Query confirms that CheckoutRequestID was paid,
    /// the customer's money arrived, so the failed payment whose push left Lango minutes ago
    /// with the same phone and amount takes the CheckoutRequestID and becomes paid, once.
    async fn adopt(&self, cb: &Callback) -> Option<Handled> {
        let phone = cb.phone.clone().filter(|_| cb.result_code == 0)?;
        let amount = cb
            .amount
            .filter(|a| *a >= 1.0 && a.fract().abs() < AMOUNT_TOLERANCE)?;
        let amount = Kes(amount.round() as u32);
        let since = self.clock.now() - UNANSWERED_PUSH_WINDOW;
        let found = self
            .store
            .call({
                let phone = phone.clone();
                move |c| payments::unanswered_push(c, &phone, amount, since)
            })
            .await;
        let candidate = match found {
            Ok(Some(p)) => p,
            Ok(None) => return None,
            Err(e) => {
                log::error!("callback {}: {e}", cb.checkout_request_id);
                return None;
            }
        };
        if let Err(why) = self.confirm_paid(&cb.checkout_request_id).await {
            return Some(self.unconfirmed(&candidate, &why).await);
        }
        let (checkout, now) = (cb.checkout_request_id.clone(), self.clock.now());
        let id = candidate.id;
        let adopted = self
            .store
            .transact(move |tx| {
                if !payments::adopt_checkout(tx, id, &checkout)? {
                    return Ok(None);
                }
                let detail = format!(
                    "{} from a success callback ({} {amount}), confirmed by STK Push Query",
                    checkout,
                    phone.masked()
                );
                crate::store::events::record(
                    tx,
                    now,
                    "payment.adopted",
                    Some(candidate.mac),
                    Some(id),
                    &detail,
                )?;
                payments::get(tx, id)
            })
            .await;
        let p = match adopted {
            Ok(Some(p)) => p,
            Ok(None) => return None,
            Err(e) => {
                log::error!("callback {}: {e}", cb.checkout_request_id);
                return None;
            }
        };
        log::warn!(
            "payment {} never learnt its CheckoutRequestID; a confirmed success callback for {} with its phone and amount pays it",
            p.id,
            cb.checkout_request_id
        );
        Some(self.callback_success(p, cb.clone(), true).await)
    }

    /// Asks STK Push Query whether `checkout` was paid: `Ok` only if Daraja says ResultCode 0.
    /// A few tries, as Daraja may be briefly out of reach.
    async fn confirm_paid(&self, checkout: &str) -> Result<(), String> {
        let mut why = String::new();
        for attempt in 1..=CONFIRM_TRIES {
            match self.daraja.stk_query(checkout, self.clock.now()).await {
                Ok(QueryAnswer::Done { result_code: 0, .. }) => return Ok(()),
                Ok(QueryAnswer::Done {
                    result_code,
                    result_desc,
                }) => {
                    return Err(format!(
                        "STK Push Query says ResultCode {result_code} ({})",
                        result_desc
                    ))
                }
                Ok(QueryAnswer::Pending) => {
                    return Err("STK Push Query says it is still being processed".into())
                }
                Err(e @ (daraja::Error::Transient(_) | daraja::Error::Busy(_))) => {
                    why = format!("STK Push Query could not be asked: {e}");
                    if attempt < CONFIRM_TRIES {
                        tokio::time::sleep(CONFIRM_WAIT * attempt).await;
                    }
                }
                Err(e) => return Err(format!("STK Push Query refused: {e}")),
            }
        }
        Err(why)
    }

    /// A late success callback that is not believed: nothing is granted; the owner is told.
    async fn unconfirmed(&self, p: &Payment, why: &str) -> Handled {
        let why = format!(
            "success callback for payment {} ({}, {}) not believed: {why}",
            p.id,
            p.state.as_str(),
            p.amount
        );
        log::error!("{why}; check the M-Pesa statement");
        self.record_event(
            self.clock.now(),
            "payment.callback_unconfirmed",
            Some(p.mac),
            Some(p.id),
            &why,
        )
        .await;
        Handled::Unconfirmed
    }

    /// A success callback for payment `p`. `confirmed`: STK Push Query has already said it was
    /// paid (an adopted CheckoutRequestID).
    async fn callback_success(&self, p: Payment, cb: Callback, confirmed: bool) -> Handled {
        let expected = f64::from(p.amount.0);
        if !cb
            .amount
            .is_some_and(|a| (a - expected).abs() < AMOUNT_TOLERANCE)
        {
            let why = format!(
                "success callback for payment {} with amount {:?}, expected {}: ignored",
                p.id, cb.amount, p.amount
            );
            log::error!("{why}");
            self.record_event(
                self.clock.now(),
                "payment.callback_mismatch",
                Some(p.mac),
                Some(p.id),
                &why,
            )
            .await;
            return Handled::WrongAmount;
        }
        let receipt = cb.receipt.clone();
        if receipt.is_none() {
            log::warn!(
                "success callback for payment {} has no M-Pesa receipt",
                p.id
            );
        }
        let desc = format!("{} (callback)", cb.result_desc);
        let settled = match p.state {
            PaymentState::Created | PaymentState::Pushed => {
                log::info!(
                    "payment {} paid by callback receipt={}",
                    p.id,
                    receipt.as_deref().unwrap_or("-")
                );
                self.sessions
                    .settle(p.id, PaymentState::Paid, Some(0), desc, receipt)
                    .await
                    .map(|_| Handled::Settled(PaymentState::Paid))
            }
            PaymentState::Paid => return self.late_receipt(&p, receipt).await,
            PaymentState::Failed | PaymentState::Cancelled | PaymentState::Timeout => {
                // Anyone who learns the callback path and a CheckoutRequestID could send this:
                // Daraja itself must confirm it, and only while a late payment is believable.
                let age = self.clock.now() - p.created_at;
                if age > LATE_SUCCESS_WINDOW {
                    let why = format!(
                        "it came {} h after the payment started (at most {} h are believed)",
                        age / 3600,
                        LATE_SUCCESS_WINDOW / 3600
                    );
                    return self.unconfirmed(&p, &why).await;
                }
                if !confirmed {
                    let checkout = p.checkout_request_id.clone().unwrap_or_default();
                    if let Err(why) = self.confirm_paid(&checkout).await {
                        return self.unconfirmed(&p, &why).await;
                    }
                }
                log::warn!(
                    "payment {} was {} but a success callback came (receipt={}): paying it",
                    p.id,
                    p.state.as_str(),
                    receipt.as_deref().unwrap_or("-")
                );
                self.sessions
                    .settle_late_success(p.id, desc, receipt)
                    .await
                    .map(|_| Handled::LateSuccess)
            }
        };
        settled.unwrap_or_else(|e| {
            // Daraja retries a callback it got no answer to; the poller also still runs.
            log::error!("payment {}: recording the callback failed: {e}", p.id);
            Handled::Duplicate
        })
    }

    /// A success callback for a payment the poller settled first: keep its receipt.
    async fn late_receipt(&self, p: &Payment, receipt: Option<String>) -> Handled {
        let Some(r) = receipt else {
            return Handled::Duplicate;
        };
        let (id, mac, now) = (p.id, p.mac, self.clock.now());
        let recorded = self
            .store
            .transact(move |tx| {
                let new = payments::set_receipt(tx, id, &r)?;
                if new {
                    crate::store::events::record(
                        tx,
                        now,
                        "payment.receipt",
                        Some(mac),
                        Some(id),
                        &r,
                    )?;
                }
                Ok(new)
            })
            .await;
        match recorded {
            Ok(true) => Handled::Receipt,
            Ok(false) => Handled::Duplicate,
            Err(e) => {
                log::error!("payment {id}: recording the receipt failed: {e}");
                Handled::Duplicate
            }
        }
    }

    async fn callback_failure(&self, p: Payment, cb: Callback) -> Handled {
        if p.state.is_final() || cb.result_code == messages::STILL_PROCESSING {
            log::info!(
                "callback ResultCode {} for payment {} (already {}): ignored",
                cb.result_code,
                p.id,
                p.state.as_str()
            );
            return Handled::Duplicate;
        }
        let desc = format!("{} (callback)", cb.result_desc);
        match self.settle_answer(p.id, cb.result_code, desc).await {
            Recorded::Done => Handled::Settled(messages::state_for(cb.result_code)),
            // The poller records it from its next query.
            Recorded::Retry => Handled::Duplicate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_darajas_documented_callback() {
        let body = br#"{"Body":{"stkCallback":{"MerchantRequestID":"29115-34620561-1","CheckoutRequestID":"ws_CO_191220191020363925",
 "ResultCode":0,"ResultDesc":"The service request is processed successfully.",
 "CallbackMetadata":{"Item":[{"Name":"Amount","Value":1.00},{"Name":"MpesaReceiptNumber","Value":"NLJ7RT61SV"},
 {"Name":"Balance"},{"Name":"TransactionDate","Value":20191219102115},{"Name":"PhoneNumber","Value":254708374149}]}}}}"#;
        let cb = parse(body).unwrap();
        assert_eq!(
            cb,
            Callback {
                checkout_request_id: "ws_CO_191220191020363925".into(),
                result_code: 0,
                result_desc: "The service request is processed successfully.".into(),
                amount: Some(1.0),
                receipt: Some("NLJ7RT61SV".into()),
                phone: Some("254708374149".parse().unwrap()),
            }
        );
    }

    #[test]
    fn failures_carry_no_metadata_and_codes_may_be_strings() {
        let cb = parse(br#"{"Body":{"stkCallback":{"CheckoutRequestID":"ws_CO_1","ResultCode":"1032","ResultDesc":"Request cancelled by user"}}}"#).unwrap();
        assert_eq!((cb.result_code, cb.amount, cb.receipt), (1032, None, None));
    }

    #[test]
    fn junk_is_refused_with_a_reason() {
        for (body, why) in [
            (&b"<html>"[..], "not JSON"),
            (br#"{"Body":{}}"#, "no Body.stkCallback"),
            (
                br#"{"Body":{"stkCallback":{"ResultCode":0}}}"#,
                "no CheckoutRequestID",
            ),
            (
                br#"{"Body":{"stkCallback":{"CheckoutRequestID":"ws_CO_1"}}}"#,
                "no ResultCode",
            ),
        ] {
            let e = parse(body).unwrap_err();
            assert!(e.starts_with(why), "{e}");
        }
        // Control characters never reach the log: an ID with them is refused, a text loses them.
        let e = parse(br#"{"Body":{"stkCallback":{"CheckoutRequestID":"ws_CO_1\ninfo payment 9 paid","ResultCode":0}}}"#).unwrap_err();
        assert!(e.contains("CheckoutRequestID"), "{e}");
        let cb = parse(br#"{"Body":{"stkCallback":{"CheckoutRequestID":"ws_CO_1","ResultCode":1032,"ResultDesc":"a\nb\u001b[2Jc"}}}"#).unwrap();
        assert_eq!(cb.result_desc, "ab[2Jc");
        // A receipt that is not one is dropped, the rest kept.
        let cb = parse(br#"{"Body":{"stkCallback":{"CheckoutRequestID":"ws_CO_1","ResultCode":0,"CallbackMetadata":{"Item":[{"Name":"Amount","Value":"50"},{"Name":"MpesaReceiptNumber","Value":"<script>"}]}}}}"#).unwrap();
        assert_eq!((cb.amount, cb.receipt), (Some(50.0), None));
    }
}
