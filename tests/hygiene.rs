//! Connection hygiene: one phone opening a thousand idle (slowloris) connections, or many
//! addresses holding half-sent requests, must not stop the portal answering another phone, and
//! idle connections are closed by the server.

mod common;

use common::*;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn a_thousand_idle_connections_from_one_phone_do_not_stop_another() {
    let lab = Lab::start("slowloris", Duration::from_millis(100)).await;
    let attacker = phone_ip(20);
    let mut idle = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let mut s = connect_from(attacker, lab.portal).await.expect("connect");
        // Half a request, then silence.
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n").await;
        idle.push(s);
    }
    let started = Instant::now();
    let (status, v) = lab.phone(2).get_json("/api/packages").await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{v}");
    println!(
        "another phone answered in {} ms with 1000 idle connections open",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(2), "portal stalled for {took:?}");

    // All but the per-address allowance were refused at once...
    let mut refused = 0;
    for s in idle.iter_mut() {
        if closed_within(s, Duration::from_millis(20)).await {
            refused += 1;
        }
    }
    assert!(
        refused >= 1000 - lango::server::MAX_PER_CLIENT,
        "only {refused} of 1000 refused"
    );
    // ...and the ones let in are dropped when their headers never complete.
    let mut timed_out = 0;
    let deadline = lango::server::HEADER_TIMEOUT + Duration::from_secs(3);
    for s in idle.iter_mut() {
        if closed_within(s, deadline).await {
            timed_out += 1;
        }
    }
    assert_eq!(
        timed_out, 1000,
        "every slowloris connection is closed in the end"
    );
}

/// Opens a connection from `from` and sends half a request; `None` if it could not connect.
async fn half_request(to: SocketAddr, from: IpAddr) -> Option<tokio::net::TcpStream> {
    let mut s = connect_from(from, to).await.ok()?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .ok()?;
    Some(s)
}

#[tokio::test]
async fn regression_half_sent_requests_cannot_fill_the_portal() {
    let lab = Lab::start("crowded", Duration::from_millis(100)).await;
    // One phone with 40 addresses: the neighbour table maps them all to one MAC.
    let mut arp = std::fs::read_to_string(lab.dir.join("arp")).unwrap();
    for n in 1..=40u8 {
        arp += &format!(
            "127.0.2.{n}        0x1         0x2         02:aa:00:00:00:77     *        br-lan\n"
        );
    }
    std::fs::write(lab.dir.join("arp"), arp).unwrap();
    let portal = lab.portal;

    // 40 addresses x 32 connections, each with half a request: more than the listener holds.
    let mut slow = Vec::new();
    for a in 1..=40u8 {
        for _ in 0..32 {
            if let Some(s) = half_request(portal, IpAddr::from([127, 0, 1, a])).await {
                slow.push(s);
            }
        }
    }
    // The phone with 40 addresses holds at most 32 connections in all.
    let mut one_phone = Vec::new();
    for a in 1..=40u8 {
        for _ in 0..4 {
            if let Some(s) = half_request(portal, IpAddr::from([127, 0, 2, a])).await {
                one_phone.push(s);
            }
        }
    }
    let mut open = 0;
    for s in &mut one_phone {
        if !closed_within(s, Duration::from_millis(100)).await {
            open += 1;
        }
    }
    assert!(open <= 32, "one device kept {open} connections");

    // Meanwhile an ordinary phone's page loads every time, promptly.
    let phone = lab.phone(1);
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        let r = phone.get("/").await;
        assert_eq!(r.status(), 200);
        r.text().await.unwrap();
        slowest = slowest.max(t.elapsed());
    }
    println!(
        "portal page with {} half-sent requests held: slowest of 20 loads {:.1} ms",
        slow.len() + one_phone.len(),
        slowest.as_secs_f64() * 1000.0
    );
    assert!(
        slowest < Duration::from_millis(1000),
        "slowest load {slowest:?} (it timed out before the fix)"
    );
}
