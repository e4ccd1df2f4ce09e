//! The Daraja HTTP client: OAuth token (cached until expiry), STK Push, STK Push Query.
//! Touches: Safaricom (or the simulator) over HTTPS. Never: SQLite, the kernel.
//!
//! Lango confirms payments by polling STK Push Query, because a router is usually behind NAT and
//! cannot receive Daraja's callback. Daraja still insists on a well-formed public https
//! `CallBackURL` in every push, so without a configured `callback_url` the push carries
//! [`PLACEHOLDER_CALLBACK_URL`]: under the reserved `.invalid` domain, the callback (which carries
//! the customer's number) reaches nobody.
//!
//! Errors sort Daraja's answers into what the caller does next: fail the payment (`Rejected`),
//! tell the owner to fix the settings (`Credentials`), or try again later (`Transient`: no answer;
//! `Busy`: an answer without an outcome).

use crate::clock::{eat_timestamp, Unix};
use crate::config::{DarajaConfig, Secret, ShortcodeKind};
use crate::https;
use crate::phone::Msisdn;
use crate::units::Kes;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Refresh the token this long before Daraja says it expires (clock skew, slow requests).
const TOKEN_MARGIN: Duration = Duration::from_secs(60);
/// Used when Daraja's `expires_in` cannot be read: what it always answers.
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3599);
/// A token is kept at most this long, whatever `expires_in` says: a huge one would overflow
/// `Instant` (a panic) or keep a dead token forever.
const MAX_TOKEN_TTL: Duration = Duration::from_secs(86_400);
/// A router has little memory and Daraja throttles bursts (500.003.02 spike arrest): calls in flight at once.
const MAX_IN_FLIGHT: usize = 8;
/// Daraja's answers are a few hundred bytes; an HTML error page is read only this far.
const MAX_ANSWER: usize = 64 * 1024;
/// Where Debian, Alpine and OpenWrt's `ca-bundle` keep the system's trusted CAs.
/// Sent as `CallBackURL` when the owner has no public callback URL: Lango polls instead.
pub const PLACEHOLDER_CALLBACK_URL: &str = "https://lango.invalid/daraja/callback";
/// Daraja's limits on the texts shown to the customer.
const MAX_ACCOUNT_REFERENCE: usize = 12;
const MAX_TRANSACTION_DESC: usize = 13;

/// Daraja's error codes Lango acts on.
const INVALID_TOKEN: &str = "404.001.03";
const MERCHANT_ERROR: &str = "500.001.1001";
/// Asked about by `verify`: shaped like Daraja's, issued to nobody.
const PROBE_CHECKOUT_ID: &str = "ws_CO_00000000000000000000";
/// STK Push Query's "ask again" ResultCode.
const STILL_PROCESSING: i64 = 4999;

/// A Daraja client; cheap to share behind an `Arc`.
pub struct Daraja {
    http: https::Client,
    base_url: String,
    consumer_key: Secret,
    consumer_secret: Secret,
    shortcode: String,
    passkey: Secret,
    kind: ShortcodeKind,
    callback_url: String,
    /// Caps calls in flight (`MAX_IN_FLIGHT`).
    in_flight: tokio::sync::Semaphore,
    /// Never held across an `.await`: two tasks missing it at once both fetch one, which is harmless.
    token: Mutex<Option<Token>>,
}

struct Token {
    value: Arc<str>,
    fresh_until: Instant,
}

/// One STK push: who pays how much for what.
pub struct Push<'a> {
    pub phone: &'a Msisdn,
    pub amount: Kes,
    /// Shown on the PIN prompt; cut to 12 letters and digits.
    pub account_reference: &'a str,
    /// Cut to 13 characters.
    pub description: &'a str,
}

/// Daraja accepted the push: the PIN prompt is on its way to the phone.
#[derive(Debug, Clone)]
pub struct PushAccepted {
    pub merchant_request_id: String,
    pub checkout_request_id: String,
    pub customer_message: String,
}

/// What STK Push Query says about a push.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryAnswer {
    /// The customer has not answered yet (both of Daraja's "still processing" shapes).
    Pending,
    /// Final: `result_code` 0 is paid, anything else failed (1032 cancelled, 1037 unreachable, ...).
    Done {
        result_code: i64,
        result_desc: String,
    },
}

