//! The Vouchers tab: draw a batch for a package (up to 1000, with an optional last day), list
//! batches and their codes, revoke; the print sheet and CSV are in `sheet`.

use super::auth::Notice;
use super::sheet::{self, printed};
use super::{html, value, Admin, Answer, Ctx, Failure};
use crate::clock::{eat_date, eat_day, eat_day_start, eat_display, parse_eat_date};
use crate::html::Html;
use crate::owner::{self, MAX_VOUCHERS};
use crate::store::packages::Package;
use crate::store::vouchers::{self, Voucher, VoucherState};
use hyper::StatusCode;

/// Batches listed on the tab.
const BATCHES_SHOWN: u32 = 100;

/// The generate form as typed.
#[derive(Default)]
pub struct GenForm {
    package: String,
    count: String,
    expires: String,
    errors: Vec<(&'static str, String)>,
}

/// A batch id as `ctl::generate_batch` draws it: digits, a dash, hex.
fn batch_id(s: &str) -> Option<&str> {
    (!s.is_empty() && s.len() <= 40 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
        .then_some(s)
}

/// `GET /vouchers`.
pub async fn list(a: &Admin, cx: &Ctx, g: Option<GenForm>) -> Answer {
    let (batches, packages) = a
        .store
        .call(|c| {
            Ok((
                vouchers::batches(c, BATCHES_SHOWN)?,
                crate::store::packages::all(c)?,
            ))
        })
        .await?;
    let g = g.unwrap_or_default();
    let err = |k: &str| {
        g.errors
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, m)| m.as_str())
    };
    let options: Vec<(String, String)> = packages
        .iter()
        .map(|p| {
            (
                p.id.to_string(),
                format!(
                    "{} — {}{}, {}, KES {}{}",
                    p.name,
                    html::bundle(p),
                    html::duration(u64::from(p.duration_s)),
                    p.down,
                    p.price.0,
                    if p.active { "" } else { " (off sale)" }
                ),
            )
        })
        .collect();
    let form = html!(
        "<form method=\"post\" action=\"/vouchers\">{}{}{}{}<div class=\"cbi-page-actions\"><button class=\"cbi-button cbi-button-apply\" type=\"submit\">Generate</button></div></form>",
        html::csrf_field(&cx.session.csrf),
        html::field("package", "Package", &html::select("package", &options, &g.package), &html!("Each code gives this package's time and speed, once."), err("package")),
        html::field(
            "count",
            "How many",
            &html::input("number", "count", if g.count.is_empty() { "24" } else { &g.count }, &html!("min=\"1\" max=\"{}\" required", MAX_VOUCHERS)),
            &html!("1 to 1000. A printed page holds 24."),
            err("count"),
        ),
        html::field(
            "expires",
            "Valid until",
            &html::input("date", "expires", &g.expires, &Html::new()),
            &html!("Optional: the last day a code can be used (Nairobi time). Empty: no end."),
            err("expires"),
        ),
    );
    let rows: Vec<Vec<Html>> = batches
        .iter()
        .map(|b| {
            let batch = b.batch.as_str();
            vec![
                html!("<a class=\"mono\" href=\"/vouchers/{}\">{}</a>", batch, batch),
                Html::text(&eat_display(b.created_at)),
                Html::text(&package_name(&packages, b.package_id)),
                html!("{}", b.total),
                html!("{}", b.unused),
                html!("{}", b.used),
                html!("{}", b.revoked),
                Html::text(&b.expires_at.map_or("—".into(), |e| eat_date(eat_day(e - 1)))),
                html!(
                    "<a class=\"cbi-button cbi-button-small\" href=\"/vouchers/{}\">Codes</a> <a class=\"cbi-button cbi-button-small\" href=\"/vouchers/{}/print\">Print</a> <a class=\"cbi-button cbi-button-small\" href=\"/vouchers/{}.csv\" download>CSV</a>",
                    batch,
                    batch,
                    batch
                ),
            ]
        })
        .collect();
    let body = html::section("Generate vouchers", &form)
        + html::section(
            "Batches",
            &html::table(
                &[
                    "Batch",
                    "Created (EAT)",
                    "Package",
                    "#Codes",
                    "#Unused",
                    "#Used",
                    "#Revoked",
                    "Valid until",
                    "",
                ],
                &rows,
                "No vouchers yet.",
            ),
        );
    let status = if g.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(a.page_with(
        cx,
        status,
        "/vouchers",
        "Vouchers",
        html!("Prepaid codes to sell over the counter. A customer types one on the portal instead of paying with M-Pesa."),
        &body,
    ))
}

