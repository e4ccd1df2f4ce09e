//! The Packages tab: what customers can buy. Create, edit, take off sale and back; the portal
//! reads the table on every page, so a change shows there at once. The rules for a package
//! live here, in `validate`, and nowhere else.

use super::auth::Notice;
use super::{html, value, Admin, Answer, Ctx, Failure};
use crate::html::Html;
use crate::store::events;
use crate::store::packages::{self, Package};
use crate::units::{ByteCount, Kbps, Kes};
use hyper::StatusCode;

pub const MIN_DURATION_S: u64 = 60;
pub const MAX_DURATION_S: u64 = 30 * 86_400;
/// Speeds in kbps: 0.1 to 1000 Mbps.
pub const MIN_KBPS: u32 = 100;
pub const MAX_KBPS: u32 = 1_000_000;
pub const MAX_PRICE: u32 = 250_000;
pub const MAX_NAME: usize = 32;
/// A data allowance in MB: 1 MB to 1 TB.
pub const MIN_DATA_MB: u32 = 1;
pub const MAX_DATA_MB: u32 = 1_000_000;

/// The form as typed, so a refused one comes back as the owner left it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Form {
    pub name: String,
    pub duration: String,
    /// `min`, `h` or `d`.
    pub unit: String,
    pub down: String,
    pub up: String,
    pub price: String,
    pub active: bool,
    /// The data allowance as typed; empty is unlimited data.
    pub data: String,
    /// `MB` or `GB`.
    pub data_unit: String,
}

impl Form {
    fn from_pairs(f: &[(String, String)]) -> Form {
        Form {
            name: value(f, "name"),
            duration: value(f, "duration"),
            unit: value(f, "unit"),
            down: value(f, "down"),
            up: value(f, "up"),
            price: value(f, "price"),
            active: f.iter().any(|(k, v)| k == "active" && v == "1"),
            data: value(f, "data"),
            data_unit: value(f, "data_unit"),
        }
    }

    fn from_package(p: &Package) -> Form {
        let s = p.duration_s;
        let (n, unit) = if s.is_multiple_of(86_400) {
            (s / 86_400, "d")
        } else if s.is_multiple_of(3600) {
            (s / 3600, "h")
        } else {
            (s / 60, "min")
        };
        Form {
            name: p.name.clone(),
            duration: n.to_string(),
            unit: unit.into(),
            down: mbps(p.down),
            up: mbps(p.up),
            price: p.price.0.to_string(),
            active: p.active,
            data: match p.data_mb {
                Some(mb) if mb.is_multiple_of(1000) => (mb / 1000).to_string(),
                Some(mb) => mb.to_string(),
                None => String::new(),
            },
            data_unit: match p.data_mb {
                Some(mb) if mb.is_multiple_of(1000) => "GB".into(),
                _ => "MB".into(),
            },
        }
    }
}

