//! The captive portal: HTTP for phones. Any request for another host is sent to the portal
//! (that is how phones notice the captive network); the portal's own pages and JSON API identify
//! the phone by the MAC behind its address.
//! Touches: payments, sessions, the store (reads), neighbour tables. Never: SQL or nft directly.

mod api;
mod cache;
pub use api::{pay_request, voucher_request, BadJson, PayRequest};
pub use cache::PageCache;
mod forms;
pub use forms::{pay_form, voucher_form};
mod pages;
pub use pages::fill;
mod text;

use crate::clock::Clock;
use crate::config::Lang;
use crate::gate::neigh::Neighbours;
use crate::live::{Live, Settings};
use crate::mac::Mac;
use crate::server::{self, Peer, Request, Response};
use crate::sessions::Sessions;
use crate::store::Store;
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, ACCEPT_LANGUAGE, CONTENT_TYPE, HOST, ORIGIN};
use hyper::{Method, StatusCode};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use text::Text;

/// Portal forms and JSON bodies are tiny; anything bigger is not from a phone.
const BODY_LIMIT: usize = 4096;
/// The online page says a payment was confirmed late for this long after it was.
const PAID_LATE_NOTICE_S: i64 = 24 * 3600;

/// Sent with every portal answer: no framing by other sites, no sniffing, no scripts at all
/// (the portal has none), styles only inline, forms only to the portal itself.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    // Not no-referrer: with it, browsers send `Origin: null` with the portal's own forms.
    ("referrer-policy", "same-origin"),
];

/// A portal answer on its way.
pub type Answer = std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>;

/// `r` with [`SECURITY_HEADERS`].
fn secured(mut r: Response) -> Response {
    let h = r.headers_mut();
    for (k, v) in SECURITY_HEADERS {
        h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    r
}

/// Everything the portal needs.
pub struct Portal {
    /// Site name, welcome text, language and payments, as the last reload left them.
    pub live: Arc<Live>,
    pub store: Store,
    pub sessions: Arc<Sessions>,
    /// Bytes counted and not yet persisted, for the data left.
    pub usage: Arc<crate::usage::Usage>,
    pub neighbours: Arc<Neighbours>,
    pub clock: Arc<dyn Clock>,
    /// Wrong voucher codes per device (the abuse limit).
    pub guesses: crate::limits::Guesses,
    /// The shop page as last rendered, per language.
    pub pages: PageCache,
    /// The central RADIUS server, if `config radius` names one.
    pub radius: Option<Arc<crate::radius::Radius>>,
}

/// One request's context: who asks, in which language, at which address of ours, and the
/// settings in force when it arrived.
struct Ctx {
    peer: Peer,
    lang: Lang,
    query: Vec<(String, String)>,
    settings: Arc<Settings>,
}

impl Ctx {
    fn t(&self) -> &'static Text {
        text::text(self.lang)
    }
}

impl Portal {
    /// Answers one request. What the head tells (host, language, a cross-site POST) is read at
    /// once and the head let go; the future returned, kept while the answer is awaited, holds
    /// only what routing needs (a crowd waiting for pages holds no headers, and each waiting
    /// request's future is half the size it was with the request inside).
    pub fn handle(self: Arc<Self>, req: Request, peer: Peer) -> Answer {
        let host = req
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !is_own_host(host, peer.local) {
            return Box::pin(std::future::ready(server::redirect(&portal_url(
                peer.local,
            ))));
        }
        let settings = self.live.get();
        let query = server::form_pairs(req.uri().query().unwrap_or(""));
        let lang = server::form_value(&query, "lang")
            .and_then(|l| Lang::parse(&l))
            .or_else(|| {
                let al = req.headers().get(ACCEPT_LANGUAGE)?.to_str().ok()?;
                al.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("sw")
                    .then_some(Lang::Sw)
            })
            .unwrap_or(settings.config.language);
        let cx = Ctx {
            peer,
            lang,
            query,
            settings,
        };
        let path = req.uri().path().to_string();
        if let Some(why) = cross_site(&req, cx.peer.local) {
            log::info!(
                "portal: POST {path} from {} refused: {why}",
                cx.peer.remote.ip()
            );
            let refused = self.refuse_cross_site(&cx, &path, why);
            return Box::pin(std::future::ready(secured(refused)));
        }
        let method = req.method().clone();
        Box::pin(self.answer(method, req.into_body(), cx, path))
    }

