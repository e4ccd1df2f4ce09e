//! Payments an owner can trust, over real HTTP (and TLS to the simulator) with real SQLite: both
//! shortcode kinds, a busy or broken Daraja, tokens that die early, wrong or missing settings,
//! Daraja's callbacks (duplicated, late, contradicting the query, forged) and the abuse limits.

mod common;

use common::*;
use lango::config::{Secret, ShortcodeKind};
use lango::ctl::Request;
use lango::sim::{Faults, SimOptions};
use lango::store::payments::PaymentState;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

const FAST: Duration = Duration::from_millis(150);

fn opts(delay: Duration) -> LabOptions {
    LabOptions {
        sim: SimOptions {
            delay,
            ..SimOptions::default()
        },
        tls: true,
        ..LabOptions::default()
    }
}

fn with_faults(delay: Duration, faults: Faults) -> LabOptions {
    let mut o = opts(delay);
    o.sim.faults = faults;
    o
}

/// `session.grant` events of a payment: exactly one for a paid payment, none otherwise.
fn grants(lab: &Lab, id: i64) -> i64 {
    lab.events("session.grant", Some(id))
}

#[tokio::test]
async fn paybill_and_till_both_pay_over_tls() {
    let lab = Lab::start_with("paybill", opts(FAST)).await;
    let phone = lab.phone(1);
    let id = phone.pay(2, "0708374149").await;
    assert_eq!(lab.wait_final(&phone, id).await["state"], "paid");
    let push = &lab.sim.pushes()[0];
    assert_eq!(
        (push.transaction_type.as_str(), push.party_b.as_str()),
        ("CustomerPayBillOnline", "174379")
    );

    let mut till = opts(FAST);
    till.configure = Arc::new(|c| c.daraja.kind = ShortcodeKind::Till("600100".into()));
    let lab = Lab::start_with("till", till).await;
    let phone = lab.phone(2);
    let id = phone.pay(1, "0712345678").await;
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(
        (done["state"].as_str(), done["amount_kes"].as_u64()),
        (Some("paid"), Some(20))
    );
    let push = &lab.sim.pushes()[0];
    assert_eq!(
        (
            push.transaction_type.as_str(),
            push.party_b.as_str(),
            push.amount
        ),
        ("CustomerBuyGoodsOnline", "600100", 20)
    );
    assert_eq!(lab.admitted(phone_mac(2)).await.seconds, 3600);
    assert_eq!(grants(&lab, id), 1);
}

#[tokio::test]
async fn a_busy_or_broken_daraja_during_polling_never_fails_a_payment() {
    let faults = Faults {
        spike_arrest_queries: 3,
        html_503_queries: 2,
        ..Faults::default()
    };
    let lab = Lab::start_with("busy", with_faults(FAST, faults)).await;
    let phone = lab.phone(3);
    let id = phone.pay(2, "0708374149").await;
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(done["state"], "paid", "{done}");
    assert_eq!(
        lab.sim.faults(),
        Faults::default(),
        "every fault was served"
    );
    assert_eq!(grants(&lab, id), 1);

    // A customer who never answers, behind a busy Daraja, ends in timeout — not failed.
    lab.sim.set_faults(Faults {
        spike_arrest_queries: 2,
        html_503_queries: 2,
        ..Faults::default()
    });
    let phone = lab.phone(4);
    let id = phone.pay(1, "0712344999").await;
    lab.until("the faults are used up", |l| {
        l.sim.faults() == Faults::default()
    })
    .await;
    assert_eq!(lab.payment(id).state, PaymentState::Pushed);
    lab.clock.advance(121);
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(done["state"], "timeout", "{done}");
}

#[tokio::test]
async fn queries_back_off_while_daraja_stays_busy() {
    let faults = Faults {
        spike_arrest_queries: 1000,
        ..Faults::default()
    };
    let lab = Lab::start_with("backoff", with_faults(FAST, faults)).await;
    let phone = lab.phone(5);
    let id = phone.pay(1, "0708374149").await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    // At a steady 50 ms there would be ~30 queries; doubling from 50 ms there are about 5
    // (plus the settings check's one at start).
    let queries = 1000 - lab.sim.faults().spike_arrest_queries;
    assert!((3..=9).contains(&queries), "{queries} queries in 1.6 s");
    assert_eq!(lab.payment(id).state, PaymentState::Pushed);
    lab.sim.set_faults(Faults::default());
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(done["state"], "paid");
}

