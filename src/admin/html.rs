//! Rendering helpers shared by the owner's pages: the layout, LuCI-style form rows, tables,
//! buttons that POST with the CSRF token, and how money, time and speed read.
//! Touches: nothing (pure rendering from values; text arrives as `&str` and is escaped here,
//! markup arrives as `Html`).

use super::auth::Notice;
use crate::html::{Html, Render};
use crate::units::Kbps;

const LAYOUT: &str = include_str!("../../www/admin/layout.html");
pub const CSS: &str = include_str!("../../www/admin/admin.css");
pub const JS: &str = include_str!("../../www/admin/admin.js");

/// The tabs, as (path, label).
const TABS: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/clients", "Clients"),
    ("/packages", "Packages"),
    ("/payments", "Payments"),
    ("/vouchers", "Vouchers"),
    ("/settings", "Settings"),
    ("/password", "Password"),
];

/// A whole page. `tab`: the active tab's path, `None` for pages outside the menu (login).
pub struct Page<'a> {
    pub site: &'a str,
    pub title: &'a str,
    pub tab: Option<&'a str>,
    /// The session's CSRF token (logged in), for the logout button.
    pub csrf: Option<&'a str>,
    pub notice: Option<Notice>,
    /// The certificate's SHA-256, for the owner to compare with the browser's warning.
    pub fingerprint: &'a str,
}

impl Page<'_> {
    /// Wraps `body` (the page's sections) in the layout, under an `h2` title and description.
    pub fn render(&self, descr: &Html, body: &Html) -> Html {
        let nav = match self.tab {
            None => Html::new(),
            Some(active) => {
                // The tabs on a wide screen; on a phone the same links in a menu that opens
                // without JavaScript (LuCI's bootstrap theme does the same).
                let mut links = Html::new();
                let mut here = "";
                for (path, label) in TABS {
                    let class = if *path == active {
                        here = label;
                        html!(" class=\"active\" aria-current=\"page\"")
                    } else {
                        Html::new()
                    };
                    links += html!("<a href=\"{}\"{}>{}</a>", *path, class, *label);
                }
                html!(
                    "<nav class=\"tabs\">{}</nav><details class=\"menu\"><summary>Menu · {}</summary><nav>{}</nav></details>",
                    links,
                    here,
                    links
                )
            }
        };
        let logout = match self.csrf {
            None => Html::new(),
            Some(c) => html!(
                "<form method=\"post\" action=\"/logout\">{}<button class=\"cbi-button cbi-button-small\" type=\"submit\">Log out</button></form>",
                csrf_field(c)
            ),
        };
        let mut content = html!("<div class=\"cbi-map\"><h2>{}</h2>", self.title);
        if !descr.is_empty() {
            content += html!("<p class=\"cbi-map-descr\">{}</p>", descr);
        }
        match &self.notice {
            Some(Notice::Done(m)) => content += alert("success", m),
            Some(Notice::Warning(m)) => content += alert("warning", m),
            None => {}
        }
        content += body;
        content.push_markup("</div>");
        crate::portal::fill(
            LAYOUT,
            &[
                ("title", &Html::text(self.title)),
                ("site", &Html::text(self.site)),
                ("logout", &logout),
                ("nav", &nav),
                ("content", &content),
                ("version", &Html::text(env!("CARGO_PKG_VERSION"))),
                ("css_v", &Html::text(&asset_version(CSS))),
                ("js_v", &Html::text(&asset_version(JS))),
                ("fingerprint", &Html::text(self.fingerprint)),
            ],
        )
    }
}

/// A short fingerprint of a file for its URL (`?v=`, FNV-1a): a changed file gets a new URL, so
/// browsers may keep each one for a year without ever using a stale copy.
pub fn asset_version(body: &str) -> String {
    let h = body.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:010x}", h >> 24)
}

/// `<div class="alert-message KIND">`: `success`, `warning` or `error`. `text` is escaped.
pub fn alert(kind: &str, text: &str) -> Html {
    let role = if kind == "error" { "alert" } else { "status" };
    html!(
        "<div class=\"alert-message {}\" role=\"{}\">{}</div>",
        kind,
        role,
        text
    )
}

