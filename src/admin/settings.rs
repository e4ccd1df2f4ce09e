//! The Settings tab: site name, portal welcome, language, the Daraja account (secrets are
//! write-only: never shown, an empty field keeps them), captive interfaces, walled garden and
//! trusted devices. Saving edits the config file in place (comments and unknown options kept),
//! validates it with `Config::parse` before it replaces the file, and reloads the daemon.

use super::auth::Notice;
use super::{html, Admin, Answer, Ctx, Failure};
use crate::config::{self, options, Config};
use crate::html::Html;
use crate::uci::{Document, EditError};
use hyper::StatusCode;

/// What the form shows: the typed values after a refused save, else the running config.
struct View<'a> {
    form: Option<&'a [(String, String)]>,
    config: &'a Config,
    /// Every refused field, as (option, why).
    errors: Vec<(String, String)>,
}

impl View<'_> {
    /// A field's value: as typed after a refused save, else what the running config says
    /// (a list one item per line).
    fn value(&self, option: &str) -> String {
        if let Some(f) = self.form {
            return super::value(f, option);
        }
        field(option).map_or(String::new(), |o| o.get(self.config).join("\n"))
    }

    fn error(&self, option: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(o, _)| o == option)
            .map(|(_, m)| m.as_str())
    }

    fn text(&self, option: &str, label: &str, hint: Html, extra: Html) -> Html {
        html::field(
            option,
            label,
            &html::input(
                "text",
                option,
                &self.value(option).replace('\n', " "),
                &extra,
            ),
            &hint,
            self.error(option),
        )
    }

    fn area(&self, option: &str, label: &str, hint: Html) -> Html {
        html::field(
            option,
            label,
            &html!(
                "<textarea id=\"{}\" name=\"{}\" rows=\"4\" spellcheck=\"false\">{}</textarea>",
                option,
                option,
                self.value(option)
            ),
            &hint,
            self.error(option),
        )
    }

    fn choice(&self, option: &str, label: &str, choices: &[(&str, &str)], hint: Html) -> Html {
        let opts: Vec<(String, String)> = choices
            .iter()
            .map(|(v, l)| (v.to_string(), l.to_string()))
            .collect();
        html::field(
            option,
            label,
            &html::select(option, &opts, &self.value(option)),
            &hint,
            self.error(option),
        )
    }

    fn secret(&self, option: &str, label: &str, set: bool) -> Html {
        let placeholder = if set {
            "set — leave empty to keep"
        } else {
            "not set"
        };
        html::field(
            option,
            label,
            &html::input(
                "password",
                option,
                "",
                &html!(
                    "autocomplete=\"new-password\" placeholder=\"{}\"",
                    placeholder
                ),
            ),
            &html!("Write-only: never shown again once saved."),
            self.error(option),
        )
    }
}

/// The options the form edits (by name: no two share one), in the order they are written.
const FIELDS: &[(&str, &str)] = &[
    ("lango", "site_name"),
    ("lango", "welcome"),
    ("lango", "language"),
    ("lango", "interface"),
    ("lango", "walled_garden"),
    ("lango", "trusted"),
    ("daraja", "environment"),
    ("daraja", "type"),
    ("daraja", "shortcode"),
    ("daraja", "till"),
    ("daraja", "consumer_key"),
    ("daraja", "consumer_secret"),
    ("daraja", "passkey"),
    ("daraja", "callback_url"),
    ("radius", "server"),
    ("radius", "secret"),
    ("radius", "nas_identifier"),
    ("radius", "mode"),
    ("radius", "interim_interval"),
    ("radius", "coa_listen"),
];

/// The config option behind the form field `name`.
fn field(name: &str) -> Option<&'static options::Opt> {
    FIELDS
        .iter()
        .find(|(_, n)| *n == name)
        .and_then(|(section, n)| options::find(section, n))
}

/// `GET /settings`.
pub fn show(a: &Admin, cx: &Ctx) -> Answer {
    let v = View {
        form: None,
        config: &cx.settings.config,
        errors: vec![],
    };
    Ok(render(a, cx, &v, StatusCode::OK, None))
}

