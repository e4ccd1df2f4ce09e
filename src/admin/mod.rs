//! HTTP for the owner: the LuCI-style pages on `admin_listen`. This file routes, guards
//! (login session, CSRF token on every POST, security headers) and maps failures to pages in
//! one place; each tab lives in its own file.
//! Touches: sessions, the store (through its modules), the config file (Settings), `Live`.
//! Never: SQL or nft directly.

mod account;
mod attention;
mod auth;
mod backup;
mod chart;
mod clients;
mod csv;
mod html;
mod leases;
mod login;
mod overview;
mod packages;
mod payments;
mod settings;
mod sheet;
mod vouchers;

use crate::clock::{Clock, Unix};
use crate::html::Html;
use crate::live::{Live, Settings};
use crate::server::{self, Peer, Request, Response};
use crate::sessions::Sessions;
use crate::store::Store;
pub use auth::Auth;
use auth::{Current, Notice};
use hyper::header::{HeaderName, HeaderValue, COOKIE, HOST, ORIGIN};
use hyper::{Method, StatusCode};
use std::sync::Arc;

/// The largest form the owner's page sends (Settings with long lists) is a few KB.
const BODY_LIMIT: usize = 64 * 1024;

/// Sent with every answer: no framing, no sniffing, scripts and styles only from this page.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
];

/// The owner's page.
pub struct Admin {
    live: Arc<Live>,
    store: Store,
    sessions: Arc<Sessions>,
    /// Bytes per device (Clients) and today's traffic (Overview).
    usage: Arc<crate::usage::Usage>,
    clock: Arc<dyn Clock>,
    auth: Arc<Auth>,
    /// scrypt takes 8 MiB: one password check at a time.
    hashing: tokio::sync::Semaphore,
    /// One Settings save at a time (read, edit, write the config file).
    saving: tokio::sync::Mutex<()>,
    /// The router's hostname, bare and under `.lan`, read at start.
    hostnames: Vec<String>,
    /// The certificate the page is served with (its fingerprint is in every footer).
    certs: Arc<crate::certs::Certs>,
    /// The RADIUS side, if on (its health line is on the Overview).
    radius: Option<Arc<crate::radius::Radius>>,
}

/// A logged-in request.
struct Ctx {
    settings: Arc<Settings>,
    session: Current,
    query: Vec<(String, String)>,
    now: Unix,
    /// The owner's browser, for the audit trail.
    from: std::net::IpAddr,
}

impl Ctx {
    fn q(&self, key: &str) -> String {
        server::form_value(&self.query, key).unwrap_or_default()
    }
}

/// Why a request could not be served; mapped to a status and a page in [`Admin::failure`].
#[derive(Debug)]
enum Failure {
    NotFound,
    BadRequest(String),
    /// Missing or wrong CSRF token, or a foreign Origin.
    Forbidden(&'static str),
    /// A Host header that names neither the router nor a name the owner set (DNS rebinding).
    WrongHost(String),
    Internal(String),
}

impl From<crate::store::Error> for Failure {
    fn from(e: crate::store::Error) -> Self {
        Failure::Internal(e.to_string())
    }
}

impl From<crate::owner::Error> for Failure {
    fn from(e: crate::owner::Error) -> Self {
        match e {
            crate::owner::Error::Refused { why, .. } => Failure::BadRequest(why),
            e => Failure::Internal(e.to_string()),
        }
    }
}

impl From<crate::sessions::Error> for Failure {
    fn from(e: crate::sessions::Error) -> Self {
        Failure::Internal(e.to_string())
    }
}

type Answer = Result<Response, Failure>;

/// What the owner's page works with.
pub struct Rooms {
    pub live: Arc<Live>,
    pub store: Store,
    pub sessions: Arc<Sessions>,
    pub usage: Arc<crate::usage::Usage>,
    pub clock: Arc<dyn Clock>,
    pub certs: Arc<crate::certs::Certs>,
    /// Who is logged in (kept across restarts in place).
    pub logins: Arc<Auth>,
    pub radius: Option<Arc<crate::radius::Radius>>,
}

impl Admin {
    pub fn new(r: Rooms) -> Arc<Admin> {
        Arc::new(Admin {
            certs: r.certs,
            radius: r.radius,
            live: r.live,
            store: r.store,
            sessions: r.sessions,
            usage: r.usage,
            clock: r.clock,
            auth: r.logins,
            hashing: tokio::sync::Semaphore::new(1),
            saving: tokio::sync::Mutex::new(()),
            hostnames: own_hostnames(),
        })
    }

