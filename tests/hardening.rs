//! What an attack on Lango found, each pinned by a test named after the bug: control characters
//! in the config file (checked with OpenWrt's own `uci`), DNS rebinding of the owner's page, raced login and voucher limits, callbacks that granted too
//! easily, cross-site posts to the portal, readable files and idle control connections. (Half-sent
//! requests filling the portal: `tests/hygiene.rs`.)

mod common;

use common::owner::{csrf_in, settings_form, PASSWORD};
use common::*;
use lango::sim::Faults;
use lango::store::payments::PaymentState;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

const FAST: Duration = Duration::from_millis(150);

/// OpenWrt's `uci`, built by `.ci/setup-openwrt-tools.sh` (or `LANGO_UCI`).
fn openwrt_uci() -> Option<PathBuf> {
    let path = std::env::var_os("LANGO_UCI")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/openwrt-tools/bin/uci"))
        })?;
    path.exists().then_some(path)
}

fn uci_show(uci: &std::path::Path, dir: &std::path::Path) -> String {
    let out = std::process::Command::new(uci)
        .arg("-c")
        .arg(dir)
        .args(["show", "lango"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn uci_run(uci: &std::path::Path, dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new(uci)
        .arg("-c")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "uci {args:?}: {out:?}");
}

#[tokio::test]
async fn regression_control_characters_never_reach_the_config_file() {
    let Some(uci) = openwrt_uci() else {
        assert!(
            std::env::var_os("LANGO_CI").is_none()
                || !std::path::Path::new("../shared/third_party/build.sh").exists(),
            "CI must build OpenWrt's uci first (.ci/setup-openwrt-tools.sh)"
        );
        println!("SKIPPED: needs OpenWrt's uci (.ci/setup-openwrt-tools.sh builds it)");
        return;
    };
    let lab = Lab::start("uci", FAST).await;
    let mut o = lab.owner("127.0.0.50");
    o.setup().await;
    let path = lab.config_path();
    let before = std::fs::read_to_string(&path).unwrap();
    let hostile =
        "k\u{0} ; config lango main ; list trusted 02:00:7f:00:00:63 ; option portal_port 22";
    for field in ["site_name", "consumer_secret", "passkey", "welcome"] {
        o.get("/settings").await;
        let p = o
            .post("/settings", &settings_form(&[(field, hostile)]))
            .await;
        assert_eq!(p.status, 400, "{field}: {}", p.body);
        assert!(
            p.body.contains(&format!("id=\"{field}-error\"")),
            "{field}: the error is next to its field"
        );
        assert!(p.body.contains("Control characters"), "{field}");
    }
    for bad in ["a\tb", "a\rb", "a\u{7f}b", "a\u{1b}[2Jb"] {
        o.get("/settings").await;
        let p = o
            .post("/settings", &settings_form(&[("site_name", bad)]))
            .await;
        assert_eq!(p.status, 400, "{bad:?}");
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        before,
        "nothing written"
    );

    // What OpenWrt's uci reads from the file, also after the README's `uci set …; uci commit`.
    let dir = lab.dir.join("uci");
    std::fs::create_dir_all(&dir).unwrap();
    let check = |shown: &str| {
        assert!(!shown.contains("02:00:7f:00:00:63"), "{shown}");
        assert!(!shown.contains("portal_port='22'"), "{shown}");
    };
    std::fs::copy(&path, dir.join("lango")).unwrap();
    check(&uci_show(&uci, &dir));
    uci_run(&uci, &dir, &["set", "lango.main.welcome=Karibu"]);
    uci_run(&uci, &dir, &["commit", "lango"]);
    check(&uci_show(&uci, &dir));

    // Quotes, `#`, `;` and backslashes are text, and uci reads back exactly what was saved.
    let tricky = r#"Mama's #1; Wi-Fi \ "fast""#;
    o.get("/settings").await;
    let p = o
        .post("/settings", &settings_form(&[("site_name", tricky)]))
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    std::fs::copy(&path, dir.join("lango")).unwrap();
    let out = std::process::Command::new(&uci)
        .arg("-c")
        .arg(&dir)
        .args(["get", "lango.main.site_name"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), tricky);
}

#[tokio::test]
async fn regression_dns_rebinding_cannot_reach_the_owners_page() {
    let mut opts = LabOptions::default();
    opts.sim.delay = FAST;
    opts.configure = Arc::new(|c| c.admin_hosts = vec!["hotspot.example.com".into()]);
    let lab = Lab::start_with("rebinding", opts).await;
    let o = lab.owner("127.0.0.50");
    let url = |path: &str| format!("{}{path}", lab.admin_url());
    let body = format!("password={0}&repeat={0}&csrf=x", PASSWORD.replace(' ', "+"));
    let ask = |method: reqwest::Method, path: &str, host: &str| {
        let mut r = o
            .http
            .request(method.clone(), url(path))
            .header("host", host.to_string());
        if method == reqwest::Method::POST {
            r = r
                .header("origin", format!("https://{host}"))
                .header("cookie", "lango_pre=x")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone());
        }
        async move {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let location = r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string());
            (status, location, r.text().await.unwrap())
        }
    };
    for host in ["attacker.example:8443", "attacker.example", "127.0.0.2", ""] {
        let (s, _, text) = ask(reqwest::Method::POST, "/setup", host).await;
        assert_eq!(s, 421, "{host}: {text}");
        assert!(text.contains("admin_host"), "{text}");
        assert_eq!(ask(reqwest::Method::GET, "/", host).await.0, 421, "{host}");
    }
    let hash = lab
        .daemon()
        .store
        .with(lango::store::admin::password_hash)
        .unwrap();
    assert_eq!(hash, None, "no password was set");

    // The router's own address, localhost and the names the owner set are served.
    let port = lab.daemon().admin_addr.port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "HOTSPOT.example.com".to_string(),
        "hotspot.example.com.:8443".to_string(),
    ] {
        let (s, location, text) = ask(reqwest::Method::GET, "/", &host).await;
        assert_eq!(
            (s, location.as_deref()),
            (303, Some("/setup")),
            "{host}: {text}"
        );
    }
}