fn render(
    a: &Admin,
    cx: &Ctx,
    v: &View,
    status: StatusCode,
    banner: Option<&str>,
) -> super::Response {
    let d = &cx.settings.config.daraja;
    let restart = html!(
        "Takes effect when you press <b>Apply</b> after saving (online clients stay online)."
    );
    let mut body = Html::new();
    if let Some(b) = banner {
        body += html::alert("error", b);
    }
    body += super::overview::daraja_alert(&cx.settings.payments.health());
    body += apply_section(a, cx);
    if cx.settings.config.path.is_none() {
        body += html::alert(
            "warning",
            "Lango was started without a config file, so settings cannot be saved here.",
        );
    }
    body += html!(
        "<form method=\"post\" action=\"/settings\">{}",
        html::csrf_field(&cx.session.csrf)
    );
    body += html::section(
        "Hotspot",
        &(v.text(
            "site_name",
            "Site name",
            html!("Shown on the portal and on voucher cards (1 to 40 characters)."),
            html!("maxlength=\"40\" required"),
        ) + v.text(
            "welcome",
            "Welcome text",
            html!("Optional: one line under the site name on the portal (up to 200 characters)."),
            html!("maxlength=\"{}\"", config::MAX_WELCOME),
        ) + v.choice(
            "language",
            "Portal language",
            &[("en", "English"), ("sw", "Kiswahili")],
            html!("When the phone does not ask for one; customers can switch."),
        )),
    );
    body += html::section(
        "M-Pesa (Daraja)",
        &(v.choice(
            "environment",
            "Environment",
            &[("sandbox", "Sandbox (testing)"), ("production", "Production (real money)")],
            Html::new(),
        ) + v.choice(
            "type",
            "Account type",
            &[("paybill", "Paybill"), ("till", "Till (Buy Goods)")],
            Html::new(),
        ) + v.text("shortcode", "Shortcode", html!("Your paybill number, or for a till the store (HO) number. 5 to 7 digits."), html!("inputmode=\"numeric\""))
            + v.text("till", "Till number", html!("Only for a till."), html!("inputmode=\"numeric\""))
            + v.secret("consumer_key", "Consumer key", !d.consumer_key.0.is_empty())
            + v.secret("consumer_secret", "Consumer secret", !d.consumer_secret.0.is_empty())
            + v.secret("passkey", "Passkey", !d.passkey.0.is_empty())
            + v.text(
                "callback_url",
                "Callback URL",
                html!("Optional public https address for Daraja's results. Empty: Lango asks Daraja itself (works behind NAT)."),
                Html::new(),
            )),
    );
    body += html::section(
        "Network",
        &(v.text(
            "interface",
            "Captive interfaces",
            html!("Phones on these must pay, e.g. <code>br-lan</code> or <code>br-guest</code>; separate with spaces. {}", restart),
            Html::new(),
        ) + v.area(
            "walled_garden",
            "Walled garden",
            html!("Reachable without paying, one per line: networks such as <code>196.201.214.0/24</code> or host names such as <code>safaricom.co.ke</code> (their addresses are kept current through the router's resolver). {}", restart),
        ) + v.area(
            "trusted",
            "Trusted devices",
            html!("MAC addresses, one per line: never captive, may open this page. {}", restart),
        )),
    );
    let radius = cx.settings.config.radius.as_ref();
    body += html::section(
        "RADIUS (central server)",
        &(v.text(
            "server",
            "Server address",
            html!("IP address of the FreeRADIUS server; empty: RADIUS off. See docs/radius.md. {}", restart),
            Html::new(),
        ) + v.secret("secret", "Shared secret", radius.is_some_and(|r| !r.secret.0.is_empty()))
            + v.text("nas_identifier", "NAS-Identifier", html!("Names this router to the server."), Html::new())
            + v.choice(
                "mode",
                "Codes sent to the server",
                &[("unknown", "Codes that are not local vouchers"), ("all", "Every code")],
                Html::new(),
            )
            + v.text("interim_interval", "Interim-Update interval", html!("Seconds (60 to 86400), unless the server sets Acct-Interim-Interval."), html!("inputmode=\"numeric\""))
            + v.text(
                "coa_listen",
                "Disconnect/CoA address",
                html!("UDP address:port for the server's Disconnect and CoA requests; the WAN or loopback address, never a captive one. Empty: none."),
                Html::new(),
            )),
    );
    body += html!("<div class=\"cbi-page-actions\"><a class=\"cbi-button\" href=\"/settings\">Reset</a><button class=\"cbi-button cbi-button-save\" type=\"submit\">Save &amp; Apply</button></div></form>");
    body += super::backup::section(cx);
    let descr = match &cx.settings.config.path {
        Some(p) => html!(
            "Saved to <code>{}</code>; comments and options set by hand stay as they are.",
            p.display().to_string()
        ),
        None => Html::new(),
    };
    a.page_with(cx, status, "/settings", "Settings", descr, &body)
}

