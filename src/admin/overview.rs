//! The Overview tab: money taken today, in 7 and in 30 days (EAT days), the chart of the last
//! 30 days, who is online, how many payments succeed, and the last 10 payments.

use super::{chart, html, Admin, Answer, Ctx};
use crate::clock::{eat_day, eat_day_start, eat_display};
use crate::html::Html;
use crate::payments::Health;
use crate::store::payments::Payment;
use crate::store::reports;

/// How far back the chart and the figures look.
const DAYS: i64 = 30;

pub async fn show(a: &Admin, cx: &Ctx) -> Answer {
    let today = eat_day(cx.now);
    let since_week = eat_day_start(today - 6);
    let (days, week, recent) = a
        .store
        .call(move |c| {
            Ok((
                reports::revenue_per_day(c, today - (DAYS - 1), today)?,
                crate::store::payments::figures(c, since_week)?,
                crate::store::payments::recent(c, 10)?,
            ))
        })
        .await?;
    let online = a.sessions.online().await?.len();
    let traffic = a.usage.today().await?;
    let sum = |n: usize| -> u64 { days.iter().rev().take(n).map(|(_, k)| u64::from(k.0)).sum() };
    let finished = week.paid + week.cancelled + week.timeout + week.failed;
    let rate = if finished > 0 {
        format!("{:.1} %", week.success_pct)
    } else {
        "—".into()
    };
    let figure = |name: &str, num: &str, sub: Html| {
        html!(
            "<div class=\"figure\"><div class=\"name\">{}</div><div class=\"num\">{}</div><div class=\"sub\">{}</div></div>",
            name,
            num,
            sub
        )
    };
    let mut body = daraja_alert(&cx.settings.payments.health());
    if let Some(r) = &a.radius {
        let health = r.health().clone();
        body += radius_line(&r.config.server, &health, r.queued().await, cx.now);
    }
    body.push_markup("<div class=\"figures\">");
    body += figure(
        "Today",
        &html::kes(sum(1)),
        Html::text("since midnight (EAT)"),
    );
    body += figure(
        "Last 7 days",
        &html::kes(sum(7)),
        Html::text("today and the 6 days before"),
    );
    body += figure("Last 30 days", &html::kes(sum(30)), Html::new());
    body += figure(
        "Online now",
        &online.to_string(),
        html!("<a href=\"/clients\">see who</a>"),
    );
    body += figure(
        "Traffic today",
        &crate::units::ByteCount(traffic.total()).to_string(),
        Html::text(&format!(
            "{} down, {} up",
            crate::units::ByteCount(traffic.down),
            crate::units::ByteCount(traffic.up)
        )),
    );
    body += figure(
        "Payment success",
        &rate,
        Html::text(&format!(
            "{} paid of {finished} finished in 7 days{}{}",
            week.paid,
            if week.pending > 0 {
                format!(", {} waiting", week.pending)
            } else {
                String::new()
            },
            week.median_confirm_s.map_or(String::new(), |m| format!(
                "; confirmed in {m:.0} s (median)"
            ))
        )),
    );
    body.push_markup("</div>");
    body += html::section(
        "Revenue per day, last 30 days",
        &(chart::revenue(&days) + last_week(&days)),
    );
    body += html::section(
        "Last 10 payments",
        &(payment_table(&recent, Phones::Masked)
            + html!("<p><a href=\"/payments\">All payments and CSV export →</a></p>")),
    );
    Ok(a.page(
        cx,
        "/",
        "Overview",
        html!("Money taken and who is online. Days run from midnight to midnight, Nairobi time."),
        &body,
    ))
}

/// The payments table shared with the Payments tab (phones masked).
/// How phone numbers appear: whole on the Payments tab (to match the M-Pesa statement), masked
/// in summaries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Phones {
    Whole,
    Masked,
}

/// The first columns of every table of payments.
pub const PAYMENT_COLUMNS: [&str; 6] = ["##", "Time (EAT)", "Phone", "Package", "#Amount", "State"];

