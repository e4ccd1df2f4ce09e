//! Uplink down: Daraja cannot be reached. The portal says so and offers vouchers, new payments
//! are refused at once instead of hanging, a payment already pushed stays pending (the customer
//! may have paid) and completes when the uplink returns.

mod common;

use common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// A TCP relay to the simulator that can be cut, like the router's uplink.
struct Uplink {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
}

impl Uplink {
    async fn start(to: String) -> Uplink {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let flag = up.clone();
        let target = to;
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = l.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(mut out) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
            }
        });
        Uplink { addr, up }
    }

    fn set(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn uplink_down_keeps_payments_pending_and_the_portal_honest() {
    // Safaricom (the simulator), reached only through the relay.
    let sim_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_addr = sim_listener.local_addr().unwrap();
    let sim = lango::sim::Simulator::new(lango::sim::SimOptions {
        delay: Duration::from_millis(800),
        ..Default::default()
    });
    tokio::spawn(sim.serve(sim_listener));
    let uplink = Arc::new(Uplink::start(sim_addr.to_string()).await);
    let relay = format!("http://{}", uplink.addr);
    let o = LabOptions {
        configure: Arc::new(move |c| c.daraja.base_url = relay.clone()),
        ..Default::default()
    };
    let lab = Lab::start_with("uplink", o).await;

    let a = lab.phone(1);
    let id = a.pay(2, "0708374149").await;
    uplink.set(false);

    // The poller notices; the portal says M-Pesa is down and still offers vouchers.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let page = a.get("/").await.text().await.unwrap();
        if page.contains("<span class=\"nw\">M-Pesa</span> cannot be reached") {
            assert!(page.contains("action=\"/voucher"), "vouchers still offered");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "portal never said M-Pesa is down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A new payment is refused at once, in words, with nothing pushed or charged.
    let b = lab.phone(2);
    let t = Instant::now();
    let (s, v) = b
        .post_json("/api/pay", r#"{"package_id":1,"phone":"0712345678"}"#)
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (503, Some("mpesa_unavailable")),
        "{v}"
    );
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "answered in {:?}",
        t.elapsed()
    );

    // Long past poll_timeout, the pushed payment is still pending: Daraja never said otherwise.
    lab.clock.advance(600);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (_, v) = a.get_json(&format!("/api/pay/{id}")).await;
    assert_eq!(v["state"], "pushed", "{v}");

    // The uplink returns: the payment completes, the portal stops warning.
    uplink.set(true);
    let done = lab.wait_final(&a, id).await;
    assert_eq!(done["state"], "paid", "{done}");
    let page = b.get("/").await.text().await.unwrap();
    assert!(!page.contains("<span class=\"nw\">M-Pesa</span> cannot be reached"));
    let id = b.pay(1, "0712345678").await;
    assert_eq!(lab.wait_final(&b, id).await["state"], "paid");
}