/// Saved options not yet in force, and the button that puts them in force.
fn apply_section(a: &Admin, cx: &Ctx) -> Html {
    let failed = a.live.restart_failure().map_or(Html::new(), |why| {
        html::alert(
            "error",
            &format!("The saved settings could not start ({why}), so Lango runs with the ones it had before, shown below. Fix what this names, then save and apply again."),
        )
    });
    let pending = a.live.pending();
    if pending.is_empty() {
        return failed;
    }
    failed + html!(
        "<div class=\"alert-message warning\" role=\"status\"><p>Saved, not yet in force: <b>{}</b>. Applying restarts the portal and this page for a moment; online clients stay online.</p>{}</div>",
        pending.join(", "),
        html::post_button("/settings/apply", &cx.session.csrf, &[], "Apply", "cbi-button-apply", None)
    )
}

/// `POST /settings/apply`: the daemon re-reads its config and restarts the services in place.
/// The answer comes first; the page reloads itself once the owner's page listens again.
pub fn apply(a: &Admin, cx: &Ctx) -> Answer {
    let pending = a.live.pending();
    if pending.is_empty() {
        return Ok(a.done(
            cx,
            Notice::Done("Everything saved is in force.".into()),
            "/settings",
        ));
    }
    log::info!("admin: apply requested ({})", pending.join(", "));
    a.live.request_restart();
    // The saved settings are the live ones already; only the listeners and the gate wait.
    let moved = if pending.iter().any(|o| o == "admin_listen") {
        format!(
            " The owner's page moves to port {}: open it there.",
            a.live.get().config.admin_listen.port()
        )
    } else {
        String::new()
    };
    let body = html::alert(
        "warning",
        &format!("Applying {}: the portal and this page restart; online clients stay online. This page comes back in a few seconds.{moved}", pending.join(", ")),
    );
    let mut r = a.page(cx, "/settings", "Applying settings", Html::new(), &body);
    r.headers_mut().insert(
        hyper::header::HeaderName::from_static("refresh"),
        hyper::header::HeaderValue::from_static("4; url=/settings"),
    );
    Ok(r)
}

