//! The Payments tab: every STK push with its outcome and M-Pesa receipt, filtered by state,
//! phone and dates (EAT), and the same list as CSV, with whole phone numbers so the owner can
//! match them to the M-Pesa statement (logs and summaries keep them masked); and the Attention
//! list (`attention.rs`).

use super::csv::Csv;
use super::overview::{payment_table, Phones};
use super::{html, Admin, Answer, Ctx};
use crate::clock::{eat_date, eat_day, eat_display, parse_eat_date};
use crate::html::Html;
use crate::store::payments::PaymentState;
use crate::store::reports::{self, Filter};

/// Rows on the page; the CSV has them all (up to `CSV_ROWS`).
const PAGE_ROWS: u32 = 200;
/// A year of a busy hotspot; more would not fit a router's memory in one answer.
const CSV_ROWS: u32 = 100_000;
const STATES: &[&str] = &[
    "created",
    "pushed",
    "paid",
    "failed",
    "cancelled",
    "timeout",
];

/// The filter from the query string, and the words for any part of it that was not understood.
fn filter(cx: &Ctx) -> (Filter, Vec<(&'static str, String)>) {
    let mut errors = vec![];
    let mut f = Filter {
        state: cx.q("state").parse::<PaymentState>().ok(),
        phone: cx.q("phone").chars().take(32).collect(),
        ..Default::default()
    };
    for (key, slot) in [("from", &mut f.from_day), ("to", &mut f.to_day)] {
        let v = cx.q(key);
        if v.is_empty() {
            continue;
        }
        match parse_eat_date(&v) {
            Some(d) => *slot = Some(d),
            None => errors.push((key, "A date looks like 2025-01-31.".to_string())),
        }
    }
    if let (Some(from), Some(to)) = (f.from_day, f.to_day) {
        if from > to {
            errors.push(("to", "The To date is before the From date.".to_string()));
        }
    }
    (f, errors)
}

/// The filter form, folded away behind a button on a phone (open when a filter is in use); no
/// JavaScript: a checkbox and its label do the folding.
fn fold(form: &Html, open: bool) -> Html {
    html!(
        "<input type=\"checkbox\" id=\"filter-open\" class=\"fold-toggle\"{}><label class=\"fold-label cbi-button\" for=\"filter-open\">Show the filter</label><div class=\"fold\">{}</div>",
        if open { " checked" } else { "" },
        form
    )
}

/// `GET /payments`.
pub async fn show(a: &Admin, cx: &Ctx) -> Answer {
    let (f, errors) = filter(cx);
    let q = f.clone();
    let (list, (count, paid)) = a
        .store
        .call(move |c| Ok((reports::search(c, &q, PAGE_ROWS)?, reports::count(c, &q)?)))
        .await?;
    let err = |k: &str| {
        errors
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, m)| m.as_str())
    };
    let mut states = vec![(String::new(), "any".to_string())];
    states.extend(STATES.iter().map(|s| (s.to_string(), s.to_string())));
    let date = |k: &str| {
        let v = cx.q(k);
        html::input("date", k, &v, &Html::new())
    };
    let form = html!(
        "<form method=\"get\" action=\"/payments\">{}{}{}{}<div class=\"cbi-page-actions\"><a class=\"cbi-button\" href=\"/payments\">Clear</a><button class=\"cbi-button cbi-button-apply\" type=\"submit\">Filter</button></div></form>",
        html::field(
            "state",
            "State",
            &html::select("state", &states, f.state.map_or("", |s| s.as_str())),
            &Html::new(),
            None
        ),
        html::field(
            "phone",
            "Phone",
            &html::input("text", "phone", &f.phone, &html!("placeholder=\"0712 345 678 or the last digits\"")),
            &html!("A whole number in any form, or some of its digits."),
            None
        ),
        html::field("from", "From", &date("from"), &Html::new(), err("from")),
        html::field("to", "To", &date("to"), &html!("Days in Nairobi time, both included."), err("to")),
    );
    let query = cx
        .query
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let shown = match count {
        n if n > u64::from(PAGE_ROWS) => {
            format!("The newest {PAGE_ROWS} of {n} payments; the CSV has them all.")
        }
        1 => "1 payment.".to_string(),
        n => format!("{n} payments."),
    };
    let list_html = if !errors.is_empty() {
        html!("<p class=\"cbi-section-descr\">Fix the filter above to see payments.</p>")
    } else {
        html!(
            "<p class=\"cbi-section-descr\">{} Paid among them: <b>{}</b>.</p>{}<div class=\"cbi-page-actions\"><a class=\"cbi-button cbi-button-apply\" href=\"/payments.csv?{}\" download>Export CSV</a></div>",
            shown,
            html::kes(u64::from(paid.0)),
            payment_table(&list, Phones::Whole),
            query
        )
    };
    let attention = super::attention::section(a, cx).await?;
    let body = html::section("Attention", &attention)
        + html::section("Filter", &fold(&form, !cx.query.is_empty()))
        + html::section("Payments", &list_html);
    Ok(a.page(
        cx,
        "/payments",
        "Payments",
        html!("Every M-Pesa payment started on the portal, newest first, with Daraja's answer and the M-Pesa receipt number."),
        &body,
    ))
}

/// `GET /payments.csv` with the same filter.
pub async fn csv(a: &Admin, cx: &Ctx) -> Answer {
    let (f, _) = filter(cx);
    let list = a
        .store
        .call(move |c| reports::search(c, &f, CSV_ROWS))
        .await?;
    let mut out = Csv::new(&[
        "id",
        "created (EAT)",
        "updated (EAT)",
        "phone",
        "package",
        "amount_kes",
        "state",
        "result_code",
        "result",
        "receipt",
        "device",
        "checkout_request_id",
        "paid_late (EAT)",
    ]);
    for p in list {
        out.row([
            p.id.to_string(),
            eat_display(p.created_at),
            eat_display(p.updated_at),
            p.phone.as_str().to_string(),
            p.package_name,
            p.amount.0.to_string(),
            p.state.as_str().to_string(),
            p.result_code.map_or(String::new(), |c| c.to_string()),
            p.result_desc.unwrap_or_default(),
            p.receipt.unwrap_or_default(),
            p.mac.to_string(),
            p.checkout_request_id.unwrap_or_default(),
            p.paid_late_at.map_or(String::new(), eat_display),
        ]);
    }
    Ok(out.into_response(&format!("lango-payments-{}.csv", eat_date(eat_day(cx.now)))))
}

/// Percent-encodes a query value (everything but unreserved characters).
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_encoded() {
        assert_eq!(super::urlencode("+254 7&x=1"), "%2B254%207%26x%3D1");
    }
}
