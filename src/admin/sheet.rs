//! A voucher batch on paper and in a spreadsheet: the A4 sheet of cards with dashed cut lines
//! (site name, package, price, code; only unused codes) and the batch's CSV.
//! Touches: nothing (pure rendering).

use super::csv::Csv;
use super::html;
use crate::clock::{eat_date, eat_day, eat_display};
use crate::html::Html;
use crate::server::{self, Response};
use crate::store::packages::Package;
use crate::store::vouchers::{Voucher, VoucherState};
use crate::voucher::VoucherCode;
use hyper::StatusCode;

pub const PRINT_CSS: &str = include_str!("../../www/admin/print.css");
const PRINT: &str = include_str!("../../www/admin/print.html");
/// Cards on one A4 page: 3 across, 8 down.
const PER_PAGE: usize = 24;

/// A stored code as printed: `ABCDE-FGH23`.
pub fn printed(code: &str) -> String {
    VoucherCode::parse(code).map_or(code.to_string(), |c| c.to_string())
}

/// The A4 sheet: site name, package, price and code on each card; the browser prints it.
pub fn print(site: &str, batch: &str, codes: &[Voucher], package: Option<&Package>) -> Response {
    let (pkg, price) = package.map_or((String::new(), String::new()), |p| {
        (
            format!(
                "{} · {} at {}",
                p.name,
                html::duration(u64::from(p.duration_s)),
                p.down
            ),
            format!("KES {}", p.price.0),
        )
    });
    let valid = codes[0].expires_at.map_or(String::new(), |e| {
        format!("use by {}", eat_date(eat_day(e - 1)))
    });
    // How to use it, for whoever picks the card up, in English and Swahili.
    let how = html!(
        "Join the Wi-Fi {}, open any page, enter this code.<br>Jiunge na Wi-Fi {}, fungua ukurasa wowote, weka namba hii.",
        site,
        site
    );
    let unused: Vec<&Voucher> = codes
        .iter()
        .filter(|v| v.state == VoucherState::Unused)
        .collect();
    let mut pages = Html::new();
    for page in unused.chunks(PER_PAGE) {
        pages.push_markup("<section class=\"page\">");
        for v in page {
            pages += html!(
                "<div class=\"card\"><div class=\"site\">{}</div><div class=\"pkg\">{}</div><div class=\"code\">{}</div><div class=\"how\">{}</div><div class=\"foot\"><span class=\"price\">{}</span><span>{}</span></div></div>",
                site,
                pkg,
                printed(&v.code),
                how,
                price,
                valid
            );
        }
        pages.push_markup("</section>");
    }
    let body = crate::portal::fill(
        PRINT,
        &[
            ("batch", &Html::text(batch)),
            ("site", &Html::text(site)),
            ("count", &html!("{}", unused.len())),
            ("package", &Html::text(&pkg)),
            ("pages", &pages),
            ("css_v", &Html::text(&html::asset_version(PRINT_CSS))),
            ("js_v", &Html::text(&html::asset_version(html::JS))),
        ],
    );
    server::html(StatusCode::OK, body)
}

pub fn csv(batch: &str, codes: &[Voucher], package: Option<&Package>) -> Response {
    let mut out = Csv::new(&[
        "code",
        "package",
        "price_kes",
        "state",
        "valid_until",
        "used_by",
        "used_at (EAT)",
    ]);
    for v in codes {
        out.row([
            printed(&v.code),
            package.map_or(String::new(), |p| p.name.clone()),
            package.map_or(String::new(), |p| p.price.0.to_string()),
            v.state.as_str().to_string(),
            v.expires_at
                .map_or(String::new(), |e| eat_date(eat_day(e - 1))),
            v.used_by_mac.map_or(String::new(), |m| m.to_string()),
            v.used_at.map_or(String::new(), eat_display),
        ]);
    }
    out.into_response(&format!("lango-vouchers-{batch}.csv"))
}
