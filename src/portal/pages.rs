//! The portal's HTML pages: plain forms and full-page navigations, no JavaScript, no cookies
//! (the iOS and Android login sheets allow neither reliably). The language travels in `?lang=`.
//! Touches: nothing (pure rendering from values).

use super::text::Text;
use crate::server::escape;
use crate::store::packages::Package;
use crate::store::payments::{Payment, PaymentState};
use crate::store::sessions::Session;

const LAYOUT: &str = include_str!("../../www/portal.html");
const CSS: &str = include_str!("../../www/portal.css");

/// What every page knows.
pub struct Frame<'a> {
    pub site: &'a str,
    /// The owner's welcome line (empty: none).
    pub welcome: &'a str,
    pub t: &'static Text,
    /// M-Pesa is set up; otherwise the packages are shown without the pay form.
    pub mpesa: bool,
    /// Daraja could not be reached lately: say so, and point to vouchers.
    pub mpesa_down: bool,
}

impl Frame<'_> {
    fn q(&self) -> &'static str {
        match self.t.lang {
            crate::config::Lang::En => "?lang=en",
            crate::config::Lang::Sw => "?lang=sw",
        }
    }

    fn page(&self, head: &str, content: &str, lang_href: &str) -> String {
        let other = match self.t.lang {
            crate::config::Lang::En => "sw",
            crate::config::Lang::Sw => "en",
        };
        fill(
            LAYOUT,
            &[
                ("lang", self.t.lang.code()),
                ("head", head),
                ("site", &escape(self.site)),
                ("css", CSS),
                ("lang_href", &format!("{lang_href}?lang={other}")),
                ("other_lang", self.t.other_lang),
                ("content", &keep_together(content)),
            ],
        )
    }

    /// The packages with the pay form, and the voucher form; what the customer chose and typed
    /// stays chosen, and an error stands next to the field it is about.
    fn shop(&self, packages: &[Package], chosen: &Chosen, heading: &str) -> String {
        let t = self.t;
        let q = self.q();
        let mut h = String::with_capacity(4096);
        if !self.welcome.is_empty() {
            h += &format!("<p class=\"welcome\">{}</p>", escape(self.welcome));
        }
        match chosen.error {
            Some((e, About::Page)) => h += &alert("page", e, ""),
            Some((e, About::Pending(id))) => {
                h += &alert(
                    "page",
                    e,
                    &format!(" <a href=\"/pay/{id}{q}\">{}</a>", t.see_pending),
                )
            }
            _ if self.mpesa && self.mpesa_down => {
                h += &format!(
                    "<p class=\"err\" role=\"status\">{}</p>",
                    t.mpesa_unavailable
                )
            }
            _ => {}
        }
        let (pkg_err, pkg_attrs) = chosen.at(About::Package, "pkg");
        h += &format!(
            "<form class=\"card\" method=\"post\" action=\"/pay{q}\"><h2>{heading}</h2>{pkg_err}"
        );
        let selected = packages
            .iter()
            .find(|p| Some(p.id) == chosen.package)
            .or(packages.first())
            .map(|p| p.id);
        for p in packages {
            h += &format!(
                "<label class=\"pkg\"><input type=\"radio\" name=\"package_id\" value=\"{}\"{}{pkg_attrs}><span><b>{}</b><span>{}</span></span><span class=\"price\">KES {}</span></label>",
                p.id,
                if Some(p.id) == selected { " checked" } else { "" },
                escape(&p.name),
                t.package_line(p),
                p.price.0
            );
        }
        if self.mpesa {
            let (err, attrs) = chosen.at(About::Phone, "phone");
            h += &format!(
                "<label class=\"f\" for=\"phone\">{}</label>{err}<input id=\"phone\" type=\"tel\" name=\"phone\" inputmode=\"tel\" autocomplete=\"tel\" placeholder=\"07XX XXX XXX\" required value=\"{}\"{attrs}><button type=\"submit\">{}</button><p class=\"hint\">{}</p></form>",
                t.phone_label,
                escape(chosen.phone),
                t.pay,
                t.pay_hint
            );
        } else {
            h += &format!("<p class=\"hint\">{}</p></form>", t.mpesa_not_set_up);
        }
        let (err, attrs) = chosen.at(About::Voucher, "code");
        h += &format!(
            "<form class=\"card\" method=\"post\" action=\"/voucher{q}\"><h2>{}</h2><label class=\"f\" for=\"code\">{}</label>{err}<input id=\"code\" type=\"text\" name=\"code\" autocapitalize=\"characters\" autocomplete=\"off\" placeholder=\"ABCDE-FGH23\" required{attrs}><button class=\"alt\" type=\"submit\">{}</button></form>",
            t.voucher_q,
            t.voucher_label,
            t.redeem
        );
        let (err, attrs) = chosen.at(About::Reconnect, "rc");
        h += &format!(
            "<form class=\"card\" method=\"post\" action=\"/reconnect{q}\"><h2>{}</h2><label class=\"f\" for=\"rc\">{}</label>{err}<input id=\"rc\" type=\"text\" name=\"code\" autocapitalize=\"characters\" autocomplete=\"off\" placeholder=\"K7Q-3MP\" required{attrs}><button class=\"alt\" type=\"submit\">{}</button></form>",
            t.reconnect_q,
            t.reconnect_label,
            t.reconnect_button
        );
        h
    }

    /// The first page a phone sees, or the same page again with what went wrong.
    pub fn index(&self, packages: &[Package], chosen: &Chosen) -> String {
        self.page("", &self.shop(packages, chosen, self.t.choose), "/")
    }

    /// "You are online until 21:40", the data left of an allowance (by `s.used`), what paid for
    /// it, a way out to the internet, and the shop to buy more (with `chosen` chosen). `how` is
    /// what paid ("Paid KES 50 …" or "Voucher …").
    pub fn online(
        &self,
        s: &Session,
        now: i64,
        packages: &[Package],
        notice: Option<&str>,
        how: Option<&str>,
        chosen: &Chosen,
    ) -> String {
        let t = self.t;
        let mut h = String::new();
        if let Some(n) = notice {
            h += &format!("<p class=\"ok\" role=\"status\">{}</p>", escape(n));
        }
        h += &format!(
            "<section class=\"card\"><h2>{}</h2><p class=\"big\">{}</p><p>{}</p>",
            t.online,
            t.until(s.expires_at),
            t.time_left(s.seconds_left(now)),
        );
        if let (Some(left), Some(limit)) = (s.data_left(s.used), s.data_limit) {
            h += &format!("<p class=\"big\">{}</p>", t.data_left_of(left, limit));
        }
        if let Some(how) = how {
            h += &format!("<p>{}</p>", escape(how));
        }
        h += &format!(
            "<p class=\"hint\">{}: {} ↓ / {} ↑</p>",
            t.speed, s.down, s.up
        );
        if let Some(code) = &s.code {
            let code = crate::reconnect::ReconnectCode::from_stored(code.clone());
            h += &format!(
                "<p>{}: <b class=\"code\">{}</b></p><p class=\"hint\">{}</p>",
                t.reconnect_code,
                escape(&code.to_string()),
                t.reconnect_hint
            );
        }
        h += &format!(
            "<a class=\"btn\" href=\"{START_BROWSING}\">{}</a></section>",
            t.start_browsing
        );
        h += &self.shop(packages, chosen, t.buy_more);
        self.page("", &h, "/")
    }

    /// A payment on its way: refreshes itself until final. `now` says how long it has waited.
    pub fn payment(&self, p: &Payment, now: i64) -> String {
        let t = self.t;
        let q = self.q();
        let msg = crate::payments::messages::for_payment(p, t.lang);
        let here = format!("/pay/{}", p.id);
        // The same package and number, back on the shop page.
        let again = format!("/{q}&package={}&phone={}", p.package_id, p.phone.as_str());
        let (head, body) = match p.state {
            PaymentState::Created | PaymentState::Pushed => (
                format!("<meta http-equiv=\"refresh\" content=\"3;url={here}{q}\">"),
                format!(
                    "<section class=\"card\"><h2><span class=\"spin\"></span>{}</h2><p role=\"status\">{}</p><p>{} <b>{}</b></p><p class=\"big\">KES {}</p><p class=\"hint\">{} — {}</p><p class=\"hint\">{} {}</p><form method=\"post\" action=\"{here}/cancel{q}\"><button class=\"alt\" type=\"submit\">{}</button></form><a class=\"btn alt\" href=\"{here}{q}\">{}</a></section>",
                    t.waiting,
                    msg,
                    t.prompt_to,
                    p.phone.masked(),
                    p.amount.0,
                    escape(&p.package_name),
                    t.duration(u64::from(p.duration_s)),
                    t.waited,
                    t.seconds(u64::try_from(now - p.created_at).unwrap_or(0)),
                    t.change_number,
                    t.continue_
                ),
            ),
            PaymentState::Paid => (
                format!("<meta http-equiv=\"refresh\" content=\"2;url=/{q}\">"),
                format!("<p class=\"ok\" role=\"status\">{msg}</p><a class=\"btn\" href=\"/{q}\">{}</a>", t.continue_),
            ),
            _ => (
                String::new(),
                format!(
                    "<p class=\"err\" role=\"alert\">{msg}</p><a class=\"btn\" href=\"{}\">{}</a>",
                    escape(&again),
                    t.try_again
                ),
            ),
        };
        self.page(&head, &body, &here)
    }

    /// A page with one message and a way back.
    pub fn message(&self, msg: &str) -> String {
        let body = format!(
            "<p class=\"err\" role=\"alert\">{}</p><a class=\"btn\" href=\"/{}\">{}</a>",
            escape(msg),
            self.q(),
            self.t.try_again
        );
        self.page("", &body, "/")
    }
}