pub fn payment_table(list: &[Payment], phones: Phones) -> Html {
    let rows: Vec<Vec<Html>> = list
        .iter()
        .map(|p| {
            vec![
                html!("{}", p.id),
                Html::text(&eat_display(p.created_at)),
                html::mono(match phones {
                    Phones::Whole => p.phone.as_str().to_string(),
                    Phones::Masked => p.phone.masked(),
                }),
                Html::text(&p.package_name),
                Html::text(&html::kes(u64::from(p.amount.0))),
                match p.paid_late_at {
                    Some(_) => html!("{} {}", html::label(p.state.as_str()), html::label("late")),
                    None => html::label(p.state.as_str()),
                },
                p.receipt.as_deref().map_or(Html::text("—"), html::mono),
                Html::text(p.result_desc.as_deref().unwrap_or("")),
                html::mono(p.mac),
            ]
        })
        .collect();
    html::table(
        &[&PAYMENT_COLUMNS[..], &["Receipt", "Daraja said", "Device"]].concat(),
        &rows,
        "No payments yet.",
    )
}

/// What the owner must know about the M-Pesa settings, as an alert (empty when all is well).
pub fn daraja_alert(h: &Health) -> Html {
    match h {
        Health::NotSetUp { missing } => html::alert(
            "warning",
            &format!(
                "M-Pesa is not set up ({} empty): the portal offers vouchers only. Fill them in under Settings.",
                missing.join(", ")
            ),
        ),
        Health::Refused { reason, .. } => html::alert(
            "error",
            &format!(
                "M-Pesa payments fail because {}: fix it under Settings. (Daraja said: {reason})",
                field_to_fix(reason)
            ),
        ),
        Health::Unreachable { reason, .. } => html::alert(
            "warning",
            &format!("Daraja could not be reached to check the M-Pesa settings ({reason}); Lango keeps trying."),
        ),
        Health::Ok { .. } | Health::Unchecked => Html::new(),
    }
}

/// RADIUS at a glance: when the server last accepted a code and last answered accounting, and
/// what waits to be sent. A queue the server has not answered for 5 minutes is a warning.
fn radius_line(
    server: &std::net::IpAddr,
    h: &crate::radius::Health,
    queued: u64,
    now: i64,
) -> Html {
    let when = |t: Option<i64>| t.map_or("never".into(), crate::clock::eat_display);
    let text = format!(
        "RADIUS server {server}: last accept {} · last accounting answer {} · {queued} accounting records waiting",
        when(h.last_accept),
        when(h.last_acct_answer)
    );
    let stale = h.last_acct_answer.is_none_or(|t| now - t > 300);
    if queued > 0 && stale {
        html::alert(
            "warning",
            &format!("{text}. The server is not answering; records are kept until it does."),
        )
    } else {
        html!("<p class=\"radius-health\">{}</p>", text)
    }
}

/// Which setting a Daraja refusal points at, in one plain clause, from the words it carries
/// (the OAuth refusal, ResultCode 2028, Daraja's error messages).
fn field_to_fix(reason: &str) -> &'static str {
    let r = reason.to_ascii_lowercase();
    if r.contains("consumer key") || r.contains("credentials") || r.contains("oauth") {
        "Daraja refused the Consumer key or Consumer secret (or they belong to the other environment)"
    } else if r.contains("password") || r.contains("passkey") {
        "Daraja refused the Passkey"
    } else if r.contains("2028") || r.contains("partyb") || r.contains("shortcode") {
        "the Shortcode does not match its Type (Paybill or Till) or the Till number"
    } else if r.contains("callback") {
        "Daraja refused the Callback URL"
    } else {
        "Daraja refused the M-Pesa settings"
    }
}

/// The chart's last 7 days as a table under it, newest first: the values read without hovering.
fn last_week(days: &[(i64, crate::units::Kes)]) -> Html {
    let rows: Vec<Vec<Html>> = days
        .iter()
        .rev()
        .take(7)
        .map(|(day, k)| {
            vec![
                Html::text(&crate::clock::eat_date(*day)),
                Html::text(&html::kes(u64::from(k.0))),
            ]
        })
        .collect();
    html::table(&["Day", "#Revenue"], &rows, "No days yet")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daraja_refusal_names_the_field_to_fix() {
        assert!(
            field_to_fix("STK push: OAuth: Daraja refused the consumer key/secret (HTTP 400)")
                .contains("Consumer key")
        );
        assert!(
            field_to_fix("ResultCode 2028: SETUP ERROR: shortcode type / PartyB mismatch")
                .contains("Shortcode does not match")
        );
        assert!(
            field_to_fix("M-Pesa refused: 400.002.02 Bad Request - Invalid Password")
                .contains("Passkey")
        );
        assert_eq!(
            field_to_fix("something new"),
            "Daraja refused the M-Pesa settings"
        );
    }
}
