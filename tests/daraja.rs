//! The real Daraja client against the simulator over real TLS (a self-signed certificate for
//! localhost / 127.0.0.1, trusted through `ca_file`), plus raw requests the client never sends.

use lango::clock::{Clock, SystemClock};
use lango::config::{Config, DarajaConfig, Secret, ShortcodeKind};
use lango::payments::daraja::{Daraja, Error, Push, QueryAnswer};
use lango::phone::Msisdn;
use lango::sim::{SimOptions, SimPush, Simulator};
use lango::units::Kes;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the simulated customer takes to answer.
const DELAY: Duration = Duration::from_millis(200);
/// No test waits longer than this for an answer.
const PATIENCE: Duration = Duration::from_secs(10);

/// A simulator serving HTTPS on 127.0.0.1, and the files that make its certificate.
struct Sim {
    sim: Simulator,
    base_url: String,
    dir: PathBuf,
    ca_pem: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Sim {
    async fn start(opts: SimOptions) -> Sim {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lango-daraja-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap();
        let ca_pem = cert.cert.pem();
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, &ca_pem).unwrap();
        std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sim = Simulator::new(opts);
        let serving = sim.clone();
        let task = tokio::spawn(async move {
            serving
                .serve_tls(listener, &cert_path, &key_path)
                .await
                .unwrap();
        });
        Sim {
            sim,
            base_url: format!("https://127.0.0.1:{port}"),
            dir,
            ca_pem,
            task,
        }
    }

    async fn default() -> Sim {
        Sim::start(SimOptions {
            delay: DELAY,
            ..SimOptions::default()
        })
        .await
    }

    /// What `lango demo` would configure: the demo credentials, trusting the simulator's certificate.
    fn config(&self) -> DarajaConfig {
        let mut c = Config::parse(
            "config daraja 'daraja'\n\toption shortcode '174379'\n",
            "test",
        )
        .unwrap()
        .daraja;
        c.base_url = self.base_url.clone();
        c.ca_file = Some(self.dir.join("cert.pem"));
        c.consumer_key = Secret(lango::sim::DEMO_CONSUMER_KEY.into());
        c.consumer_secret = Secret(lango::sim::DEMO_CONSUMER_SECRET.into());
        c.passkey = Secret(lango::sim::SANDBOX_PASSKEY.into());
        c
    }

    fn client(&self) -> Daraja {
        Daraja::new(&self.config()).unwrap()
    }

    /// A plain HTTPS client for requests the Daraja client would never send.
    fn raw(&self) -> reqwest::Client {
        let mut roots = rustls::RootCertStore::empty();
        let der = rustls_pki_types::pem::PemObject::from_pem_slice(self.ca_pem.as_bytes()).unwrap();
        roots.add(der).unwrap();
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .build()
            .unwrap()
    }

    async fn raw_token(&self) -> String {
        let r = self
            .raw()
            .get(format!(
                "{}/oauth/v1/generate?grant_type=client_credentials",
                self.base_url
            ))
            .basic_auth(
                lango::sim::DEMO_CONSUMER_KEY,
                Some(lango::sim::DEMO_CONSUMER_SECRET),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(
            body["expires_in"], "3599",
            "Daraja sends expires_in as a string"
        );
        body["access_token"].as_str().unwrap().to_string()
    }

    /// POSTs `body` to `path` with a valid token; returns the status and the body (`Null` if not JSON).
    async fn raw_post(&self, path: &str, content_type: Option<&str>, body: &Value) -> (u16, Value) {
        let token = self.raw_token().await;
        let mut req = self
            .raw()
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(token)
            .body(body.to_string());
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (
            status,
            serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null),
        )
    }

    fn push(&self, checkout: &str) -> SimPush {
        self.sim
            .pushes()
            .into_iter()
            .find(|p| p.checkout_request_id == checkout)
            .expect("push recorded")
    }
}

fn now() -> i64 {
    SystemClock.now()
}

fn phone(s: &str) -> Msisdn {
    s.parse().unwrap()
}

async fn push(daraja: &Daraja, number: &str) -> Result<String, Error> {
    let p = phone(number);
    let push = Push {
        phone: &p,
        amount: Kes(50),
        account_reference: "Lango Wi-Fi #1",
        description: "Standard 3 hours",
    };
    daraja
        .stk_push(&push, now())
        .await
        .map(|a| a.checkout_request_id)
}

