//! The `lango` command line against a running Lango (in-process, on loopback) over its unix
//! socket: auth and its latency, usage, passwd, vouchers list/revoke, human and JSON output.

mod common;

use common::owner::PASSWORD;
use common::*;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn lango(lab: &Lab, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lango"))
        .arg("--config")
        .arg(lab.config_path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the lango binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_of_one_client_answers_quickly() {
    let lab = Lab::start("cli-auth", Duration::from_millis(100)).await;
    let socket = lab.config().control_socket;
    let mac = phone_mac(9).to_string();
    // Warm up (first connection, page cache), then measure.
    let o = lango(&lab, &["auth", &mac, "--minutes", "1"], "");
    assert!(o.status.success(), "{}", err(&o));
    let mut process = vec![];
    for _ in 0..5 {
        let t = Instant::now();
        let o = lango(&lab, &["auth", &mac, "--minutes", "5"], "");
        process.push(t.elapsed());
        assert!(o.status.success(), "{}", err(&o));
    }
    let mut socket_only = vec![];
    for n in 0..20u8 {
        let req = lango::ctl::Request::Auth {
            mac: phone_mac(100 + n),
            minutes: 5,
            down_kbps: Some(2000),
            up_kbps: Some(1000),
        };
        let t = Instant::now();
        lango::ctl::ask(&socket, &req).await.unwrap();
        socket_only.push(t.elapsed());
    }
    process.sort();
    socket_only.sort();
    println!(
        "lango auth, one client: median {:.1} ms for the whole command (process start included), \
         median {:.2} ms / max {:.2} ms for the control-socket round trip (grant + gate batch)",
        process[2].as_secs_f64() * 1000.0,
        socket_only[10].as_secs_f64() * 1000.0,
        socket_only[19].as_secs_f64() * 1000.0
    );
    assert!(process[2] < Duration::from_secs(2), "sanity only");
    let left = lab.gate.admitted()[&phone_mac(9)].seconds;
    assert_eq!(left, (1 + 5 * 5) * 60);
    let o = lango(&lab, &["clients"], "");
    assert!(out(&o).contains(&mac), "{}", out(&o));
    let o = lango(&lab, &["--json", "status"], "");
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["online"], 21);
    // The human form reads the same answer as its type.
    let o = lango(&lab, &["status"], "");
    assert!(o.status.success(), "{}", err(&o));
    let human = out(&o);
    let lines: Vec<&str> = human.lines().collect();
    assert!(
        lines[0].starts_with("running ") && lines[0].contains(" · 21 online · up "),
        "{human}"
    );
    assert!(lines[1].starts_with("M-Pesa: "), "{human}");
    assert!(
        lines[2].starts_with("owner's page certificate SHA-256: "),
        "{human}"
    );
    assert_eq!(
        &lines[3..],
        [
            "payments 24h: none",
            "payments  7d: none",
            "payments 30d: none"
        ],
        "{human}"
    );
    let o = lango(&lab, &["deauth", &mac], "");
    assert_eq!(out(&o).trim(), format!("{mac} disconnected"), "{}", err(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_shows_the_bytes_the_gate_counted() {
    let lab = Lab::start("cli-usage", Duration::from_millis(100)).await;
    let mac = phone_mac(7);
    let o = lango(&lab, &["auth", &mac.to_string(), "--minutes", "5"], "");
    assert!(o.status.success(), "{}", err(&o));
    lab.gate.count(mac, 2_500_000, 310_000);
    // The counters are read once a second.
    let started = Instant::now();
    let v = loop {
        let o = lango(&lab, &["--json", "clients"], "");
        let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
        if v["clients"][0]["bytes_down"] != 0 || started.elapsed() > Duration::from_secs(3) {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let c = &v["clients"][0];
    assert_eq!(
        (c["bytes_down"].as_u64(), c["bytes_up"].as_u64()),
        (Some(2_500_000), Some(310_000)),
        "{v}"
    );
    let human = out(&lango(&lab, &["clients"], ""));
    assert!(
        human.contains("2.5 MB") && human.contains("310 kB"),
        "{human}"
    );
    assert!(human.contains("unlimited"), "the owner's gift: {human}");

    // A data bundle: its allowance and what is left.
    lab.set_data(1, Some(20));
    lab.online_by_voucher(8, 1).await;
    let bundle = phone_mac(8);
    lab.gate.count(bundle, 4_000_000, 1_000_000);
    let started = Instant::now();
    let c = loop {
        let o = lango(&lab, &["--json", "clients"], "");
        let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
        let c = v["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["mac"] == bundle.to_string())
            .cloned()
            .expect("the bundle is online");
        if c["bytes_down"] != 0 || started.elapsed() > Duration::from_secs(3) {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        (
            c["data_limit_bytes"].as_u64(),
            c["bytes_remaining"].as_u64()
        ),
        (Some(20_000_000), Some(15_000_000)),
        "{c}"
    );
    let human = out(&lango(&lab, &["clients"], ""));
    assert!(human.contains("15 MB of 20 MB"), "{human}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwd_sets_the_password_and_logs_browsers_out() {
    let lab = Lab::start("cli-passwd", Duration::from_millis(100)).await;
    let mut o = lab.owner("127.0.0.50");
    o.setup().await;

    let bad = lango(&lab, &["passwd"], "one password\nanother one\n");
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        err(&bad).contains("the two passwords differ"),
        "{}",
        err(&bad)
    );
    let short = lango(&lab, &["passwd", "--stdin"], "short\n");
    assert_eq!(short.status.code(), Some(1));
    assert!(
        err(&short).contains("at least 8 characters"),
        "{}",
        err(&short)
    );
    assert_eq!(o.get("/").await.status, 200, "nothing changed");

    let ok = lango(&lab, &["passwd"], "twice typed pw\ntwice typed pw\n");
    assert!(ok.status.success(), "{}", err(&ok));
    assert!(out(&ok).contains("password set"));
    assert_eq!(o.get("/").await.location(), "/login", "logged out");
    assert_eq!(o.login(PASSWORD).await.status, 401);
    assert_eq!(o.login("twice typed pw").await.status, 303);

    let ok = lango(&lab, &["passwd", "--stdin"], "from a script\n");
    assert!(ok.status.success(), "{}", err(&ok));
    let mut other = lab.owner("127.0.0.51");
    assert_eq!(other.login("from a script").await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vouchers_are_listed_and_revoked_from_the_shell() {
    let lab = Lab::start("cli-vouchers", Duration::from_millis(100)).await;
    let o = lango(
        &lab,
        &[
            "--json",
            "vouchers",
            "generate",
            "--package",
            "2",
            "--count",
            "3",
            "--valid-days",
            "2",
        ],
        "",
    );
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let batch = v["batch"].as_str().unwrap().to_string();
    let codes: Vec<String> = v["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 3);
    let until = lango::clock::eat_date(lango::clock::eat_day(lab.now()) + 1);

    let list = out(&lango(&lab, &["vouchers", "list"], ""));
    assert!(list.contains(&batch) && list.contains(&until), "{list}");
    let o = lango(&lab, &["vouchers", "revoke", &codes[0].to_lowercase()], "");
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o).trim(), format!("{} revoked", codes[0]));
    let again = lango(&lab, &["vouchers", "revoke", &codes[0]], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(err(&again).contains("no such unused voucher"));
    let codes_out = out(&lango(&lab, &["vouchers", "list", "--batch", &batch], ""));
    assert!(
        codes_out.contains(&format!("{}  revoked", codes[0])),
        "{codes_out}"
    );
    assert!(
        codes_out.contains(&format!("{}  unused", codes[1])),
        "{codes_out}"
    );
    let (s, v) = lab
        .phone(3)
        .post_json("/api/voucher", &format!(r#"{{"code":"{}"}}"#, codes[0]))
        .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("voucher_refused")));
}
