//! The Daraja simulator: Safaricom's sandbox API (OAuth, STK Push, STK Push Query), as strict as
//! the real one, with outcomes chosen by the phone number. Used by `lango demo`, tests, benchmarks.
//! Touches: its own listener (and `callback_override`, if set). Never: Lango's database or gate.
//!
//! # Strictness
//! OAuth checks the Basic credentials (wrong: HTTP 400, empty body; other scheme: `400.008.01`;
//! grant_type other than client_credentials: `400.008.02`) and issues tokens whose `expires_in` is
//! a string, `"3599"` by default. The API checks the bearer token (unknown or expired: 404
//! `404.001.03`), the method (405 `405.001`), the path (404 `404.001.01`) and `Content-Type:
//! application/json` (missing: `400.002.02` "Invalid BusinessShortCode", as live). STK Push fields
//! are checked as docs/daraja.md describes (see `rules.rs`); a wrong BusinessShortCode is HTTP 500
//! `500.001.1001` "Merchant does not exist" and a wrong Password `500.001.1001` "Wrong
//! credentials", as live. A paybill push whose PartyB is not the paybill is accepted and then fails
//! with ResultCode 2028, as live.
//!
//! # Outcomes, by the phone number (PartyA)
//! | number | what the customer does |
//! |---|---|
//! | 254708374149 (the sandbox test number) | approves: ResultCode 0 |
//! | ending in 0001 | 1 "The balance is insufficient for the transaction." |
//! | ending in 0002 / 0003 / 0004 / 0008 | 2 / 3 / 4 / 8: limit rules (below minimum, above maximum, daily limit, balance limit) |
//! | ending in 0017 | 17 "Rule limited." (same amount to the same customer within 2 minutes) |
//! | ending in 1001 | 1001 "Unable to lock subscriber, a transaction is already in process …" |
//! | ending in 1019 | 1019 "Transaction has expired" |
//! | ending in 1025 / 9999 | 1025 / 9999 "An error occurred while sending a push request" |
//! | ending in 1032 | 1032 "Request cancelled by user" |
//! | ending in 1037 | 1037 "DS timeout user cannot be reached" |
//! | ending in 2001 | 2001 "The initiator information is invalid." (wrong PIN) |
//! | ending in 2028 | 2028 "The request is not permitted according to product assignment" |
//! | ending in 4999 | never answers: STK Push Query says "still processing" forever, no callback |
//! | ending in 0240 | approves late: ResultCode 0, but only after `late_delay` (240 s by default, past Lango's 180 s `poll_timeout`) |
//! | any other number | approves: ResultCode 0 |
//!
//! For example 254712341032 cancels and 254712345678 pays.
//!
//! # Timing
//! Until `delay` has passed since the push, STK Push Query answers "pending", alternating
//! Daraja's two shapes (odd queries: HTTP 500 `500.001.1001` "The transaction is being processed";
//! even ones: HTTP 200 ResultCode `"4999"`). After it, the final answer with ResultCode as a string.
//! An unknown CheckoutRequestID is `400.002.02` "Bad Request - Invalid CheckoutRequestID".
//! With `callback_override`, the callback (Daraja's shape, numbers as JSON numbers, a
//! `SIMXXXXXXX` receipt on success) is POSTed there once `delay` has passed; the push's own
//! CallBackURL is never called.
//!
//! # Faults, on demand
//! [`Faults`] (in `SimOptions`, or changed mid-run with [`Simulator::set_faults`]) makes the
//! simulator misbehave the ways the live Daraja does: spike arrest (`500.003.02`) on the next N
//! queries or pushes, an HTML 503 page on the next N queries, tokens that die before their
//! `expires_in`, refused credentials, duplicated or late callbacks, and the sandbox's habit of
//! answering a query with a failure for a payment whose callback says success, and a spell
//! during which every query fails (`500.003.1001`) before Daraja recovers.

mod api;
mod outcomes;
mod rules;
pub use rules::{check_push, check_query};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Credentials the simulator accepts unless told otherwise.
pub const DEMO_CONSUMER_KEY: &str = "lango-demo-key";
pub const DEMO_CONSUMER_SECRET: &str = "lango-demo-secret";
/// Safaricom's published sandbox passkey for shortcode 174379.
pub const SANDBOX_PASSKEY: &str =
    "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";

/// What the simulator accepts and how its customers behave.
#[derive(Clone, Debug)]
pub struct SimOptions {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub shortcode: String,
    pub passkey: String,
    /// How long the "customer" takes to answer the PIN prompt.
    pub delay: Duration,
    /// How long the late customer (numbers ending in 0240) takes.
    pub late_delay: Duration,
    /// How long an access token works; Daraja's is 3599 s.
    pub token_ttl: Duration,
    /// If set (an http(s) URL), results are POSTed there as Daraja's callback, `delay` after the push.
    pub callback_override: Option<String>,
    /// Misbehaviour to start with (see [`Faults`]).
    pub faults: Faults,
}