/// Which part of the shop page an error is about, so it is shown there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum About {
    /// The whole page (the device, the hotspot, M-Pesa).
    Page,
    Package,
    Phone,
    /// "Your previous payment is still waiting": links to that payment.
    Pending(i64),
    Voucher,
    Reconnect,
}

/// What the customer chose and typed, kept when the shop page comes back, and what went wrong.
#[derive(Default)]
pub struct Chosen<'a> {
    pub package: Option<i64>,
    pub phone: &'a str,
    pub error: Option<(&'a str, About)>,
}

impl Chosen<'_> {
    /// For the field `id`: the error shown above it and the attributes that mark it, if the
    /// error is about `here`; empty strings otherwise.
    fn at(&self, here: About, id: &str) -> (String, String) {
        match self.error {
            Some((e, about)) if about == here => (
                alert(id, e, ""),
                format!(" aria-invalid=\"true\" aria-describedby=\"{id}-err\""),
            ),
            _ => (String::new(), String::new()),
        }
    }
}

/// An error paragraph with id `{id}-err`; `extra` is trusted HTML after the escaped words.
fn alert(id: &str, words: &str, extra: &str) -> String {
    format!(
        "<p class=\"err\" id=\"{id}-err\" role=\"alert\">{}{extra}</p>",
        escape(words)
    )
}

/// Where "Start browsing" goes: any page opens the internet once the gate lets the phone out.
const START_BROWSING: &str = "http://neverssl.com/";

/// "M-Pesa" kept on one line: a phone's narrow screen must not break it at the hyphen.
fn keep_together(html: &str) -> String {
    html.replace("M-Pesa", "<span class=\"nw\">M-Pesa</span>")
}

/// Replaces each `{{key}}` in `template` once, in a single pass (values are not re-scanned).
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + vars.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let key = &after[..end];
                match vars.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_once_without_rescanning() {
        assert_eq!(
            fill("a{{x}}b{{y}}c{{z}}", &[("x", "{{y}}"), ("y", "2")]),
            "a{{y}}b2c{{z}}"
        );
        assert_eq!(fill("open {{x", &[("x", "1")]), "open {{x");
    }
}