    /// Answers one request.
    pub async fn handle(self: Arc<Self>, req: Request, peer: Peer) -> Response {
        let mut r = self
            .route(req, peer)
            .await
            .unwrap_or_else(|f| self.failure(f));
        let h = r.headers_mut();
        for (k, v) in SECURITY_HEADERS {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        r
    }

    async fn route(&self, req: Request, peer: Peer) -> Answer {
        let host = req
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !self.is_own_host(host, peer) {
            log::warn!(
                "admin: request for Host {:?} from {} refused (DNS rebinding?)",
                host,
                peer.remote.ip()
            );
            return Err(Failure::WrongHost(host.chars().take(100).collect()));
        }
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        if method == Method::GET {
            match path.as_str() {
                "/static/admin.css" => return Ok(server::asset("text/css", html::CSS.as_bytes())),
                "/static/admin.js" => {
                    return Ok(server::asset("text/javascript", html::JS.as_bytes()))
                }
                "/static/print.css" => {
                    return Ok(server::asset("text/css", sheet::PRINT_CSS.as_bytes()))
                }
                _ => {}
            }
        }
        if method == Method::POST && !same_origin(&req) {
            return Err(Failure::Forbidden("the form came from another site"));
        }
        let now = self.clock.now();
        let cookies = req
            .headers()
            .get(COOKIE)
            .and_then(|c| c.to_str().ok())
            .unwrap_or("")
            .to_string();
        let has_password = self.password_hash().await?.is_some();
        match (&method, path.as_str(), has_password) {
            (&Method::GET, "/setup", false) => return login::setup_page(self, &cookies, None),
            (&Method::POST, "/setup", false) => return login::setup(self, req, &cookies).await,
            (_, _, false) => return Ok(server::see_other("/setup")),
            (&Method::GET, "/setup", true) => return Ok(server::see_other("/login")),
            (&Method::GET, "/login", true) => return login::login_page(self, &cookies, now),
            (&Method::POST, "/login", true) => {
                return login::login(self, req, peer, &cookies, now).await
            }
            _ => {}
        }
        let Some(session) =
            auth::cookie(&cookies, auth::COOKIE).and_then(|t| self.auth.find(t, now))
        else {
            return Ok(match method {
                Method::GET => server::see_other("/login"),
                _ => self.refused("Your session has ended. Log in again."),
            });
        };
        let cx = Ctx {
            settings: self.live.get(),
            session,
            query: server::form_pairs(req.uri().query().unwrap_or("")),
            now,
            from: peer.remote.ip(),
        };
        if method == Method::GET {
            return self.get(&cx, &path).await;
        }
        if method != Method::POST {
            return Err(Failure::NotFound);
        }
        let body = server::read_body(req, BODY_LIMIT)
            .await
            .map_err(|e| Failure::BadRequest(e.to_string()))?;
        let form = server::form_pairs(&String::from_utf8_lossy(&body));
        let token = server::form_value(&form, "csrf").unwrap_or_default();
        if !auth::same_secret(&token, &cx.session.csrf) {
            log::warn!("admin: POST {path} without a valid CSRF token refused");
            return Err(Failure::Forbidden("the form has no valid CSRF token"));
        }
        self.post(&cx, &path, &form).await
    }

    async fn get(&self, cx: &Ctx, path: &str) -> Answer {
        match path {
            "/" => overview::show(self, cx).await,
            "/clients" => clients::show(self, cx).await,
            "/packages" => packages::list(self, cx).await,
            "/packages/new" => packages::edit(self, cx, None).await,
            "/payments" => payments::show(self, cx).await,
            "/payments.csv" => payments::csv(self, cx).await,
            "/backup" => backup::download(self, cx).await,
            "/vouchers" => vouchers::list(self, cx, None).await,
            "/settings" => settings::show(self, cx),
            "/password" => Ok(account::show(self, cx, None)),
            p => {
                if let Some(id) = p.strip_prefix("/packages/") {
                    let id = id.parse().map_err(|_| Failure::NotFound)?;
                    return packages::edit(self, cx, Some(id)).await;
                }
                if let Some(rest) = p.strip_prefix("/vouchers/") {
                    return vouchers::get(self, cx, rest).await;
                }
                Err(Failure::NotFound)
            }
        }
    }

    async fn post(&self, cx: &Ctx, path: &str, form: &[(String, String)]) -> Answer {
        match path {
            "/logout" => Ok(login::logout(self, cx)),
            "/clients/kick" => clients::kick(self, cx, form).await,
            "/clients/extend" => clients::extend(self, cx, form).await,
            "/clients/grant" => clients::grant(self, cx, form).await,
            "/payments/grant" => attention::grant(self, cx, form).await,
            "/packages/new" => packages::save(self, cx, None, form).await,
            "/vouchers" => vouchers::generate(self, cx, form).await,
            "/vouchers/revoke" => vouchers::revoke(self, cx, form).await,
            "/settings" => settings::save(self, cx, form).await,
            "/settings/apply" => settings::apply(self, cx),
            "/password" => account::change(self, cx, form).await,
            p => {
                if let Some(rest) = p.strip_prefix("/packages/") {
                    if let Some(id) = rest.strip_suffix("/active") {
                        let id = id.parse().map_err(|_| Failure::NotFound)?;
                        return packages::toggle(self, cx, id).await;
                    }
                    let id = rest.parse().map_err(|_| Failure::NotFound)?;
                    return packages::save(self, cx, Some(id), form).await;
                }
                Err(Failure::NotFound)
            }
        }
    }

    /// A full page for a logged-in owner, with the notice left by the last POST.
    fn page(&self, cx: &Ctx, tab: &str, title: &str, descr: Html, body: &Html) -> Response {
        self.page_with(cx, StatusCode::OK, tab, title, descr, body)
    }

    fn page_with(
        &self,
        cx: &Ctx,
        status: StatusCode,
        tab: &str,
        title: &str,
        descr: Html,
        body: &Html,
    ) -> Response {
        let p = html::Page {
            site: &cx.settings.config.site_name,
            title,
            tab: Some(tab),
            csrf: Some(&cx.session.csrf),
            notice: self.auth.take_notice(&cx.session.token),
            fingerprint: &self.certs.fingerprint(),
        };
        server::html(status, p.render(&descr, body))
    }

    /// After a POST: leave a notice for the next page and go there.
    fn done(&self, cx: &Ctx, notice: Notice, to: &str) -> Response {
        self.auth.notify(&cx.session.token, notice);
        server::see_other(to)
    }

    /// The one place failures become answers: the owner sees what went wrong, the log gets
    /// internals.
    fn failure(&self, f: Failure) -> Response {
        let (status, msg) = match f {
            Failure::NotFound => (StatusCode::NOT_FOUND, "No such page.".to_string()),
            Failure::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            Failure::Forbidden(why) => {
                return self.refused(&format!("Refused: {why}. Reload the page and try again."))
            }
            Failure::WrongHost(host) => (
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "This page answers to the router's own address, not to {host:?}. \
                     To reach it by a name, add the name to the admin_host option."
                ),
            ),
            Failure::Internal(e) => {
                log::error!("admin: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on the router; the log (logread -e lango) says what."
                        .to_string(),
                )
            }
        };
        self.bare(status, "Lango", &html::alert("error", &msg))
    }