    /// The routed answer, with the security headers.
    async fn answer(
        self: Arc<Self>,
        method: Method,
        body: Incoming,
        cx: Ctx,
        path: String,
    ) -> Response {
        secured(self.route(method, body, &cx, &path).await)
    }

    /// A cross-site POST: 403 (415 for a JSON endpoint sent something else), in the phone's words.
    fn refuse_cross_site(&self, cx: &Ctx, path: &str, why: CrossSite) -> Response {
        let status = match why {
            CrossSite::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            CrossSite::ForeignOrigin => StatusCode::FORBIDDEN,
        };
        if path.starts_with("/api/") {
            let message = match why {
                CrossSite::NotJson => "send the body as Content-Type: application/json",
                CrossSite::ForeignOrigin => "forms are accepted only from the portal's own pages",
            };
            return api::error(status, "cross_site", message);
        }
        server::html(status, self.frame(cx).message(cx.t().cross_site))
    }

    async fn route(
        self: &Arc<Self>,
        method: Method,
        body: Incoming,
        cx: &Ctx,
        path: &str,
    ) -> Response {
        // Every arm that waits for the database or Daraja is boxed: inline, its state would make
        // every request's future, kept per connection by hyper, as large as the largest arm
        // (14 KiB with paying inline; 2 KiB with the shop page's data left inline), and a crowd
        // of phones only probing would pay for it.
        match (method, path) {
            (Method::GET, "/captive-portal/api") => Box::pin(api::captive(self, cx)).await,
            (Method::GET, "/api/packages") => api::packages(self).await,
            (Method::GET, "/api/status") => Box::pin(api::status(self, cx)).await,
            (Method::POST, "/api/pay") => Box::pin(api::pay(self, cx, body)).await,
            (Method::GET, p) if p.starts_with("/api/pay/") => {
                Box::pin(api::payment(self, cx, &p["/api/pay/".len()..])).await
            }
            (Method::POST, "/api/voucher") => Box::pin(api::voucher(self, cx, body)).await,
            (Method::POST, "/api/reconnect") => Box::pin(api::reconnect(self, cx, body)).await,
            (Method::GET, "/") => Box::pin(forms::index(self, cx)).await,
            (Method::POST, "/pay") => Box::pin(forms::pay(self, cx, body)).await,
            (Method::POST, p) if p.starts_with("/pay/") && p.ends_with("/cancel") => {
                let id = &p["/pay/".len()..p.len() - "/cancel".len()];
                Box::pin(forms::cancel(self, cx, id)).await
            }
            (Method::GET, p) if p.starts_with("/pay/") => {
                Box::pin(forms::payment(self, cx, &p["/pay/".len()..])).await
            }
            (Method::POST, "/voucher") => Box::pin(forms::voucher(self, cx, body)).await,
            (Method::POST, "/reconnect") => Box::pin(forms::reconnect(self, cx, body)).await,
            (_, p) if p.starts_with("/api/") => {
                api::error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
            }
            _ => server::html(
                StatusCode::NOT_FOUND,
                self.frame(cx).message(cx.t().not_found),
            ),
        }
    }

    fn frame<'a>(&self, cx: &'a Ctx) -> pages::Frame<'a> {
        pages::Frame {
            site: &cx.settings.config.site_name,
            welcome: &cx.settings.config.welcome,
            t: cx.t(),
            mpesa: cx.settings.payments.is_set_up(),
            mpesa_down: cx.settings.payments.unreachable(),
        }
    }

    /// The MAC of the phone at the other end, from the kernel's neighbour table.
    async fn mac_of(&self, ip: IpAddr) -> Option<Mac> {
        // Known already (the connection's first request looked it up): no trip to the pool.
        if let Some(known) = self.neighbours.cached(ip) {
            return known;
        }
        let n = self.neighbours.clone();
        tokio::task::spawn_blocking(move || n.lookup(ip))
            .await
            .ok()
            .flatten()
    }
}

/// Why the portal says no: one place maps every failure to a status, a code and words.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Where on the shop page the words go.
    about: pages::About,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
            about: pages::About::Page,
        }
    }

    /// The same refusal, shown next to `about`.
    fn about(self, about: pages::About) -> Self {
        Refusal { about, ..self }
    }

    /// An abuse limit: 429 with when to try again.
    fn too_many(cx: &Ctx, l: &crate::limits::Limited) -> Self {
        Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many",
            cx.t().too_many(l),
        )
    }

    fn internal(cx: &Ctx, what: &dyn std::fmt::Display) -> Self {
        log::error!("portal: {what}");
        Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "internal", cx.t().busy)
    }
}

