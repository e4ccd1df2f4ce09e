//! The owner's reconciliation over real HTTP and SQLite: the Payments tab lists, with whole phone
//! numbers, the payments that ended unpaid although money may have moved; "Grant what was paid"
//! (CSRF-guarded) pays one once and records who, when and why; recoveries are listed.

mod common;

use common::*;
use lango::store::payments::PaymentState;
use lango::store::rechecks::{self, RecheckState};
use std::time::Duration;

#[tokio::test]
async fn the_attention_list_grants_what_was_paid_once_and_records_why() {
    let lab = Lab::start("attention", Duration::from_millis(100)).await;
    // One customer's payment never gets an answer (timeout); another cancels (no money moved).
    let (silent, cancels) = (lab.phone(1), lab.phone(2));
    let timed_out = silent.pay(2, "0712344999").await;
    let cancelled = cancels.pay(1, "0712341032").await;
    assert_eq!(
        lab.wait_final(&cancels, cancelled).await["state"],
        "cancelled"
    );
    lab.clock.advance(121);
    assert_eq!(lab.wait_final(&silent, timed_out).await["state"], "timeout");
    lab.until("under re-check", |l| {
        l.daemon()
            .store
            .with(|c| rechecks::get(c, timed_out))
            .unwrap()
            .is_some()
    })
    .await;

    let mut o = lab.owner("127.0.0.50");
    o.setup().await;
    let p = o.get("/payments").await;
    assert_eq!(p.status, 200);
    let attention = p.body.split("<h3>Filter</h3>").next().unwrap();
    assert!(attention.contains("<h3>Attention</h3>"), "{attention}");
    let form = format!("name=\"id\" value=\"{timed_out}\"");
    assert!(
        attention.contains(&form),
        "the timeout is listed: {attention}"
    );
    assert!(attention.contains("254712344999"), "whole number");
    assert!(
        attention.contains("M-Pesa is asked again at"),
        "{attention}"
    );
    assert!(attention.contains("Grant what was paid"));
    assert!(
        !attention.contains(&format!("name=\"id\" value=\"{cancelled}\"")),
        "a cancelled payment moved no money"
    );

    // Without the CSRF token: refused, nothing granted.
    let id = timed_out.to_string();
    let r = o
        .post_raw("/payments/grant", &[("id", &id), ("why", "forged")])
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(lab.payment(timed_out).state, PaymentState::Timeout);

    let why = "M-Pesa SMS QWE1234567 shown by the customer";
    let r = o
        .post("/payments/grant", &[("id", &id), ("why", why)])
        .await;
    assert_eq!((r.status, r.location()), (303, "/payments"));
    let p = lab.payment(timed_out);
    assert_eq!(p.state, PaymentState::Paid);
    assert!(p.result_desc.as_deref().unwrap().contains(why), "{p:?}");
    assert_eq!(lab.admitted(phone_mac(1)).await.seconds, 10800);
    let page = o.get("/payments").await;
    assert!(page.body.contains("counted as paid"), "the notice");
    let attention = page.body.split("<h3>Filter</h3>").next().unwrap();
    assert!(!attention.contains(&form), "no longer waiting");
    assert!(attention.contains("granted by the owner"), "{attention}");
    assert!(attention.contains("the owner from 127.0.0.50"), "who");
    assert!(attention.contains(why), "why");
    let recheck = lab
        .daemon()
        .store
        .with(|c| rechecks::get(c, timed_out))
        .unwrap()
        .unwrap();
    assert_eq!(recheck.state, RecheckState::PaidLate, "no more queries");

    // Twice (a double click, a second tab): still one grant.
    let r = o
        .post("/payments/grant", &[("id", &id), ("why", why)])
        .await;
    assert_eq!(r.status, 303);
    assert!(o.get("/payments").await.body.contains("paid already"));
    assert_eq!(lab.events("session.grant", Some(timed_out)), 1);
    assert_eq!(lab.events("payment.owner_grant", Some(timed_out)), 1);
    // An empty reason is refused.
    let other = cancelled.to_string();
    o.post("/payments/grant", &[("id", &other), ("why", " ")])
        .await;
    assert!(o.get("/payments").await.body.contains("Say why"));
    assert_eq!(lab.payment(cancelled).state, PaymentState::Cancelled);
}
