//! The portal's HTML pages: plain forms and full-page navigations, no JavaScript, no cookies
//! (the iOS and Android login sheets allow neither reliably). The language travels in `?lang=`.
//! Touches: nothing (pure rendering from values; text is escaped on its way into `Html`).

use super::text::Text;
use crate::html::Html;
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

    fn page(&self, head: &Html, content: &Html, lang_href: &str) -> Html {
        let other = match self.t.lang {
            crate::config::Lang::En => "sw",
            crate::config::Lang::Sw => "en",
        };
        fill(
            LAYOUT,
            &[
                ("lang", &Html::text(self.t.lang.code())),
                ("head", head),
                ("site", &Html::text(self.site)),
                ("css", &Html::markup(CSS)),
                ("lang_href", &html!("{}?lang={}", lang_href, other)),
                ("other_lang", &Html::text(self.t.other_lang)),
                ("content", &keep_together(content)),
            ],
        )
    }

    /// The packages with the pay form, and the voucher form; what the customer chose and typed
    /// stays chosen, and an error stands next to the field it is about.
    fn shop(&self, packages: &[Package], chosen: &Chosen, heading: &str) -> Html {
        let t = self.t;
        let q = self.q();
        let mut h = Html::with_capacity(4096);
        if !self.welcome.is_empty() {
            h += html!("<p class=\"welcome\">{}</p>", self.welcome);
        }
        match chosen.error {
            Some((e, About::Page)) => h += alert("page", e, Html::new()),
            Some((e, About::Pending(id))) => {
                h += alert(
                    "page",
                    e,
                    html!(" <a href=\"/pay/{}{}\">{}</a>", id, q, t.see_pending),
                )
            }
            _ if self.mpesa && self.mpesa_down => {
                h += html!(
                    "<p class=\"err\" role=\"status\">{}</p>",
                    t.mpesa_unavailable
                )
            }
            _ => {}
        }
        let (pkg_err, pkg_attrs) = chosen.at(About::Package, "pkg");
        h += html!(
            "<form class=\"card\" method=\"post\" action=\"/pay{}\"><h2>{}</h2>{}",
            q,
            heading,
            pkg_err
        );
        let selected = packages
            .iter()
            .find(|p| Some(p.id) == chosen.package)
            .or(packages.first())
            .map(|p| p.id);
        for p in packages {
            h += html!(
                "<label class=\"pkg\"><input type=\"radio\" name=\"package_id\" value=\"{}\"{}{}><span><b>{}</b><span>{}</span></span><span class=\"price\">KES {}</span></label>",
                p.id,
                if Some(p.id) == selected { " checked" } else { "" },
                pkg_attrs,
                p.name,
                t.package_line(p),
                p.price.0
            );
        }
        if self.mpesa {
            let (err, attrs) = chosen.at(About::Phone, "phone");
            h += html!(
                "<label class=\"f\" for=\"phone\">{}</label>{}<input id=\"phone\" type=\"tel\" name=\"phone\" inputmode=\"tel\" autocomplete=\"tel\" placeholder=\"07XX XXX XXX\" required value=\"{}\"{}><button type=\"submit\">{}</button><p class=\"hint\">{}</p></form>",
                t.phone_label,
                err,
                chosen.phone,
                attrs,
                t.pay,
                t.pay_hint
            );
        } else {
            h += html!("<p class=\"hint\">{}</p></form>", t.mpesa_not_set_up);
        }
        let (err, attrs) = chosen.at(About::Voucher, "code");
        h += html!(
            "<form class=\"card\" method=\"post\" action=\"/voucher{}\"><h2>{}</h2><label class=\"f\" for=\"code\">{}</label>{}<input id=\"code\" type=\"text\" name=\"code\" autocapitalize=\"characters\" autocomplete=\"off\" placeholder=\"ABCDE-FGH23\" required{}><button class=\"alt\" type=\"submit\">{}</button></form>",
            q,
            t.voucher_q,
            t.voucher_label,
            err,
            attrs,
            t.redeem
        );
        let (err, attrs) = chosen.at(About::Reconnect, "rc");
        h += html!(
            "<form class=\"card\" method=\"post\" action=\"/reconnect{}\"><h2>{}</h2><label class=\"f\" for=\"rc\">{}</label>{}<input id=\"rc\" type=\"text\" name=\"code\" autocapitalize=\"characters\" autocomplete=\"off\" placeholder=\"K7Q-3MP\" required{}><button class=\"alt\" type=\"submit\">{}</button></form>",
            q,
            t.reconnect_q,
            t.reconnect_label,
            err,
            attrs,
            t.reconnect_button
        );
        h
    }

    /// The first page a phone sees, or the same page again with what went wrong.
    pub fn index(&self, packages: &[Package], chosen: &Chosen) -> Html {
        self.page(
            &Html::new(),
            &self.shop(packages, chosen, self.t.choose),
            "/",
        )
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
    ) -> Html {
        let t = self.t;
        let mut h = Html::new();
        if let Some(n) = notice {
            h += html!("<p class=\"ok\" role=\"status\">{}</p>", n);
        }
        h += html!(
            "<section class=\"card\"><h2>{}</h2><p class=\"big\">{}</p><p>{}</p>",
            t.online,
            t.until(s.expires_at),
            t.time_left(s.seconds_left(now)),
        );
        if let (Some(left), Some(limit)) = (s.data_left(s.used), s.data_limit) {
            h += html!("<p class=\"big\">{}</p>", t.data_left_of(left, limit));
        }
        if let Some(how) = how {
            h += html!("<p>{}</p>", how);
        }
        h += html!(
            "<p class=\"hint\">{}: {} ↓ / {} ↑</p>",
            t.speed,
            s.down,
            s.up
        );
        if let Some(code) = &s.code {
            let code = crate::reconnect::ReconnectCode::from_stored(code.clone());
            h += html!(
                "<p>{}: <b class=\"code\">{}</b></p><p class=\"hint\">{}</p>",
                t.reconnect_code,
                code.to_string(),
                t.reconnect_hint
            );
        }
        h += html!(
            "<a class=\"btn\" href=\"{}\">{}</a></section>",
            START_BROWSING,
            t.start_browsing
        );
        h += self.shop(packages, chosen, t.buy_more);
        self.page(&Html::new(), &h, "/")
    }

    /// A payment on its way: refreshes itself until final. `now` says how long it has waited.
    pub fn payment(&self, p: &Payment, now: i64) -> Html {
        let t = self.t;
        let q = self.q();
        let msg = crate::payments::messages::for_payment(p, t.lang);
        let here = format!("/pay/{}", p.id);
        // The same package and number, back on the shop page.
        let again = format!("/{q}&package={}&phone={}", p.package_id, p.phone.as_str());
        let (head, body) = match p.state {
            PaymentState::Created | PaymentState::Pushed => (
                html!(
                    "<meta http-equiv=\"refresh\" content=\"3;url={}{}\">",
                    here,
                    q
                ),
                html!(
                    "<section class=\"card\"><h2><span class=\"spin\"></span>{}</h2><p role=\"status\">{}</p><p>{} <b>{}</b></p><p class=\"big\">KES {}</p><p class=\"hint\">{} — {}</p><p class=\"hint\">{} {}</p><form method=\"post\" action=\"{}/cancel{}\"><button class=\"alt\" type=\"submit\">{}</button></form><a class=\"btn alt\" href=\"{}{}\">{}</a></section>",
                    t.waiting,
                    msg,
                    t.prompt_to,
                    p.phone.masked(),
                    p.amount.0,
                    p.package_name,
                    t.duration(u64::from(p.duration_s)),
                    t.waited,
                    t.seconds(u64::try_from(now - p.created_at).unwrap_or(0)),
                    here,
                    q,
                    t.change_number,
                    here,
                    q,
                    t.continue_
                ),
            ),
            PaymentState::Paid => (
                html!("<meta http-equiv=\"refresh\" content=\"2;url=/{}\">", q),
                html!(
                    "<p class=\"ok\" role=\"status\">{}</p><a class=\"btn\" href=\"/{}\">{}</a>",
                    msg,
                    q,
                    t.continue_
                ),
            ),
            _ => (
                Html::new(),
                html!(
                    "<p class=\"err\" role=\"alert\">{}</p><a class=\"btn\" href=\"{}\">{}</a>",
                    msg,
                    again,
                    t.try_again
                ),
            ),
        };
        self.page(&head, &body, &here)
    }

    /// A page with one message and a way back.
    pub fn message(&self, msg: &str) -> Html {
        let body = html!(
            "<p class=\"err\" role=\"alert\">{}</p><a class=\"btn\" href=\"/{}\">{}</a>",
            msg,
            self.q(),
            self.t.try_again
        );
        self.page(&Html::new(), &body, "/")
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
    /// error is about `here`; nothing otherwise.
    fn at(&self, here: About, id: &str) -> (Html, Html) {
        match self.error {
            Some((e, about)) if about == here => (
                alert(id, e, Html::new()),
                html!(" aria-invalid=\"true\" aria-describedby=\"{}-err\"", id),
            ),
            _ => (Html::new(), Html::new()),
        }
    }
}