/// Why a Daraja call failed. Each message names the call and Daraja's answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Daraja refused the request for good (4xx error envelope other than token trouble, e.g.
    /// 400.002.02 Invalid PhoneNumber; also 500.001.1001 "Unable to lock subscriber", another
    /// prompt open on that phone): the payment fails. `code` is Daraja's errorCode (or
    /// ResponseCode) for matching; `message` is the whole story for the log.
    #[error("{message}")]
    Rejected { code: String, message: String },
    /// Consumer key/secret refused (OAuth answered 400 with an empty body or 401), or 500.001.1001
    /// "Merchant does not exist" / "Wrong credentials" (shortcode or passkey): the owner must fix settings.
    #[error("{0}")]
    Credentials(String),
    /// No answer at all (connection refused, DNS, TLS, timeout): Daraja cannot be reached;
    /// try again later.
    #[error("{0}")]
    Transient(String),
    /// Daraja (or whatever stands in front of it) answered, but with no outcome: spike arrest,
    /// quota, another 5xx, a body that is not its JSON. It can be reached; try again later.
    #[error("{0}")]
    Busy(String),
    /// STK push only: the request left Lango but no usable answer came back (the exchange broke
    /// or timed out after sending, or a 5xx that is not Daraja's JSON): the push may have reached
    /// the phone, so its success callback may be adopted.
    #[error("{0}")]
    Unanswered(String),
    /// The HTTPS client could not be built (bad ca_file etc).
    #[error("{0}")]
    Setup(String),
}

/// An HTTP answer from Daraja: status and body, JSON object if it was one.
pub struct Answer {
    status: u16,
    json: Option<Value>,
    /// A short, printable start of a body that was not JSON.
    raw: String,
}

impl Daraja {
    /// Builds the HTTPS client: trusts the system CA bundle (if present) plus `cfg.ca_file`;
    /// rustls on the ring provider; connect timeout 5 s, whole request 15 s.
    pub fn new(cfg: &DarajaConfig) -> Result<Daraja, Error> {
        let tls = crate::https::client_tls(cfg.ca_file.as_deref()).map_err(Error::Setup)?;
        let http = https::Client::new(tls);
        Ok(Daraja {
            http,
            base_url: cfg.base_url.trim_end_matches('/').to_string(),
            consumer_key: cfg.consumer_key.clone(),
            consumer_secret: cfg.consumer_secret.clone(),
            shortcode: cfg.shortcode.clone(),
            passkey: cfg.passkey.clone(),
            kind: cfg.kind.clone(),
            callback_url: cfg.callback_url.clone(),
            in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
            token: Mutex::new(None),
        })
    }

    /// STK Push (POST /mpesa/stkpush/v1/processrequest). `now` is used for Timestamp (EAT) and Password.
    pub async fn stk_push(&self, push: &Push<'_>, now: Unix) -> Result<PushAccepted, Error> {
        const WHAT: &str = "STK push";
        let timestamp = eat_timestamp(now);
        let (transaction_type, party_b) = match &self.kind {
            ShortcodeKind::Paybill => ("CustomerPayBillOnline", self.shortcode.as_str()),
            ShortcodeKind::Till(till) => ("CustomerBuyGoodsOnline", till.as_str()),
        };
        let callback = if self.callback_url.is_empty() {
            PLACEHOLDER_CALLBACK_URL
        } else {
            &self.callback_url
        };
        let body = json!({
            "BusinessShortCode": self.shortcode,
            "Password": self.password(&timestamp),
            "Timestamp": timestamp,
            "TransactionType": transaction_type,
            "Amount": push.amount.0.to_string(),
            "PartyA": push.phone.as_str(),
            "PartyB": party_b,
            "PhoneNumber": push.phone.as_str(),
            "CallBackURL": callback,
            "AccountReference": account_reference(push.account_reference),
            "TransactionDesc": transaction_desc(push.description),
        });
        log::debug!(
            "{WHAT}: phone={} amount={} type={transaction_type}",
            push.phone.masked(),
            push.amount
        );
        let answer = self
            .post(WHAT, "/mpesa/stkpush/v1/processrequest", &body)
            .await?;
        let accepted = read_push(WHAT, &answer).map_err(|e| match e {
            Error::Busy(m) if answer.json.is_none() && answer.status >= 500 => Error::Unanswered(m),
            e => e,
        })?;
        log::info!(
            "{WHAT}: accepted checkout={} phone={}",
            accepted.checkout_request_id,
            push.phone.masked()
        );
        Ok(accepted)
    }