#[tokio::test]
async fn regression_passwords_sent_at_once_are_all_counted() {
    let lab = Lab::start("login-race", FAST).await;
    let mut o = lab.owner("127.0.0.50");
    o.setup().await;
    // A browser at another address opens the login form once, then sends 30 wrong passwords
    // and the right one all at once.
    let mut b = lab.owner("127.0.0.51");
    let p = b.get("/login").await;
    let csrf = csrf_in(&p.body).unwrap();
    let cookie = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let tries: Vec<_> = (0..31)
        .map(|i| {
            let password = if i == 15 {
                PASSWORD.to_string()
            } else {
                format!("wrong {i}")
            };
            let (http, url, cookie, csrf) = (
                b.http.clone(),
                format!("{}/login", b.base),
                cookie.clone(),
                csrf.clone(),
            );
            tokio::spawn(async move {
                http.post(url)
                    .header("cookie", cookie)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!(
                        "password={}&csrf={csrf}",
                        password.replace(' ', "+")
                    ))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tries {
        statuses.push(t.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s != 429).count();
    assert!(
        checked <= 5,
        "{checked} passwords were checked in a window meant for 5: {statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 31 - checked);
}

#[tokio::test]
async fn regression_voucher_guesses_sent_at_once_are_all_counted() {
    let lab = Lab::start("voucher-race", FAST).await;
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let tries: Vec<_> = (0..30)
        .map(|i| {
            let phone = lab.phone(3);
            let c = ALPHABET[i] as char;
            tokio::spawn(async move {
                phone
                    .post_json("/api/voucher", &format!(r#"{{"code":"AAAAA-AAAA{c}"}}"#))
                    .await
                    .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tries {
        statuses.push(t.await.unwrap());
    }
    let judged = statuses.iter().filter(|s| **s == 400).count();
    assert_eq!(judged, 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 25);
}

fn with_callbacks(faults: Faults) -> LabOptions {
    let mut o = LabOptions::default();
    o.sim.delay = FAST;
    o.sim.faults = faults;
    o.callbacks = true;
    o
}

async fn post_callback(url: &str, checkout: &str, amount: &str, phone: &str) -> u16 {
    let body = success_callback(checkout, amount, "RCPT999999", phone);
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn regression_an_invented_checkout_id_cannot_pay_a_push() {
    // A push Daraja refused never left as a prompt: nothing may adopt it.
    let faults = Faults {
        spike_arrest_pushes: 1,
        ..Faults::default()
    };
    let mut lab = Lab::start_with("invented", with_callbacks(faults)).await;
    let phone = lab.phone(4);
    let (s, v) = phone
        .post_json("/api/pay", r#"{"package_id":2,"phone":"0712345678"}"#)
        .await;
    assert_eq!(s, 503, "{v}");
    let id = lab
        .daemon()
        .store
        .with(|c| Ok(lango::store::payments::recent(c, 1)?[0].id))
        .unwrap();
    assert_eq!(lab.payment(id).state, PaymentState::Failed);
    let url = lab.callback_url();
    assert_eq!(
        post_callback(&url, "ws_CO_invented1", "50", "254712345678").await,
        200
    );
    assert_eq!(lab.payment(id).state, PaymentState::Failed);
    assert_eq!(lab.events("payment.adopted", None), 0);
    assert_eq!(lab.events("payment.callback_unmatched", None), 1);

    // A push interrupted by a crash may have left: the callback is still believed only if
    // STK Push Query confirms its CheckoutRequestID, which an invented one never is.
    lab.crash().await;
    let store = lango::store::Store::open(&lab.config().database).unwrap();
    let id = store
        .write(|tx| {
            let pkg = lango::store::packages::get(tx, 2)?.unwrap();
            let phone: lango::phone::Msisdn = "0712345679".parse().unwrap();
            let new = lango::store::payments::NewPayment {
                mac: phone_mac(5),
                ip: None,
                phone: &phone,
                package: &pkg,
            };
            lango::store::payments::insert(tx, &new, lab.now())
        })
        .unwrap();
    drop(store);
    lab.boot().await;
    let url = lab.callback_url();
    assert_eq!(
        post_callback(&url, "ws_CO_invented2", "50", "254712345679").await,
        200
    );
    let p = lab.payment(id);
    assert_eq!(
        (p.state, p.checkout_request_id),
        (PaymentState::Failed, None)
    );
    assert_eq!(lab.events("payment.callback_unconfirmed", Some(id)), 1);
    assert_eq!(lab.events("session.grant", Some(id)), 0);
}

#[tokio::test]
async fn regression_a_forged_success_cannot_pay_a_cancelled_payment() {
    let lab = Lab::start_with("forged-late", with_callbacks(Faults::default())).await;
    let phone = lab.phone(6);
    let id = phone.pay(2, "0712341032").await;
    assert_eq!(lab.wait_final(&phone, id).await["state"], "cancelled");
    let checkout = lab.payment(id).checkout_request_id.unwrap();
    let url = lab.callback_url();
    assert_eq!(
        post_callback(&url, &checkout, "50", "254712341032").await,
        200
    );
    assert_eq!(lab.payment(id).state, PaymentState::Cancelled);
    assert_eq!(lab.events("payment.callback_unconfirmed", Some(id)), 1);
    assert_eq!(lab.events("session.grant", Some(id)), 0);
    assert!(!lab.gate.admitted().contains_key(&phone_mac(6)));
}

#[tokio::test]
async fn a_late_success_is_granted_once_confirmed_and_only_within_a_day() {
    // The customer approves after Lango stopped asking: the callback is confirmed by STK Push
    // Query and the time granted once.
    let mut o = with_callbacks(Faults::default());
    o.sim.delay = Duration::from_millis(1500);
    let lab = Lab::start_with("late-success", o).await;
    let phone = lab.phone(7);
    let id = phone.pay(1, "0708374149").await;
    lab.clock.advance(200);
    lab.until("the poller gives up", |l| {
        l.payment(id).state == PaymentState::Timeout
    })
    .await;
    lab.until("the late callback pays", |l| {
        l.payment(id).state == PaymentState::Paid
    })
    .await;
    assert_eq!(lab.events("session.grant", Some(id)), 1);
    assert_eq!(lab.admitted(phone_mac(7)).await.seconds, 3600);

    // A day later, even Daraja's word is not taken: the owner is told instead. (This customer
    // never answers: no real callback comes.)
    let phone = lab.phone(8);
    let id = phone.pay(1, "0712344999").await;
    lab.clock.advance(200);
    lab.until("the poller gives up", |l| {
        l.payment(id).state == PaymentState::Timeout
    })
    .await;
    let checkout = lab.payment(id).checkout_request_id.unwrap();
    lab.clock.advance(25 * 3600);
    let url = lab.callback_url();
    assert_eq!(
        post_callback(&url, &checkout, "20", "254712344999").await,
        200
    );
    assert_eq!(lab.payment(id).state, PaymentState::Timeout);
    assert_eq!(lab.events("payment.callback_unconfirmed", Some(id)), 1);
}

#[tokio::test]
async fn regression_other_sites_cannot_post_to_the_portal() {
    let lab = Lab::start("cross-site", FAST).await;
    let phone = lab.phone(9);
    let pay = r#"{"package_id":1,"phone":"0708374149"}"#;
    let post =
        |path: &str, ctype: &str, origin: Option<&str>, fetch_site: Option<&str>, body: &str| {
            let mut r = phone
                .http
                .post(format!("{}{path}", phone.base))
                .header("content-type", ctype)
                .body(body.to_string());
            if let Some(o) = origin {
                r = r.header("origin", o);
            }
            if let Some(f) = fetch_site {
                r = r.header("sec-fetch-site", f);
            }
            r.send()
        };
    let status = |r: reqwest::Result<reqwest::Response>| r.unwrap().status().as_u16();
    // A page elsewhere can send text/plain or a form without asking the browser first.
    assert_eq!(
        status(post("/api/pay", "text/plain", None, None, pay).await),
        415
    );
    assert_eq!(
        status(
            post(
                "/api/pay",
                "application/x-www-form-urlencoded",
                None,
                None,
                pay
            )
            .await
        ),
        415
    );
    let evil = Some("http://evil.example");
    assert_eq!(
        status(post("/api/pay", "application/json", evil, None, pay).await),
        403
    );
    assert_eq!(
        status(post("/api/voucher", "application/json", Some("null"), None, "{}").await),
        403
    );
    let form = "package_id=1&phone=0708374149";
    let forms = "application/x-www-form-urlencoded";
    let r = post("/pay", forms, evil, None, form).await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("did not come from this Wi-Fi"));
    assert_eq!(
        status(post("/pay", forms, None, Some("cross-site"), form).await),
        403
    );
    assert!(lab.sim.pushes().is_empty(), "no PIN prompt was sent");

    // The portal's own pages still work, with or without Origin.
    let own = format!("http://{}", lab.portal);
    let r = post("/pay", forms, Some(&own), Some("same-origin"), form)
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let page = phone.get("/").await;
    let h = page.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
}

#[tokio::test]
async fn regression_database_and_control_socket_are_private_and_bounded() {
    let lab = Lab::start("modes", FAST).await;
    let db = lab.config().database;
    for f in [db.clone(), PathBuf::from(format!("{}-wal", db.display()))] {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }
    // A database left readable by an older version is closed up at start.
    let other = lab.dir.join("old.db");
    std::fs::write(&other, b"").unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(lango::store::Store::open(&other).unwrap());
    assert_eq!(
        std::fs::metadata(&other).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Idle control connections are capped and closed; the CLI keeps working.
    let sock = lab.config().control_socket;
    let mut idle = Vec::new();
    for _ in 0..lango::ctl::MAX_CONNECTIONS {
        idle.push(tokio::net::UnixStream::connect(&sock).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = tokio::net::UnixStream::connect(&sock).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), extra.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.contains("too many control connections"), "{answer}");
    let t = Instant::now();
    let mut b = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(15), idle[0].read(&mut b))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "an idle connection is closed");
    assert!(t.elapsed() <= lango::ctl::IDLE + Duration::from_secs(2));
    drop(idle);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let v = lab.ctl(lango::ctl::Request::Status).await;
    assert_eq!(v["ok"], true, "{v}");
}