/// `5`, `2.5`, `0.512` (Mbps, as typed back into the form).
fn mbps(k: Kbps) -> String {
    let s = format!("{:.3}", f64::from(k.0) / 1000.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Field errors: (field name, message).
pub type Errors = Vec<(&'static str, String)>;

/// The one place a package's limits are checked. Returns the package (id 0 for a new one).
pub fn validate(f: &Form) -> Result<Package, Errors> {
    let mut errors: Errors = vec![];
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        errors.push(("name", format!("A name is 1 to {MAX_NAME} characters.")));
    }
    let unit_s = match f.unit.as_str() {
        "min" => Some(60),
        "h" => Some(3600),
        "d" => Some(86_400),
        _ => None,
    };
    let duration = match (f.duration.parse::<u64>(), unit_s) {
        (Ok(n), Some(u)) if (MIN_DURATION_S..=MAX_DURATION_S).contains(&n.saturating_mul(u)) => {
            Some((n * u) as u32)
        }
        _ => {
            errors.push(("duration", "The time is 1 minute to 30 days.".into()));
            None
        }
    };
    let speed = |v: &str, field: &'static str, errors: &mut Errors| -> Option<Kbps> {
        // A decimal comma on purpose: phones set to many locales type "2,5" for 2.5.
        match v.replace(',', ".").parse::<f64>() {
            Ok(m) if m.is_finite() && (0.0..=1e7).contains(&m) => {
                let k = (m * 1000.0).round() as u32;
                (MIN_KBPS..=MAX_KBPS)
                    .contains(&k)
                    .then_some(Kbps(k))
                    .or_else(|| {
                        errors.push((field, "A speed is 0.1 to 1000 Mbps.".into()));
                        None
                    })
            }
            _ => {
                errors.push((field, "A speed is 0.1 to 1000 Mbps.".into()));
                None
            }
        }
    };
    let down = speed(&f.down, "down", &mut errors);
    let up = speed(&f.up, "up", &mut errors);
    let price = match whole_shillings(&f.price) {
        Some(p) if (1..=MAX_PRICE).contains(&p) => Some(Kes(p)),
        _ => {
            errors.push((
                "price",
                "A price is KES 1 to 250,000, in whole shillings.".into(),
            ));
            None
        }
    };
    let data_mb = data_mb(&f.data, &f.data_unit).map_err(|e| errors.push(("data", e.into())));
    match (duration, down, up, price, data_mb) {
        (Some(duration_s), Some(down), Some(up), Some(price), Ok(data_mb)) if errors.is_empty() => {
            Ok(Package {
                id: 0,
                name: name.to_string(),
                duration_s,
                down,
                up,
                price,
                active: f.active,
                data_mb,
            })
        }
        _ => Err(errors),
    }
}

/// `GET /packages`.
pub async fn list(a: &Admin, cx: &Ctx) -> Answer {
    let all = a.store.call(packages::all).await?;
    let csrf = &cx.session.csrf;
    let rows: Vec<Vec<Html>> = all
        .iter()
        .map(|p| {
            let toggle = html::post_button(
                &format!("/packages/{}/active", p.id),
                csrf,
                &[],
                if p.active { "Disable" } else { "Enable" },
                if p.active {
                    "cbi-button-negative cbi-button-small"
                } else {
                    "cbi-button-positive cbi-button-small"
                },
                None,
            );
            vec![
                Html::text(&p.name),
                Html::text(&html::duration(u64::from(p.duration_s))),
                Html::text(
                    &p.data_bytes()
                        .map_or("unlimited".into(), |b| ByteCount(b).to_string()),
                ),
                html!("{}", p.down),
                html!("{}", p.up),
                Html::text(&html::kes(u64::from(p.price.0))),
                html::label(if p.active { "on" } else { "off" }),
                html!(
                    "<a class=\"cbi-button cbi-button-small\" href=\"/packages/{}\">Edit</a> {}",
                    p.id,
                    toggle
                ),
            ]
        })
        .collect();
    let body = html::section(
        "Packages",
        &html!(
            "{}<div class=\"cbi-page-actions\"><a class=\"cbi-button cbi-button-add\" href=\"/packages/new\">Add package</a></div>",
            html::table(
                &["Name", "Time", "Data", "Download", "Upload", "#Price", "On sale", ""],
                &rows,
                "No packages."
            )
        ),
    );
    Ok(a.page(
        cx,
        "/packages",
        "Packages",
        html!("What customers can buy on the portal, cheapest first. Changes show on the portal at once; a payment already started keeps the price it started with."),
        &body,
    ))
}

/// `GET /packages/new` and `GET /packages/{id}`.
pub async fn edit(a: &Admin, cx: &Ctx, id: Option<i64>) -> Answer {
    let form = match id {
        None => Form {
            unit: "h".into(),
            active: true,
            ..Default::default()
        },
        Some(id) => {
            let p = a
                .store
                .call(move |c| packages::get(c, id))
                .await?
                .ok_or(Failure::NotFound)?;
            Form::from_package(&p)
        }
    };
    Ok(form_page(a, cx, id, &form, &[]))
}

fn form_page(
    a: &Admin,
    cx: &Ctx,
    id: Option<i64>,
    f: &Form,
    errors: &[(&str, String)],
) -> super::Response {
    let err = |k: &str| {
        errors
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, m)| m.as_str())
    };
    let units: Vec<(String, String)> = [("min", "minutes"), ("h", "hours"), ("d", "days")]
        .iter()
        .map(|(v, l)| (v.to_string(), l.to_string()))
        .collect();
    let data_units: Vec<(String, String)> = ["MB", "GB"]
        .iter()
        .map(|u| (u.to_string(), u.to_string()))
        .collect();
    let action = match id {
        None => "/packages/new".to_string(),
        Some(id) => format!("/packages/{id}"),
    };
    let body = html!(
        "<form method=\"post\" action=\"{}\">{}{}{}{}{}{}{}{}<div class=\"cbi-page-actions\"><a class=\"cbi-button\" href=\"/packages\">Cancel</a><button class=\"cbi-button cbi-button-save\" type=\"submit\">Save</button></div></form>",
        action,
        html::csrf_field(&cx.session.csrf),
        html::field(
            "name",
            "Name",
            &html::input("text", "name", &f.name, &html!("maxlength=\"{}\" required", MAX_NAME)),
            &html!("Shown on the portal and on vouchers."),
            err("name"),
        ),
        html::field(
            "duration",
            "Time",
            &html!(
                "<div class=\"inline\">{}{}</div>",
                html::input("number", "duration", &f.duration, &html!("min=\"1\" required")),
                html::select("unit", &units, &f.unit)
            ),
            &html!("1 minute to 30 days."),
            err("duration"),
        ),
        html::field(
            "down",
            "Download speed",
            &html!("<div class=\"inline\">{} Mbps</div>", html::input("text", "down", &f.down, &html!("inputmode=\"decimal\" required"))),
            &html!("0.1 to 1000 Mbps; 2,5 means 2.5."),
            err("down"),
        ),
        html::field(
            "up",
            "Upload speed",
            &html!("<div class=\"inline\">{} Mbps</div>", html::input("text", "up", &f.up, &html!("inputmode=\"decimal\" required"))),
            &html!("0.1 to 1000 Mbps; 2,5 means 2.5."),
            err("up"),
        ),
        html::field(
            "price",
            "Price",
            &html!("<div class=\"inline\">KES {}</div>", html::input("text", "price", &f.price, &html!("inputmode=\"numeric\" required"))),
            &html!("1 to 250,000 shillings."),
            err("price"),
        ),
        html::field(
            "data",
            "Data",
            &html!(
                "<div class=\"inline\">{}{}</div>",
                html::input("text", "data", &f.data, &html!("inputmode=\"decimal\"")),
                html::select("data_unit", &data_units, &f.data_unit)
            ),
            &html!("1 MB to 1000 GB, down and up together; empty: unlimited data. When it is used up the device is cut off."),
            err("data"),
        ),
        html::field(
            "active",
            "On sale",
            &html!(
                "<input type=\"checkbox\" id=\"active\" name=\"active\" value=\"1\"{}>",
                if f.active { " checked" } else { "" }
            ),
            &html!("Off: hidden from the portal; vouchers already printed still work."),
            None,
        ),
    );
    let title = if id.is_some() {
        "Edit package"
    } else {
        "New package"
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut content = Html::new();
    if !errors.is_empty() {
        content += html::alert("error", "Please correct the fields marked below.");
    }
    content += html::section(title, &body);
    a.page_with(cx, status, "/packages", "Packages", Html::new(), &content)
}

