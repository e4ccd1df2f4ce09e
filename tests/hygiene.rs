//! Connection hygiene: one phone opening a thousand idle (slowloris) connections must not stop
//! the portal answering another phone, and idle connections are closed by the server.

mod common;

use common::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

async fn connect_from(
    ip: std::net::IpAddr,
    to: std::net::SocketAddr,
) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind((ip, 0).into())?;
    s.connect(to).await
}

/// Whether the server has closed `s` (read gives EOF or an error) within `wait`.
async fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(wait, s.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

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
        refused >= 1000 - lango::server::MAX_PER_IP,
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
