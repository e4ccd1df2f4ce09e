//! The simulator's HTTP face: routes, OAuth tokens, the pushes it has accepted, and callbacks.
//! Touches: its own memory, and the callback URL from `SimOptions` (over `https::Client`). Never: Lango's state.

use super::outcomes::{self, Outcome};
use super::rules::{self, Refusal};
use super::{Faults, SimOptions, SimPush};
use crate::clock::{eat_timestamp, Clock, SystemClock};
use crate::server::{self, Request, Response};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// Daraja's request bodies are well under a kilobyte.
const MAX_BODY: usize = 16 * 1024;
const OAUTH: &str = "/oauth/v1/generate";
const STK_PUSH: &str = "/mpesa/stkpush/v1/processrequest";
const STK_QUERY: &str = "/mpesa/stkpushquery/v1/query";
/// Between duplicates of one callback.
const DUPLICATE_GAP: std::time::Duration = std::time::Duration::from_millis(20);

/// Everything a simulator remembers.
pub struct State {
    pub opts: SimOptions,
    /// Access token -> when it stops working.
    tokens: Mutex<HashMap<String, Instant>>,
    /// 32-bit counters: MIPS32 routers have no 64-bit atomics.
    tokens_issued: AtomicU32,
    pushes: Mutex<Pushes>,
    counter: AtomicU32,
    random: RandomState,
    callbacks: Option<crate::https::Client>,
    callback_url: Mutex<Option<String>>,
    faults: Mutex<Faults>,
    /// Until when every query fails (`queries_fail_for`, counted from when it was set).
    queries_fail_until: Mutex<Option<Instant>>,
}

#[derive(Default)]
struct Pushes {
    list: Vec<Accepted>,
    by_checkout_id: HashMap<String, usize>,
}

struct Accepted {
    push: SimPush,
    at: Instant,
    outcome: Outcome,
    /// STK Push Query reports 1037 for an approval (the callback still says success).
    query_says_failed: bool,
}

/// ResultCode STK Push Query reports when `query_says_failed_but_callback_succeeds` is on.
const QUERY_LIE: i64 = 1037;

impl State {
    pub fn new(opts: SimOptions) -> State {
        State {
            callback_url: Mutex::new(opts.callback_override.clone()),
            faults: Mutex::new(opts.faults.clone()),
            queries_fail_until: Mutex::new(fail_until(&opts.faults)),
            opts,
            tokens: Mutex::default(),
            tokens_issued: AtomicU32::new(0),
            pushes: Mutex::default(),
            counter: AtomicU32::new(0),
            random: RandomState::new(),
            callbacks: callback_client(),
        }
    }

    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.queries_fail_until) = fail_until(&faults);
        *lock(&self.faults) = faults;
    }

    /// Inside a `queries_fail_for` spell.
    fn queries_failing(&self) -> bool {
        lock(&self.queries_fail_until).is_some_and(|until| Instant::now() < until)
    }

    pub fn faults(&self) -> Faults {
        lock(&self.faults).clone()
    }

    pub fn set_callback_url(&self, url: Option<String>) {
        *lock(&self.callback_url) = url;
    }

    /// Uses up one of a counted fault if any is left.
    fn take(&self, counter: impl FnOnce(&mut Faults) -> &mut u32) -> bool {
        let mut faults = lock(&self.faults);
        let n = counter(&mut faults);
        if *n > 0 {
            *n -= 1;
            true
        } else {
            false
        }
    }

    pub fn pushes(&self) -> Vec<SimPush> {
        lock(&self.pushes)
            .list
            .iter()
            .map(|a| a.push.clone())
            .collect()
    }

    pub fn tokens_issued(&self) -> u64 {
        u64::from(self.tokens_issued.load(Ordering::Relaxed))
    }

    pub fn revoke_tokens(&self) {
        lock(&self.tokens).clear();
    }

    fn next(&self) -> u64 {
        u64::from(self.counter.fetch_add(1, Ordering::Relaxed)) + 1
    }

    /// Unpredictable enough for a simulator's tokens and receipts.
    fn random(&self) -> u64 {
        self.random.hash_one((self.next(), Instant::now()))
    }

    /// Like Daraja's `29115-34620561-1`.
    fn request_id(&self) -> String {
        format!("{:05}-{:08}-1", self.random() % 100_000, self.next())
    }
}

