//! Backups with the real CLI against a running Lango: `lango backup FILE` under write load gives
//! consistent copies; `lango restore FILE` puts one back whole and the gate follows its sessions;
//! bad files are refused by name; the owner's page downloads the same kind of copy.

mod common;

use common::*;
use lango::mac::Mac;
use lango::store::backup;
use rusqlite::Connection;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn lango(lab: &Lab, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lango"))
        .arg("--config")
        .arg(lab.config_path())
        .args(args)
        .output()
        .expect("lango runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// What must match between a backup and the database it was restored into.
fn dump(db: &Path) -> Vec<String> {
    let c = Connection::open(db).unwrap();
    let mut out = vec![];
    for sql in [
        "SELECT mac || ' ' || expires_at || ' ' || COALESCE(ended_at, '-') || ' ' || COALESCE(code, '-') FROM sessions ORDER BY id",
        "SELECT code || ' ' || state || ' ' || COALESCE(used_by_mac, '-') FROM vouchers ORDER BY code",
        "SELECT kind || ' ' || detail FROM events WHERE kind <> 'database.restored' ORDER BY id",
    ] {
        let mut st = c.prepare(sql).unwrap();
        out.extend(st.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_under_load_are_consistent_and_restore_whole() {
    let lab = Lab::start("backup", Duration::from_millis(100)).await;
    let d = lab.daemon();
    // Write load: vouchers generated and redeemed (code used, session and event in one
    // transaction each) while copies are taken.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (store, sessions, stop) = (d.store.clone(), d.sessions.clone(), stop.clone());
        let now = lab.now();
        tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(Ordering::SeqCst) {
                let codes = lango::owner::generate_vouchers(&store, 1, 5, None, now)
                    .await
                    .map(|b| b.codes)
                    .unwrap();
                for c in codes {
                    n += 1;
                    let code = lango::voucher::VoucherCode::parse(&c).unwrap();
                    let mac = Mac([2, 0xbb, 0, 0, (n >> 8) as u8, n as u8]);
                    sessions.redeem(code, mac, None).await.unwrap();
                }
            }
            n
        })
    };
    let mut copies = vec![];
    for i in 0..5 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let file = lab.dir.join(format!("copy{i}.db"));
        let (ok, said) = lango(&lab, &["backup", file.to_str().unwrap()]);
        assert!(ok, "{said}");
        copies.push(file);
    }
    stop.store(true, Ordering::SeqCst);
    let redeemed = load.await.unwrap();
    assert!(redeemed > 20, "the load wrote ({redeemed} redemptions)");
    for f in &copies {
        let checked = backup::check(f).unwrap();
        let c = Connection::open(f).unwrap();
        let q = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
        // One moment's state: every used voucher has its event and its session, no more.
        let used = q("SELECT count(*) FROM vouchers WHERE state = 'used'");
        assert_eq!(
            used,
            q("SELECT count(*) FROM events WHERE kind = 'voucher.redeemed'")
        );
        assert_eq!(used, q("SELECT count(*) FROM sessions"));
        assert_eq!(checked.sessions, used);
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete", "one self-contained file, not WAL");
    }

    // The last copy, then changes after it: a kick and new time.
    let saved = lab.dir.join("saved.db");
    let (ok, said) = lango(&lab, &["backup", saved.to_str().unwrap()]);
    assert!(ok && said.contains("sessions"), "{said}");
    let kicked = Mac([2, 0xbb, 0, 0, 0, 1]);
    d.sessions.revoke(kicked).await.unwrap();
    lab.ctl(lango::ctl::Request::Auth {
        mac: phone_mac(9),
        minutes: 30,
        down_kbps: None,
        up_kbps: None,
    })
    .await;
    assert!(!lab.gate.admitted().contains_key(&kicked));

    let (ok, said) = lango(&lab, &["restore", saved.to_str().unwrap()]);
    assert!(ok, "{said}");
    assert!(said.contains("the running Lango follows it"), "{said}");
    assert_eq!(
        dump(&lab.config().database),
        dump(&saved),
        "the database is the copy"
    );
    assert_eq!(lab.events("database.restored", None), 1);
    // The gate follows: the kicked device is back, the later one gone.
    lab.admitted(kicked).await;
    let gate: Vec<String> = lab.gate.admitted().keys().map(|m| m.to_string()).collect();
    assert!(
        !gate.contains(&phone_mac(9).to_string()),
        "time given after the copy is gone"
    );
    let c = Connection::open(&saved).unwrap();
    let mut st = c
        .prepare("SELECT mac FROM sessions WHERE ended_at IS NULL AND expires_at > ?1 ORDER BY mac")
        .unwrap();
    let open: Vec<String> = st
        .query_map([lab.now()], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        gate, open,
        "the gate holds exactly the copy's open sessions"
    );

    // Bad files are refused by name and change nothing.
    let junk = lab.dir.join("junk.db");
    std::fs::write(&junk, vec![7u8; 8192]).unwrap();
    let (ok, said) = lango(&lab, &["restore", junk.to_str().unwrap()]);
    assert!(!ok && said.contains("junk.db"), "{said}");
    let half = lab.dir.join("half.db");
    let bytes = std::fs::read(&saved).unwrap();
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, said) = lango(&lab, &["restore", half.to_str().unwrap()]);
    assert!(!ok && said.contains("half.db"), "{said}");
    assert_eq!(dump(&lab.config().database), dump(&saved));

    // The owner's page: "Download backup" is the same kind of copy.
    let mut o = lab.owner("127.0.0.50");
    o.setup().await;
    let settings = o.get("/settings").await;
    assert!(settings.body.contains("Download backup"));
    assert!(settings
        .body
        .contains("Payment details are kept for 60 days"));
    let r = o
        .http
        .get(format!("{}/backup", lab.admin_url()))
        .header(
            "cookie",
            format!("lango_admin={}", o.cookies["lango_admin"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains("lango-backup-"), "{cd}");
    let body = r.bytes().await.unwrap();
    assert!(body.starts_with(b"SQLite format 3\0"));
    let downloaded = lab.dir.join("downloaded.db");
    std::fs::write(&downloaded, &body).unwrap();
    assert_eq!(dump(&downloaded)[..], dump(&lab.config().database)[..]);
}

#[tokio::test]
async fn a_restore_while_lango_is_stopped_is_used_at_the_next_start() {
    let mut lab = Lab::start("restore-stopped", Duration::from_millis(100)).await;
    lab.online_by_voucher(1, 2).await;
    let saved = lab.dir.join("saved.db");
    let (ok, said) = lango(&lab, &["backup", saved.to_str().unwrap()]);
    assert!(ok, "{said}");
    lab.daemon().sessions.revoke(phone_mac(1)).await.unwrap();
    lab.crash().await;

    let (ok, said) = lango(&lab, &["restore", saved.to_str().unwrap()]);
    assert!(ok, "{said}");
    assert!(said.contains("Lango is not running"), "{said}");
    assert_eq!(dump(&lab.config().database), dump(&saved));
    lab.boot().await;
    assert_eq!(
        lab.admitted(phone_mac(1)).await.seconds,
        10800,
        "back online"
    );
}