/// `POST /packages/new` and `POST /packages/{id}`.
pub async fn save(a: &Admin, cx: &Ctx, id: Option<i64>, form: &[(String, String)]) -> Answer {
    let f = Form::from_pairs(form);
    let mut p = match validate(&f) {
        Ok(p) => p,
        Err(errors) => return Ok(form_page(a, cx, id, &f, &errors)),
    };
    let now = cx.now;
    let name = p.name.clone();
    let saved = a
        .store
        .transact(move |tx| {
            let kind = match id {
                None => {
                    p.id = packages::insert(tx, &p)?;
                    "package.created"
                }
                Some(id) => {
                    p.id = id;
                    if !packages::update(tx, &p)? {
                        return Ok(None);
                    }
                    "package.updated"
                }
            };
            let detail = format!(
                "{} {} {}s {}/{} kbps{}{}",
                p.id,
                p.name,
                p.duration_s,
                p.down.0,
                p.up.0,
                p.data_mb.map_or(String::new(), |mb| format!(" {mb} MB")),
                if p.active { "" } else { " off sale" }
            );
            events::record(
                tx,
                now,
                kind,
                None,
                None,
                &format!("{detail} KES {}", p.price.0),
            )?;
            Ok(Some(p.id))
        })
        .await?;
    let id = saved.ok_or(Failure::NotFound)?;
    log::info!("admin: package {id} saved");
    Ok(a.done(
        cx,
        Notice::Done(format!("Package “{name}” saved.")),
        "/packages",
    ))
}