/// Routes one request.
pub async fn handle(state: &State, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let allowed = match path.as_str() {
        OAUTH => Method::GET,
        STK_PUSH | STK_QUERY => Method::POST,
        _ => return refuse(state, 404, "404.001.01", "Resource not found"),
    };
    if req.method() != allowed {
        return refuse(state, 405, "405.001", "Method Not Allowed");
    }
    if let Some(r) = injected_fault(state, &path) {
        return r;
    }
    if path == OAUTH {
        return oauth(state, &req);
    }
    if !bearer_ok(state, &req) {
        return refuse(state, 404, "404.001.03", "Invalid Access Token");
    }
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        // What the live Daraja answers to a body it cannot read as JSON.
        return refusal(state, Refusal::invalid("BusinessShortCode"));
    }
    let body = match server::read_body(req, MAX_BODY).await {
        Ok(b) => serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null),
        Err(e) => {
            log::debug!("sim: {path}: {e}");
            return refusal(state, Refusal::invalid("BusinessShortCode"));
        }
    };
    let now = SystemClock.now();
    if path == STK_PUSH {
        match rules::check_push(&body, &state.opts, now) {
            Ok(push) => accept_push(state, push, now),
            Err(r) => refusal(state, r),
        }
    } else {
        match rules::check_query(&body, &state.opts, now) {
            Ok(checkout_id) => query(state, &checkout_id),
            Err(r) => refusal(state, r),
        }
    }
}

/// The answer a selected fault gives instead of the real one, if any.
fn injected_fault(state: &State, path: &str) -> Option<Response> {
    let spike = match path {
        STK_QUERY => state.take(|f| &mut f.spike_arrest_queries),
        STK_PUSH => state.take(|f| &mut f.spike_arrest_pushes),
        _ => false,
    };
    if spike {
        log::info!("sim: {path}: spike arrest (fault)");
        return Some(refuse(
            state,
            500,
            "500.003.02",
            "System is busy. Please try again in few minutes.",
        ));
    }
    if path == STK_QUERY && state.queries_failing() {
        log::info!("sim: {path}: failing (fault)");
        return Some(refuse(state, 500, "500.003.1001", "Internal Server Error"));
    }
    if path == STK_QUERY && state.take(|f| &mut f.html_503_queries) {
        log::info!("sim: {path}: HTML 503 (fault)");
        return Some(html_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "503 Service Unavailable",
        ));
    }
    None
}

/// An error page as a web server or proxy in front of Daraja sends it (no JSON).
fn html_error(status: StatusCode, title: &str) -> Response {
    let mut r = server::html(
        status,
        html!(
            "<html><head><title>{}</title></head><body><h1>{}</h1></body></html>",
            title,
            title
        ),
    );
    r.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html"),
    );
    r
}

/// `GET /oauth/v1/generate?grant_type=client_credentials` with Basic auth.
fn oauth(state: &State, req: &Request) -> Response {
    let query = server::form_pairs(req.uri().query().unwrap_or(""));
    if server::form_value(&query, "grant_type").as_deref() != Some("client_credentials") {
        return refuse(state, 400, "400.008.02", "Invalid grant type passed");
    }
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(encoded) = header.strip_prefix("Basic ") else {
        return refuse(state, 400, "400.008.01", "Invalid Authentication passed");
    };
    let expected = format!("{}:{}", state.opts.consumer_key, state.opts.consumer_secret);
    let faults = state.faults();
    if faults.refuse_credentials
        || BASE64.decode(encoded.trim()).ok().as_deref() != Some(expected.as_bytes())
    {
        // The live Daraja says nothing more about wrong credentials.
        return server::text(StatusCode::BAD_REQUEST, "");
    }
    let token: String = format!("{:016x}{:016x}", state.random(), state.random())
        .chars()
        .take(28)
        .collect();
    let now = Instant::now();
    let mut tokens = lock(&state.tokens);
    tokens.retain(|_, until| *until > now);
    let lives = faults
        .expire_tokens_after
        .map_or(state.opts.token_ttl, |d| d.min(state.opts.token_ttl));
    tokens.insert(token.clone(), now + lives);
    drop(tokens);
    state.tokens_issued.fetch_add(1, Ordering::Relaxed);
    log::debug!("sim: access token issued");
    server::json(
        StatusCode::OK,
        &json!({"access_token": token, "expires_in": state.opts.token_ttl.as_secs().to_string()}),
    )
}

fn bearer_ok(state: &State, req: &Request) -> bool {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(token) = header.strip_prefix("Bearer ") else {
        return false;
    };
    lock(&state.tokens)
        .get(token.trim())
        .is_some_and(|until| *until > Instant::now())
}

