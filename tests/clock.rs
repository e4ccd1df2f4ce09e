//! Bad days for the clock: routers without a battery clock boot years off and NTP then sets the
//! time. Paid time must survive both directions of jump.

mod common;

use common::*;
use std::time::Duration;

const YEAR: i64 = 365 * 86_400;

async fn seconds_left(lab: &Lab, n: u8) -> i64 {
    lab.phone(n).get_json("/api/status").await.1["seconds_remaining"]
        .as_i64()
        .unwrap()
}

/// Waits for the daemon's own loop (it ticks at least every 2 s) to notice.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(2500)).await;
}

#[tokio::test]
async fn a_wall_clock_jump_of_a_year_either_way_leaves_time_left_unchanged() {
    let lab = Lab::start("clockjump", Duration::from_millis(100)).await;
    lab.online_by_voucher(1, 1).await;
    assert_eq!(seconds_left(&lab, 1).await, 3600);

    lab.clock.jump(YEAR);
    settle().await;
    assert_eq!(
        seconds_left(&lab, 1).await,
        3600,
        "NTP set the clock a year ahead"
    );
    assert!(
        lab.gate.admitted().contains_key(&phone_mac(1)),
        "nobody was expired"
    );

    lab.clock.jump(-2 * YEAR);
    settle().await;
    assert_eq!(
        seconds_left(&lab, 1).await,
        3600,
        "clock set a year behind: no free year"
    );

    // Real time still counts.
    lab.clock.advance(3599);
    settle().await;
    assert_eq!(seconds_left(&lab, 1).await, 1);
    lab.clock.advance(1);
    settle().await;
    assert!(
        !lab.gate.admitted().contains_key(&phone_mac(1)),
        "expired on time"
    );
    let jumps: i64 = lab
        .daemon()
        .store
        .with(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM events WHERE kind = 'clock.jump'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(jumps, 2, "each jump is in the owner's audit log");
}