    /// STK Push Query (POST /mpesa/stkpushquery/v1/query).
    pub async fn stk_query(
        &self,
        checkout_request_id: &str,
        now: Unix,
    ) -> Result<QueryAnswer, Error> {
        const WHAT: &str = "STK query";
        let timestamp = eat_timestamp(now);
        let body = json!({
            "BusinessShortCode": self.shortcode,
            "Password": self.password(&timestamp),
            "Timestamp": timestamp,
            "CheckoutRequestID": checkout_request_id,
        });
        let answer = self
            .post(WHAT, "/mpesa/stkpushquery/v1/query", &body)
            .await
            .map_err(|e| match e {
                // A lost answer to a question is just a failed attempt.
                Error::Unanswered(m) => Error::Transient(m),
                e => e,
            })?;
        let answer = read_query(WHAT, &answer)?;
        log::debug!("{WHAT}: checkout={checkout_request_id} answer={answer:?}");
        Ok(answer)
    }

    /// Checks the settings against Daraja without charging anyone: fetches a new access token
    /// (consumer key and secret), then asks STK Push Query about a CheckoutRequestID that cannot
    /// exist, which Daraja answers only after checking shortcode and Password (passkey): wrong
    /// ones are `Credentials`. Any other refusal means the settings passed. A till's PartyB
    /// cannot be checked without a real push (a mismatch shows as ResultCode 2028 later).
    pub async fn verify(&self, now: Unix) -> Result<(), Error> {
        const WHAT: &str = "credentials check";
        let (value, ttl) = self.fetch_token(WHAT).await?;
        self.keep_token(value, ttl);
        match self.stk_query(PROBE_CHECKOUT_ID, now).await {
            Ok(_) | Err(Error::Rejected { .. }) => Ok(()),
            Err(Error::Credentials(m)) => Err(Error::Credentials(format!("{WHAT}: {m}"))),
            Err(e) => Err(e),
        }
    }

    /// `base64(shortcode + passkey + timestamp)`.
    fn password(&self, timestamp: &str) -> String {
        BASE64.encode(format!("{}{}{timestamp}", self.shortcode, self.passkey.0))
    }

    /// POSTs `body` with a bearer token; on "Invalid Access Token" fetches a new token and tries once more.
    async fn post(&self, what: &str, path: &str, body: &Value) -> Result<Answer, Error> {
        let token = self.token(what).await?;
        let answer = self.send(what, path, body, &token).await?;
        if error_code(&answer) != Some(INVALID_TOKEN) {
            return Ok(answer);
        }
        log::info!("{what}: Daraja refused the cached access token; fetching a new one");
        self.forget_token(&token);
        let token = self.token(what).await?;
        let answer = self.send(what, path, body, &token).await?;
        if error_code(&answer) == Some(INVALID_TOKEN) {
            return Err(Error::Busy(format!(
                "{what}: Daraja answered {INVALID_TOKEN} Invalid Access Token to a token it had just issued"
            )));
        }
        Ok(answer)
    }