fn accept_push(state: &State, checked: rules::CheckedPush, now: crate::clock::Unix) -> Response {
    let n = state.next();
    let outcome = if checked.party_b_mismatch(&state.opts.shortcode) {
        Outcome::Final(2028)
    } else {
        Outcome::for_phone(&checked.phone)
    };
    let push = SimPush {
        checkout_request_id: format!("ws_CO_{}{n:06}", eat_timestamp(now)),
        merchant_request_id: format!("{:05}-{n:08}-1", state.random() % 100_000),
        phone: checked.phone,
        amount: checked.amount,
        transaction_type: checked.transaction_type.into(),
        party_b: checked.party_b,
        account_reference: checked.account_reference,
        transaction_desc: checked.transaction_desc,
        callback_url: checked.callback_url,
        queries: 0,
    };
    log::info!(
        "sim: STK push {} KES {} outcome {outcome:?}",
        push.checkout_request_id,
        push.amount
    );
    let answer = json!({
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResponseCode": "0",
        "ResponseDescription": "Success. Request accepted for processing",
        "CustomerMessage": "Success. Request accepted for processing",
    });
    let faults = state.faults();
    let url = lock(&state.callback_url).clone();
    let answer_after = match outcome {
        Outcome::Late => Some((0, state.opts.late_delay)),
        Outcome::Final(code) => Some((code, faults.callback_delay.unwrap_or(state.opts.delay))),
        Outcome::StillProcessing => None,
    };
    if let (Some(client), Some(url), Some((code, after))) = (&state.callbacks, url, answer_after) {
        let body = outcomes::callback(
            &push,
            code,
            &outcomes::receipt(state.random()),
            &eat_timestamp(now),
        );
        tokio::spawn(send_callback(
            client.clone(),
            url,
            after,
            1 + faults.duplicate_callbacks,
            body,
        ));
    }
    let mut pushes = lock(&state.pushes);
    let index = pushes.list.len();
    pushes
        .by_checkout_id
        .insert(push.checkout_request_id.clone(), index);
    pushes.list.push(Accepted {
        push,
        at: Instant::now(),
        outcome,
        query_says_failed: faults.query_says_failed_but_callback_succeeds,
    });
    drop(pushes);
    if state.take(|f| &mut f.lose_push_answers) {
        log::info!("sim: STK push accepted, answered with an HTML 502 (fault)");
        return html_error(StatusCode::BAD_GATEWAY, "502 Bad Gateway");
    }
    server::json(StatusCode::OK, &answer)
}

/// Pending until `delay` has passed since the push (alternating Daraja's two shapes), then final.
fn query(state: &State, checkout_id: &str) -> Response {
    let mut pushes = lock(&state.pushes);
    let Some(&i) = pushes.by_checkout_id.get(checkout_id) else {
        drop(pushes);
        return refusal(state, Refusal::invalid("CheckoutRequestID"));
    };
    let accepted = &mut pushes.list[i];
    accepted.push.queries += 1;
    let (status, body) = match accepted.outcome {
        Outcome::Final(0)
            if accepted.query_says_failed && accepted.at.elapsed() >= state.opts.delay =>
        {
            (200, outcomes::query_final(&accepted.push, QUERY_LIE))
        }
        Outcome::Final(code) if accepted.at.elapsed() >= state.opts.delay => {
            (200, outcomes::query_final(&accepted.push, code))
        }
        Outcome::Late if accepted.at.elapsed() >= state.opts.late_delay => {
            (200, outcomes::query_final(&accepted.push, 0))
        }
        _ => outcomes::query_pending(&accepted.push),
    };
    server::json(
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        &body,
    )
}

/// Posts the callback `times` times (duplicates a moment apart), `delay` after the push.
async fn send_callback(
    client: crate::https::Client,
    url: String,
    delay: std::time::Duration,
    times: u32,
    body: Value,
) {
    tokio::time::sleep(delay).await;
    for i in 0..times {
        if i > 0 {
            tokio::time::sleep(DUPLICATE_GAP).await;
        }
        let json = [(
            CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        )];
        let sent = client
            .send(
                hyper::Method::POST,
                &url,
                &json,
                body.to_string().into_bytes(),
                4096,
            )
            .await;
        match sent {
            Ok(r) => log::debug!("sim: callback to {url}: HTTP {}", r.status),
            Err(e) => log::warn!("sim: callback to {url}: {e}"),
        }
    }
}

/// When a `queries_fail_for` spell set now ends.
fn fail_until(faults: &Faults) -> Option<Instant> {
    faults.queries_fail_for.map(|d| Instant::now() + d)
}

fn callback_client() -> Option<crate::https::Client> {
    match crate::https::client_tls(None) {
        Ok(tls) => Some(crate::https::Client::new(tls)),
        Err(e) => {
            log::warn!("sim: no callbacks: {e}");
            None
        }
    }
}

fn refusal(state: &State, r: Refusal) -> Response {
    refuse(state, r.status, r.code, &r.message)
}

/// Daraja's error envelope.
fn refuse(state: &State, status: u16, code: &str, message: &str) -> Response {
    let body = json!({"requestId": state.request_id(), "errorCode": code, "errorMessage": message});
    server::json(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        &body,
    )
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update leaves the value whole, so a panic elsewhere cannot leave it inconsistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