impl Portal {
    /// The phone's MAC, or a refusal the phone understands.
    async fn device(&self, cx: &Ctx) -> Result<Mac, Refusal> {
        self.mac_of(cx.peer.remote.ip()).await.ok_or_else(|| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "unknown_device",
                cx.t().unknown_device,
            )
        })
    }

    /// Validates what the phone sent and starts an M-Pesa payment.
    async fn start_payment(
        &self,
        cx: &Ctx,
        package_id: Option<i64>,
        phone: &str,
    ) -> Result<crate::store::payments::Payment, Refusal> {
        let t = cx.t();
        let mac = self.device(cx).await?;
        let unknown_package = || {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "unknown_package",
                t.unknown_package,
            )
            .about(pages::About::Package)
        };
        let package_id = package_id.ok_or_else(unknown_package)?;
        let phone: crate::phone::Msisdn = phone.parse().map_err(|_| {
            Refusal::new(StatusCode::BAD_REQUEST, "bad_phone", t.bad_phone())
                .about(pages::About::Phone)
        })?;
        let ip = Some(cx.peer.remote.ip().to_canonical());
        match cx.settings.payments.start(mac, ip, package_id, phone).await {
            Ok(p) => Ok(p),
            Err(crate::payments::Error::UnknownPackage(_)) => Err(unknown_package()),
            Err(crate::payments::Error::AlreadyPending(id)) => {
                Err(
                    Refusal::new(StatusCode::CONFLICT, "already_pending", t.already_pending)
                        .about(pages::About::Pending(id)),
                )
            }
            Err(crate::payments::Error::TooMany(l)) => Err(Refusal::too_many(cx, &l)),
            Err(crate::payments::Error::NotSetUp(_)) => Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_set_up",
                t.mpesa_not_set_up,
            )),
            Err(crate::payments::Error::Unavailable(_)) => Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "mpesa_unavailable",
                t.mpesa_unavailable,
            )),
            Err(e) => Err(Refusal::internal(cx, &e)),
        }
    }

    /// A payment as the phone that started it may see it.
    async fn own_payment(
        &self,
        cx: &Ctx,
        id: &str,
    ) -> Result<crate::store::payments::Payment, Refusal> {
        let not_found = || Refusal::new(StatusCode::NOT_FOUND, "not_found", cx.t().not_found);
        let id: i64 = id.parse().map_err(|_| not_found())?;
        let mac = self.device(cx).await?;
        match cx.settings.payments.get(id).await {
            Ok(Some(p)) if p.mac == mac => Ok(p),
            Ok(_) => Err(not_found()),
            Err(e) => Err(Refusal::internal(cx, &e)),
        }
    }

    /// Counts a typed code, voucher or reconnect (one count for both, so alternating the forms
    /// gives no more tries), before it is checked: codes sent at once cannot pass the limit
    /// together. A right one is forgiven afterwards.
    fn count_guess(&self, mac: Mac, now: crate::clock::Unix) -> Result<(), crate::limits::Limited> {
        self.guesses
            .begin(mac, now)
            .map_err(|retry_after_s| crate::limits::Limited {
                limit: crate::limits::Limit::VoucherGuesses,
                retry_after_s,
            })
    }

    /// Redeems a typed voucher code for the phone.
    async fn redeem(
        &self,
        cx: &Ctx,
        code: &str,
    ) -> Result<crate::store::sessions::Session, Refusal> {
        let t = cx.t();
        let mac = self.device(cx).await?;
        let now = self.clock.now();
        self.count_guess(mac, now)
            .map_err(|l| Refusal::too_many(cx, &l))?;
        let radius = self.radius.as_ref();
        let every = radius.is_some_and(|r| r.config.mode == crate::config::RadiusMode::All);
        if let (Some(r), true) = (radius, every) {
            return self.ask_radius(cx, r, code, mac, now).await;
        }
        let Ok(code) = crate::voucher::VoucherCode::parse(code) else {
            if let Some(r) = radius {
                return self.ask_radius(cx, r, code, mac, now).await;
            }
            // Not shaped like a code at all: a typo, not a guess.
            self.guesses.forgive(mac, now);
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "bad_voucher",
                t.bad_voucher,
            ));
        };
        let typed = code.as_str().to_string();
        let redeemed = self
            .sessions
            .redeem(code, mac, Some(cx.peer.remote.ip().to_canonical()))
            .await;
        if !matches!(redeemed, Err(crate::sessions::Error::Voucher(_))) {
            self.guesses.forgive(mac, now);
        }
        match redeemed {
            Ok(s) => Ok(s),
            Err(crate::sessions::Error::Voucher(crate::sessions::VoucherProblem::Unknown))
                if radius.is_some() =>
            {
                let r = radius.expect("checked");
                self.ask_radius(cx, r, &typed, mac, now).await
            }
            Err(crate::sessions::Error::Voucher(p)) => {
                log::info!("voucher refused mac={mac}: {p}");
                Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "voucher_refused",
                    t.voucher_problem(p),
                ))
            }
            Err(e) => Err(Refusal::internal(cx, &e)),
        }
    }

    /// Checks a typed code with the RADIUS server (counted as a guess already; forgiven if it
    /// was right or the server could not say).
    async fn ask_radius(
        &self,
        cx: &Ctx,
        r: &crate::radius::Radius,
        code: &str,
        mac: Mac,
        now: crate::clock::Unix,
    ) -> Result<crate::store::sessions::Session, Refusal> {
        let t = cx.t();
        let code = code.trim();
        if code.is_empty()
            || code.len() > crate::radius::packet::MAX_VALUE
            || code.chars().any(char::is_control)
        {
            self.guesses.forgive(mac, now);
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "bad_voucher",
                t.bad_voucher,
            ));
        }
        let ip = Some(cx.peer.remote.ip().to_canonical());
        match r.authenticate(code, mac, ip).await {
            Ok(crate::radius::Verdict::Granted(s)) => {
                self.guesses.forgive(mac, now);
                Ok(s)
            }
            Ok(crate::radius::Verdict::Rejected(said)) => Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "voucher_refused",
                t.radius_rejected(said.as_deref()),
            )),
            Ok(crate::radius::Verdict::Unreachable) => {
                self.guesses.forgive(mac, now);
                Err(Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "radius_unreachable",
                    t.radius_unreachable(),
                ))
            }
            Err(e) => Err(Refusal::internal(cx, &e)),
        }
    }

    /// Moves the time of the session a typed reconnect code or M-Pesa receipt names to the
    /// phone. The try is counted before the code is looked at (and forgiven if it was right).
    async fn reconnect(
        &self,
        cx: &Ctx,
        typed: &str,
    ) -> Result<crate::store::sessions::Session, Refusal> {
        use crate::sessions::{Error, ReconnectProblem, Reconnected};
        let t = cx.t();
        let mac = self.device(cx).await?;
        let now = self.clock.now();
        self.count_guess(mac, now).map_err(|l| {
            log::warn!("reconnect refused mac={mac}: {l}");
            Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many",
                t.too_many_codes(&l),
            )
        })?;
        let key = crate::reconnect::Key::parse(typed)
            .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "bad_code", t.bad_reconnect))?;
        let ip = Some(cx.peer.remote.ip().to_canonical());
        match self.sessions.reconnect(key, mac, ip).await {
            Ok(Reconnected::Moved { session, .. } | Reconnected::AlreadyHere(session)) => {
                self.guesses.forgive(mac, now);
                Ok(session)
            }
            Err(Error::Reconnect(p)) => {
                log::info!("reconnect refused mac={mac}: {p}");
                let words = match p {
                    ReconnectProblem::Unknown => t.reconnect_unknown,
                    ReconnectProblem::NothingLeft => t.reconnect_used_up,
                    ReconnectProblem::DataUsedUp => t.reconnect_data_used_up,
                };
                Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "reconnect_refused",
                    words,
                ))
            }
            Err(e) => Err(Refusal::internal(cx, &e)),
        }
    }

    /// "Confirmed late" for the online page, if M-Pesa confirmed one of this phone's payments
    /// late within the last day.
    async fn paid_late_notice(&self, mac: Mac, now: i64, cx: &Ctx) -> Option<&'static str> {
        let since = now - PAID_LATE_NOTICE_S;
        let late = self
            .store
            .call(move |c| crate::store::payments::paid_late_for(c, mac, since))
            .await;
        match late {
            Ok(p) => p.map(|_| crate::payments::messages::paid_late(cx.lang)),
            Err(e) => {
                log::error!("portal: {e}");
                None
            }
        }
    }

    /// What paid for a session, in the phone's words: "Paid KES 50 (Premium)", "Voucher ABCDE-FGH23".
    async fn how_paid(&self, s: &crate::store::sessions::Session, cx: &Ctx) -> Option<String> {
        use crate::store::sessions::Source;
        let t = cx.t();
        let r = s.source_ref.as_deref()?;
        match s.source {
            Source::Payment => {
                let pay = cx.settings.payments.get(r.parse().ok()?).await.ok()??;
                Some(format!(
                    "{} KES {} ({})",
                    t.paid, pay.amount.0, pay.package_name
                ))
            }
            Source::Voucher => {
                let code =
                    crate::voucher::VoucherCode::parse(r).map_or(r.to_string(), |c| c.to_string());
                Some(format!("{} {code}", t.voucher_used))
            }
            Source::Admin | Source::Radius => None,
        }
    }

    /// What session `s` has moved, counting what is not yet persisted (as persisted if the
    /// count cannot be read).
    async fn used(&self, s: &crate::store::sessions::Session) -> crate::store::usage::Bytes {
        match self.usage.of(s.mac).await {
            Ok(b) => b,
            Err(e) => {
                log::error!("portal: {e}");
                s.used
            }
        }
    }

    async fn packages(&self) -> Result<Vec<crate::store::packages::Package>, crate::store::Error> {
        self.store.call(crate::store::packages::active).await
    }
}

