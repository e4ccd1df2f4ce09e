//! Reconnect codes over real HTTP and real SQLite: the "You are online" page shows the code (EN
//! and SW); typed on another phone it moves the time left there and cuts the old phone off; an
//! M-Pesa receipt does the same; wrong tries are limited, counted before they are judged.

mod common;

use common::*;
use lango::sim::SimOptions;
use std::time::Duration;

/// The code the "You are online" page shows phone `n`, as printed (`K7Q-3MP`).
async fn code_on_page(lab: &Lab, n: u8, lang: &str) -> (String, String) {
    let page = lab
        .phone(n)
        .get(&format!("/?lang={lang}"))
        .await
        .text()
        .await
        .unwrap();
    let code = page
        .split("<b class=\"code\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no code on the page: {page}"))
        .to_string();
    (code, page)
}

async fn online(lab: &Lab, n: u8) -> serde_json::Value {
    lab.phone(n).get_json("/api/status").await.1
}

#[tokio::test]
async fn a_code_moves_the_time_left_and_cuts_the_old_phone_off() {
    let lab = Lab::start("reconnect", Duration::from_millis(100)).await;
    lab.online_by_voucher(1, 2).await;
    let (code, page) = code_on_page(&lab, 1, "en").await;
    assert_eq!(code.len(), 7, "{code}");
    assert!(page.contains("Your reconnect code") && page.contains("Already paid?"));
    let (same, page) = code_on_page(&lab, 1, "sw").await;
    assert_eq!(same, code);
    assert!(page.contains("Namba yako ya kuunganisha") && page.contains("Umeshalipa?"));

    lab.clock.advance(600);
    let body = format!(r#"{{"code":"{}"}}"#, code.to_lowercase());
    let (s, v) = lab.phone(2).post_json("/api/reconnect", &body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["seconds_remaining"].as_u64(), v["code"].as_str()),
        (Some(10200), Some(code.as_str()))
    );
    assert_eq!(lab.admitted(phone_mac(2)).await.seconds, 10200);
    assert!(
        !lab.gate.admitted().contains_key(&phone_mac(1)),
        "the old phone is cut off"
    );
    assert_eq!(online(&lab, 1).await["online"], false);
    assert_eq!(online(&lab, 2).await["down_kbps"], 5000, "same speed");

    // The code moved with the time: a third phone (a form, in Swahili) takes it on.
    lab.clock.advance(60);
    let r = lab
        .phone(3)
        .post_form("/reconnect?lang=sw", &format!("code={code}"))
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, "/?lang=sw&moved=1");
    let page = lab.phone(3).get(&to).await.text().await.unwrap();
    assert!(page.contains("Muda wako umehamishiwa kifaa hiki"), "{page}");
    assert_eq!(lab.admitted(phone_mac(3)).await.seconds, 10140);
    assert!(!lab.gate.admitted().contains_key(&phone_mac(2)));
    assert_eq!(lab.events("session.moved", None), 2);

    // Typed on the phone that holds it: nothing moves.
    let (s, v) = lab.phone(3).post_json("/api/reconnect", &body).await;
    assert_eq!((s, v["seconds_remaining"].as_u64()), (200, Some(10140)));
    assert_eq!(lab.events("session.moved", None), 2);

    // Used up: the time ran out.
    lab.clock.advance(10_200);
    let (s, v) = lab.phone(4).post_json("/api/reconnect", &body).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("reconnect_refused")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("run out"), "{v}");
}

#[tokio::test]
async fn parallel_wrong_codes_cannot_race_past_the_limit() {
    let lab = Lab::start("reconnectlimit", Duration::from_millis(100)).await;
    lab.online_by_voucher(1, 1).await;
    let (code, _) = code_on_page(&lab, 1, "en").await;
    // Ten wrong codes at once from one phone; the limit (voucher_guesses) is 5 per 10 minutes.
    let tries: Vec<_> = (0..10)
        .map(|i| {
            let phone = lab.phone(5);
            tokio::spawn(async move {
                let body = format!(r#"{{"code":"ABC-DE{}"}}"#, 2 + i % 8);
                phone.post_json("/api/reconnect", &body).await.0
            })
        })
        .collect();
    let mut statuses = vec![];
    for t in tries {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [400, 400, 400, 400, 400, 429, 429, 429, 429, 429]);
    // Even the right code waits now.
    let body = format!(r#"{{"code":"{code}"}}"#);
    let (s, v) = lab.phone(5).post_json("/api/reconnect", &body).await;
    assert_eq!(s, 429, "{v}");
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("Too many wrong codes"));
    assert_eq!(online(&lab, 1).await["online"], true);
    // Another phone is not held back, and a right code does not count against it.
    for _ in 0..6 {
        let (s, _) = lab.phone(6).post_json("/api/reconnect", &body).await;
        assert_eq!(s, 200);
    }
}

#[tokio::test]
async fn the_mpesa_receipt_works_as_the_code() {
    let opts = LabOptions {
        sim: SimOptions {
            delay: Duration::from_millis(100),
            ..SimOptions::default()
        },
        callbacks: true,
        ..LabOptions::default()
    };
    let lab = Lab::start_with("reconnectreceipt", opts).await;
    let phone = lab.phone(7);
    let id = phone.pay(1, "0708374149").await;
    lab.until("the callback brings the receipt", |l| {
        l.payment(id).receipt.is_some()
    })
    .await;
    let receipt = lab.payment(id).receipt.unwrap();
    lab.clock.advance(100);
    let body = format!(r#"{{"code":"{}"}}"#, receipt.to_lowercase());
    let (s, v) = lab.phone(8).post_json("/api/reconnect", &body).await;
    assert_eq!(
        (s, v["seconds_remaining"].as_u64()),
        (200, Some(3500)),
        "{v}"
    );
    assert!(!lab.gate.admitted().contains_key(&phone_mac(7)));
    assert_eq!(lab.events("session.moved", Some(id)), 1);
    // The receipt still finds the time after it moved again by code.
    let (code, _) = code_on_page(&lab, 8, "en").await;
    let (s, _) = lab
        .phone(9)
        .post_json("/api/reconnect", &format!(r#"{{"code":"{code}"}}"#))
        .await;
    assert_eq!(s, 200);
    let (s, v) = lab.phone(10).post_json("/api/reconnect", &body).await;
    assert_eq!(
        (s, v["seconds_remaining"].as_u64()),
        (200, Some(3500)),
        "{v}"
    );
    assert_eq!(online(&lab, 9).await["online"], false);
    // A receipt Lango does not know moves nothing.
    let (s, v) = lab
        .phone(11)
        .post_json("/api/reconnect", r#"{"code":"QWERTY1234"}"#)
        .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("reconnect_refused")));
}