    /// 403 with a way back.
    fn refused(&self, msg: &str) -> Response {
        let body = html::alert("error", msg)
            + html!("<p><a class=\"cbi-button\" href=\"/\">Back to the owner's page</a></p>");
        self.bare(StatusCode::FORBIDDEN, "Refused", &body)
    }

    /// A page without the menu (login, first run, errors).
    fn bare(&self, status: StatusCode, title: &str, body: &Html) -> Response {
        let settings = self.live.get();
        let p = html::Page {
            site: &settings.config.site_name,
            title,
            tab: None,
            csrf: None,
            notice: None,
            fingerprint: &self.certs.fingerprint(),
        };
        server::html(
            status,
            p.render(&Html::new(), &html!("<div class=\"login\">{}</div>", body)),
        )
    }

    /// Whether `host` (a Host header) is the router: the address the request came in on,
    /// `localhost`, the router's hostname (also under `.lan`, dnsmasq's domain on OpenWrt) or
    /// a name in `admin_host`. A page on another name that resolves to the router (DNS
    /// rebinding) must not be able to set the first password or use an owner's session.
    fn is_own_host(&self, host: &str, peer: Peer) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        if let Ok(ip) = name.parse::<std::net::IpAddr>() {
            if ip.to_canonical() == peer.local.ip().to_canonical() {
                return true;
            }
        }
        let settings = self.live.get();
        name == "localhost"
            || self.hostnames.contains(&name)
            || settings.config.admin_hosts.contains(&name)
    }