/// A request body of at most `BODY_LIMIT` bytes, or why not.
async fn read_body(body: Incoming) -> Result<bytes::Bytes, Refusal> {
    server::read_incoming(body, BODY_LIMIT)
        .await
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()))
}

/// Whether `host` (a Host header) names this portal: our own address, with or without the port.
fn is_own_host(host: &str, local: SocketAddr) -> bool {
    let ip = local.ip().to_canonical();
    let name = host
        .rsplit_once(':')
        .filter(|(h, p)| !h.ends_with(':') && p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.parse::<IpAddr>()
        .map(|h| h.to_canonical() == ip)
        .unwrap_or(false)
}

/// Why a POST is refused as cross-site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CrossSite {
    /// `Origin` (or `Sec-Fetch-Site`) names another site, or an opaque one (`null`).
    ForeignOrigin,
    /// `/api/*` with a body that is not `application/json`: a cross-site form or `text/plain`
    /// fetch can send that without the browser asking first (CORS), JSON cannot.
    NotJson,
}

impl std::fmt::Display for CrossSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CrossSite::ForeignOrigin => "Origin is another site",
            CrossSite::NotJson => "body is not application/json",
        })
    }
}

/// Whether a request is a POST another web page made the phone send: any page an online phone
/// visits could otherwise start PIN prompts to any number and use up the device's limits.
/// Requests without `Origin` (apps, curl, old browsers) are judged by the content type alone.
fn cross_site(req: &Request, local: SocketAddr) -> Option<CrossSite> {
    if req.method() != Method::POST {
        return None;
    }
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if header(HeaderName::from_static("sec-fetch-site")) == Some("cross-site") {
        return Some(CrossSite::ForeignOrigin);
    }
    if let Some(origin) = header(ORIGIN) {
        let host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        if !host.is_some_and(|h| is_own_host(h, local)) {
            return Some(CrossSite::ForeignOrigin);
        }
    }
    let json = header(CONTENT_TYPE).is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    (req.uri().path().starts_with("/api/") && !json).then_some(CrossSite::NotJson)
}

/// Where phones are sent: this listener's own address as they reached it.
fn portal_url(local: SocketAddr) -> String {
    match local.ip().to_canonical() {
        IpAddr::V4(v4) => format!("http://{v4}:{}/", local.port()),
        IpAddr::V6(v6) => format!("http://[{v6}]:{}/", local.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_host_is_our_address_with_or_without_port() {
        let local: SocketAddr = "192.168.1.1:2050".parse().unwrap();
        for h in ["192.168.1.1:2050", "192.168.1.1", "192.168.1.1:80"] {
            assert!(is_own_host(h, local), "{h}");
        }
        for h in [
            "",
            "connectivitycheck.gstatic.com",
            "captive.apple.com:80",
            "192.168.1.2:2050",
            "192.168.1.1.nip.io",
        ] {
            assert!(!is_own_host(h, local), "{h}");
        }
        let v6: SocketAddr = "[fd00::1]:2050".parse().unwrap();
        assert!(is_own_host("[fd00::1]:2050", v6));
        assert!(!is_own_host("[fd00::2]:2050", v6));
        assert_eq!(portal_url(v6), "http://[fd00::1]:2050/");
        assert_eq!(portal_url(local), "http://192.168.1.1:2050/");
    }
}