/// A `.cbi-section` with a heading.
pub fn section(title: &str, body: &Html) -> Html {
    html!(
        "<div class=\"cbi-section\"><h3>{}</h3>{}</div>",
        title,
        body
    )
}

pub fn csrf_field(token: &str) -> Html {
    html!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", token)
}

/// One labelled form row: label 180 px on the left, the control, and its error or else its hint
/// (an error says what is allowed; saying it twice only adds noise).
pub fn field(id: &str, label: &str, control: &Html, hint: &Html, error: Option<&str>) -> Html {
    let mut h = html!(
        "<div class=\"cbi-value{}\"><label class=\"cbi-value-title\" for=\"{}\">{}</label><div class=\"cbi-value-field\">{}",
        if error.is_some() { " has-error" } else { "" },
        id,
        label,
        control
    );
    if let Some(e) = error {
        h += html!(
            "<div class=\"cbi-value-error\" id=\"{}-error\" role=\"alert\">{}</div>",
            id,
            e
        );
    }
    if !hint.is_empty() && error.is_none() {
        h += html!("<div class=\"cbi-value-description\">{}</div>", hint);
    }
    h + html!("</div></div>")
}

/// The "new password" and "repeat it" pair shared by first-run setup and the Password page;
/// `error` is the (field, message) to show; `autofocus` puts the cursor in the first one.
pub fn new_password_fields(error: Option<(&str, &str)>, autofocus: bool) -> Html {
    let err = |f: &str| error.filter(|(field, _)| *field == f).map(|(_, m)| m);
    let first = if autofocus {
        html!("autocomplete=\"new-password\" required autofocus")
    } else {
        html!("autocomplete=\"new-password\" required")
    };
    field(
        "password",
        "New password",
        &input("password", "password", "", &first),
        &html!("At least {} characters.", crate::password::MIN_LEN),
        err("password"),
    ) + field(
        "repeat",
        "Repeat it",
        &input(
            "password",
            "repeat",
            "",
            &html!("autocomplete=\"new-password\" required"),
        ),
        &Html::new(),
        err("repeat"),
    )
}

/// `<input>` with an id equal to its name. `extra`: more attributes (markup).
pub fn input(kind: &str, name: &str, value: &str, extra: &Html) -> Html {
    html!(
        "<input type=\"{}\" id=\"{}\" name=\"{}\" value=\"{}\"{}{}>",
        kind,
        name,
        name,
        value,
        if extra.is_empty() { "" } else { " " },
        extra
    )
}

/// `<select>` of (value, label) with `selected` chosen.
pub fn select(name: &str, options: &[(String, String)], selected: &str) -> Html {
    let mut h = html!("<select id=\"{}\" name=\"{}\">", name, name);
    for (v, label) in options {
        h += html!(
            "<option value=\"{}\"{}>{}</option>",
            v,
            if v == selected { " selected" } else { "" },
            label
        );
    }
    h + html!("</select>")
}

/// A small form that POSTs `fields` (and the CSRF token) to `action` with one button.
/// `confirm`: a question the browser asks first (with JavaScript on).
pub fn post_button(
    action: &str,
    csrf: &str,
    fields: &[(&str, &str)],
    label: &str,
    class: &str,
    confirm: Option<&str>,
) -> Html {
    let mut h = html!(
        "<form class=\"button\" method=\"post\" action=\"{}\"{}>{}",
        action,
        confirm.map_or(Html::new(), |q| html!(" data-confirm=\"{}\"", q)),
        csrf_field(csrf)
    );
    for (k, v) in fields {
        h += html!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", *k, *v);
    }
    h + html!(
        "<button class=\"cbi-button {}\" type=\"submit\">{}</button></form>",
        class,
        label
    )
}

