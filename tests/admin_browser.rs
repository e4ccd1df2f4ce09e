//! The owner's page in headless Chromium: starts Lango in-process on loopback with a paying
//! client online and a month of payments, runs tests/browser/admin.mjs (playwright-core driving
//! Debian's /usr/bin/chromium), then checks the database and the kernel gate agree with what
//! the browser did. Screenshots land in target/screenshots/.
//! Without chromium, node or the Node modules this prints "SKIPPED: needs chromium" and
//! passes, except under CI (LANGO_CI=1), where it fails.

mod common;

use common::*;
use lango::phone::Msisdn;
use lango::store::payments::{self, NewPayment, PaymentState, Settlement};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
/// The simulator never answers for this number: the payment times out.
const UNPAID_PHONE: &str = "0712344999";
/// The whole browser run; it takes about 20 s on a loaded 2-core machine.
const RUN_LIMIT: Duration = Duration::from_secs(240);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What is missing for the browser test, if anything.
fn missing() -> Option<String> {
    if !Path::new(CHROMIUM).exists() {
        return Some(format!("{CHROMIUM} (Debian package chromium)"));
    }
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("node (Debian package nodejs)".into());
    }
    if !repo()
        .join("tests/browser/node_modules/playwright-core")
        .exists()
    {
        return Some("playwright-core (run .ci/setup-admin.sh)".into());
    }
    None
}

/// A month of takings: a few paid and some failed payments a day.
fn seed_month(lab: &Lab) {
    let now = lab.now();
    let phone: Msisdn = "0708374149".parse().unwrap();
    lab.daemon()
        .store
        .with(move |c| {
            let pkgs = lango::store::packages::all(c)?;
            // Oldest first, as real payments arrive.
            for day in (0..30i64).rev() {
                for n in (0..(day * 7 % 5 + 1)).rev() {
                    let p = &pkgs[((day + n) % 4) as usize];
                    let at = now - day * 86_400 - n * 1800 - 600;
                    let id = payments::insert(
                        c,
                        &NewPayment {
                            mac: phone_mac(20),
                            ip: None,
                            phone: &phone,
                            package: p,
                        },
                        at,
                    )?;
                    let paid = (day + n) % 6 != 0;
                    let receipt = format!("SIM{:07}", day * 10 + n);
                    let s = Settlement {
                        state: if paid {
                            PaymentState::Paid
                        } else {
                            PaymentState::Cancelled
                        },
                        result_code: Some(if paid { 0 } else { 1032 }),
                        result_desc: if paid {
                            "The service request is processed successfully."
                        } else {
                            "Request cancelled by user"
                        },
                        receipt: paid.then_some(receipt.as_str()),
                    };
                    payments::settle(c, id, &s, at + 25)?;
                }
            }
            Ok(())
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_runs_the_hotspot_from_a_browser() {
    if let Some(what) = missing() {
        if std::env::var("LANGO_CI").as_deref() == Ok("1") {
            panic!("the browser test needs {what}; CI must install it");
        }
        println!("SKIPPED: needs chromium: {what} not found");
        return;
    }
    let lab = Lab::start("browser", Duration::from_millis(200)).await;
    std::fs::write(
        lab.dir.join("dhcp.leases"),
        format!(
            "1764000000 {} 127.0.0.2 Tecno-Spark-10 *\n1764000000 {} 127.0.0.3 iPhone-ya-Wanjiru *\n",
            phone_mac(2),
            phone_mac(3)
        ),
    )
    .unwrap();
    seed_month(&lab);
    let payer = lab.phone(2);
    let id = payer.pay(2, "0708374149").await;
    assert_eq!(lab.wait_final(&payer, id).await["state"], "paid");
    let codes = lango::owner::generate_vouchers(&lab.daemon().store, 1, 1, None, lab.now())
        .await
        .map(|b| b.codes)
        .unwrap();
    let (s, _) = lab
        .phone(3)
        .post_json("/api/voucher", &format!(r#"{{"code":"{}"}}"#, codes[0]))
        .await;
    assert_eq!(s, 200);
    // A customer whose payment M-Pesa never confirms in time: on the owner's Attention list.
    let silent = lab.phone(4);
    let unpaid = silent.pay(1, UNPAID_PHONE).await;
    lab.clock.advance(121);
    assert_eq!(lab.wait_final(&silent, unpaid).await["state"], "timeout");

    let shots = repo().join("target/screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let mut child = Command::new("node")
        .arg(repo().join("tests/browser/admin.mjs"))
        .arg(lab.admin_url())
        .arg(format!("http://{}", lab.portal))
        .arg(&shots)
        .env("LANGO_KICK_MAC", phone_mac(2).to_string())
        .env("LANGO_UNPAID_PHONE", format!("254{}", &UNPAID_PHONE[1..]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the browser run took longer than {RUN_LIMIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let out = child.wait_with_output().unwrap();
    println!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    println!(
        "browser run: {:.1} s, screenshots in {}",
        started.elapsed().as_secs_f64(),
        shots.display()
    );
    assert!(
        status.success(),
        "the browser checks failed (see above and {})",
        shots.display()
    );

    // What the browser did is in the database, the gate and the config file.
    let store = &lab.daemon().store;
    let pkg = store
        .with(lango::store::packages::all)
        .unwrap()
        .into_iter()
        .find(|p| p.name == "Browser Special")
        .expect("the package the browser created");
    assert_eq!(
        (pkg.duration_s, pkg.down.0, pkg.up.0, pkg.price.0),
        (7200, 4000, 1500, 35)
    );
    let admitted = lab.gate.admitted();
    assert!(
        !admitted.contains_key(&phone_mac(2)),
        "the kicked client is out of the gate"
    );
    let browser = &admitted[&phone_mac(1)];
    assert_eq!(
        (browser.down.0, browser.seconds),
        (4000, 7200),
        "the redeemed voucher's package"
    );
    assert!(admitted.contains_key(&phone_mac(3)), "others stay online");
    // The grant from the Attention list: paid once, its device online for the package's hour.
    assert_eq!(lab.payment(unpaid).state, PaymentState::Paid);
    assert_eq!(lab.events("payment.owner_grant", Some(unpaid)), 1);
    assert_eq!(lab.events("session.grant", Some(unpaid)), 1);
    assert_eq!(admitted[&phone_mac(4)].seconds, 3600);
    let conf = std::fs::read_to_string(lab.config_path()).unwrap();
    assert!(conf.contains("option welcome 'Karibu! Wi-Fi by the hour.'"));
    // The sheet as Chromium prints it on A4: 30 cards make two pages.
    let pdf = std::fs::read(shots.join("08-voucher-print.pdf")).unwrap();
    let pages = pdf.windows(11).filter(|w| w == b"/Type /Page").count()
        - pdf.windows(12).filter(|w| w == b"/Type /Pages").count();
    assert_eq!(pages, 2, "A4 pages in the printed sheet");
    let mut names = vec![
        "03-overview",
        "08-voucher-print",
        "11-clients",
        "18-throttled",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    for w in [360, 390] {
        for page in [
            "overview", "clients", "packages", "payments", "vouchers", "settings", "password",
            "menu",
        ] {
            names.push(format!("phone-{w}-owner-{page}"));
        }
        names.push(format!("phone-{w}-portal-error"));
    }
    names.push("phone-360-portal-waiting".into());
    for name in names {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
}