/// Queries until the answer is final.
async fn outcome(daraja: &Daraja, checkout: &str) -> (i64, String) {
    let start = Instant::now();
    loop {
        match daraja.stk_query(checkout, now()).await.unwrap() {
            QueryAnswer::Done {
                result_code,
                result_desc,
            } => return (result_code, result_desc),
            QueryAnswer::Pending => {
                assert!(
                    start.elapsed() < PATIENCE,
                    "still pending after {PATIENCE:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn push_body(number: &str) -> Value {
    let ts = lango::clock::eat_timestamp(now());
    let password = base64_password(&ts);
    json!({"BusinessShortCode":"174379","Password":password,"Timestamp":ts,
        "TransactionType":"CustomerPayBillOnline","Amount":"50","PartyA":number,"PartyB":"174379",
        "PhoneNumber":number,"CallBackURL":"https://example.com/lango/cb/SECRET",
        "AccountReference":"Lango","TransactionDesc":"Standard 3h"})
}

fn base64_password(ts: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(format!("174379{}{ts}", lango::sim::SANDBOX_PASSKEY))
}

#[tokio::test]
async fn sandbox_number_pays_and_the_push_is_sent_as_daraja_wants() {
    let sim = Sim::default().await;
    let daraja = sim.client();
    let checkout = push(&daraja, "0708374149").await.unwrap();
    assert!(checkout.starts_with("ws_CO_"), "{checkout}");
    let (code, desc) = outcome(&daraja, &checkout).await;
    assert_eq!(
        (code, desc.as_str()),
        (0, "The service request is processed successfully.")
    );

    let p = sim.push(&checkout);
    assert_eq!(p.phone, "254708374149");
    assert_eq!(p.amount, 50);
    assert_eq!(p.account_reference, "LangoWiFi1");
    assert_eq!(p.transaction_desc, "Standard 3 ho");
    assert_eq!(p.callback_url, "https://lango.invalid/daraja/callback");
    assert!(p.queries >= 1);
}

#[tokio::test]
async fn one_token_serves_several_calls_and_a_revoked_one_is_replaced() {
    let sim = Sim::default().await;
    let daraja = sim.client();
    let mut ids = vec![];
    for number in ["254708374149", "254712345678", "254112345678"] {
        ids.push(push(&daraja, number).await.unwrap());
    }
    daraja.stk_query(&ids[0], now()).await.unwrap();
    assert_eq!(sim.sim.tokens_issued(), 1);
    assert_eq!(sim.sim.pushes().len(), 3);
    ids.dedup();
    assert_eq!(ids.len(), 3, "CheckoutRequestIDs are unique");

    // Daraja forgets the token: the client gets 404.001.03, fetches a new one once, and goes on.
    sim.sim.revoke_tokens();
    push(&daraja, "254708374149").await.unwrap();
    assert_eq!(sim.sim.tokens_issued(), 2);
}

#[tokio::test]
async fn failure_codes_reach_the_client() {
    let sim = Sim::default().await;
    let daraja = sim.client();
    for (number, want, desc) in [
        (
            "254712340001",
            1,
            "The balance is insufficient for the transaction.",
        ),
        ("254712341032", 1032, "Request cancelled by user"),
        ("254712341037", 1037, "DS timeout user cannot be reached"),
        (
            "254712342001",
            2001,
            "The initiator information is invalid.",
        ),
    ] {
        let checkout = push(&daraja, number).await.unwrap();
        assert_eq!(
            outcome(&daraja, &checkout).await,
            (want, desc.to_string()),
            "{number}"
        );
    }
}

#[tokio::test]
async fn pending_comes_in_both_shapes_then_the_final_answer() {
    let sim = Sim::start(SimOptions {
        delay: Duration::from_millis(800),
        ..SimOptions::default()
    })
    .await;
    let daraja = sim.client();
    let checkout = push(&daraja, "254712341032").await.unwrap();
    // Query 1 is the HTTP 500 "being processed" shape, query 2 the HTTP 200 ResultCode "4999" one.
    assert_eq!(
        daraja.stk_query(&checkout, now()).await.unwrap(),
        QueryAnswer::Pending
    );
    assert_eq!(
        daraja.stk_query(&checkout, now()).await.unwrap(),
        QueryAnswer::Pending
    );
    assert_eq!(sim.push(&checkout).queries, 2);
    let (code, _) = outcome(&daraja, &checkout).await;
    assert_eq!(code, 1032);

    // What the client saw, raw.
    let query = |id: &str| {
        let ts = lango::clock::eat_timestamp(now());
        json!({"BusinessShortCode":"174379","Password":base64_password(&ts),"Timestamp":ts,"CheckoutRequestID":id})
    };
    let slow = push(&daraja, "254712340002").await.unwrap();
    let (s1, b1) = sim
        .raw_post(
            "/mpesa/stkpushquery/v1/query",
            Some("application/json"),
            &query(&slow),
        )
        .await;
    assert_eq!((s1, b1["errorCode"].as_str()), (500, Some("500.001.1001")));
    assert_eq!(b1["errorMessage"], "The transaction is being processed");
    let (s2, b2) = sim
        .raw_post(
            "/mpesa/stkpushquery/v1/query",
            Some("application/json"),
            &query(&slow),
        )
        .await;
    assert_eq!((s2, b2["ResultCode"].as_str()), (200, Some("4999")));
    tokio::time::sleep(Duration::from_millis(900)).await;
    let (s3, b3) = sim
        .raw_post(
            "/mpesa/stkpushquery/v1/query",
            Some("application/json"),
            &query(&slow),
        )
        .await;
    assert_eq!(
        (s3, b3["ResultCode"].as_str()),
        (200, Some("2")),
        "final ResultCode is a string: {b3}"
    );
    assert_eq!(b3["CheckoutRequestID"], slow.as_str());
}

#[tokio::test]
async fn a_number_ending_4999_stays_pending() {
    let sim = Sim::default().await;
    let daraja = sim.client();
    let checkout = push(&daraja, "254712344999").await.unwrap();
    tokio::time::sleep(DELAY * 2).await;
    for _ in 0..3 {
        assert_eq!(
            daraja.stk_query(&checkout, now()).await.unwrap(),
            QueryAnswer::Pending
        );
    }
}

#[tokio::test]
async fn unknown_checkout_id_is_rejected() {
    let sim = Sim::default().await;
    let e = sim
        .client()
        .stk_query("ws_CO_nope", now())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Rejected { code, .. } if code == "400.002.02"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "STK query: Daraja answered 400 400.002.02 Bad Request - Invalid CheckoutRequestID"
    );
}

#[tokio::test]
async fn wrong_settings_are_credentials_errors() {
    let sim = Sim::default().await;

    let mut c = sim.config();
    c.consumer_secret = Secret("wrong".into());
    let e = push(&Daraja::new(&c).unwrap(), "254708374149")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Credentials(_)), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("STK push: OAuth: Daraja refused the consumer key/secret (HTTP 400"),
        "{e}"
    );

    // A wrong passkey makes a wrong Password: 500.001.1001 "Wrong credentials".
    let mut c = sim.config();
    c.passkey = Secret("not-the-passkey".into());
    let e = push(&Daraja::new(&c).unwrap(), "254708374149")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Credentials(_)), "{e:?}");
    assert!(
        e.to_string().contains("500.001.1001 Wrong credentials"),
        "{e}"
    );

    let mut c = sim.config();
    c.shortcode = "600000".into();
    let e = push(&Daraja::new(&c).unwrap(), "254708374149")
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("500.001.1001 Merchant does not exist"),
        "{e}"
    );
    assert!(sim.sim.pushes().is_empty());
}