/// A package's name (text), or `#id` for one deleted since.
fn package_name(packages: &[Package], id: i64) -> String {
    packages
        .iter()
        .find(|p| p.id == id)
        .map_or(format!("#{id}"), |p| p.name.clone())
}

/// `POST /vouchers` (package, count, expires).
pub async fn generate(a: &Admin, cx: &Ctx, form: &[(String, String)]) -> Answer {
    let mut g = GenForm {
        package: value(form, "package"),
        count: value(form, "count"),
        expires: value(form, "expires"),
        errors: vec![],
    };
    let package: Option<i64> = g.package.parse().ok();
    if package.is_none() {
        g.errors.push(("package", "Choose a package.".into()));
    }
    let count = match g.count.parse::<u32>() {
        Ok(n) if (1..=MAX_VOUCHERS).contains(&n) => n,
        _ => {
            g.errors
                .push(("count", format!("How many: 1 to {MAX_VOUCHERS}.")));
            0
        }
    };
    let expires_at = if g.expires.is_empty() {
        None
    } else {
        match parse_eat_date(&g.expires) {
            // Valid through the whole of that day (a past day is refused by `owner`).
            Some(day) => Some(eat_day_start(day + 1)),
            None => {
                g.errors
                    .push(("expires", "A date looks like 2025-01-31.".into()));
                None
            }
        }
    };
    let Some(package) = package.filter(|_| g.errors.is_empty()) else {
        return list(a, cx, Some(g)).await;
    };
    match owner::generate_vouchers(&a.store, package, count, expires_at, cx.now).await {
        Ok(b) => {
            log::info!(
                "admin: {count} vouchers for package {package} in batch {}",
                b.id
            );
            Ok(a.done(
                cx,
                Notice::Done(format!("{count} vouchers generated.")),
                &format!("/vouchers/{}", b.id),
            ))
        }
        Err(owner::Error::Refused { input, why }) => {
            let field = match input {
                owner::Input::Count => "count",
                owner::Input::ValidDays => "expires",
                _ => "package",
            };
            g.errors.push((field, why));
            list(a, cx, Some(g)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /vouchers/{batch}`, `/vouchers/{batch}/print`, `/vouchers/{batch}.csv`.
pub async fn get(a: &Admin, cx: &Ctx, rest: &str) -> Answer {
    let (batch, what) = if let Some(b) = rest.strip_suffix("/print") {
        (b, "print")
    } else if let Some(b) = rest.strip_suffix(".csv") {
        (b, "csv")
    } else {
        (rest, "codes")
    };
    let batch = batch_id(batch).ok_or(Failure::NotFound)?.to_string();
    let b = batch.clone();
    let (codes, package) = a
        .store
        .call(move |c| {
            let codes = vouchers::in_batch(c, &b)?;
            let package = match codes.first() {
                Some(v) => crate::store::packages::get(c, v.package_id)?,
                None => None,
            };
            Ok((codes, package))
        })
        .await?;
    if codes.is_empty() {
        return Err(Failure::NotFound);
    }
    match what {
        "print" => Ok(sheet::print(
            &cx.settings.config.site_name,
            &batch,
            &codes,
            package.as_ref(),
        )),
        "csv" => Ok(sheet::csv(&batch, &codes, package.as_ref())),
        _ => Ok(codes_page(a, cx, &batch, &codes, package.as_ref())),
    }
}

fn state(v: &Voucher, now: i64) -> &'static str {
    if v.state == VoucherState::Unused && v.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        v.state.as_str()
    }
}

fn codes_page(
    a: &Admin,
    cx: &Ctx,
    batch: &str,
    codes: &[Voucher],
    package: Option<&Package>,
) -> super::Response {
    let csrf = &cx.session.csrf;
    let rows: Vec<Vec<Html>> = codes
        .iter()
        .map(|v| {
            let revoke = if v.state == VoucherState::Unused {
                html::post_button(
                    "/vouchers/revoke",
                    csrf,
                    &[("code", &v.code), ("batch", batch)],
                    "Revoke",
                    "cbi-button-small",
                    Some(&format!(
                        "Revoke {}? Its printed card stops working.",
                        printed(&v.code)
                    )),
                )
            } else {
                Html::new()
            };
            vec![
                html::mono(printed(&v.code)),
                html::label(state(v, cx.now)),
                v.used_by_mac.map_or(Html::text("—"), html::mono),
                Html::text(&v.used_at.map_or("—".into(), eat_display)),
                revoke,
            ]
        })
        .collect();
    let unused = codes
        .iter()
        .filter(|v| v.state == VoucherState::Unused)
        .count();
    let pkg = package.map_or("a deleted package".into(), |p| {
        format!(
            "{} ({}{}, {} ↓, KES {})",
            p.name,
            html::bundle(p),
            html::duration(u64::from(p.duration_s)),
            p.down,
            p.price.0
        )
    });
    let actions = html!(
        "<div class=\"cbi-page-actions\"><a class=\"cbi-button\" href=\"/vouchers\">Back</a><a class=\"cbi-button\" href=\"/vouchers/{}.csv\" download>CSV</a>{}<a class=\"cbi-button cbi-button-apply\" href=\"/vouchers/{}/print\">Print sheet</a></div>",
        batch,
        if unused > 0 {
            html::post_button(
                "/vouchers/revoke",
                csrf,
                &[("batch", batch)],
                &format!("Revoke all {unused} unused"),
                "cbi-button-negative",
                Some("Revoke every unused code of this batch? Printed cards stop working."),
            )
        } else {
            Html::new()
        },
        batch
    );
    let body = html::section(
        &format!("Batch {batch}"),
        &html!(
            "<p class=\"cbi-section-descr\">{} codes for {}. {}</p>{}{}",
            codes.len(),
            pkg,
            codes[0]
                .expires_at
                .map_or("No end date.".into(), |e| format!(
                    "Valid until {} (EAT).",
                    eat_date(eat_day(e - 1))
                )),
            actions,
            html::table(
                &["Code", "State", "Used by", "Used at (EAT)", ""],
                &rows,
                ""
            )
        ),
    );
    a.page(cx, "/vouchers", "Vouchers", Html::new(), &body)
}

/// `POST /vouchers/revoke` (code and batch: that code; batch alone: all unused of the batch).
pub async fn revoke(a: &Admin, cx: &Ctx, form: &[(String, String)]) -> Answer {
    let batch = batch_id(&value(form, "batch"))
        .ok_or_else(|| Failure::BadRequest("no such batch".into()))?
        .to_string();
    let code = value(form, "code");
    let n = if code.is_empty() {
        owner::revoke_batch(&a.store, &batch, cx.now).await?
    } else {
        match owner::revoke_voucher(&a.store, &code, cx.now).await {
            Ok(_) => 1,
            Err(owner::Error::Refused { .. }) => 0,
            Err(e) => return Err(e.into()),
        }
    };
    log::info!("admin: revoked {n} vouchers of batch {batch}");
    let notice = match n {
        0 => Notice::Warning("Nothing to revoke: the code was already used or revoked.".into()),
        1 => Notice::Done("1 voucher revoked.".into()),
        n => Notice::Done(format!("{n} vouchers revoked.")),
    };
    Ok(a.done(cx, notice, &format!("/vouchers/{batch}")))
}
