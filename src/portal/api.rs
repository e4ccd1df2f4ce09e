//! The portal's JSON API (for apps and tests) and the RFC 8908 captive-portal API.
//! Errors are `{"error": CODE, "message": WORDS}` with the status chosen in `Refusal`.

use super::{portal_url, Ctx, Portal, Refusal, BODY_LIMIT};
use crate::server::{self, Request, Response};
use crate::store::payments::Payment;
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
            server::json(
                StatusCode::OK,
                &json!({
                    "mac": mac,
                    "online": s.is_some(),
                    "seconds_remaining": s.as_ref().map_or(0, |s| s.seconds_left(now)),
                    "package": s.as_ref().and_then(|s| s.package_id),
                    "down_kbps": s.as_ref().map(|s| s.down),
                    "up_kbps": s.as_ref().map(|s| s.up),
                }),
            )
        }
        Err(e) => refusal(Refusal::internal(cx, &e)),
    }
}

/// `POST /api/pay {"package_id": 2, "phone": "0708374149"}` -> 202 with the payment.
pub async fn pay(p: &Portal, cx: &Ctx, req: Request) -> Response {
    let body = match read_json(req).await {
        Ok(v) => v,
        Err(r) => return refusal(r),
    };
    let package = body
        .get("package_id")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
    let phone = match body.get("phone") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    match p.start_payment(cx, package, &phone).await {
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
pub async fn voucher(p: &Portal, cx: &Ctx, req: Request) -> Response {
    let body = match read_json(req).await {
        Ok(v) => v,
        Err(r) => return refusal(r),
    };
    let code = body.get("code").and_then(Value::as_str).unwrap_or("");
    match p.redeem(cx, code).await {
        Ok(s) => server::json(
            StatusCode::OK,
            &json!({ "online": true, "seconds_remaining": s.seconds_left(p.clock.now()), "package": s.package_id }),
        ),
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
        "message": crate::payments::messages::for_customer(p.state, p.result_code, cx.lang),
    })
}

async fn read_json(req: Request) -> Result<Value, Refusal> {
    let body = server::read_body(req, BODY_LIMIT)
        .await
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()))?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            "expected a JSON object",
        )),
        Err(e) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("body is not JSON: {e}"),
        )),
    }
}