#[tokio::test]
async fn paybill_and_till_pushes_are_recorded_as_sent() {
    let sim = Sim::default().await;
    let paybill = push(&sim.client(), "254708374149").await.unwrap();
    let mut c = sim.config();
    c.kind = ShortcodeKind::Till("600123".into());
    let till_client = Daraja::new(&c).unwrap();
    let till = push(&till_client, "254708374149").await.unwrap();

    let p = sim.push(&paybill);
    assert_eq!(
        (p.transaction_type.as_str(), p.party_b.as_str()),
        ("CustomerPayBillOnline", "174379")
    );
    let t = sim.push(&till);
    assert_eq!(
        (t.transaction_type.as_str(), t.party_b.as_str()),
        ("CustomerBuyGoodsOnline", "600123")
    );
    assert_eq!(outcome(&till_client, &till).await.0, 0);
}

#[tokio::test]
async fn raw_requests_are_refused_like_daraja() {
    let sim = Sim::default().await;
    const PUSH: &str = "/mpesa/stkpush/v1/processrequest";
    let envelope = |(status, body): (u16, Value)| {
        (
            status,
            body["errorCode"].clone(),
            body["errorMessage"].clone(),
        )
    };

    let bad_phone = push_body("0708374149");
    assert_eq!(
        envelope(
            sim.raw_post(PUSH, Some("application/json"), &bad_phone)
                .await
        ),
        (
            400,
            json!("400.002.02"),
            json!("Bad Request - Invalid PartyA")
        )
    );
    let mut bad_phone = push_body("254708374149");
    bad_phone["PhoneNumber"] = json!("254808374149");
    assert_eq!(
        envelope(
            sim.raw_post(PUSH, Some("application/json"), &bad_phone)
                .await
        ),
        (
            400,
            json!("400.002.02"),
            json!("Bad Request - Invalid PhoneNumber")
        )
    );
    assert_eq!(
        envelope(sim.raw_post(PUSH, None, &push_body("254708374149")).await),
        (
            400,
            json!("400.002.02"),
            json!("Bad Request - Invalid BusinessShortCode")
        )
    );
    let mut bad_password = push_body("254708374149");
    bad_password["Password"] = json!(base64_password("20200101000000"));
    assert_eq!(
        envelope(
            sim.raw_post(PUSH, Some("application/json"), &bad_password)
                .await
        ),
        (500, json!("500.001.1001"), json!("Wrong credentials"))
    );
    let mut no_desc = push_body("254708374149");
    no_desc.as_object_mut().unwrap().remove("TransactionDesc");
    assert_eq!(
        envelope(
            sim.raw_post(PUSH, Some("application/json; charset=utf-8"), &no_desc)
                .await
        ),
        (
            400,
            json!("400.002.02"),
            json!("Bad Request - Invalid Remarks")
        )
    );
    let (status, ok) = sim
        .raw_post(PUSH, Some("application/json"), &push_body("254708374149"))
        .await;
    assert_eq!(
        (status, ok["ResponseCode"].as_str()),
        (200, Some("0")),
        "{ok}"
    );
    assert_eq!(
        ok["ResponseDescription"],
        "Success. Request accepted for processing"
    );

    let raw = sim.raw();
    let url = |p: &str| format!("{}{p}", sim.base_url);
    let r = raw
        .post(url(PUSH))
        .bearer_auth("not-a-token")
        .header("Content-Type", "application/json");
    assert_eq!(
        envelope(status_json(r.body(push_body("254708374149").to_string())).await),
        (404, json!("404.001.03"), json!("Invalid Access Token"))
    );
    let r = raw.get(url(PUSH)).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = raw.get(url("/mpesa/nothing/v1")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    let oauth = |q: &str| raw.get(url(&format!("/oauth/v1/generate{q}")));
    let r = oauth("?grant_type=password").basic_auth("lango-demo-key", Some("lango-demo-secret"));
    assert_eq!(envelope(status_json(r).await).1, "400.008.02");
    let r = oauth("?grant_type=client_credentials").bearer_auth("x");
    assert_eq!(envelope(status_json(r).await).1, "400.008.01");
    let r = oauth("?grant_type=client_credentials")
        .basic_auth("lango-demo-key", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.bytes().await.unwrap().is_empty(),
        "wrong credentials get an empty body"
    );
}

async fn status_json(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn callbacks_are_posted_to_the_override() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cb_url = format!("http://{}/cb", receiver.local_addr().unwrap());
    let cb_task = tokio::spawn(lango::server::serve(receiver, move |req, _peer| {
        let tx = tx.clone();
        async move {
            let body = lango::server::read_body(req, 64 * 1024).await.unwrap();
            tx.send(serde_json::from_slice(&body).unwrap()).unwrap();
            lango::server::json(
                hyper::StatusCode::OK,
                &json!({"ResultCode": 0, "ResultDesc": "Accepted"}),
            )
        }
    }));
    let sim = Sim::start(SimOptions {
        delay: DELAY,
        callback_override: Some(cb_url),
        ..SimOptions::default()
    })
    .await;
    let daraja = sim.client();

    let paid = push(&daraja, "254708374149").await.unwrap();
    let cb = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .unwrap()
        .unwrap();
    let cb = &cb["Body"]["stkCallback"];
    assert_eq!(cb["CheckoutRequestID"], paid.as_str());
    assert_eq!(cb["ResultCode"], 0, "a JSON number");
    let items = cb["CallbackMetadata"]["Item"].as_array().unwrap();
    let item = |name: &str| items.iter().find(|i| i["Name"] == name).unwrap()["Value"].clone();
    assert_eq!(item("Amount"), json!(50.0));
    assert_eq!(item("PhoneNumber"), json!(254708374149u64));
    let receipt = item("MpesaReceiptNumber");
    let receipt = receipt.as_str().unwrap();
    assert!(
        receipt.len() == 10 && receipt.starts_with("SIM"),
        "{receipt}"
    );

    let cancelled = push(&daraja, "254712341032").await.unwrap();
    let cb = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .unwrap()
        .unwrap();
    let cb = &cb["Body"]["stkCallback"];
    assert_eq!(
        (cb["CheckoutRequestID"].as_str(), cb["ResultCode"].as_i64()),
        (Some(cancelled.as_str()), Some(1032))
    );
    assert!(cb.get("CallbackMetadata").is_none());
    cb_task.abort();
}

#[tokio::test]
async fn an_untrusted_certificate_is_transient_and_says_why() {
    let sim = Sim::default().await;
    let mut c = sim.config();
    c.ca_file = None;
    let e = push(&Daraja::new(&c).unwrap(), "254708374149")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transient(_)), "{e:?}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
}

#[tokio::test]
async fn localhost_name_is_served_too() {
    let sim = Sim::default().await;
    let mut c = sim.config();
    c.base_url = sim.base_url.replace("127.0.0.1", "localhost");
    push(&Daraja::new(&c).unwrap(), "254708374149")
        .await
        .unwrap();
}
