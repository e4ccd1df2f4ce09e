//! Getting in and out: the first-run page that sets the password, the login form (throttled per
//! address), logout. Before login the forms carry a double-submit CSRF token: a random value in
//! an HttpOnly SameSite=Strict cookie that the form must repeat.

use super::auth::{self, Notice, FAILURE_WINDOW, MAX_FAILURES};
use super::{html, Admin, Answer, Ctx, Failure, BODY_LIMIT};
use crate::clock::Unix;
use crate::html::Html;
use crate::server::{self, Peer, Request, Response};
use hyper::header::{HeaderValue, SET_COOKIE};
use hyper::StatusCode;

/// The pre-login token from the cookie, or a new one to set.
fn pre_token(cookies: &str) -> (String, bool) {
    match auth::cookie(cookies, auth::PRE_COOKIE) {
        Some(t) if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) => (t.into(), false),
        _ => (crate::random::hex::<32>(), true),
    }
}

fn with_cookie(mut r: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

/// Reads a pre-login form and checks its double-submit token.
async fn pre_form(req: Request, cookies: &str) -> Result<Vec<(String, String)>, Failure> {
    let body = server::read_body(req, BODY_LIMIT)
        .await
        .map_err(|e| Failure::BadRequest(e.to_string()))?;
    let form = server::form_pairs(&String::from_utf8_lossy(&body));
    let sent = server::form_value(&form, "csrf").unwrap_or_default();
    match auth::cookie(cookies, auth::PRE_COOKIE) {
        Some(c) if auth::same_secret(c, &sent) => Ok(form),
        _ => Err(Failure::Forbidden("the form has no valid CSRF token")),
    }
}

/// `GET /setup` (no password yet): choose one.
pub fn setup_page(a: &Admin, cookies: &str, error: Option<(&str, &str)>) -> Answer {
    let (token, new) = pre_token(cookies);
    let body = html::section(
        "Set the owner's password",
        &html!(
            "<p class=\"cbi-section-descr\">This router's hotspot has no password yet. Choose one now: it protects the takings, the packages and the M-Pesa account. (Or set it over SSH with <code>lango passwd</code>.)</p><form method=\"post\" action=\"/setup\">{}{}<div class=\"cbi-page-actions\"><button class=\"cbi-button cbi-button-apply\" type=\"submit\">Save password</button></div></form>",
            html::csrf_field(&token),
            html::new_password_fields(error, true),
        ),
    );
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let r = a.bare(status, "Welcome to Lango", &body);
    Ok(if new {
        with_cookie(r, &auth::set_cookie(auth::PRE_COOKIE, &token))
    } else {
        r
    })
}

/// `POST /setup`: the first password; the one who sets it is logged in.
pub async fn setup(a: &Admin, req: Request, cookies: &str) -> Answer {
    let form = pre_form(req, cookies).await?;
    let (pw, repeat) = (
        server::form_value(&form, "password").unwrap_or_default(),
        server::form_value(&form, "repeat").unwrap_or_default(),
    );
    if let Err(e) = crate::password::check_new(&pw) {
        return setup_page(a, cookies, Some(("password", &e.to_string())));
    }
    if pw != repeat {
        return setup_page(a, cookies, Some(("repeat", "The two passwords differ.")));
    }
    let hash = a.hash(pw).await?;
    let now = a.clock.now();
    let first =
        crate::owner::set_password(&a.store, hash, crate::owner::PasswordBy::FirstRun, now).await?;
    if !first {
        // Someone else was quicker: they chose the password; log in with it.
        return Ok(server::see_other("/login"));
    }
    log::info!("admin: first password set");
    Ok(start_session(a, now, "/"))
}

/// Logs in: a session cookie, the pre-login cookie cleared, and on to `to`.
fn start_session(a: &Admin, now: Unix, to: &str) -> Response {
    let token = a.auth.start(now);
    let r = with_cookie(
        server::see_other(to),
        &auth::set_cookie(auth::COOKIE, &token),
    );
    with_cookie(r, &auth::clear_cookie(auth::PRE_COOKIE))
}

/// `GET /login`.
pub fn login_page(a: &Admin, cookies: &str, now: Unix) -> Answer {
    if auth::cookie(cookies, auth::COOKIE)
        .and_then(|t| a.auth.find(t, now))
        .is_some()
    {
        return Ok(server::see_other("/"));
    }
    Ok(login_form(a, cookies, StatusCode::OK, None))
}

fn login_form(a: &Admin, cookies: &str, status: StatusCode, error: Option<&str>) -> Response {
    let (token, new) = pre_token(cookies);
    let mut body = Html::new();
    if let Some(e) = error {
        body += html::alert("error", e);
    }
    body += html::section(
        "Authorization required",
        &html!(
            "<p class=\"cbi-section-descr\">Please enter the owner's password.</p><form method=\"post\" action=\"/login\">{}{}<div class=\"cbi-page-actions\"><button class=\"cbi-button cbi-button-apply\" type=\"submit\">Log in</button></div></form>",
            html::csrf_field(&token),
            html::field(
                "password",
                "Password",
                &html::input("password", "password", "", &html!("autocomplete=\"current-password\" required autofocus")),
                &Html::new(),
                None,
            ),
        ),
    );
    let r = a.bare(status, "Log in", &body);
    if new {
        with_cookie(r, &auth::set_cookie(auth::PRE_COOKIE, &token))
    } else {
        r
    }
}

/// `POST /login`: at most `MAX_FAILURES` wrong passwords per address in `FAILURE_WINDOW`.
pub async fn login(a: &Admin, req: Request, peer: Peer, cookies: &str, now: Unix) -> Answer {
    let form = pre_form(req, cookies).await?;
    let ip = peer.remote.ip().to_canonical();
    // Counted before the slow password check, so guesses sent at once cannot all be tried.
    if let Err(wait) = a.auth.attempt(ip, now) {
        log::warn!("admin: login from {ip} throttled for {wait} s");
        let msg = format!(
            "Too many wrong passwords from this device ({MAX_FAILURES} in {} minutes). Wait {} and try again.",
            FAILURE_WINDOW / 60,
            wait_words(wait)
        );
        return Ok(login_form(
            a,
            cookies,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&msg),
        ));
    }
    let password = server::form_value(&form, "password").unwrap_or_default();
    let stored = a.password_hash().await?.unwrap_or_default();
    if !a.verify(password, stored).await {
        log::warn!("admin: wrong password from {ip}");
        return Ok(login_form(
            a,
            cookies,
            StatusCode::UNAUTHORIZED,
            Some("Wrong password."),
        ));
    }
    a.auth.succeeded(ip);
    log::info!("admin: login from {ip}");
    Ok(start_session(a, now, "/"))
}

fn wait_words(secs: u64) -> String {
    if secs <= 60 {
        format!("{secs} seconds")
    } else {
        format!("{} minutes", secs.div_ceil(60))
    }
}

/// `POST /logout`.
pub fn logout(a: &Admin, cx: &Ctx) -> Response {
    a.auth.end(&cx.session.token);
    with_cookie(
        server::see_other("/login"),
        &auth::clear_cookie(auth::COOKIE),
    )
}

/// After a password change: every other session ends, this one starts afresh.
pub fn restart_session(a: &Admin, cx: &Ctx, notice: Notice) -> Response {
    a.auth.end_all();
    let token = a.auth.start(cx.now);
    a.auth.notify(&token, notice);
    with_cookie(
        server::see_other("/password"),
        &auth::set_cookie(auth::COOKIE, &token),
    )
}