/// `POST /packages/{id}/active`: on sale <-> off sale.
pub async fn toggle(a: &Admin, cx: &Ctx, id: i64) -> Answer {
    let now = cx.now;
    let p = a
        .store
        .transact(move |tx| {
            let Some(mut p) = packages::get(tx, id)? else {
                return Ok(None);
            };
            p.active = !p.active;
            packages::update(tx, &p)?;
            let what = if p.active { "on sale" } else { "off sale" };
            events::record(
                tx,
                now,
                "package.updated",
                None,
                None,
                &format!("{id} {what}"),
            )?;
            Ok(Some(p))
        })
        .await?
        .ok_or(Failure::NotFound)?;
    let msg = if p.active {
        format!("“{}” is on sale again.", p.name)
    } else {
        format!("“{}” is off sale: the portal no longer shows it.", p.name)
    };
    Ok(a.done(cx, Notice::Done(msg), "/packages"))
}

/// A data allowance as typed (`500` MB, `1,5` or `1.5` GB) in whole MB; empty is unlimited.
fn data_mb(typed: &str, unit: &str) -> Result<Option<u32>, &'static str> {
    const BAD: &str = "Data is 1 MB to 1 TB (1000 GB), or empty for unlimited data.";
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    let per = match unit {
        "MB" => 1.0,
        "GB" => 1000.0,
        _ => return Err("Choose MB or GB for the data."),
    };
    match typed.replace(',', ".").parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => {
            let mb = (n * per).round();
            if (f64::from(MIN_DATA_MB)..=f64::from(MAX_DATA_MB)).contains(&mb) {
                Ok(Some(mb as u32))
            } else {
                Err(BAD)
            }
        }
        _ => Err(BAD),
    }
}

