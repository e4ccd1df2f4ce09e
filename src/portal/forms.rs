//! The portal's HTML side: the page with packages, the pay and voucher forms, the payment page.
//! Works without JavaScript and cookies; every answer is a full page or a 303 to one.

use super::pages::{About, Chosen};
use super::{read_body, Ctx, PayRequest, Portal, Refusal};
use crate::server::{self, Response};
use crate::sessions::Standing;
use hyper::body::Incoming;
use hyper::StatusCode;

/// `GET /`: the shop, or "you are online" for a phone with time left.
pub async fn index(p: &Portal, cx: &Ctx) -> Response {
    let f = p.frame(cx);
    let mac = p.mac_of(cx.peer.remote.ip()).await;
    // The packages and where the phone stands, in one trip to the database: a crowd of
    // phones opening the page at once queues for it once each, not twice.
    let looked = p
        .store
        .read(move |c| {
            let latest = mac
                .map(|m| crate::store::sessions::latest_for(c, m))
                .transpose()?;
            Ok((crate::store::packages::active(c)?, latest.flatten()))
        })
        .await;
    let (packages, latest) = match looked {
        Ok(x) => x,
        Err(e) => return page_refusal(p, cx, Refusal::internal(cx, &e)),
    };
    let Some(mac) = mac else {
        let chosen = Chosen {
            error: Some((cx.t().unknown_device, About::Page)),
            ..Chosen::default()
        };
        return server::html(StatusCode::OK, f.index(&packages, &chosen));
    };
    // Back from "Try again" or "Change number": the same package (and number) chosen.
    let package = server::form_value(&cx.query, "package").and_then(|v| v.parse().ok());
    let phone = server::form_value(&cx.query, "phone").unwrap_or_default();
    let chosen = Chosen {
        package,
        phone: &phone,
        error: None,
    };
    match Standing::of(latest, p.clock.now()) {
        Standing::Online(mut s) => {
            let now = p.clock.now();
            s.used = p.used(&s).await;
            let asked = |k| server::form_value(&cx.query, k).is_some();
            let notice = if asked("voucher") {
                Some(cx.t().voucher_ok)
            } else if asked("moved") {
                Some(cx.t().moved_ok)
            } else {
                p.paid_late_notice(mac, now, cx).await
            };
            let how = p.how_paid(&s, cx).await;
            let page = f.online(&s, now, &packages, notice, how.as_deref(), &chosen);
            server::html(StatusCode::OK, page)
        }
        Standing::DataUsedUp => {
            let chosen = Chosen {
                error: Some((cx.t().data_used_up, About::Page)),
                ..chosen
            };
            server::html(StatusCode::OK, f.index(&packages, &chosen))
        }
        Standing::Captive if package.is_none() && phone.is_empty() => {
            server::html_shared(StatusCode::OK, p.pages.shop(&cx.settings, &f, &packages))
        }
        Standing::Captive => server::html(StatusCode::OK, f.index(&packages, &chosen)),
    }
}

/// `POST /pay` (form: package_id, phone): starts the payment, then shows its page.
pub async fn pay(p: &Portal, cx: &Ctx, body: Incoming) -> Response {
    let PayRequest { package_id, phone } = match read_body(body).await {
        Ok(body) => pay_form(&body),
        Err(r) => return page_refusal(p, cx, r),
    };
    match p.start_payment(cx, package_id, &phone).await {
        Ok(pay) => server::see_other(&format!("/pay/{}?lang={}", pay.id, cx.lang.code())),
        Err(r) => {
            let packages = p.packages().await.unwrap_or_default();
            let chosen = Chosen {
                package: package_id,
                phone: &phone,
                error: Some((&r.message, r.about)),
            };
            server::html(r.status, p.frame(cx).index(&packages, &chosen))
        }
    }
}

/// `POST /pay/{id}/cancel`: "No prompt? Change number". Ends the attempt in Lango and goes back
/// to the shop with the same package chosen.
pub async fn cancel(p: &Portal, cx: &Ctx, id: &str) -> Response {
    let pay = match p.own_payment(cx, id).await {
        Ok(pay) => pay,
        Err(r) => return page_refusal(p, cx, r),
    };
    if let Err(e) = cx.settings.payments.abandon(pay.id).await {
        return page_refusal(p, cx, Refusal::internal(cx, &e));
    }
    server::see_other(&format!(
        "/?lang={}&package={}",
        cx.lang.code(),
        pay.package_id
    ))
}

/// `GET /pay/{id}`: waiting (refreshes itself), online, or why not.
pub async fn payment(p: &Portal, cx: &Ctx, id: &str) -> Response {
    match p.own_payment(cx, id).await {
        Ok(pay) => server::html(StatusCode::OK, p.frame(cx).payment(&pay, p.clock.now())),
        Err(r) => page_refusal(p, cx, r),
    }
}

/// `POST /voucher` (form: code).
pub async fn voucher(p: &Portal, cx: &Ctx, body: Incoming) -> Response {
    match read_body(body).await {
        Ok(body) => {
            let done = p.redeem(cx, &voucher_form(&body)).await.map(drop);
            after_code(p, cx, done, "voucher").await
        }
        Err(r) => page_refusal(p, cx, r),
    }
}

/// `POST /reconnect` (form: code): a reconnect code or M-Pesa receipt moves its time here.
pub async fn reconnect(p: &Portal, cx: &Ctx, body: Incoming) -> Response {
    match read_body(body).await {
        Ok(body) => {
            let done = p.reconnect(cx, &voucher_form(&body)).await.map(drop);
            after_code(p, cx, done, "moved").await
        }
        Err(r) => page_refusal(p, cx, r),
    }
}

/// After a typed code: the online page with the notice `flag` selects, or the shop saying why not.
async fn after_code(p: &Portal, cx: &Ctx, done: Result<(), Refusal>, flag: &str) -> Response {
    match done {
        Ok(()) => server::see_other(&format!("/?lang={}&{flag}=1", cx.lang.code())),
        Err(r) => {
            let packages = p.packages().await.unwrap_or_default();
            // Words about the code stand next to the field it was typed in.
            let about = match (r.about, flag) {
                (About::Page, _) if r.code == "unknown_device" || r.code == "internal" => {
                    About::Page
                }
                (_, "voucher") => About::Voucher,
                _ => About::Reconnect,
            };
            let chosen = Chosen {
                error: Some((&r.message, about)),
                ..Chosen::default()
            };
            server::html(r.status, p.frame(cx).index(&packages, &chosen))
        }
    }
}

/// Reads the body of `POST /pay` (form: `package_id`, `phone`); what is missing is left empty.
pub fn pay_form(body: &[u8]) -> PayRequest {
    let form = server::form_pairs(&String::from_utf8_lossy(body));
    PayRequest {
        package_id: server::form_value(&form, "package_id").and_then(|v| v.parse().ok()),
        phone: server::form_value(&form, "phone").unwrap_or_default(),
    }
}

/// Reads the body of `POST /voucher` and `POST /reconnect` (form: `code`); the code as typed,
/// or empty.
pub fn voucher_form(body: &[u8]) -> String {
    let form = server::form_pairs(&String::from_utf8_lossy(body));
    server::form_value(&form, "code").unwrap_or_default()
}

fn page_refusal(p: &Portal, cx: &Ctx, r: Refusal) -> Response {
    server::html(r.status, p.frame(cx).message(&r.message))
}
