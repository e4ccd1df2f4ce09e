//! Killed mid-write, the database loses nothing it acknowledged and stays intact. The test runs
//! itself as a child process that records payments and grants as fast as it can, kills it with
//! SIGKILL at varying moments, and checks the file after each kill.

use lango::mac::Mac;
use lango::phone::Msisdn;
use lango::store::payments::{self, NewPayment, PaymentState, Settlement};
use lango::store::sessions::{Grant, Source};
use lango::store::{events, packages, Store};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD: &str = "LANGO_POWER_CUT_DB";

/// The child: pay-and-grant in one transaction each, forever, printing every committed id.
fn write_forever(db: &str) -> ! {
    let store = Store::open(db.as_ref()).unwrap();
    let phone: Msisdn = "0708374149".parse().unwrap();
    let mut out = std::io::stdout();
    loop {
        let r = lango::random::bytes::<5>();
        let mac = Mac([0x02, r[0], r[1], r[2], r[3], r[4]]);
        let id = store
            .write(|tx| {
                let pkg = packages::get(tx, 1)?.unwrap();
                let id = payments::insert(
                    tx,
                    &NewPayment {
                        mac,
                        ip: None,
                        phone: &phone,
                        package: &pkg,
                    },
                    1000,
                )?;
                payments::settle(
                    tx,
                    id,
                    &Settlement {
                        state: PaymentState::Paid,
                        result_code: Some(0),
                        result_desc: "ok",
                        receipt: None,
                    },
                    1001,
                )?;
                let g = Grant {
                    mac,
                    ip: None,
                    source: Source::Payment,
                    source_ref: Some(id.to_string()),
                    package_id: Some(1),
                    duration_s: 60,
                    down: pkg.down,
                    up: pkg.up,
                    data: pkg.data_bytes(),
                };
                lango::store::sessions::grant(tx, &g, 1001)?;
                events::record(tx, 1001, "session.grant", Some(mac), Some(id), "test")?;
                Ok(id)
            })
            .unwrap();
        let _ = writeln!(out, "{id}");
        let _ = out.flush();
    }
}

#[test]
fn sigkill_mid_write_loses_nothing_committed() {
    if let Ok(db) = std::env::var(CHILD) {
        write_forever(&db);
    }
    let dir = std::env::temp_dir().join(format!("lango-power-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("lango.db");
    let mut acknowledged = 0i64;
    for round in 0..10u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sigkill_mid_write_loses_nothing_committed",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Let it write for a varying while, then pull the plug.
        let writes = 20 + round * 37 % 150;
        for _ in 0..writes {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Ok(id) = l.trim().parse::<i64>() {
                        acknowledged = acknowledged.max(id);
                    }
                }
                _ => break,
            }
        }
        std::thread::sleep(Duration::from_micros(round * 700));
        child.kill().unwrap();
        let _ = child.wait();

        let store = Store::open(&db).unwrap();
        let (check, paid, grants, sessions): (String, i64, i64, i64) = store
            .with(|c| {
                Ok((
                    c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?,
                    c.query_row(
                        "SELECT count(*) FROM payments WHERE state = 'paid'",
                        [],
                        |r| r.get(0),
                    )?,
                    c.query_row(
                        "SELECT count(*) FROM events WHERE kind = 'session.grant'",
                        [],
                        |r| r.get(0),
                    )?,
                    c.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))?,
                ))
            })
            .unwrap();
        assert_eq!(check, "ok", "round {round}: database damaged");
        assert!(
            paid >= acknowledged,
            "round {round}: {acknowledged} acknowledged, {paid} on disk"
        );
        assert_eq!(
            (grants, sessions),
            (paid, paid),
            "round {round}: payment and grant commit together"
        );
        let unfinished: i64 = store
            .with(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM payments WHERE state != 'paid'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        assert_eq!(unfinished, 0, "round {round}: half-written payment");
        let sync: i64 = store
            .with(|c| Ok(c.query_row("PRAGMA synchronous", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(sync, 2, "synchronous=FULL where money is written");
    }
    println!("10 kills: {acknowledged} payments acknowledged, none lost, integrity ok");
    let _ = std::fs::remove_dir_all(&dir);
}
