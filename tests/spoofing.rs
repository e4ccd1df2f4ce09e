//! A second device copying a paying phone's MAC while the first is still present is noticed and
//! recorded for the owner.

mod common;

use common::*;
use std::time::Duration;

#[tokio::test]
async fn a_paid_mac_at_two_addresses_is_reported_once() {
    let lab = Lab::start("spoof", Duration::from_millis(100)).await;
    lab.online_by_voucher(1, 1).await;

    // A copier at 127.0.0.77 shows up with phone 1's MAC.
    let arp = std::fs::read_to_string(lab.dir.join("arp")).unwrap();
    let copied = format!(
        "127.0.0.77        0x1         0x2         {}     *        br-lan\n",
        phone_mac(1)
    );
    std::fs::write(lab.dir.join("arp"), arp + &copied).unwrap();

    let count = || {
        lab.daemon()
            .store
            .with(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM events WHERE kind = 'mac.shared' AND mac = ?1",
                    [phone_mac(1)],
                    |r| r.get::<_, i64>(0),
                )?)
            })
            .unwrap()
    };
    let deadline = std::time::Instant::now() + lango::spoofing::CHECK_EVERY * 3;
    while count() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(count(), 1, "the owner's log names the shared MAC");
    tokio::time::sleep(lango::spoofing::CHECK_EVERY + Duration::from_secs(1)).await;
    assert_eq!(count(), 1, "reported once, not every check");
}
