//! The portal's JSON API (for apps and tests) and the RFC 8908 captive-portal API.
//! Errors are `{"error": CODE, "message": WORDS}` with the status chosen in `Refusal`.

use super::{portal_url, read_body, Ctx, Portal, Refusal};
use crate::server::{self, Response};
use crate::store::payments::Payment;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::StatusCode;
use serde_json::{json, Value};

pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    server::json(status, &json!({ "error": code, "message": message }))
}

fn refusal(r: Refusal) -> Response {
    error(r.status, r.code, &r.message)
}

/// `GET /api/packages`
pub async fn packages(p: &Portal) -> Response {
    match p.packages().await {
        Ok(list) => server::json(StatusCode::OK, &json!({ "packages": list })),
        Err(e) => {
            log::error!("portal: {e}");
            error(StatusCode::SERVICE_UNAVAILABLE, "internal", "try again")
        }
    }
}

/// `GET /api/status`: this phone's MAC and time left.
pub async fn status(p: &Portal, cx: &Ctx) -> Response {
    let mac = match p.device(cx).await {
        Ok(m) => m,
        Err(r) => return refusal(r),
    };
    match p.sessions.active(mac).await {
        Ok(s) => {
            let now = p.clock.now();
            let bytes_remaining = match &s {
                Some(s) => s.data_left(p.used(s).await),
                None => None,
            };
            server::json(
                StatusCode::OK,
                &json!({
                    "mac": mac,
                    "online": s.is_some(),
                    "seconds_remaining": s.as_ref().map_or(0, |s| s.seconds_left(now)),
                    "package": s.as_ref().and_then(|s| s.package_id),
                    "down_kbps": s.as_ref().map(|s| s.down),
                    "up_kbps": s.as_ref().map(|s| s.up),
                    "bytes_remaining": bytes_remaining,
                }),
            )
        }
        Err(e) => refusal(Refusal::internal(cx, &e)),
    }
}

/// `POST /api/pay {"package_id": 2, "phone": "0708374149"}` -> 202 with the payment.
pub async fn pay(p: &Portal, cx: &Ctx, body: Incoming) -> Response {
    let ask = match read_body(body).await.and_then(|b| Ok(pay_request(&b)?)) {
        Ok(a) => a,
        Err(r) => return refusal(r),
    };
    match p.start_payment(cx, ask.package_id, &ask.phone).await {
        Ok(pay) => server::json(StatusCode::ACCEPTED, &payment_json(&pay, cx)),
        Err(r) => refusal(r),
    }
}

/// `GET /api/pay/{id}`
pub async fn payment(p: &Portal, cx: &Ctx, id: &str) -> Response {
    match p.own_payment(cx, id).await {
        Ok(pay) => server::json(StatusCode::OK, &payment_json(&pay, cx)),
        Err(r) => refusal(r),
    }
}

/// `POST /api/voucher {"code": "ABCDE-FGH23"}`
pub async fn voucher(p: &Portal, cx: &Ctx, body: Incoming) -> Response {
    let code = match read_body(body).await.and_then(|b| Ok(voucher_request(&b)?)) {
        Ok(c) => c,
        Err(r) => return refusal(r),
    };
    match p.redeem(cx, &code).await {
        Ok(s) => server::json(
            StatusCode::OK,
            &json!({ "online": true, "seconds_remaining": s.seconds_left(p.clock.now()), "package": s.package_id }),
        ),
        Err(r) => refusal(r),
    }
}

/// `POST /api/reconnect {"code": "K7Q-3MP"}` (or an M-Pesa receipt): moves that session's time
/// to this phone.
pub async fn reconnect(p: &Portal, cx: &Ctx, body: Incoming) -> Response {
    let code = match read_body(body).await.and_then(|b| Ok(voucher_request(&b)?)) {
        Ok(c) => c,
        Err(r) => return refusal(r),
    };
    match p.reconnect(cx, &code).await {
        Ok(s) => {
            let code = s
                .code
                .clone()
                .map(|c| crate::reconnect::ReconnectCode::from_stored(c).to_string());
            server::json(
                StatusCode::OK,
                &json!({ "online": true, "seconds_remaining": s.seconds_left(p.clock.now()), "package": s.package_id, "code": code }),
            )
        }
        Err(r) => refusal(r),
    }
}

/// `GET /captive-portal/api` (RFC 8908).
pub async fn captive(p: &Portal, cx: &Ctx) -> Response {
    let url = portal_url(cx.peer.local);
    let session = match p.mac_of(cx.peer.remote.ip()).await {
        Some(mac) => p.sessions.active(mac).await.ok().flatten(),
        None => None,
    };
    let mut v =
        json!({ "captive": session.is_none(), "user-portal-url": url, "can-extend-session": true });
    if let Some(s) = session {
        v["seconds-remaining"] = json!(s.seconds_left(p.clock.now()));
        if let Some(left) = s.data_left(p.used(&s).await) {
            v["bytes-remaining"] = json!(left);
        }
    }
    let mut r = server::json(StatusCode::OK, &v);
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/captive+json"),
    );
    r
}

fn payment_json(p: &Payment, cx: &Ctx) -> Value {
    json!({
        "id": p.id,
        "state": p.state,
        "final": p.state.is_final(),
        "package_id": p.package_id,
        "amount_kes": p.amount,
        "result_code": p.result_code,
        "paid_late": p.paid_late_at.is_some(),
        "message": crate::payments::messages::for_payment(p, cx.lang),
    })
}

/// What `POST /api/pay` asks for. Fields that are missing or of the wrong type are left empty,
/// so the phone hears which one is wrong (`unknown_package`, `bad_phone`) rather than "bad JSON".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayRequest {
    /// `2` or `"2"`.
    pub package_id: Option<i64>,
    /// As typed (`"0708 374 149"`), or a JSON number; `Msisdn` judges it.
    pub phone: String,
}

/// A portal JSON body that is not a JSON object.
#[derive(Debug, thiserror::Error)]
pub enum BadJson {
    #[error("body is not JSON: {0}")]
    Syntax(#[from] serde_json::Error),
    #[error("expected a JSON object")]
    NotObject,
}

impl From<BadJson> for Refusal {
    fn from(e: BadJson) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, "bad_json", e.to_string())
    }
}

/// Reads the body of `POST /api/pay`: `{"package_id": 2, "phone": "0708374149"}`.
pub fn pay_request(body: &[u8]) -> Result<PayRequest, BadJson> {
    let body = json_object(body)?;
    let package_id = body
        .get("package_id")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
    let phone = match body.get("phone") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    Ok(PayRequest { package_id, phone })
}

/// Reads the body of `POST /api/voucher` and `POST /api/reconnect`: `{"code": "ABCDE-FGH23"}`;
/// the code as typed, or empty.
pub fn voucher_request(body: &[u8]) -> Result<String, BadJson> {
    let body = json_object(body)?;
    Ok(body
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string())
}

fn json_object(body: &[u8]) -> Result<Value, BadJson> {
    match serde_json::from_slice::<Value>(body)? {
        v @ Value::Object(_) => Ok(v),
        _ => Err(BadJson::NotObject),
    }
}
