//! Late confirmations, over real HTTP and real SQLite with the simulator: a customer who approves
//! after `poll_timeout` is granted once when a later re-check (or a late callback) finds the
//! money, marked `paid_late`, and the phone's portal says so; a Daraja whose queries fail for a
//! while only delays the re-check; a payment M-Pesa never confirms stops being asked about.
//! The test moves Lango's clock, so the minutes between re-checks pass at once.

mod common;

use common::*;
use lango::sim::{Faults, SimOptions};
use lango::store::payments::PaymentState;
use lango::store::rechecks::{self, Recheck, RecheckState};
use std::sync::Arc;
use std::time::Duration;

/// The simulator's late customer (numbers ending in 0240).
const LATE: &str = "0712340240";
/// How long, in real time, the late customer takes in these tests.
const LATE_AFTER: Duration = Duration::from_millis(1500);

fn opts(callbacks: bool) -> LabOptions {
    LabOptions {
        sim: SimOptions {
            delay: Duration::from_millis(100),
            late_delay: LATE_AFTER,
            ..SimOptions::default()
        },
        callbacks,
        configure: Arc::new(|c| c.daraja.recheck_for = Duration::from_secs(3 * 3600)),
        ..LabOptions::default()
    }
}

fn recheck(lab: &Lab, id: i64) -> Option<Recheck> {
    lab.daemon().store.with(|c| rechecks::get(c, id)).unwrap()
}

/// Pays with the late customer's number and lets `poll_timeout` (120 s in the Lab) pass before
/// the customer answers: the payment ends `timeout`.
async fn timed_out(lab: &Lab, n: u8) -> i64 {
    let phone = lab.phone(n);
    let id = phone.pay(2, LATE).await;
    lab.clock.advance(121);
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(done["state"], "timeout", "{done}");
    assert!(
        done["message"].as_str().unwrap().contains("24 hours"),
        "the customer is told it is still being checked: {done}"
    );
    lab.until("the timeout is under re-check", |l| {
        recheck(l, id).is_some()
    })
    .await;
    id
}