/// An error paragraph with id `{id}-err`; `extra` is markup after the escaped words.
fn alert(id: &str, words: &str, extra: Html) -> Html {
    html!(
        "<p class=\"err\" id=\"{}-err\" role=\"alert\">{}{}</p>",
        id,
        words,
        extra
    )
}

/// Where "Start browsing" goes: any page opens the internet once the gate lets the phone out.
const START_BROWSING: &str = "http://neverssl.com/";

/// "M-Pesa" kept on one line: a phone's narrow screen must not break it at the hyphen.
fn keep_together(html: &Html) -> Html {
    html.replace("M-Pesa", "<span class=\"nw\">M-Pesa</span>")
}

/// Replaces each `{{key}}` in `template` (markup in the binary) once, in a single pass (values
/// are not re-scanned).
pub fn fill(template: &'static str, vars: &[(&str, &Html)]) -> Html {
    let mut out =
        Html::with_capacity(template.len() + vars.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_markup(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let key = &after[..end];
                match vars.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out += *v,
                    None => out.push_markup(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_markup(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_markup(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_once_without_rescanning() {
        let (x, y) = (Html::markup("{{y}}"), Html::text("2"));
        assert_eq!(
            fill("a{{x}}b{{y}}c{{z}}", &[("x", &x), ("y", &y)]).as_str(),
            "a{{y}}b2c{{z}}"
        );
        assert_eq!(fill("open {{x", &[("x", &y)]).as_str(), "open {{x");
    }
}
