//! The Payments tab's Attention list: what the owner must match against the M-Pesa statement.
//! Payments that ended unpaid where money may have moved (timeout, a lost answer), each with a
//! one-click "Grant what was paid" that records who, when and why; and the recoveries of the
//! last weeks (late confirmations, reconnects, the owner's grants) to read.
//! Touches: the store (read), sessions (to grant). Never: SQL, the kernel.

use super::auth::Notice;
use super::overview::PAYMENT_COLUMNS;
use super::{html, value, Admin, Answer, Ctx, Failure};
use crate::clock::eat_display;
use crate::html::Html;
use crate::store::payments::PaymentState;
use crate::store::rechecks::{self, Recheck, RecheckState};
use crate::store::{events, payments, reports};

/// How far back the list looks.
const LOOKBACK_S: i64 = 30 * 86_400;
/// Rows in each table at most.
const ROWS: u32 = 100;
/// Event kinds shown as recoveries.
const RECOVERIES: &[&str] = &[
    "payment.paid_late",
    "payment.owner_grant",
    "session.moved",
    "payment.recheck_expired",
];
/// What the reason field holds until the owner writes their own.
const DEFAULT_WHY: &str = "found on the M-Pesa statement";
/// A reason is a line, not an essay.
const MAX_WHY: usize = 200;

/// The Attention section, as HTML.
pub async fn section(a: &Admin, cx: &Ctx) -> Result<Html, Failure> {
    let since = cx.now - LOOKBACK_S;
    let (open, recovered) = a
        .store
        .call(move |c| {
            let open = reports::attention(c, since, ROWS)?
                .into_iter()
                .map(|p| {
                    let r = rechecks::get(c, p.id)?;
                    Ok((p, r))
                })
                .collect::<crate::store::Result<Vec<_>>>()?;
            Ok((open, events::recent(c, RECOVERIES, since, ROWS)?))
        })
        .await?;
    let rows: Vec<Vec<Html>> = open
        .iter()
        .map(|(p, r)| {
            let form = html!(
                "<form class=\"button\" method=\"post\" action=\"/payments/grant\" data-confirm=\"Grant {} of {} to {} and count {} as paid?\">{}<input type=\"hidden\" name=\"id\" value=\"{}\"><input type=\"text\" name=\"why\" value=\"{}\" maxlength=\"{}\" aria-label=\"Why\" required><button class=\"cbi-button cbi-button-apply\" type=\"submit\">Grant what was paid</button></form>",
                html::duration(u64::from(p.duration_s)),
                p.package_name,
                p.mac,
                html::kes(u64::from(p.amount.0)),
                html::csrf_field(&cx.session.csrf),
                p.id,
                DEFAULT_WHY,
                MAX_WHY
            );
            vec![
                html!("{}", p.id),
                Html::text(&eat_display(p.created_at)),
                html::mono(p.phone.as_str()),
                Html::text(&p.package_name),
                Html::text(&html::kes(u64::from(p.amount.0))),
                html::label(p.state.as_str()),
                Html::text(&status(p.result_desc.as_deref(), r.as_ref(), cx.now)),
                html::mono(p.mac),
                form,
            ]
        })
        .collect();
    let table = html::table(
        &[&PAYMENT_COLUMNS[..], &["What is known", "Device", ""]].concat(),
        &rows,
        "Nothing to check: every payment of the last 30 days was answered by M-Pesa.",
    );
    let log: Vec<Vec<Html>> = recovered
        .iter()
        .map(|e| {
            vec![
                Html::text(&eat_display(e.at)),
                Html::text(recovery(&e.kind)),
                e.payment_id.map_or(Html::text("—"), |id| html!("{}", id)),
                e.mac.as_deref().map_or(Html::text("—"), html::mono),
                Html::text(&e.detail),
            ]
        })
        .collect();
    let log = html::table(
        &["Time (EAT)", "What", "#Payment", "Device", "Detail"],
        &log,
        "No late confirmations, reconnects or grants in the last 30 days.",
    );
    Ok(html!(
        "<p class=\"cbi-section-descr\">Payments of the last 30 days that ended unpaid although money may have moved. Lango keeps asking M-Pesa about a timed-out payment for a day; if the M-Pesa statement shows the money, grant what was paid: the payment counts as paid and its device gets the time it bought.</p>{}<h4>Recoveries</h4>{}",
        table,
        log
    ))
}

/// What is known about an unpaid payment, for the owner.
fn status(desc: Option<&str>, r: Option<&Recheck>, now: i64) -> String {
    let desc = desc.unwrap_or("");
    match r {
        Some(r) if r.state == RecheckState::Open => format!(
            "{desc}; M-Pesa is asked again at {} ({} checks so far)",
            eat_display(r.next_at.max(now)),
            r.attempts
        ),
        Some(r) if r.state == RecheckState::Expired => {
            format!("{desc}; M-Pesa never confirmed it in a day of checks")
        }
        _ => desc.to_string(),
    }
}

fn recovery(kind: &str) -> &'static str {
    match kind {
        "payment.paid_late" => "paid late",
        "payment.owner_grant" => "granted by the owner",
        "session.moved" => "time moved (reconnect)",
        "payment.recheck_expired" => "never confirmed",
        _ => "other",
    }
}

/// `POST /payments/grant` (id, why): the payment becomes paid and its device gets its time.
pub async fn grant(a: &Admin, cx: &Ctx, form: &[(String, String)]) -> Answer {
    let id: i64 = value(form, "id").parse().map_err(|_| {
        Failure::BadRequest(format!(
            "payment id {:?} is not a number",
            value(form, "id")
        ))
    })?;
    let why: String = value(form, "why")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_WHY)
        .collect();
    if why.is_empty() {
        return Ok(a.done(
            cx,
            Notice::Warning("Say why (e.g. the M-Pesa receipt) before granting.".into()),
            "/payments",
        ));
    }
    let Some(p) = a.store.call(move |c| payments::get(c, id)).await? else {
        return Err(Failure::NotFound);
    };
    if p.state == PaymentState::Paid {
        return Ok(a.done(
            cx,
            Notice::Warning(format!(
                "Payment {id} is paid already; nothing was granted."
            )),
            "/payments",
        ));
    }
    let who = format!("the owner from {}", cx.from);
    let granted = a.sessions.settle_by_owner(id, who, why.clone()).await?;
    Ok(match granted {
        Some(s) => {
            log::info!("admin: granted payment {id} by hand mac={} ({why})", p.mac);
            a.done(
                cx,
                Notice::Done(format!(
                    "Payment {id} counted as paid ({}); {} is online: {} left.",
                    html::kes(u64::from(p.amount.0)),
                    p.mac,
                    html::duration(s.seconds_left(cx.now))
                )),
                "/payments",
            )
        }
        None => a.done(
            cx,
            Notice::Warning(format!(
                "Payment {id} is {} and cannot be granted by hand.",
                p.state.as_str()
            )),
            "/payments",
        ),
    })
}