    /// Plain HTTP (`admin_http_listen`): every request is sent to the HTTPS page at `port`,
    /// on the name it asked for when that is the router's, else on the address it came in on.
    /// No cookie is read or set here.
    pub fn redirect_to_https(&self, req: &Request, peer: Peer, port: u16) -> Response {
        let host = req
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let name = host_name(host);
        let name = if self.is_own_host(host, peer) && !name.is_empty() {
            match name.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V6(v6)) => format!("[{v6}]"),
                _ => name.to_ascii_lowercase(),
            }
        } else {
            match peer.local.ip().to_canonical() {
                std::net::IpAddr::V4(v4) => v4.to_string(),
                std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            }
        };
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let mut r = server::redirect(&format!("https://{name}:{port}{path}"));
        *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
        r
    }

    async fn password_hash(&self) -> Result<Option<String>, Failure> {
        Ok(self.store.call(crate::store::admin::password_hash).await?)
    }

    /// Checks `password` against `stored` off the event loop, one check at a time.
    async fn verify(&self, password: String, stored: String) -> bool {
        let Ok(_one) = self.hashing.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || crate::password::verify(&password, &stored))
            .await
            .unwrap_or(false)
    }

    /// Hashes a new password off the event loop.
    async fn hash(&self, password: String) -> Result<String, Failure> {
        let _one = self
            .hashing
            .acquire()
            .await
            .map_err(|e| Failure::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(move || crate::password::hash(&password))
            .await
            .map_err(|e| Failure::Internal(e.to_string()))
    }
}

/// A POST whose `Origin` names another site is a cross-site request, whatever it carries.
/// (Browsers send `Origin` with form POSTs; tools that send none are judged by the token.)
fn same_origin(req: &Request) -> bool {
    let Some(origin) = req.headers().get(ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    !host.is_empty() && origin_host == host
}

/// The name in a Host header: without its port and an IPv6 address's brackets.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    host.rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
        .trim_end_matches('.')
}

/// The router's own names: its hostname, bare and under `.lan`.
pub fn own_hostnames() -> Vec<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if name.is_empty() || name == "localhost" {
        return vec![];
    }
    vec![format!("{name}.lan"), name]
}

/// A form value, trimmed; empty when absent.
fn value(form: &[(String, String)], key: &str) -> String {
    server::form_value(form, key)
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}