#[tokio::test]
async fn tokens_that_die_early_are_replaced() {
    let faults = Faults {
        expire_tokens_after: Some(Duration::from_millis(100)),
        ..Faults::default()
    };
    let lab = Lab::start_with("tokens", with_faults(Duration::from_millis(300), faults)).await;
    for n in [6u8, 7] {
        let phone = lab.phone(n);
        let id = phone.pay(1, "0708374149").await;
        assert_eq!(lab.wait_final(&phone, id).await["state"], "paid");
    }
    // The check at start, both pushes and the queries needed new tokens as the old ones died.
    assert!(lab.sim.tokens_issued() >= 3, "{}", lab.sim.tokens_issued());
}

#[tokio::test]
async fn refused_credentials_are_flagged_at_start_and_on_push() {
    let faults = Faults {
        refuse_credentials: true,
        ..Faults::default()
    };
    let lab = Lab::start_with("badkey", with_faults(FAST, faults)).await;
    lab.until("the start-up check is recorded", |l| {
        l.events("daraja.credentials", None) == 1
    })
    .await;
    let status = lab.ctl(Request::Status).await;
    assert_eq!(status["daraja"]["state"], "refused", "{status}");
    let reason = status["daraja"]["reason"].as_str().unwrap();
    assert!(reason.contains("consumer key/secret"), "{reason}");
    assert!(
        !reason.contains(lango::sim::DEMO_CONSUMER_SECRET),
        "{reason}"
    );

    let phone = lab.phone(8);
    let id = phone.pay(1, "0708374149").await;
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(done["state"], "failed");
    assert_eq!(lab.events("daraja.misconfigured", Some(id)), 1);
    assert!(lab.sim.pushes().is_empty());
}

#[tokio::test]
async fn a_wrong_passkey_is_found_before_anyone_pays() {
    let mut o = opts(FAST);
    o.configure = Arc::new(|c| c.daraja.passkey = Secret("not-the-passkey".into()));
    let lab = Lab::start_with("badpasskey", o).await;
    lab.until("the start-up check is recorded", |l| {
        l.events("daraja.credentials", None) == 1
    })
    .await;
    let status = lab.ctl(Request::Status).await;
    let reason = status["daraja"]["reason"].as_str().unwrap();
    assert!(reason.contains("Wrong credentials"), "{reason}");
    assert!(!reason.contains("not-the-passkey"), "{reason}");

    // Good settings are recorded as such.
    let lab = Lab::start_with("goodsettings", opts(FAST)).await;
    lab.until("the start-up check passes", |l| {
        l.events("daraja.ok", None) == 1
    })
    .await;
    assert_eq!(lab.events("daraja.credentials", None), 0);
    assert_eq!(lab.ctl(Request::Status).await["daraja"]["state"], "ok");
}

