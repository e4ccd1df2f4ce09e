//! The portal's HTML side: the page with packages, the pay and voucher forms, the payment page.
//! Works without JavaScript and cookies; every answer is a full page or a 303 to one.

use super::{Ctx, Portal, Refusal, BODY_LIMIT};
use crate::server::{self, Request, Response};
use hyper::StatusCode;

/// `GET /`: the shop, or "you are online" for a phone with time left.
pub async fn index(p: &Portal, cx: &Ctx) -> Response {
    let packages = match p.packages().await {
        Ok(x) => x,
        Err(e) => return page_refusal(p, cx, Refusal::internal(cx, &e)),
    };
    let f = p.frame(cx);
    let Some(mac) = p.mac_of(cx.peer.remote.ip()).await else {
        return server::html(
            StatusCode::OK,
            f.index(&packages, Some(cx.t().unknown_device), ""),
        );
    };
    match p.sessions.active(mac).await {
        Ok(Some(s)) => {
            let notice = server::form_value(&cx.query, "voucher").map(|_| cx.t().voucher_ok);
            server::html(
                StatusCode::OK,
                f.online(&s, p.clock.now(), &packages, notice),
            )
        }
        Ok(None) => server::html(StatusCode::OK, f.index(&packages, None, "")),
        Err(e) => page_refusal(p, cx, Refusal::internal(cx, &e)),
    }
}

/// `POST /pay` (form: package_id, phone): starts the payment, then shows its page.
pub async fn pay(p: &Portal, cx: &Ctx, req: Request) -> Response {
    let form = match read_form(req).await {
        Ok(f) => f,
        Err(r) => return page_refusal(p, cx, r),
    };
    let phone = server::form_value(&form, "phone").unwrap_or_default();
    let package = server::form_value(&form, "package_id").and_then(|v| v.parse().ok());
    match p.start_payment(cx, package, &phone).await {
        Ok(pay) => server::see_other(&format!("/pay/{}?lang={}", pay.id, cx.lang.code())),
        Err(r) => {
            let packages = p.packages().await.unwrap_or_default();
            server::html(
                r.status,
                p.frame(cx).index(&packages, Some(&r.message), &phone),
            )
        }
    }
}

/// `GET /pay/{id}`: waiting (refreshes itself), online, or why not.
pub async fn payment(p: &Portal, cx: &Ctx, id: &str) -> Response {
    match p.own_payment(cx, id).await {
        Ok(pay) => server::html(StatusCode::OK, p.frame(cx).payment(&pay)),
        Err(r) => page_refusal(p, cx, r),
    }
}

/// `POST /voucher` (form: code).
pub async fn voucher(p: &Portal, cx: &Ctx, req: Request) -> Response {
    let form = match read_form(req).await {
        Ok(f) => f,
        Err(r) => return page_refusal(p, cx, r),
    };
    let code = server::form_value(&form, "code").unwrap_or_default();
    match p.redeem(cx, &code).await {
        Ok(_) => server::see_other(&format!("/?lang={}&voucher=1", cx.lang.code())),
        Err(r) => {
            let packages = p.packages().await.unwrap_or_default();
            server::html(r.status, p.frame(cx).index(&packages, Some(&r.message), ""))
        }
    }
}

async fn read_form(req: Request) -> Result<Vec<(String, String)>, Refusal> {
    let body = server::read_body(req, BODY_LIMIT)
        .await
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()))?;
    Ok(server::form_pairs(&String::from_utf8_lossy(&body)))
}

fn page_refusal(p: &Portal, cx: &Ctx, r: Refusal) -> Response {
    server::html(r.status, p.frame(cx).message(&r.message))
}