/// Splits a list field: whitespace, commas or new lines between items.
fn items(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// Applies the form to the config text. Values are checked afterwards by `Config::parse`.
fn edit(text: &str, form: &[(String, String)]) -> Result<String, EditError> {
    let mut doc = Document::parse(text)?;
    let v = |k: &str| super::value(form, k);
    // The RADIUS section is written once the owner names a server (or it is there already).
    let radius = !v("server").is_empty() || text.contains("config radius");
    for (section, name) in FIELDS {
        let Some(o) = options::find(section, name) else {
            continue;
        };
        let value = v(name);
        let named = options::SECTIONS
            .iter()
            .find(|(kind, _)| kind == section)
            .map_or(*section, |(_, n)| *n);
        if (*section == "radius" && !radius) || (o.secret && value.is_empty()) {
            continue; // an empty secret keeps the one saved
        }
        if o.is_list() {
            // MACs are written the way Lango prints them; what does not parse is left for
            // `Config::parse` to name.
            let list: Vec<String> = items(&value)
                .into_iter()
                .map(|m| match *name {
                    "trusted" => m.parse::<crate::mac::Mac>().map_or(m, |m| m.to_string()),
                    _ => m,
                })
                .collect();
            doc.set_list(section, named, name, &list)?;
        } else {
            doc.set(section, named, name, &value)?;
        }
    }
    Ok(doc.render())
}

/// Every option the saved file would refuse, as (option, why), at once.
fn every_error(text: &str, form: &[(String, String)]) -> Vec<(String, String)> {
    match edit(text, form).map(|t| Config::parse_all(&t, "settings")) {
        Err(EditError::ControlCharacter(option)) => vec![(
            option,
            "Control characters (tab, new line, NUL…) are not allowed.".to_string(),
        )],
        Err(e) => vec![(String::new(), format!("the config file: {e}"))],
        Ok(Ok(_)) => vec![],
        Ok(Err(errors)) => errors
            .into_iter()
            .map(|e| match e {
                config::Error::Value { option, msg, .. } => (option, msg),
                other => (String::new(), other.to_string()),
            })
            .collect(),
    }
}

/// `POST /settings`.
pub async fn save(a: &Admin, cx: &Ctx, form: &[(String, String)]) -> Answer {
    let Some(path) = cx.settings.config.path.clone() else {
        return Err(Failure::BadRequest(
            "Lango was started without a config file; settings cannot be saved.".into(),
        ));
    };
    let _one = a.saving.lock().await;
    let refused = |errors: Vec<(String, String)>, banner: &str| {
        let v = View {
            form: Some(form),
            config: &cx.settings.config,
            errors,
        };
        Ok(render(a, cx, &v, StatusCode::BAD_REQUEST, Some(banner)))
    };
    let p = path.clone();
    let text = match tokio::task::spawn_blocking(move || std::fs::read_to_string(&p)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Ok(Err(e)) => return Err(Failure::Internal(format!("{}: {e}", path.display()))),
        Err(e) => return Err(Failure::Internal(e.to_string())),
    };
    let (marked, other): (Vec<_>, Vec<_>) = every_error(&text, form)
        .into_iter()
        .partition(|(option, _)| field(option).is_some());
    if !marked.is_empty() || !other.is_empty() {
        let mut banner = match marked.len() {
            0 => "Not saved".to_string(),
            1 => "Not saved: please correct the field marked below".to_string(),
            n => format!("Not saved: please correct the {n} fields marked below"),
        };
        // What the form does not show (an option set by hand) is named here.
        for (option, why) in &other {
            banner += &match option.as_str() {
                "" => format!("; {why}"),
                o => format!("; option {o} in the config file: {why}"),
            };
        }
        banner.push('.');
        return refused(marked, &banner);
    }
    let new_text = match edit(&text, form) {
        Ok(t) => t,
        Err(e) => return refused(vec![], &format!("Not saved: the config file: {e}")),
    };
    let p = path.clone();
    let written = tokio::task::spawn_blocking(move || Config::write(&p, &new_text))
        .await
        .map_err(|e| Failure::Internal(e.to_string()))?;
    let config = match written {
        Ok(c) => c,
        Err(e) => return refused(vec![], &format!("Not saved: {e}")),
    };
    log::info!("admin: settings saved to {}", path.display());
    let notice = match a.live.reload(config).await {
        Ok(pending) if pending.is_empty() => Notice::Done("Saved and applied.".into()),
        Ok(pending) => Notice::Warning(format!(
            "Saved. {} take effect when you press Apply below (online clients stay online).",
            pending.join(", ")
        )),
        Err(e) => {
            log::error!("admin: settings saved but not applied: {e:#}");
            Notice::Warning(format!(
                "Saved, but not applied: {e:#}. Restart Lango to use them."
            ))
        }
    };
    Ok(a.done(cx, notice, "/settings"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_edit_keeps_comments_and_secrets_left_empty() {
        let text = "# mine\nconfig lango 'main'\n\toption site_name 'Old'\n\toption frob 'x'\n\nconfig daraja 'daraja'\n\toption passkey 'keep-me'\n";
        let f = form(&[
            ("site_name", "New"),
            ("welcome", ""),
            ("language", "sw"),
            ("interface", "br-lan, guest"),
            ("walled_garden", "196.201.214.0/24\n\n10.0.0.0/8\n"),
            ("trusted", ""),
            ("environment", "sandbox"),
            ("type", "paybill"),
            ("shortcode", "174379"),
            ("till", ""),
            ("callback_url", ""),
            ("consumer_key", "new-key"),
            ("consumer_secret", ""),
            ("passkey", ""),
        ]);
        let out = edit(text, &f).unwrap();
        assert!(out.starts_with(
            "# mine\nconfig lango 'main'\n\toption site_name 'New'\n\toption frob 'x'\n"
        ));
        let c = Config::parse(&out, "t").unwrap();
        assert_eq!(c.site_name, "New");
        assert_eq!(c.interfaces, ["br-lan", "guest"]);
        assert_eq!(c.walled_garden.len(), 2);
        assert_eq!(c.daraja.passkey.0, "keep-me");
        assert_eq!(c.daraja.consumer_key.0, "new-key");
        assert_eq!(c.language, crate::config::Lang::Sw);
    }

    #[test]
    fn radius_is_written_once_a_server_is_named_and_its_secret_kept() {
        let text = "config lango 'main'\n";
        let none = edit(text, &form(&[("server", ""), ("nas_identifier", "lango")])).unwrap();
        assert!(!none.contains("radius"), "{none}");
        let f = form(&[
            ("site_name", "Shop"),
            ("language", "en"),
            ("interface", "br-lan"),
            ("environment", "sandbox"),
            ("type", "paybill"),
            ("shortcode", "174379"),
            ("server", "192.0.2.10"),
            ("secret", "s3cret"),
            ("nas_identifier", "shop-1"),
            ("mode", "all"),
            ("interim_interval", "300"),
            ("coa_listen", "192.0.2.1:3799"),
        ]);
        let out = edit(text, &f).unwrap();
        let r = Config::parse(&out, "t").unwrap().radius.unwrap();
        assert_eq!(
            (r.secret.0.as_str(), r.nas_identifier.as_str()),
            ("s3cret", "shop-1")
        );
        let mut again = f.clone();
        again.retain(|(k, _)| k != "secret");
        let kept = edit(&out, &again).unwrap();
        assert_eq!(
            Config::parse(&kept, "t").unwrap().radius.unwrap().secret.0,
            "s3cret"
        );
    }
}