    async fn send(
        &self,
        what: &str,
        path: &str,
        body: &Value,
        token: &str,
    ) -> Result<Answer, Error> {
        let mut bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            Error::Busy(format!(
                "{what}: Daraja issued an access token that is not a header value"
            ))
        })?;
        bearer.set_sensitive(true);
        let _permit = self.in_flight.acquire().await;
        let headers = [
            (AUTHORIZATION, bearer),
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
        ];
        let url = format!("{}{path}", self.base_url);
        let reply = self
            .http
            .send(
                Method::POST,
                &url,
                &headers,
                body.to_string().into_bytes(),
                MAX_ANSWER,
            )
            .await
            .map_err(|e| {
                let m = format!("{what}: {e}");
                if e.may_have_arrived() {
                    Error::Unanswered(m)
                } else {
                    Error::Transient(m)
                }
            })?;
        Ok(Answer::parse(reply.status, &reply.body))
    }

    /// The cached token, or a new one from OAuth.
    async fn token(&self, what: &str) -> Result<Arc<str>, Error> {
        if let Some(t) = self
            .lock_token()
            .as_ref()
            .filter(|t| Instant::now() < t.fresh_until)
        {
            return Ok(t.value.clone());
        }
        let (value, ttl) = self.fetch_token(what).await?;
        self.keep_token(value.clone(), ttl);
        Ok(value)
    }

    fn keep_token(&self, value: Arc<str>, ttl: Duration) {
        let fresh_until = Instant::now() + ttl - TOKEN_MARGIN.min(ttl / 2);
        *self.lock_token() = Some(Token { value, fresh_until });
    }

    fn forget_token(&self, refused: &str) {
        let mut cached = self.lock_token();
        if cached.as_ref().is_some_and(|t| &*t.value == refused) {
            *cached = None;
        }
    }

    fn lock_token(&self) -> std::sync::MutexGuard<'_, Option<Token>> {
        // The guarded value is always whole, so a panic elsewhere cannot leave it inconsistent.
        self.token.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// GET /oauth/v1/generate with Basic auth: the token and how long it lives.
    async fn fetch_token(&self, what: &str) -> Result<(Arc<str>, Duration), Error> {
        let what = format!("{what}: OAuth");
        let basic = BASE64.encode(format!(
            "{}:{}",
            self.consumer_key.0, self.consumer_secret.0
        ));
        let mut auth = HeaderValue::from_str(&format!("Basic {basic}")).map_err(|_| {
            Error::Credentials(format!(
                "{what}: consumer key or secret contains characters HTTP cannot carry"
            ))
        })?;
        auth.set_sensitive(true);
        let _permit = self.in_flight.acquire().await;
        let url = format!(
            "{}/oauth/v1/generate?grant_type=client_credentials",
            self.base_url
        );
        let reply = self
            .http
            .send(
                Method::GET,
                &url,
                &[(AUTHORIZATION, auth)],
                vec![],
                MAX_ANSWER,
            )
            .await
            .map_err(|e| Error::Transient(format!("{what}: {e}")))?;
        let answer = Answer::parse(reply.status, &reply.body);
        let (token, ttl) = read_token(&what, &answer)?;
        log::debug!("{what}: new access token valid for {} s", ttl.as_secs());
        Ok((token, ttl))
    }
}

/// What an OAuth answer says: the access token and how long it lives.
pub fn read_token(what: &str, answer: &Answer) -> Result<(Arc<str>, Duration), Error> {
    if let (200, Some(json)) = (answer.status, &answer.json) {
        if let Some(token) = str_field(json, "access_token").filter(|t| !t.is_empty()) {
            let ttl = code_field(json, "expires_in")
                .and_then(|s| u64::try_from(s).ok())
                .map_or(DEFAULT_TOKEN_TTL, Duration::from_secs)
                .min(MAX_TOKEN_TTL);
            return Ok((token.into(), ttl));
        }
    }
    Err(match answer.status {
        400..=499 => Error::Credentials(format!(
            "{what}: Daraja refused the consumer key/secret (HTTP {}{}): check them and the app's environment",
            answer.status,
            answer_summary(answer, ", ")
        )),
        _ => failure(what, answer),
    })
}

/// What an STK push answer says: accepted (the PIN prompt is on its way), or why not.
pub fn read_push(what: &str, answer: &Answer) -> Result<PushAccepted, Error> {
    let Some(json) = answer.json.as_ref().filter(|_| answer.status == 200) else {
        return Err(failure(what, answer));
    };
    let response_code = code_field(json, "ResponseCode");
    let checkout = str_field(json, "CheckoutRequestID");
    match (response_code, checkout) {
        (Some(0), Some(checkout)) if !checkout.is_empty() => Ok(PushAccepted {
            merchant_request_id: str_field(json, "MerchantRequestID")
                .unwrap_or_default()
                .to_string(),
            checkout_request_id: checkout.to_string(),
            customer_message: str_field(json, "CustomerMessage")
                .unwrap_or_default()
                .to_string(),
        }),
        (Some(code), _) if code != 0 => Err(Error::Rejected {
            code: code.to_string(),
            message: format!(
                "{what}: Daraja answered 200 ResponseCode {code} {}",
                str_field(json, "ResponseDescription").unwrap_or("")
            ),
        }),
        _ => Err(Error::Busy(format!(
            "{what}: Daraja answered 200 without a CheckoutRequestID: {json}"
        ))),
    }
}