/// Ways the simulator misbehaves, each selectable so tests can drive it. Counters are used up
/// as the faults happen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Answer the next N STK Push Queries with HTTP 500 `500.003.02` "Spike Arrest Violation".
    pub spike_arrest_queries: u32,
    /// Answer the next N STK pushes with HTTP 500 `500.003.02` (the push is not accepted).
    pub spike_arrest_pushes: u32,
    /// Accept the next N STK pushes (the customer gets the prompt, the callback follows) but
    /// answer them with an HTML 502 from a proxy in between: Lango never learns the
    /// CheckoutRequestID.
    pub lose_push_answers: u32,
    /// Answer the next N STK Push Queries with HTTP 503 and an HTML page (no JSON).
    pub html_503_queries: u32,
    /// Access tokens stop working this long after they are issued, whatever `expires_in` said
    /// (clients must recover through `404.001.03` "Invalid Access Token").
    pub expire_tokens_after: Option<std::time::Duration>,
    /// OAuth refuses every consumer key and secret (HTTP 400, empty body), as for wrong ones.
    pub refuse_credentials: bool,
    /// Send each callback this many extra times (Daraja's duplicates).
    pub duplicate_callbacks: u32,
    /// Send callbacks this long after the push instead of after `delay` (late callbacks).
    pub callback_delay: Option<std::time::Duration>,
    /// For pushes accepted while set: a customer who approves is reported by STK Push Query as
    /// ResultCode 1037 (as the sandbox has been seen doing), while the callback says success.
    pub query_says_failed_but_callback_succeeds: bool,
    /// Every STK Push Query fails (HTTP 500 `500.003.1001` "Internal Server Error") for this
    /// long from when the fault is set, then Daraja recovers.
    pub queries_fail_for: Option<std::time::Duration>,
}

impl Default for SimOptions {
    /// The demo credentials, sandbox shortcode 174379 and its passkey; customers answer in 3 s.
    fn default() -> Self {
        SimOptions {
            consumer_key: DEMO_CONSUMER_KEY.into(),
            consumer_secret: DEMO_CONSUMER_SECRET.into(),
            shortcode: "174379".into(),
            passkey: SANDBOX_PASSKEY.into(),
            delay: Duration::from_secs(3),
            late_delay: Duration::from_secs(240),
            token_ttl: Duration::from_secs(3599),
            callback_override: None,
            faults: Faults::default(),
        }
    }
}

impl Faults {
    /// Applies one `NAME[=VALUE]` switch as `lango daraja-sim --fault` takes it, e.g.
    /// `spike-arrest-queries=3`, `expire-tokens-after=2` (seconds), `query-says-failed`.
    pub fn set(&mut self, switch: &str) -> Result<(), String> {
        let (name, value) = switch.split_once('=').unwrap_or((switch, ""));
        let count = || -> Result<u32, String> {
            value
                .parse()
                .map_err(|_| format!("--fault {switch}: {name} needs a count, e.g. {name}=3"))
        };
        let secs = || -> Result<Duration, String> {
            value
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 86_400.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("--fault {switch}: {name} needs seconds, e.g. {name}=2"))
        };
        match name {
            "spike-arrest-queries" => self.spike_arrest_queries = count()?,
            "spike-arrest-pushes" => self.spike_arrest_pushes = count()?,
            "lose-push-answers" => self.lose_push_answers = count()?,
            "html-503-queries" => self.html_503_queries = count()?,
            "duplicate-callbacks" => self.duplicate_callbacks = count()?,
            "expire-tokens-after" => self.expire_tokens_after = Some(secs()?),
            "callback-delay" => self.callback_delay = Some(secs()?),
            "queries-fail-for" => self.queries_fail_for = Some(secs()?),
            "refuse-credentials" => self.refuse_credentials = true,
            "query-says-failed" => self.query_says_failed_but_callback_succeeds = true,
            _ => return Err(format!(
                "--fault {switch}: unknown fault (spike-arrest-queries=N, spike-arrest-pushes=N, lose-push-answers=N, html-503-queries=N, duplicate-callbacks=N, expire-tokens-after=S, callback-delay=S, queries-fail-for=S, refuse-credentials, query-says-failed)"
            )),
        }
        Ok(())
    }
}

/// An STK push the simulator accepted, as it was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimPush {
    pub checkout_request_id: String,
    pub merchant_request_id: String,
    /// PartyA = PhoneNumber, `2547XXXXXXXX`.
    pub phone: String,
    /// Whole shillings.
    pub amount: u32,
    /// `CustomerPayBillOnline` or `CustomerBuyGoodsOnline`.
    pub transaction_type: String,
    pub party_b: String,
    pub account_reference: String,
    pub transaction_desc: String,
    pub callback_url: String,
    /// STK Push Queries made for it so far.
    pub queries: u32,
}