#[tokio::test]
async fn a_late_approval_is_granted_once_as_paid_late_and_the_portal_says_so() {
    let lab = Lab::start_with("late", opts(false)).await;
    let id = timed_out(&lab, 1).await;
    let r = recheck(&lab, id).unwrap();
    assert_eq!((r.state, r.attempts), (RecheckState::Open, 0));
    assert_eq!(
        r.next_at,
        r.since + 120,
        "first re-check 2 minutes after the timeout"
    );
    assert!(!lab.gate.admitted().contains_key(&phone_mac(1)));

    // The customer approves (in the simulator's time); Lango's next re-check is 2 minutes on.
    tokio::time::sleep(LATE_AFTER).await;
    assert_eq!(
        lab.payment(id).state,
        PaymentState::Timeout,
        "not before the re-check"
    );
    lab.clock.advance(120);
    lab.until("the re-check pays it", |l| {
        l.payment(id).state == PaymentState::Paid
    })
    .await;
    let p = lab.payment(id);
    assert_eq!(p.paid_late_at, Some(lab.now()));
    assert_eq!(recheck(&lab, id).unwrap().state, RecheckState::PaidLate);
    assert_eq!(lab.admitted(phone_mac(1)).await.seconds, 10800);

    // Time passes; the re-check loop runs on; the customer reloads: still one grant.
    for _ in 0..3 {
        lab.clock.advance(600);
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    assert_eq!(lab.events("session.grant", Some(id)), 1);
    assert_eq!(lab.events("payment.paid_late", Some(id)), 1);

    let phone = lab.phone(1);
    let (_, v) = phone.get_json(&format!("/api/pay/{id}")).await;
    assert_eq!(
        (v["state"].as_str(), v["paid_late"].as_bool()),
        (Some("paid"), Some(true))
    );
    let page = phone.get("/?lang=en").await.text().await.unwrap();
    assert!(page.contains("You are online"), "{page}");
    assert!(page.contains("confirmed your payment late"), "{page}");
    let page = phone.get("/?lang=sw").await.text().await.unwrap();
    assert!(
        page.contains("imethibitisha malipo yako kwa kuchelewa"),
        "{page}"
    );
    // Another phone's page says nothing of it.
    lab.online_by_voucher(2, 1).await;
    let other = lab.phone(2).get("/?lang=en").await.text().await.unwrap();
    assert!(!other.contains("confirmed your payment late"), "{other}");
}

#[tokio::test]
async fn queries_failing_for_a_while_only_delay_the_late_grant() {
    let lab = Lab::start_with("latefail", opts(false)).await;
    let id = timed_out(&lab, 3).await;
    tokio::time::sleep(LATE_AFTER).await;
    lab.sim.set_faults(Faults {
        queries_fail_for: Some(Duration::from_secs(2)),
        ..Faults::default()
    });
    lab.clock.advance(120);
    lab.until("the first re-check fails", |l| {
        recheck(l, id).unwrap().attempts == 1
    })
    .await;
    let r = recheck(&lab, id).unwrap();
    assert_eq!(r.state, RecheckState::Open);
    assert!(r.last_answer.contains("500.003.1001"), "{r:?}");
    assert_eq!(r.next_at, lab.now() + 300, "then 5 minutes later");
    assert_eq!(lab.payment(id).state, PaymentState::Timeout);

    // Daraja recovers; the next re-check finds the money.
    tokio::time::sleep(Duration::from_secs(2)).await;
    lab.clock.advance(300);
    lab.until("the re-check after the outage pays it", |l| {
        l.payment(id).state == PaymentState::Paid
    })
    .await;
    assert_eq!(lab.admitted(phone_mac(3)).await.seconds, 10800);
    assert_eq!(lab.events("session.grant", Some(id)), 1);
}

#[tokio::test]
async fn a_payment_never_confirmed_stops_being_asked_about() {
    // A short schedule, so the Lab's clock stays within the hour of skew the simulator allows
    // Daraja Timestamps (the default schedule is the unit tests' in payments::recheck).
    let mut o = opts(false);
    o.configure = Arc::new(|c| {
        c.daraja.recheck_intervals = vec![60, 120, 300];
        c.daraja.recheck_for = Duration::from_secs(900);
    });
    let lab = Lab::start_with("latenever", o).await;
    let phone = lab.phone(4);
    let id = phone.pay(1, "0712344999").await;
    lab.clock.advance(121);
    assert_eq!(lab.wait_final(&phone, id).await["state"], "timeout");
    lab.until("under re-check", |l| recheck(l, id).is_some())
        .await;
    // Re-checks 1, 3, 8 and 13 minutes after the timeout; the next would be past 15. Each step
    // waits until the attempt is recorded, not only asked: the next check is scheduled from the
    // clock when the answer is recorded, so moving the clock before that would move it too.
    let mut queries = lab.sim.pushes()[0].queries;
    for (done, step) in (1..).zip([60, 120, 300, 300]) {
        lab.clock.advance(step);
        lab.until(&format!("the re-check asks after {step} s"), |l| {
            l.sim.pushes()[0].queries > queries && recheck(l, id).unwrap().attempts >= done
        })
        .await;
        queries = lab.sim.pushes()[0].queries;
    }
    lab.until("the re-check gives up", |l| {
        recheck(l, id).unwrap().state == RecheckState::Expired
    })
    .await;
    assert_eq!(recheck(&lab, id).unwrap().attempts, 4);
    assert_eq!(lab.events("payment.recheck_expired", Some(id)), 1);
    lab.clock.advance(1200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(lab.sim.pushes()[0].queries, queries, "no more queries");
    assert_eq!(lab.payment(id).state, PaymentState::Timeout);
    assert_eq!(lab.events("session.grant", Some(id)), 0);
}

#[tokio::test]
async fn a_late_success_callback_is_paid_late_and_ends_the_recheck() {
    let lab = Lab::start_with("latecb", opts(true)).await;
    let id = timed_out(&lab, 5).await;
    // The simulator's callback for the late approval arrives on its own.
    lab.until("the late callback pays it", |l| {
        l.payment(id).state == PaymentState::Paid
    })
    .await;
    let p = lab.payment(id);
    assert!(p.paid_late_at.is_some() && p.receipt.is_some(), "{p:?}");
    assert_eq!(recheck(&lab, id).unwrap().state, RecheckState::PaidLate);
    assert_eq!(lab.admitted(phone_mac(5)).await.seconds, 10800);
    // The re-check's time comes: nothing more is asked or granted.
    let queries = lab.sim.pushes()[0].queries;
    lab.clock.advance(120);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(lab.sim.pushes()[0].queries, queries);
    assert_eq!(lab.events("session.grant", Some(id)), 1);
    assert_eq!(lab.events("payment.paid_late", Some(id)), 1);
}