/// What an STK Push Query answer says: pending (either of Daraja's shapes), final, or an error.
pub fn read_query(what: &str, answer: &Answer) -> Result<QueryAnswer, Error> {
    let Some(json) = &answer.json else {
        return Err(failure(what, answer));
    };
    let still_processing = str_field(json, "errorCode") == Some(MERCHANT_ERROR)
        && str_field(json, "errorMessage")
            .is_some_and(|m| m.to_ascii_lowercase().contains("being processed"));
    if still_processing {
        return Ok(QueryAnswer::Pending);
    }
    if answer.status != 200 {
        return Err(failure(what, answer));
    }
    match code_field(json, "ResultCode") {
        Some(STILL_PROCESSING) => Ok(QueryAnswer::Pending),
        Some(result_code) => Ok(QueryAnswer::Done {
            result_code,
            result_desc: str_field(json, "ResultDesc")
                .unwrap_or_default()
                .to_string(),
        }),
        None => Err(Error::Busy(format!(
            "{what}: Daraja answered 200 without a ResultCode: {json}"
        ))),
    }
}

impl Answer {
    /// Sorts a body Daraja sent with `status`: a JSON object, or the printable start of anything else.
    pub fn parse(status: u16, body: &[u8]) -> Answer {
        let json = serde_json::from_slice::<Value>(body)
            .ok()
            .filter(Value::is_object);
        let raw = if json.is_some() {
            String::new()
        } else {
            let text = String::from_utf8_lossy(body);
            let mut raw: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if let Some((cut, _)) = raw.char_indices().nth(120) {
                raw.truncate(cut);
                raw.push('…');
            }
            raw
        };
        Answer { status, json, raw }
    }
}

/// The error for an answer that is not the success (or pending) the caller looked for.
fn failure(what: &str, answer: &Answer) -> Error {
    let status = answer.status;
    let Some(json) = &answer.json else {
        return Error::Busy(format!(
            "{what}: Daraja answered {status} without JSON{}",
            answer_summary(answer, ": ")
        ));
    };
    let Some(code) = error_code(answer) else {
        return Error::Busy(format!(
            "{what}: Daraja answered {status} with an unexpected body: {json}"
        ));
    };
    let text = str_field(json, "errorMessage").unwrap_or("");
    let message = format!("{what}: Daraja answered {status} {code} {text}");
    let lower = text.to_ascii_lowercase();
    if code == MERCHANT_ERROR && (lower.contains("merchant") || lower.contains("credential")) {
        Error::Credentials(format!(
            "{message} (check shortcode, passkey and till in the settings)"
        ))
    } else if code == MERCHANT_ERROR
        && (lower.contains("lock subscriber") || lower.contains("already in process"))
    {
        // Another prompt is open on that phone: this payment fails; the customer may retry in a minute.
        Error::Rejected {
            code: code.to_string(),
            message,
        }
    } else if (400..500).contains(&status) {
        Error::Rejected {
            code: code.to_string(),
            message,
        }
    } else {
        Error::Busy(message)
    }
}

fn error_code(answer: &Answer) -> Option<&str> {
    answer.json.as_ref().and_then(|j| str_field(j, "errorCode"))
}

/// `": <first bytes of a non-JSON body>"`, or `"<sep>empty body"`.
fn answer_summary(answer: &Answer, sep: &str) -> String {
    match (&answer.json, answer.raw.is_empty()) {
        (Some(json), _) => format!("{sep}{json}"),
        (None, true) => format!("{sep}empty body"),
        (None, false) => format!("{sep}{}", answer.raw),
    }
}

fn str_field<'a>(json: &'a Value, key: &str) -> Option<&'a str> {
    json.get(key).and_then(Value::as_str)
}