/// A table with a header row. `empty`: shown when there are no rows.
pub fn table(headers: &[&str], rows: &[Vec<Html>], empty: &str) -> Html {
    let mut h =
        html!("<div class=\"table-wrap\"><table class=\"table\"><tr class=\"tr table-titles\">");
    for t in headers {
        let (class, label) = match t.strip_prefix('#') {
            Some(l) => (" num", l),
            None => ("", *t),
        };
        h += html!("<th class=\"th{}\">{}</th>", class, label);
    }
    h.push_markup("</tr>");
    if rows.is_empty() {
        h += html!(
            "<tr class=\"tr\"><td class=\"td empty\" colspan=\"{}\">{}</td></tr>",
            headers.len(),
            empty
        );
    }
    for r in rows {
        h.push_markup("<tr class=\"tr\">");
        for (i, cell) in r.iter().enumerate() {
            let header = headers.get(i).copied().unwrap_or("");
            let class = match header {
                t if t.starts_with('#') => "td num",
                "" => "td actions",
                _ => "td",
            };
            // On a phone each row is a card; its cells show their column's name from here.
            let title = header.trim_start_matches('#');
            h += html!(
                "<td class=\"{}\" data-title=\"{}\">{}</td>",
                class,
                title,
                cell
            );
        }
        h.push_markup("</tr>");
    }
    h + html!("</table></div>")
}

/// Text in a monospace span (MACs, addresses, receipts).
pub fn mono(text: impl Render) -> Html {
    html!("<span class=\"mono\">{}</span>", text)
}

/// `KES 1,250`.
pub fn kes(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("KES {out}")
}

/// A package's data allowance before its time: `1 GB, ` for a bundle, nothing otherwise.
pub fn bundle(p: &crate::store::packages::Package) -> String {
    p.data_bytes().map_or(String::new(), |b| {
        format!("{}, ", crate::units::ByteCount(b))
    })
}

/// `3 h`, `1 h 30 min`, `2 d 4 h`, `45 min`, `20 s`.
pub fn duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// A speed, or "unlimited" for the owner's unshaped gifts.
pub fn speed(k: Kbps) -> String {
    if k.0 >= crate::owner::UNSHAPED_KBPS {
        "unlimited".into()
    } else {
        k.to_string()
    }
}

/// A state label (`paid`, `unused`, …) styled by its name.
pub fn label(state: &str) -> Html {
    html!("<span class=\"label {}\">{}</span>", state, state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_for_people() {
        assert_eq!(kes(0), "KES 0");
        assert_eq!(kes(950), "KES 950");
        assert_eq!(kes(1250), "KES 1,250");
        assert_eq!(kes(1_234_567), "KES 1,234,567");
        assert_eq!(duration(10800), "3 h");
        assert_eq!(duration(5400), "1 h 30 min");
        assert_eq!(duration(2700), "45 min");
        assert_eq!(duration(30 * 86_400), "30 d");
        assert_eq!(duration(86_400 + 4 * 3600 + 60), "1 d 4 h");
        assert_eq!(duration(20), "20 s");
        assert_eq!(speed(Kbps(5000)), "5 Mbps");
        assert_eq!(speed(Kbps(crate::owner::UNSHAPED_KBPS)), "unlimited");
    }

    #[test]
    fn fields_escape_and_show_their_error() {
        let f = field(
            "name",
            "Name",
            &input("text", "name", "<b>", &Html::new()),
            &Html::new(),
            Some("too long"),
        );
        let f = f.as_str();
        assert!(f.contains("value=\"&lt;b&gt;\""));
        assert!(f.contains("has-error"));
        assert!(f.contains("id=\"name-error\" role=\"alert\">too long<"));
    }

    #[test]
    fn buttons_carry_the_csrf_token() {
        let b = post_button(
            "/clients/kick",
            "tok",
            &[("mac", "aa")],
            "Kick",
            "cbi-button-negative",
            Some("Sure?"),
        );
        let b = b.as_str();
        assert!(b.contains("name=\"csrf\" value=\"tok\""));
        assert!(b.contains("name=\"mac\" value=\"aa\""));
        assert!(b.contains("data-confirm=\"Sure?\""));
    }
}
