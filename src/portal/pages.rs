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
                ("content", content),
            ],
        )
    }

    /// The packages with the pay form, and the voucher form.
    fn shop(
        &self,
        packages: &[Package],
        error: Option<&str>,
        phone: &str,
        heading: &str,
    ) -> String {
        let t = self.t;
        let mut h = String::with_capacity(4096);
        if !self.welcome.is_empty() {
            h += &format!("<p class=\"welcome\">{}</p>", escape(self.welcome));
        }
        match error {
            Some(e) => h += &format!("<p class=\"err\" role=\"alert\">{}</p>", escape(e)),
            None if self.mpesa && self.mpesa_down => {
                h += &format!(
                    "<p class=\"err\" role=\"status\">{}</p>",
                    t.mpesa_unavailable
                )
            }
            None => {}
        }
        h += &format!(
            "<form class=\"card\" method=\"post\" action=\"/pay{}\"><h2>{heading}</h2>",
            self.q()
        );
        for (i, p) in packages.iter().enumerate() {
            h += &format!(
                "<label class=\"pkg\"><input type=\"radio\" name=\"package_id\" value=\"{}\"{}><span><b>{}</b><span>{} {} {}</span></span><span class=\"price\">KES {}</span></label>",
                p.id,
                if i == 0 { " checked" } else { "" },
                escape(&p.name),
                t.duration(u64::from(p.duration_s)),
                t.at,
                p.down,
                p.price.0
            );
        }
        if self.mpesa {
            h += &format!(
                "<label class=\"f\" for=\"phone\">{}</label><input id=\"phone\" type=\"tel\" name=\"phone\" inputmode=\"tel\" autocomplete=\"tel\" placeholder=\"07XX XXX XXX\" required value=\"{}\"><button type=\"submit\">{}</button><p class=\"hint\">{}</p></form>",
                t.phone_label,
                escape(phone),
                t.pay,
                t.pay_hint
            );
        } else {
            h += &format!("<p class=\"hint\">{}</p></form>", t.mpesa_not_set_up);
        }
        h += &format!(
            "<form class=\"card\" method=\"post\" action=\"/voucher{}\"><h2>{}</h2><label class=\"f\" for=\"code\">{}</label><input id=\"code\" type=\"text\" name=\"code\" autocapitalize=\"characters\" autocomplete=\"off\" placeholder=\"ABCDE-FGH23\" required><button class=\"alt\" type=\"submit\">{}</button></form>",
            self.q(),
            t.voucher_q,
            t.voucher_label,
            t.redeem
        );
        h += &format!(
            "<form class=\"card\" method=\"post\" action=\"/reconnect{}\"><h2>{}</h2><label class=\"f\" for=\"rc\">{}</label><input id=\"rc\" type=\"text\" name=\"code\" autocapitalize=\"characters\" autocomplete=\"off\" placeholder=\"K7Q-3MP\" required><button class=\"alt\" type=\"submit\">{}</button></form>",
            self.q(),
            t.reconnect_q,
            t.reconnect_label,
            t.reconnect_button
        );
        h
    }

    /// The first page a phone sees.
    pub fn index(&self, packages: &[Package], error: Option<&str>, phone: &str) -> String {
        self.page("", &self.shop(packages, error, phone, self.t.choose), "/")
    }

    /// "You are online — 2 h 59 min left", with the shop to buy more.
    pub fn online(
        &self,
        s: &Session,
        now: i64,
        packages: &[Package],
        notice: Option<&str>,
    ) -> String {
        let t = self.t;
        let mut h = String::new();
        if let Some(n) = notice {
            h += &format!("<p class=\"ok\" role=\"status\">{}</p>", escape(n));
        }
        h += &format!(
            "<section class=\"card\"><h2>{}</h2><p class=\"big\">{}</p><p class=\"hint\">{}: {} ↓ / {} ↑</p>",
            t.online,
            t.time_left(s.seconds_left(now)),
            t.speed,
            s.down,
            s.up
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
        h += "</section>";
        h += &self.shop(packages, None, "", t.buy_more);
        self.page("", &h, "/")
    }

    /// A payment on its way: refreshes itself until final.
    pub fn payment(&self, p: &Payment) -> String {
        let t = self.t;
        let msg = crate::payments::messages::for_payment(p, t.lang);
        let here = format!("/pay/{}", p.id);
        let (head, body) = match p.state {
            PaymentState::Created | PaymentState::Pushed => (
                format!("<meta http-equiv=\"refresh\" content=\"3;url={here}{}\">", self.q()),
                format!(
                    "<section class=\"card\"><h2><span class=\"spin\"></span>{}</h2><p>{}</p><p class=\"big\">KES {}</p><p class=\"hint\">{} — {}</p><a class=\"btn alt\" href=\"{here}{}\">{}</a></section>",
                    t.waiting,
                    msg,
                    p.amount.0,
                    escape(&p.package_name),
                    t.duration(u64::from(p.duration_s)),
                    self.q(),
                    t.continue_
                ),
            ),
            PaymentState::Paid => (
                format!("<meta http-equiv=\"refresh\" content=\"2;url=/{}\">", self.q()),
                format!("<p class=\"ok\" role=\"status\">{msg}</p><a class=\"btn\" href=\"/{}\">{}</a>", self.q(), t.continue_),
            ),
            _ => (
                String::new(),
                format!("<p class=\"err\" role=\"alert\">{msg}</p><a class=\"btn\" href=\"/{}\">{}</a>", self.q(), t.try_again),
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