/// A running simulator's handle; clones share its state.
#[derive(Clone)]
pub struct Simulator(Arc<api::State>);

impl Simulator {
    pub fn new(opts: SimOptions) -> Simulator {
        Simulator(Arc::new(api::State::new(opts)))
    }

    /// Serves plain HTTP on `listener` until the returned future is dropped.
    pub async fn serve(self, listener: tokio::net::TcpListener) {
        crate::server::serve(listener, move |req, _peer| {
            let state = self.0.clone();
            async move { api::handle(&state, req).await }
        })
        .await
    }

    /// Serves HTTPS with the given PEM cert chain + key files.
    pub async fn serve_tls(
        self,
        listener: tokio::net::TcpListener,
        cert_pem: &Path,
        key_pem: &Path,
    ) -> std::io::Result<()> {
        let tls = tls_acceptor(cert_pem, key_pem)?;
        crate::server::serve_tls(listener, tls, move |req, _peer| {
            let state = self.0.clone();
            async move { api::handle(&state, req).await }
        })
        .await;
        Ok(())
    }

    /// Every STK push accepted so far, oldest first.
    pub fn pushes(&self) -> Vec<SimPush> {
        self.0.pushes()
    }

    /// How many access tokens OAuth has issued (for tests of token caching).
    pub fn tokens_issued(&self) -> u64 {
        self.0.tokens_issued()
    }

    /// Makes every issued token invalid, as if they had expired: clients must fetch a new one.
    pub fn revoke_tokens(&self) {
        self.0.revoke_tokens()
    }

    /// Replaces the faults (mid-run: from the next request on).
    pub fn set_faults(&self, faults: Faults) {
        self.0.set_faults(faults)
    }

    /// The faults now, with what is left of their counters.
    pub fn faults(&self) -> Faults {
        self.0.faults()
    }

    /// Where callbacks go from the next push on (`None`: nowhere).
    pub fn set_callback_url(&self, url: Option<String>) {
        self.0.set_callback_url(url)
    }
}

/// `lango daraja-sim`: binds `listen` and serves until the process ends; HTTPS when given a
/// certificate and key, plain HTTP otherwise.
pub async fn run_cli(
    listen: SocketAddr,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    opts: SimOptions,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let listener = crate::listen::bind(listen)
        .with_context(|| format!("Daraja simulator: cannot listen on {listen}"))?;
    let addr = listener.local_addr().unwrap_or(listen);
    let sim = Simulator::new(opts);
    match (cert, key) {
        (Some(cert), Some(key)) => {
            log::info!("Daraja simulator on https://{addr}");
            sim.serve_tls(listener, &cert, &key)
                .await
                .context("Daraja simulator")
        }
        (None, None) => {
            log::info!("Daraja simulator on http://{addr}");
            sim.serve(listener).await;
            Ok(())
        }
        _ => {
            anyhow::bail!("Daraja simulator: a certificate needs its key and a key its certificate")
        }
    }
}

/// rustls (ring) server config from PEM files; errors name the file.
fn tls_acceptor(cert_pem: &Path, key_pem: &Path) -> std::io::Result<tokio_rustls::TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |path: &Path, e: &dyn std::fmt::Display| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(cert_pem)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad(cert_pem, &e))?;
    if certs.is_empty() {
        return Err(bad(cert_pem, &"no PEM certificate in it"));
    }
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| bad(key_pem, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| bad(cert_pem, &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_switches_parse() {
        let mut f = Faults::default();
        for s in [
            "spike-arrest-queries=3",
            "html-503-queries=2",
            "duplicate-callbacks=1",
            "expire-tokens-after=1.5",
            "callback-delay=4",
            "query-says-failed",
            "lose-push-answers=2",
            "queries-fail-for=600",
        ] {
            f.set(s).unwrap();
        }
        assert_eq!(
            f,
            Faults {
                spike_arrest_queries: 3,
                html_503_queries: 2,
                duplicate_callbacks: 1,
                expire_tokens_after: Some(Duration::from_millis(1500)),
                callback_delay: Some(Duration::from_secs(4)),
                query_says_failed_but_callback_succeeds: true,
                lose_push_answers: 2,
                queries_fail_for: Some(Duration::from_secs(600)),
                ..Faults::default()
            }
        );
        assert!(f
            .set("spike-arrest-queries")
            .unwrap_err()
            .contains("needs a count"));
        assert!(f.set("nonsense=1").unwrap_err().contains("unknown fault"));
    }
}