/// A price as typed: `1250`, `1,250` or `1 250`. A comma only groups thousands, so `2,5` is not
/// read as 25 (nor as 2.5: prices are whole shillings).
fn whole_shillings(typed: &str) -> Option<u32> {
    let t = typed.replace(' ', "");
    let mut groups = t.split(',');
    let first = groups.next()?;
    let mut digits = first.to_string();
    for g in groups {
        if g.len() != 3 || first.is_empty() || first.len() > 3 {
            return None;
        }
        digits += g;
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, duration: &str, unit: &str, down: &str, up: &str, price: &str) -> Form {
        Form {
            name: name.into(),
            duration: duration.into(),
            unit: unit.into(),
            down: down.into(),
            up: up.into(),
            price: price.into(),
            active: true,
            data: String::new(),
            data_unit: "MB".into(),
        }
    }

    fn with_data(data: &str, unit: &str) -> Form {
        Form {
            data: data.into(),
            data_unit: unit.into(),
            ..form("Bundle", "24", "h", "5", "2", "50")
        }
    }

    #[test]
    fn a_data_allowance_is_whole_megabytes_from_1_mb_to_1_tb() {
        let mb = |d: &str, u: &str| validate(&with_data(d, u)).map(|p| p.data_mb);
        assert_eq!(mb("", "MB"), Ok(None), "empty is unlimited data");
        assert_eq!(mb("1", "MB"), Ok(Some(1)));
        assert_eq!(mb("1,5", "GB"), Ok(Some(1500)), "a decimal comma");
        assert_eq!(mb("1000", "GB"), Ok(Some(1_000_000)));
        for (d, u) in [
            ("0", "MB"),
            ("0.4", "MB"),
            ("1001", "GB"),
            ("1000001", "MB"),
            ("-5", "MB"),
            ("lots", "GB"),
            ("5", "TB"),
        ] {
            let e = validate(&with_data(d, u)).unwrap_err();
            assert_eq!(e.len(), 1, "{d} {u}: {e:?}");
            assert_eq!(e[0].0, "data", "{d} {u}: the data field is named");
        }
        let p = validate(&with_data("2", "GB")).unwrap();
        let back = Form::from_package(&p);
        assert_eq!((back.data.as_str(), back.data_unit.as_str()), ("2", "GB"));
        let p = validate(&with_data("750", "MB")).unwrap();
        assert_eq!(Form::from_package(&p).data, "750");
    }

    #[test]
    fn a_good_package_is_built() {
        assert_eq!(whole_shillings("1,250"), Some(1250));
        assert_eq!(whole_shillings("1 250"), Some(1250));
        assert_eq!(whole_shillings("2,5"), None, "not 25 by accident");
        assert_eq!(whole_shillings("1250,000"), None);
        assert_eq!(whole_shillings(",500"), None);
        assert_eq!(whole_shillings("+5"), None);
        let p = validate(&form("Half day", "12", "h", "2,5", "2", "1,000")).unwrap();
        assert_eq!(p.down, Kbps(2500), "a decimal comma in a speed on purpose");
        let p = validate(&form("Half day", "12", "h", "7.5", "2", "1,000")).unwrap();
        assert_eq!(
            (p.duration_s, p.down, p.up, p.price),
            (43_200, Kbps(7500), Kbps(2000), Kes(1000))
        );
        assert_eq!(Form::from_package(&p).duration, "12");
        assert_eq!(Form::from_package(&p).down, "7.5");
    }

    #[test]
    fn limits_are_inclusive() {
        assert!(validate(&form("x", "1", "min", "0.1", "1000", "1")).is_ok());
        assert!(validate(&form(&"n".repeat(32), "30", "d", "1000", "0.1", "250000")).is_ok());
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (form("", "1", "h", "1", "1", "10"), "name"),
            (form(&"n".repeat(33), "1", "h", "1", "1", "10"), "name"),
            (form("x", "0", "min", "1", "1", "10"), "duration"),
            (form("x", "31", "d", "1", "1", "10"), "duration"),
            (form("x", "1", "weeks", "1", "1", "10"), "duration"),
            (form("x", "1", "h", "0.05", "1", "10"), "down"),
            (form("x", "1", "h", "1", "1001", "10"), "up"),
            (form("x", "1", "h", "NaN", "1", "10"), "down"),
            (form("x", "1", "h", "1", "1", "0"), "price"),
            (form("x", "1", "h", "1", "1", "250001"), "price"),
            (form("x", "1", "h", "1", "1", "9.50"), "price"),
        ];
        for (f, field) in cases {
            let e = validate(&f).unwrap_err();
            assert_eq!(e.len(), 1, "{f:?}: {e:?}");
            assert_eq!(e[0].0, field, "{f:?}");
        }
        assert_eq!(
            validate(&form("", "0", "h", "0", "0", "0"))
                .unwrap_err()
                .len(),
            5
        );
    }
}
