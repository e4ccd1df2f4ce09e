//! The Overview tab: money taken today, in 7 and in 30 days (EAT days), the chart of the last
//! 30 days, who is online, how many payments succeed, and the last 10 payments.

use super::{chart, html, Admin, Answer, Ctx};
use crate::clock::{eat_day, eat_day_start, eat_display};
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
                reports::outcomes(c, since_week)?,
                crate::store::payments::recent(c, 10)?,
            ))
        })
        .await?;
    let online = a.sessions.online().await?.len();
    let sum = |n: usize| -> u64 { days.iter().rev().take(n).map(|(_, k)| u64::from(k.0)).sum() };
    let rate = match week.success_percent() {
        Some(p) => format!("{p} %"),
        None => "—".into(),
    };
    let figure = |name: &str, num: &str, sub: &str| {
        format!(
            "<div class=\"figure\"><div class=\"name\">{name}</div><div class=\"num\">{num}</div><div class=\"sub\">{sub}</div></div>"
        )
    };
    let mut body = String::from("<div class=\"figures\">");
    body += &figure("Today", &html::kes(sum(1)), "since midnight (EAT)");
    body += &figure(
        "Last 7 days",
        &html::kes(sum(7)),
        "today and the 6 days before",
    );
    body += &figure("Last 30 days", &html::kes(sum(30)), "");
    body += &figure(
        "Online now",
        &online.to_string(),
        "<a href=\"/clients\">see who</a>",
    );
    body += &figure(
        "Payment success",
        &rate,
        &format!(
            "{} paid of {} finished in 7 days{}",
            week.paid,
            week.paid + week.unpaid,
            if week.pending > 0 {
                format!(", {} waiting", week.pending)
            } else {
                String::new()
            }
        ),
    );
    body += "</div>";
    body += &html::section("Revenue per day, last 30 days", &chart::revenue(&days));
    body += &html::section(
        "Last 10 payments",
        &(payment_table(&recent)
            + "<p><a href=\"/payments\">All payments and CSV export →</a></p>"),
    );
    Ok(a.page(
        cx,
        "/",
        "Overview",
        "Money taken and who is online. Days run from midnight to midnight, Nairobi time.",
        &body,
    ))
}

/// The payments table shared with the Payments tab (phones masked).
pub fn payment_table(list: &[Payment]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            vec![
                p.id.to_string(),
                eat_display(p.created_at),
                format!("<span class=\"mono\">{}</span>", p.phone.masked()),
                crate::server::escape(&p.package_name),
                html::kes(u64::from(p.amount.0)),
                html::label(p.state.as_str()),
                p.receipt.as_deref().map_or("—".into(), |r| {
                    format!("<span class=\"mono\">{}</span>", crate::server::escape(r))
                }),
                crate::server::escape(p.result_desc.as_deref().unwrap_or("")),
                format!("<span class=\"mono\">{}</span>", p.mac),
            ]
        })
        .collect();
    html::table(
        &[
            "##",
            "Time (EAT)",
            "Phone",
            "Package",
            "#Amount",
            "State",
            "Receipt",
            "Daraja said",
            "Device",
        ],
        &rows,
        "No payments yet.",
    )
}