#[tokio::test]
async fn without_credentials_the_portal_offers_vouchers_only() {
    let mut o = opts(FAST);
    o.configure = Arc::new(|c| {
        c.daraja.consumer_secret = Secret::default();
        c.daraja.passkey = Secret::default();
    });
    let lab = Lab::start_with("notsetup", o).await;
    let phone = lab.phone(9);
    let page = phone.get("/").await.text().await.unwrap();
    assert!(
        page.contains("payments are not set up on this hotspot"),
        "{page}"
    );
    assert!(!page.contains("name=\"phone\""), "no pay form: {page}");
    assert!(page.contains("name=\"code\""), "vouchers are offered");
    let (s, v) = phone
        .post_json(
            "/api/pay?lang=sw",
            r#"{"package_id":1,"phone":"0708374149"}"#,
        )
        .await;
    assert_eq!((s, v["error"].as_str()), (503, Some("not_set_up")), "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("Tumia vocha"),
        "{v}"
    );
    let r = phone
        .post_form("/pay", "package_id=1&phone=0708374149")
        .await;
    assert_eq!(r.status(), 503);
    assert!(lab.sim.pushes().is_empty());

    lab.until("the missing settings are recorded", |l| {
        l.events("daraja.credentials", None) == 1
    })
    .await;
    let status = lab.ctl(Request::Status).await;
    assert_eq!(status["daraja"]["state"], "not_set_up");
    assert_eq!(
        status["daraja"]["missing"],
        serde_json::json!(["consumer_secret", "passkey"])
    );

    let codes = lango::owner::generate_vouchers(&lab.daemon().store, 1, 1, None, lab.now())
        .await
        .map(|b| b.codes)
        .unwrap();
    let (s, _) = phone
        .post_json("/api/voucher", &format!(r#"{{"code":"{}"}}"#, codes[0]))
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_till_mismatch_is_flagged_loudly() {
    let lab = Lab::start_with("2028", opts(FAST)).await;
    let phone = lab.phone(10);
    let id = phone.pay(1, "0712342028").await;
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(
        (done["state"].as_str(), done["result_code"].as_i64()),
        (Some("failed"), Some(2028))
    );
    assert_eq!(lab.events("daraja.misconfigured", Some(id)), 1);
    let status = lab.ctl(Request::Status).await;
    assert_eq!(status["daraja"]["state"], "refused", "{status}");
    assert!(status["daraja"]["reason"]
        .as_str()
        .unwrap()
        .contains("2028"));
}

fn with_callbacks(delay: Duration, faults: Faults, poll_first: Duration) -> LabOptions {
    let mut o = with_faults(delay, faults);
    o.callbacks = true;
    o.configure = Arc::new(move |c| c.daraja.poll_first = poll_first);
    o
}

#[tokio::test]
async fn a_callback_confirms_without_a_single_query() {
    let o = with_callbacks(FAST, Faults::default(), Duration::from_secs(60));
    let lab = Lab::start_with("callback", o).await;
    let phone = lab.phone(11);
    let id = phone.pay(2, "0708374149").await;
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(done["state"], "paid");
    let p = lab.payment(id);
    assert!(
        p.receipt.as_deref().is_some_and(|r| r.starts_with("SIM")),
        "{p:?}"
    );
    assert!(p.result_desc.unwrap().ends_with("(callback)"));
    assert_eq!(lab.sim.pushes()[0].queries, 0);
    assert_eq!(lab.admitted(phone_mac(11)).await.seconds, 10800);
}

#[tokio::test]
async fn duplicate_callbacks_and_polls_grant_once() {
    let faults = Faults {
        duplicate_callbacks: 3,
        ..Faults::default()
    };
    let o = with_callbacks(FAST, faults, Duration::from_millis(50));
    let lab = Lab::start_with("dupcallback", o).await;
    let phone = lab.phone(12);
    let id = phone.pay(2, "0708374149").await;
    assert_eq!(lab.wait_final(&phone, id).await["state"], "paid");
    // Let every duplicate arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(grants(&lab, id), 1);
    assert_eq!(lab.events("payment.settled", Some(id)), 1);
    let (_, status) = phone.get_json("/api/status").await;
    assert_eq!(status["seconds_remaining"], 10800);
}

#[tokio::test]
async fn a_late_callback_only_adds_the_receipt() {
    let faults = Faults {
        callback_delay: Some(Duration::from_millis(700)),
        ..Faults::default()
    };
    let o = with_callbacks(FAST, faults, Duration::from_millis(50));
    let lab = Lab::start_with("latecallback", o).await;
    let phone = lab.phone(13);
    let id = phone.pay(1, "0708374149").await;
    assert_eq!(lab.wait_final(&phone, id).await["state"], "paid");
    assert_eq!(lab.payment(id).receipt, None, "the query settled first");
    lab.until("the receipt arrives", |l| l.payment(id).receipt.is_some())
        .await;
    assert_eq!(lab.events("payment.receipt", Some(id)), 1);
    assert_eq!(grants(&lab, id), 1);
}

#[tokio::test]
async fn a_success_callback_wins_over_a_failing_query() {
    let faults = Faults {
        query_says_failed_but_callback_succeeds: true,
        ..Faults::default()
    };
    let o = with_callbacks(FAST, faults, Duration::from_millis(50));
    let lab = Lab::start_with("callbackwins", o).await;
    let phone = lab.phone(14);
    let id = phone.pay(1, "0708374149").await;
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(done["state"], "paid", "{done}");
    assert_eq!(
        lab.events("payment.settled", Some(id)),
        1,
        "never failed first"
    );
    assert_eq!(grants(&lab, id), 1);

    // Later than the grace period: the query's failure is recorded, and a success callback
    // after it is believed only if STK Push Query confirms it, which here it does not.
    lab.sim.set_faults(Faults {
        query_says_failed_but_callback_succeeds: true,
        callback_delay: Some(Duration::from_millis(900)),
        ..Faults::default()
    });
    let phone = lab.phone(15);
    let id = phone.pay(1, "0708374149").await;
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(
        (done["state"].as_str(), done["result_code"].as_i64()),
        (Some("timeout"), Some(1037))
    );
    assert_eq!(grants(&lab, id), 0);
    lab.until("the callback arrives", |l| {
        l.events("payment.callback_unconfirmed", Some(id)) == 1
    })
    .await;
    assert_eq!(lab.payment(id).state, PaymentState::Timeout);
    assert_eq!(grants(&lab, id), 0);
    let (_, status) = phone.get_json("/api/status").await;
    assert_eq!(status["online"], false);

    // Without callbacks set up, a failing query answer is final at once.
    let o = with_faults(
        FAST,
        Faults {
            query_says_failed_but_callback_succeeds: true,
            ..Faults::default()
        },
    );
    let lab = Lab::start_with("nocallbacks", o).await;
    assert!(lab.daemon().callback_addr.is_none());
    let phone = lab.phone(16);
    let id = phone.pay(1, "0708374149").await;
    assert_eq!(lab.wait_final(&phone, id).await["state"], "timeout");
}

async fn post(url: &str, method: reqwest::Method, body: Vec<u8>) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn success(checkout: &str, amount: &str, receipt: &str) -> Vec<u8> {
    success_callback(checkout, amount, receipt, "254712344999")
}

#[tokio::test]
async fn a_push_whose_answer_was_lost_is_paid_by_its_confirmed_callback() {
    let faults = Faults {
        lose_push_answers: 1,
        ..Faults::default()
    };
    let o = with_callbacks(FAST, faults, Duration::from_millis(300));
    let lab = Lab::start_with("adopt", o).await;
    let phone = lab.phone(19);
    let (s, v) = phone
        .post_json("/api/pay", r#"{"package_id":2,"phone":"0712345678"}"#)
        .await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(
        v["state"], "failed",
        "Lango never learnt the CheckoutRequestID"
    );
    let id = v["id"].as_i64().unwrap();
    assert_eq!(lab.payment(id).checkout_request_id, None);

    // The customer approved the prompt that did reach the phone; Daraja's callback names a
    // CheckoutRequestID Lango never saw, with this payment's phone and amount. STK Push Query
    // confirms it, so the payment adopts it and is paid, once (duplicates change nothing).
    lab.until("the callback pays the payment", |l| {
        l.payment(id).state == PaymentState::Paid
    })
    .await;
    let checkout = lab.sim.pushes()[0].checkout_request_id.clone();
    let p = lab.payment(id);
    assert_eq!(p.checkout_request_id.as_deref(), Some(checkout.as_str()));
    assert!(p.receipt.is_some());
    let url = lab.callback_url();
    let again = success_callback(&checkout, "50", "RCPT000002", "254712345678");
    assert_eq!(post(&url, reqwest::Method::POST, again).await.0, 200);
    assert_eq!(lab.events("payment.adopted", Some(id)), 1);
    assert_eq!(grants(&lab, id), 1);
    assert_eq!(lab.admitted(phone_mac(19)).await.seconds, 10800);
}

#[tokio::test]
async fn callbacks_that_do_not_match_are_ignored() {
    let o = with_callbacks(FAST, Faults::default(), Duration::from_millis(50));
    let lab = Lab::start_with("forged", o).await;
    let url = lab.callback_url();
    let accepted = serde_json::json!({"ResultCode": 0, "ResultDesc": "Accepted"});

    // Only POSTs to the secret path, and small ones.
    let base = url.trim_end_matches(CALLBACK_PATH);
    let (s, _) = post(
        &format!("{base}/lango/cb/guess"),
        reqwest::Method::POST,
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = post(&url, reqwest::Method::GET, vec![]).await;
    assert_eq!(s, 405);
    let (s, _) = post(&url, reqwest::Method::POST, vec![b' '; 17 * 1024]).await;
    assert_eq!(s, 413);
    for junk in [&b"not json"[..], b"{}", br#"{"Body":{"stkCallback":{}}}"#] {
        assert_eq!(
            post(&url, reqwest::Method::POST, junk.to_vec()).await,
            (200, accepted.clone())
        );
    }
    // A success for a push nobody made is flagged for the owner.
    let (s, _) = post(
        &url,
        reqwest::Method::POST,
        success("ws_CO_nobody", "50", "ABC123"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(lab.events("payment.callback_unmatched", None), 1);

    // A real pending payment (this customer never answers): a wrong amount does nothing.
    let phone = lab.phone(17);
    let id = phone.pay(2, "0712344999").await;
    let checkout = lab.payment(id).checkout_request_id.unwrap();
    for amount in ["20", "50.5", "\"fifty\""] {
        let (s, v) = post(
            &url,
            reqwest::Method::POST,
            success(&checkout, amount, "NLJ7RT61SV"),
        )
        .await;
        assert_eq!((s, v), (200, accepted.clone()));
    }
    assert_eq!(lab.payment(id).state, PaymentState::Pushed);
    assert_eq!(lab.events("payment.callback_mismatch", Some(id)), 3);
    // The right amount pays it, with its receipt; Daraja's retry of it changes nothing.
    for _ in 0..2 {
        let (s, _) = post(
            &url,
            reqwest::Method::POST,
            success(&checkout, "50.00", "NLJ7RT61SV"),
        )
        .await;
        assert_eq!(s, 200);
    }
    let p = lab.payment(id);
    assert_eq!(
        (p.state, p.receipt.as_deref()),
        (PaymentState::Paid, Some("NLJ7RT61SV"))
    );
    assert_eq!(grants(&lab, id), 1);
    // A failure arriving after the success is ignored.
    let cancel = format!(
        r#"{{"Body":{{"stkCallback":{{"CheckoutRequestID":"{checkout}","ResultCode":1032,"ResultDesc":"Request cancelled by user"}}}}}}"#
    );
    post(&url, reqwest::Method::POST, cancel.into_bytes()).await;
    assert_eq!(lab.payment(id).state, PaymentState::Paid);
}

#[tokio::test]
async fn a_failure_callback_settles_a_pending_payment() {
    let o = with_callbacks(FAST, Faults::default(), Duration::from_secs(60));
    let lab = Lab::start_with("cbfail", o).await;
    let phone = lab.phone(18);
    let id = phone.pay(1, "0712341032").await;
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(
        (done["state"].as_str(), done["result_code"].as_i64()),
        (Some("cancelled"), Some(1032))
    );
    assert_eq!(lab.sim.pushes()[0].queries, 0);
    assert_eq!(grants(&lab, id), 0);
}

#[tokio::test]
async fn pushes_are_limited_per_device_and_per_number() {
    let lab = Lab::start_with("pushlimits", opts(Duration::from_millis(50))).await;
    let phone = lab.phone(1);
    for _ in 0..3 {
        let id = phone.pay(1, "0708374149").await;
        lab.wait_final(&phone, id).await;
    }
    let (s, v) = phone
        .post_json("/api/pay", r#"{"package_id":1,"phone":"0712345678"}"#)
        .await;
    assert_eq!((s, v["error"].as_str()), (429, Some("too_many")), "{v}");
    assert_eq!(
        v["message"],
        "Too many payment requests from this device. Try again in 5 min."
    );
    let (_, v) = phone
        .post_json(
            "/api/pay?lang=sw",
            r#"{"package_id":1,"phone":"0712345678"}"#,
        )
        .await;
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("Maombi mengi mno"),
        "{v}"
    );
    let r = phone
        .post_form("/pay", "package_id=1&phone=0712345678")
        .await;
    assert_eq!(r.status(), 429);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Too many payment requests"));
    assert_eq!(lab.sim.pushes().len(), 3);

    // A stranger's number: three devices may push to it, the fourth may not.
    for n in [2u8, 3, 4] {
        let p = lab.phone(n);
        let id = p.pay(1, "0712340055").await;
        lab.wait_final(&p, id).await;
    }
    let (s, v) = lab
        .phone(5)
        .post_json("/api/pay", r#"{"package_id":1,"phone":"0712340055"}"#)
        .await;
    assert_eq!((s, v["error"].as_str()), (429, Some("too_many")), "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("to this M-Pesa number"),
        "{v}"
    );
    assert!(lab.phone(5).pay(1, "0712340056").await > 0);

    // The window passes.
    lab.clock.advance(300);
    let id = phone.pay(1, "0712345678").await;
    assert_eq!(lab.wait_final(&phone, id).await["state"], "paid");
}

#[tokio::test]
async fn voucher_guessing_is_throttled() {
    let lab = Lab::start_with("guesses", opts(FAST)).await;
    let codes = lango::owner::generate_vouchers(&lab.daemon().store, 1, 1, None, lab.now())
        .await
        .map(|b| b.codes)
        .unwrap();
    let phone = lab.phone(6);
    for guess in [
        "AAAAA-AAAAA",
        "BBBBB-BBBBB",
        "CCCCC-CCCCC",
        "DDDDD-DDDDD",
        "EEEEE-EEEEE",
    ] {
        let (s, v) = phone
            .post_json("/api/voucher", &format!(r#"{{"code":"{guess}"}}"#))
            .await;
        assert_eq!((s, v["error"].as_str()), (400, Some("voucher_refused")));
    }
    // Locked out, even with a good code, until the window passes.
    let good = format!(r#"{{"code":"{}"}}"#, codes[0]);
    let (s, v) = phone.post_json("/api/voucher", &good).await;
    assert_eq!((s, v["error"].as_str()), (429, Some("too_many")), "{v}");
    assert_eq!(
        v["message"],
        "Too many wrong voucher codes. Try again in 10 min."
    );
    let r = phone
        .post_form("/voucher?lang=sw", &format!("code={}", codes[0]))
        .await;
    assert_eq!(r.status(), 429);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Namba nyingi mno za vocha"));
    // Another device is not affected.
    let (s, _) = lab
        .phone(7)
        .post_json("/api/voucher", r#"{"code":"FFFFF-FFFFF"}"#)
        .await;
    assert_eq!(s, 400);

    lab.clock.advance(600);
    let (s, v) = phone.post_json("/api/voucher", &good).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn status_reports_payment_figures() {
    let lab = Lab::start_with("figures", opts(Duration::from_millis(50))).await;
    for (n, number) in [
        (1u8, "0708374149"),
        (2, "0712345678"),
        (3, "0712341032"),
        (4, "0712340001"),
    ] {
        let phone = lab.phone(n);
        let id = phone.pay(2, number).await;
        lab.wait_final(&phone, id).await;
    }
    lab.phone(5).pay(1, "0712344999").await;
    let status = lab.ctl(Request::Status).await;
    let day = &status["payments"]["24h"];
    assert_eq!(
        (
            day["started"].as_u64(),
            day["paid"].as_u64(),
            day["cancelled"].as_u64(),
            day["failed"].as_u64(),
            day["pending"].as_u64()
        ),
        (Some(5), Some(2), Some(1), Some(1), Some(1)),
        "{day}"
    );
    assert_eq!(day["success_pct"], 50.0);
    assert_eq!(day["revenue_kes"], 100);
    assert!(day["median_confirm_s"].as_f64().is_some(), "{day}");
    assert_eq!(status["payments"]["30d"]["started"], 5);
    assert_eq!(status["online"], 2);
}