/// A code Daraja sends as a string in some answers and as a number in others.
fn code_field(json: &Value, key: &str) -> Option<i64> {
    match json.get(key)? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Letters and digits only, at most 12: what Daraja shows on the prompt without complaint.
fn account_reference(s: &str) -> String {
    let r: String = s
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(MAX_ACCOUNT_REFERENCE)
        .collect();
    if r.is_empty() {
        "Lango".into()
    } else {
        r
    }
}

/// At most 13 characters; Daraja refuses an empty one ("Invalid Remarks").
fn transaction_desc(s: &str) -> String {
    let d: String = s.trim().chars().take(MAX_TRANSACTION_DESC).collect();
    let d = d.trim_end().to_string();
    if d.is_empty() {
        "Wi-Fi".into()
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer::parse(status, body.as_bytes())
    }

    fn envelope(code: &str, message: &str) -> String {
        json!({"requestId": "1-2-3", "errorCode": code, "errorMessage": message}).to_string()
    }

    #[test]
    fn texts_are_cut_to_darajas_limits() {
        assert_eq!(account_reference("Lango Wi-Fi #42 @home"), "LangoWiFi42h");
        assert_eq!(account_reference("@#&"), "Lango");
        assert_eq!(transaction_desc("Standard 3 hours"), "Standard 3 ho");
        assert_eq!(transaction_desc("Premium 6h   x"), "Premium 6h");
        assert_eq!(transaction_desc("  "), "Wi-Fi");
    }

    #[test]
    fn codes_may_be_strings_or_numbers() {
        let j = json!({"a": "4999", "b": 1032, "c": " 0 ", "d": "x", "e": 1.5});
        assert_eq!(code_field(&j, "a"), Some(4999));
        assert_eq!(code_field(&j, "b"), Some(1032));
        assert_eq!(code_field(&j, "c"), Some(0));
        assert_eq!(code_field(&j, "d"), None);
        assert_eq!(code_field(&j, "e"), None);
        assert_eq!(code_field(&j, "missing"), None);
    }

    #[test]
    fn answers_sort_into_what_to_do_next() {
        let e = failure(
            "STK push",
            &answer(
                400,
                &envelope("400.002.02", "Bad Request - Invalid PhoneNumber"),
            ),
        );
        assert!(
            matches!(&e, Error::Rejected { code, .. } if code == "400.002.02"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "STK push: Daraja answered 400 400.002.02 Bad Request - Invalid PhoneNumber"
        );

        for text in [
            "Merchant does not exist",
            "Wrong credentials",
            "[MerchantValidate] - Wrong credentials",
        ] {
            let e = failure("STK push", &answer(500, &envelope(MERCHANT_ERROR, text)));
            assert!(matches!(e, Error::Credentials(_)), "{text}: {e:?}");
        }
        let locked = "Unable to lock subscriber, a transaction is already in process for the current subscriber";
        let e = failure("STK push", &answer(500, &envelope(MERCHANT_ERROR, locked)));
        assert!(matches!(e, Error::Rejected { .. }), "{e:?}");

        for (status, body) in [
            (
                500,
                envelope(
                    "500.003.02",
                    "System is busy. Please try again in few minutes.",
                ),
            ),
            (500, envelope("500.003.03", "Quota Violation")),
            (500, envelope("500.003.1001", "Internal Server Error")),
            (503, "<html><body>Service Unavailable</body></html>".into()),
            (500, "<soapenv:Fault>oops</soapenv:Fault>".into()),
            (200, "".into()),
            (400, r#"{"something":"else"}"#.into()),
        ] {
            let e = failure("STK query", &answer(status, &body));
            assert!(matches!(e, Error::Busy(_)), "{status} {body}: {e:?}");
            assert!(
                e.to_string().starts_with("STK query: Daraja answered "),
                "{e}"
            );
        }
    }

    #[test]
    fn regression_daraja_huge_token_expiry() {
        // `expires_in` near i64::MAX once overflowed `Instant::now() + ttl`: a panic, so the daemon
        // aborted at every token fetch.
        let body = r#"{"access_token":"x","expires_in":"9223372036854775807"}"#;
        let (_, ttl) = read_token("OAuth", &answer(200, body)).unwrap();
        assert_eq!(ttl, MAX_TOKEN_TTL);
        assert!(Instant::now().checked_add(ttl).is_some());
        let (_, ttl) = read_token(
            "OAuth",
            &answer(200, r#"{"access_token":"x","expires_in":"3599"}"#),
        )
        .unwrap();
        assert_eq!(ttl, Duration::from_secs(3599));
    }
}
