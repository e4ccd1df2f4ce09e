//! The real `lango run` in a router namespace, phones paying through the portal API against the
//! Daraja simulator (over TLS, in the wan namespace): captive until paid, online within a second,
//! shaped to the package, and trustworthy on bad days (`kill -9`, restart, `nft flush ruleset`),
//! usage included.
//! Needs root (prints "SKIPPED: needs root" otherwise); CI runs it as root.

mod freeradius;
mod netns;

use netns::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// These tests measure speeds; they run one at a time.
static ALONE: Mutex<()> = Mutex::new(());

const LANGO: &str = env!("CARGO_BIN_EXE_lango");
const SIM_PORT: u16 = 8443;
const SHORT: Duration = Duration::from_secs(2);
/// Numbers the simulator approves (any number not ending in one of its failure codes).
const PAYERS: [&str; 4] = ["0708374149", "0712345601", "0712345602", "0712345603"];

/// A Lango daemon running in a lab's router namespace, with its files in a temp dir.
struct Lango<'a> {
    lab: &'a Lab,
    dir: PathBuf,
    config: PathBuf,
    child: Option<Child>,
    /// Every run's stderr, appended (printed when a test fails).
    log: PathBuf,
}

impl<'a> Lango<'a> {
    /// Writes the config, starts the simulator in the wan namespace and creates the database.
    fn prepare(lab: &'a Lab, tag: &str) -> Lango<'a> {
        let dir = std::env::temp_dir().join(format!("lango-netns-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let cert = rcgen::generate_simple_self_signed(vec![WAN4.to_string()]).expect("cert");
        std::fs::write(dir.join("cert.pem"), cert.cert.pem()).expect("cert");
        std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).expect("key");
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        lab.spawn(
            &lab.wan,
            &[
                LANGO,
                "daraja-sim",
                "--listen",
                &format!("{WAN4}:{SIM_PORT}"),
                "--cert",
                path(&cert),
                "--key",
                path(&key),
                "--delay-ms",
                "200",
            ],
            &dir.join("sim.log"),
        );
        lab.wait_listening(&lab.wan, SIM_PORT, Duration::from_secs(10));
        let config = dir.join("lango.conf");
        std::fs::write(
            &config,
            format!(
                "config lango 'main'
	list interface 'br-lan'
	option portal_port '{PORTAL_PORT}'
	option admin_listen '0.0.0.0:{ADMIN_PORT}'
	option admin_http_listen ''
	option admin_cert '{admin_cert}'
	option admin_key '{admin_key}'
	option database '{db}'
	option control_socket '{sock}'
config daraja 'daraja'
	option base_url 'https://{WAN4}:{SIM_PORT}'
	option ca_file '{ca}'
	option consumer_key '{key}'
	option consumer_secret '{secret}'
	option passkey '{passkey}'
	option shortcode '174379'
	option poll_first '0.3'
	option poll_interval '0.3'
config shaping 'shaping'
	option enabled '1'
	option ifb '{IFB}'
",
                db = dir.join("lango.db").display(),
                admin_cert = dir.join("admin.crt").display(),
                admin_key = dir.join("admin.key").display(),
                sock = dir.join("lango.sock").display(),
                ca = cert.display(),
                key = lango::sim::DEMO_CONSUMER_KEY,
                secret = lango::sim::DEMO_CONSUMER_SECRET,
                passkey = lango::sim::SANDBOX_PASSKEY,
            ),
        )
        .expect("config");
        Lango {
            lab,
            log: dir.join("lango.log"),
            dir,
            config,
            child: None,
        }
    }

    /// Adds a package to the database (before the first start); returns its id.
    fn add_package(&self, name: &str, duration_s: u32, down: u32, up: u32) -> i64 {
        self.add_bundle(name, duration_s, down, up, None)
    }

    /// Adds a package with a data allowance in MB (`None`: unlimited) to the database (before
    /// the first start); returns its id.
    fn add_bundle(
        &self,
        name: &str,
        duration_s: u32,
        down: u32,
        up: u32,
        data_mb: Option<u32>,
    ) -> i64 {
        use lango::store::{packages, Store};
        use lango::units::{Kbps, Kes};
        let store = Store::open(&self.dir.join("lango.db")).expect("database");
        store
            .with(|c| {
                packages::insert(
                    c,
                    &packages::Package {
                        id: 0,
                        name: name.into(),
                        duration_s,
                        down: Kbps(down),
                        up: Kbps(up),
                        price: Kes(10),
                        active: true,
                        data_mb,
                    },
                )
            })
            .expect("insert package")
    }

    /// Starts `lango run` in the router and waits until the portal answers and the gate is in.
    fn start(&mut self) -> Duration {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let started = Instant::now();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.lab.router, LANGO, "run", "--config"])
            .arg(&self.config)
            .env("LANGO_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("lango run");
        self.child = Some(child);
        self.lab
            .wait_listening(&self.lab.router, PORTAL_PORT, Duration::from_secs(10));
        while !self.table_installed() {
            assert!(started.elapsed() < Duration::from_secs(10), "no gate table");
            std::thread::sleep(Duration::from_millis(20));
        }
        started.elapsed()
    }

    fn table_installed(&self) -> bool {
        self.lab
            .exec_ok(&self.lab.router, &["nft", "list", "tables"])
            .contains("table inet lango")
    }

    fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("kill -9");
        child.wait().expect("wait");
    }

    /// SIGTERM, as procd stops a service; waits for the exit.
    fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "lango did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the device's open session has moved, as persisted (bytes down, bytes up).
    fn usage(&self, mac: lango::mac::Mac) -> (u64, u64) {
        let store = lango::store::Store::open(&self.dir.join("lango.db")).expect("database");
        let b = store
            .with(|c| lango::store::usage::of_open(c, mac))
            .expect("usage")
            .expect("an open session");
        (b.down, b.up)
    }

    /// `lango --config FILE ARGS...` (the control commands, through the unix socket).
    fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new(LANGO)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("lango");
        assert!(
            out.status.success(),
            "lango {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Pays for `package` from `phone` through the portal API; returns when the portal says
    /// `paid`, with how long that took.
    fn pay(&self, phone: &Phone, package: i64, msisdn: &str) -> Duration {
        let started = Instant::now();
        let body = format!(r#"{{"package_id":{package},"phone":"{msisdn}"}}"#);
        let portal = format!("http://{ROUTER4}:{PORTAL_PORT}");
        let r = self.lab.curl_with(
            phone,
            &["-H", "Content-Type: application/json", "-d", &body],
            &format!("{portal}/api/pay"),
            SHORT,
        );
        assert_eq!(r.status, 202, "pay: {r:?}");
        let v: Value = serde_json::from_str(&r.body).expect("pay json");
        let id = v["id"].as_i64().expect("payment id");
        loop {
            let r = self
                .lab
                .curl(phone, &format!("{portal}/api/pay/{id}"), SHORT);
            let v: Value = serde_json::from_str(&r.body).expect("payment json");
            match v["state"].as_str() {
                Some("paid") => return started.elapsed(),
                Some("created" | "pushed") => {}
                other => panic!("payment ended {other:?}: {v}"),
            }
            assert!(started.elapsed() < Duration::from_secs(15), "never paid");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Lango<'_> {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("--- lango log (last lines) ---");
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Polls until `phone` reaches the wan; returns how long it took (panics after `within`).
fn online_within(lab: &Lab, phone: &Phone, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let r = lab.curl(
            phone,
            &format!("http://{WAN4}/"),
            Duration::from_millis(500),
        );
        if r.reached_wan() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "not online after {within:?}: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn within_5_percent(what: &str, configured_kbps: u32, measured: f64) -> Option<String> {
    let ratio = measured * 1000.0 / f64::from(configured_kbps);
    println!(
        "{what}: configured {:.3} Mbit/s, measured {measured:.3} Mbit/s ({:.1} %)",
        f64::from(configured_kbps) / 1000.0,
        ratio * 100.0
    );
    (!(0.95..=1.05).contains(&ratio)).then(|| format!("{what}: {:.1} %", ratio * 100.0))
}

#[test]
fn phones_pay_through_the_portal_and_get_their_package() {
    if skip("phones_pay_through_the_portal_and_get_their_package") {
        return;
    }
    let _alone = ALONE.lock().unwrap_or_else(|p| p.into_inner());
    let lab = Lab::without_portal("dpay", 4);
    let mut lango = Lango::prepare(&lab, "pay");
    let took = lango.start();
    println!(
        "lango run: portal up and gate installed in {} ms",
        took.as_millis()
    );
    let (a, b) = (&lab.phones[0], &lab.phones[1]);

    // The operating systems' captive-portal probes, by Host header, get Lango's 302.
    for (host, path, ip) in [
        (
            "connectivitycheck.gstatic.com",
            "/generate_204",
            ELSEWHERE4.to_string(),
        ),
        (
            "captive.apple.com",
            "/hotspot-detect.html",
            WAN4.to_string(),
        ),
        (
            "www.msftconnecttest.com",
            "/connecttest.txt",
            format!("[{WAN6}]"),
        ),
        (
            "detectportal.firefox.com",
            "/success.txt",
            ELSEWHERE4.to_string(),
        ),
    ] {
        let r = lab.curl_with(
            a,
            &["-H", &format!("Host: {host}")],
            &format!("http://{ip}{path}"),
            SHORT,
        );
        let want = if ip.starts_with('[') {
            format!("http://[fd00:1::1]:{PORTAL_PORT}/")
        } else {
            format!("http://{ROUTER4}:{PORTAL_PORT}/")
        };
        assert_eq!(
            (r.status, r.location.as_str()),
            (302, want.as_str()),
            "{host}: {r:?}"
        );
    }
    // HTTPS is reset at once; QUIC refused; the wan unreachable either way.
    for url in [
        format!("http://{WAN4}:443/"),
        format!("http://[{WAN6}]:443/"),
    ] {
        let r = lab.curl(a, &url, SHORT);
        assert!(r.refused_at_once(), "{url}: {r:?}");
    }
    assert_eq!(lab.udp(a, WAN4), "refused");
    assert_eq!(lab.udp(a, WAN6), "refused");

    // A pays for Standard (5/2 Mbps): online within a second of the portal saying so.
    let paid = lango.pay(a, 2, PAYERS[0]);
    let online = online_within(&lab, a, Duration::from_secs(1));
    println!(
        "payment confirmed {} ms after Pay; wan reachable {} ms after that",
        paid.as_millis(),
        online.as_millis()
    );
    assert!(lab
        .curl(a, &format!("http://[{WAN6}]/"), SHORT)
        .reached_wan());
    // B has not paid.
    assert!(lab
        .curl(b, &format!("http://{WAN4}/"), SHORT)
        .redirected_to_portal());
    assert!(lab
        .curl(b, &format!("http://{WAN4}:443/"), SHORT)
        .refused_at_once());

    // Three more phones: the owner gives two of them time at other speeds, one pays for Basic.
    let packages = [(5000, 2000), (2000, 1000), (10000, 4000), (1000, 512)];
    lango.pay(b, 1, PAYERS[1]);
    for (i, (down, up)) in packages.iter().enumerate().skip(2) {
        let p = &lab.phones[i];
        lango.ctl(&[
            "auth",
            &p.mac.to_string(),
            "--minutes",
            "30",
            "--down-kbps",
            &down.to_string(),
            "--up-kbps",
            &up.to_string(),
        ]);
        online_within(&lab, p, Duration::from_secs(1));
    }
    let status = lango.ctl(&["status"]);
    assert!(status.contains("4 online"), "{status}");

    // All four at once, each at its own package's rate, both ways.
    for i in 0..4 {
        lab.iperf_server(5201 + i as u16);
    }
    let mut failures = vec![];
    for download in [true, false] {
        let measured = lab.iperf_all(download, 4);
        for (i, m) in measured.into_iter().enumerate() {
            let (d, u) = packages[i];
            let (what, kbps) = if download {
                ("download", d)
            } else {
                ("upload", u)
            };
            failures.extend(within_5_percent(
                &format!("lango run, phone {i} {what}"),
                kbps,
                m,
            ));
        }
    }
    assert!(failures.is_empty(), "outside 95-105 %: {failures:?}");

    // The owner kicks B: captive again.
    lango.ctl(&["deauth", &b.mac.to_string()]);
    assert!(lab
        .curl(b, &format!("http://{WAN4}/"), SHORT)
        .redirected_to_portal());
    lango.stop();
}

#[test]
fn one_phone_with_forty_ipv6_addresses_cannot_fill_the_portal() {
    if skip("one_phone_with_forty_ipv6_addresses_cannot_fill_the_portal") {
        return;
    }
    let _alone = ALONE.lock().unwrap_or_else(|p| p.into_inner());
    let lab = Lab::without_portal("dv6", 2);
    let mut lango = Lango::prepare(&lab, "v6");
    lango.start();
    let (a, b) = (&lab.phones[0], &lab.phones[1]);
    // Phone A takes 40 more addresses of the LAN's /64 (as IPv6 privacy addresses do) and opens
    // 4 half-sent requests from each: the portal counts them against A's MAC, not per address.
    let sources: Vec<String> = (1..=40).map(|i| format!("fd00:1::a:{i:x}")).collect();
    for s in &sources {
        lab.exec_ok(
            &a.ns,
            &[
                "ip",
                "-6",
                "addr",
                "add",
                &format!("{s}/64"),
                "dev",
                "eth0",
                "nodad",
            ],
        );
    }
    let helper = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/netns/helper.py");
    let port = PORTAL_PORT.to_string();
    let mut args = vec!["python3", helper, "halfopen", "fd00:1::1", &port, "4", "5"];
    args.extend(sources.iter().map(String::as_str));
    let log = lango.dir.join("halfopen.log");
    lab.spawn(&a.ns, &args, &log);
    let deadline = Instant::now() + Duration::from_secs(30);
    let counts: Value = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Ok(v) = serde_json::from_str(text.trim()) {
            break v;
        }
        assert!(Instant::now() < deadline, "halfopen said: {text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    // While A's connections are held, B's page loads over IPv6.
    let r = lab.curl(b, &format!("http://[fd00:1::1]:{PORTAL_PORT}/"), SHORT);
    println!(
        "one phone, 40 IPv6 addresses: {counts}; another phone's page: {} in {} ms",
        r.status,
        r.took.as_millis()
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(counts["opened"], 160, "{counts}");
    let open = counts["open"].as_u64().unwrap();
    assert!(
        open <= lango::server::MAX_PER_CLIENT as u64,
        "one device kept {open} connections"
    );
    lango.stop();
}

#[test]
fn the_kernel_keeps_its_word_when_lango_dies() {
    if skip("the_kernel_keeps_its_word_when_lango_dies") {
        return;
    }
    let _alone = ALONE.lock().unwrap_or_else(|p| p.into_inner());
    let lab = Lab::without_portal("dkill", 3);
    let mut lango = Lango::prepare(&lab, "kill");
    let flash = lango.add_package("Flash", 8, 3000, 1000);
    lango.start();
    let (a, b, c) = (&lab.phones[0], &lab.phones[1], &lab.phones[2]);

    // A buys 8 seconds and starts a long download; B is given 10 minutes at 4/2 Mbps.
    lango.pay(a, flash, PAYERS[2]);
    let paid = Instant::now();
    online_within(&lab, a, Duration::from_secs(1));
    lango.ctl(&[
        "auth",
        &b.mac.to_string(),
        "--minutes",
        "10",
        "--down-kbps",
        "4000",
        "--up-kbps",
        "2000",
    ]);
    online_within(&lab, b, Duration::from_secs(1));
    let mut stream = lab.start_stream(a);

    // kill -9: nobody is left to enforce anything but the kernel.
    lango.kill9();
    assert!(lab.curl(b, &format!("http://{WAN4}/"), SHORT).reached_wan());
    // An unpaid phone is still redirected, to a portal that is not there: no way out.
    let r = lab.curl(c, &format!("http://{WAN4}/"), SHORT);
    assert!(r.refused_at_once(), "unpaid while lango is dead: {r:?}");
    assert!(lab
        .curl(c, &format!("http://{WAN4}:443/"), SHORT)
        .refused_at_once());
    // A's time runs out on schedule: its download stops and it is captive again.
    let status = stream.wait().expect("curl");
    let ended = paid.elapsed();
    println!("lango dead: 8 s package's download stopped {ended:?} after payment ({status})");
    assert!(!status.success());
    assert!(
        ended > Duration::from_millis(6500) && ended < Duration::from_millis(9500),
        "{ended:?}"
    );
    assert!(!lab.curl(a, &format!("http://{WAN4}/"), SHORT).reached_wan());
    assert!(lab.curl(b, &format!("http://{WAN4}/"), SHORT).reached_wan());

    // Restart: B's session and its shaping come back, A stays out, C gets the portal again.
    let took = lango.start();
    println!("restart: gate restored in {} ms", took.as_millis());
    assert!(lab
        .curl(a, &format!("http://{WAN4}/"), SHORT)
        .redirected_to_portal());
    assert!(lab
        .curl(c, &format!("http://{WAN4}/"), SHORT)
        .redirected_to_portal());
    assert!(lab.curl(b, &format!("http://{WAN4}/"), SHORT).reached_wan());
    assert_eq!(lab.classes("br-lan"), 2, "B's class (and the unshaped one)");
    lab.iperf_server(5201);
    let down = lab.iperf(b, 5201, true, 4);
    let up = lab.iperf(b, 5201, false, 4);
    let failures: Vec<String> = [
        within_5_percent("after restart, download", 4000, down),
        within_5_percent("after restart, upload", 2000, up),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(failures.is_empty(), "outside 95-105 %: {failures:?}");

    // Someone flushes the whole ruleset: Lango puts its table back by itself.
    lab.exec_ok(&lab.router, &["nft", "flush", "ruleset"]);
    let flushed = Instant::now();
    while !lango.table_installed() {
        assert!(
            flushed.elapsed() < Duration::from_secs(5),
            "table not restored in 5 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    println!(
        "nft flush ruleset: table restored after {} ms",
        flushed.elapsed().as_millis()
    );
    lab.nft(FW4); // fw4 restores its own
    assert!(lab.curl(b, &format!("http://{WAN4}/"), SHORT).reached_wan());
    assert!(lab
        .curl(c, &format!("http://{WAN4}/"), SHORT)
        .redirected_to_portal());

    // A clean stop takes everything out of the kernel.
    lango.stop();
    assert!(!lango.table_installed());
    let qdiscs = lab.exec_ok(&lab.router, &["tc", "qdisc", "show"]);
    assert!(!qdiscs.contains("htb") && !qdiscs.contains(IFB), "{qdiscs}");
}

#[test]
fn a_reconnect_code_moves_the_time_and_cuts_the_old_phone_in_the_kernel() {
    if skip("a_reconnect_code_moves_the_time_and_cuts_the_old_phone_in_the_kernel") {
        return;
    }
    let _alone = ALONE.lock().unwrap_or_else(|p| p.into_inner());
    let lab = Lab::without_portal("drec", 2);
    let mut lango = Lango::prepare(&lab, "rec");
    lango.start();
    let (a, b) = (&lab.phones[0], &lab.phones[1]);
    let portal = format!("http://{ROUTER4}:{PORTAL_PORT}");

    // A pays for Standard and starts a long download; the online page shows its code.
    lango.pay(a, 2, PAYERS[3]);
    online_within(&lab, a, Duration::from_secs(1));
    let mut stream = lab.start_stream(a);
    let page = lab.curl(a, &format!("{portal}/?lang=en"), SHORT).body;
    let code = page
        .split("<b class=\"code\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no reconnect code on the online page: {page}"))
        .to_string();

    // B (A's owner on another device, or A after a MAC change) types it.
    // The download flows before the move (so the check after it can fail).
    std::thread::sleep(Duration::from_millis(500));
    let before = lab.rx_bytes(a);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        lab.rx_bytes(a) - before > 100_000,
        "A's download does not flow"
    );
    let r = lab.curl_with(
        b,
        &[
            "-H",
            "Content-Type: application/json",
            "-d",
            &format!(r#"{{"code":"{code}"}}"#),
        ],
        &format!("{portal}/api/reconnect"),
        SHORT,
    );
    assert_eq!(r.status, 200, "reconnect: {r:?}");
    let took = online_within(&lab, b, Duration::from_secs(1));
    println!(
        "reconnect code {code}: the new phone reached the wan {} ms after the answer",
        took.as_millis()
    );
    // A is out at once: its running download gets no more data (the connection is reset or
    // stalls, depending on who speaks next) and it is captive again.
    std::thread::sleep(Duration::from_millis(300));
    let before = lab.rx_bytes(a);
    std::thread::sleep(Duration::from_secs(1));
    let trickle = lab.rx_bytes(a) - before;
    println!(
        "old phone received {trickle} bytes in the second after the move ({:?})",
        stream.try_wait().expect("curl")
    );
    assert!(
        trickle < 20_000,
        "the old phone still downloads: {trickle} B/s"
    );
    let _ = stream.kill();
    let _ = stream.wait();
    assert!(lab
        .curl(a, &format!("http://{WAN4}/"), SHORT)
        .redirected_to_portal());
    let set = lab.client_set();
    assert!(
        set.contains(&b.mac.to_string()) && !set.contains(&a.mac.to_string()),
        "{set}"
    );
    assert_eq!(lab.classes("br-lan"), 2, "B's class (and the unshaped one)");
    lango.stop();
}

#[test]
fn usage_survives_a_stop_and_a_kill_losing_at_most_the_last_minute() {
    if skip("usage_survives_a_stop_and_a_kill_losing_at_most_the_last_minute") {
        return;
    }
    let _alone = ALONE.lock().unwrap_or_else(|p| p.into_inner());
    let lab = Lab::without_portal("duse", 1);
    let mut lango = Lango::prepare(&lab, "usage");
    lango.start();
    let b = &lab.phones[0];
    lango.ctl(&[
        "auth",
        &b.mac.to_string(),
        "--minutes",
        "30",
        "--down-kbps",
        "4000",
        "--up-kbps",
        "2000",
    ]);
    online_within(&lab, b, Duration::from_secs(1));
    lab.iperf_server(5201);
    let percent = |part: u64, whole: u64| part as f64 * 100.0 / whole as f64;

    // A clean stop writes everything counted: the session has what the phone's link received.
    let rx = lab.rx_bytes(b);
    lab.iperf(b, 5201, true, 3);
    let wire1 = lab.rx_bytes(b) - rx;
    lango.stop();
    let (stopped, _) = lango.usage(b.mac);
    println!(
        "clean stop: persisted {stopped} B of {wire1} B received ({:.2} %)",
        percent(stopped, wire1)
    );
    assert!((0.98..=1.02).contains(&(stopped as f64 / wire1 as f64)));

    // Restarted, the kernel's counters start again; a minute of download is persisted by the
    // minute's write, then kill -9 mid-download loses what came after it, and nothing more.
    lango.start();
    online_within(&lab, b, Duration::from_secs(2));
    let rx = lab.rx_bytes(b);
    let started = Instant::now();
    lab.iperf(b, 5201, true, 62);
    let mut stream = lab.start_stream(b);
    std::thread::sleep(Duration::from_secs(3));
    lango.kill9();
    let _ = stream.kill();
    let _ = stream.wait();
    let wire2 = lab.rx_bytes(b) - rx;
    let (killed, _) = lango.usage(b.mac);
    let counted = killed - stopped;
    let minute = 4_000_000 / 8 * 1514 / 1448 * 60;
    println!(
        "kill -9 after {:.0} s: persisted {counted} B of {wire2} B received ({:.1} %; a minute at the package rate is {minute} B)",
        started.elapsed().as_secs_f64(),
        percent(counted, wire2)
    );
    assert!(
        counted <= wire2 + wire2 / 50,
        "counted twice: {counted} > {wire2}"
    );
    assert!(
        counted + minute >= wire2,
        "lost more than a minute: {counted} of {wire2}"
    );

    // Restart after the kill: the counters are re-based, nothing is added twice.
    lango.start();
    std::thread::sleep(Duration::from_secs(2));
    lango.stop();
    let (again, _) = lango.usage(b.mac);
    println!("restart after kill -9 and stop: persisted {again} B (was {killed} B)");
    assert!(again - killed < 100_000, "{again} after {killed}");
}

#[test]
fn a_20_mb_bundle_is_cut_off_after_20_mb_and_the_portal_says_the_data_is_used_up() {
    if skip("a_20_mb_bundle_is_cut_off_after_20_mb_and_the_portal_says_the_data_is_used_up") {
        return;
    }
    let _alone = ALONE.lock().unwrap_or_else(|p| p.into_inner());
    let lab = Lab::without_portal("dbundle", 2);
    let mut lango = Lango::prepare(&lab, "bundle");
    // 4 Mbit/s: a read a second lets at most ~0.5 MB (2.5 %) through past the allowance.
    let bundle = lango.add_bundle("Bundle", 3600, 4000, 2000, Some(20));
    lango.start();
    let b = &lab.phones[0];
    lango.pay(b, bundle, PAYERS[0]);
    online_within(&lab, b, Duration::from_secs(1));
    const ALLOWANCE: u64 = 20_000_000;

    // An HTTP download that would run for minutes, watched on the phone's own link.
    let (rx0, tx0) = (lab.rx_bytes(b), lab.tx_bytes(b));
    let download = Command::new("ip")
        .args(["netns", "exec", &b.ns, "curl", "-s", "-o", "/dev/null"])
        .args(["-w", "%{size_download}", "--max-time", "120"])
        .arg(format!("http://{WAN4}/stream"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl");
    let started = Instant::now();
    let mut reached: Option<Duration> = None;
    let (mut last_rx, mut last_growth) = (0, Duration::ZERO);
    loop {
        let t = started.elapsed();
        let (rx, tx) = (lab.rx_bytes(b) - rx0, lab.tx_bytes(b) - tx0);
        if reached.is_none() && rx + tx >= ALLOWANCE {
            reached = Some(t);
        }
        if rx > last_rx + 1500 {
            (last_rx, last_growth) = (rx, t);
        }
        if t - last_growth > Duration::from_secs(3) {
            break;
        }
        assert!(
            t < Duration::from_secs(100),
            "never cut off: {rx} B received"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = download.wait_with_output().expect("curl");
    let payload: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    let (rx, tx) = (lab.rx_bytes(b) - rx0, lab.tx_bytes(b) - tx0);
    let reached = reached.expect("the allowance was reached");
    let store = lango::store::Store::open(&lango.dir.join("lango.db")).expect("database");
    let ended = store
        .with(|c| lango::store::sessions::latest_for(c, b.mac))
        .expect("session")
        .expect("a session");
    let percent = |n: u64| n as f64 * 100.0 / ALLOWANCE as f64;
    println!(
        "cut off: the phone received {rx} B ({:.1} % of 20 MB) and sent {tx} B (together {:.1} %); HTTP payload {payload} B ({:.1} %); Lango counted {} B ({:.1} %)",
        percent(rx),
        percent(rx + tx),
        percent(payload),
        ended.used.total(),
        percent(ended.used.total())
    );
    println!(
        "allowance reached on the phone's link at {:.2} s, last byte received at {:.2} s: cut {} ms after",
        reached.as_secs_f64(),
        last_growth.as_secs_f64(),
        last_growth.saturating_sub(reached).as_millis()
    );
    assert!(ended.data_used_up(), "ended {:?}", ended.end_reason);
    assert!(
        (0.95..=1.05).contains(&(rx as f64 / ALLOWANCE as f64)),
        "download {rx} B is not 20 MB ± 5 %"
    );
    assert!(
        last_growth.saturating_sub(reached) <= Duration::from_millis(1500),
        "cut {:?} after the allowance was reached",
        last_growth.saturating_sub(reached)
    );

    // Cut off: captive again, nothing passes, and the portal says why (with the packages).
    assert!(lab
        .curl(b, &format!("http://{WAN4}/"), SHORT)
        .redirected_to_portal());
    assert!(!lab.client_set().contains(&b.mac.to_string()));
    let portal = format!("http://{ROUTER4}:{PORTAL_PORT}");
    let page = lab.curl(b, &format!("{portal}/"), SHORT);
    assert!(page.body.contains("Your data is used up."), "{}", page.body);
    assert!(page.body.contains("Bundle"), "the packages to buy more");
    let sw = lab.curl(b, &format!("{portal}/?lang=sw"), SHORT);
    assert!(sw.body.contains("Data yako imekwisha."), "{}", sw.body);
    let api = lab.curl(b, &format!("{portal}/captive-portal/api"), SHORT);
    let v: Value = serde_json::from_str(&api.body).expect("captive json");
    assert_eq!(v["captive"], true, "{v}");

    // Buying again brings it back with a fresh 20 MB.
    lango.pay(b, bundle, PAYERS[0]);
    online_within(&lab, b, Duration::from_secs(1));
    let api = lab.curl(b, &format!("{portal}/captive-portal/api"), SHORT);
    let v: Value = serde_json::from_str(&api.body).expect("captive json");
    let left = v["bytes-remaining"].as_u64().expect("bytes-remaining");
    assert!(left > ALLOWANCE - 100_000 && left <= ALLOWANCE, "{v}");

    // A device at unlimited speed (the owner's free time) is counted too: it has its classes.
    let c = &lab.phones[1];
    lango.ctl(&["auth", &c.mac.to_string(), "--minutes", "5"]);
    online_within(&lab, c, Duration::from_secs(1));
    let rx0 = lab.rx_bytes(c);
    let out = Command::new("ip")
        .args(["netns", "exec", &c.ns, "curl", "-s", "-o", "/dev/null"])
        .args(["--limit-rate", "2M", "--max-time", "3"])
        .arg(format!("http://{WAN4}/stream"))
        .output()
        .expect("curl");
    assert_eq!(out.status.code(), Some(28), "ran its 3 s");
    let rx = lab.rx_bytes(c) - rx0;
    std::thread::sleep(Duration::from_millis(1500));
    let v: Value = serde_json::from_str(&lango.ctl(&["--json", "clients"])).expect("json");
    let counted = v["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .find(|x| x["mac"] == c.mac.to_string())
        .and_then(|x| x["bytes_down"].as_u64())
        .expect("the free device is listed");
    println!("unlimited speed: counted {counted} B of {rx} B received");
    assert!(
        (0.98..=1.02).contains(&(counted as f64 / rx as f64)),
        "counted {counted} of {rx}"
    );
    lango.stop();
}

/// A code sold on a central FreeRADIUS (radcheck/radreply in SQLite, in the router's namespace
/// on loopback) admits a phone at the radreply rate; radacct's octets match what the phone's
/// link moved; a CoA halves the speed at once; a Disconnect cuts the phone off within a second.
#[test]
fn a_radius_code_is_shaped_accounted_changed_and_cut_off_in_the_kernel() {
    let name = "a_radius_code_is_shaped_accounted_changed_and_cut_off_in_the_kernel";
    if skip(name) || !freeradius::installed(name) {
        return;
    }
    let _alone = ALONE.lock().unwrap_or_else(|p| p.into_inner());
    let lab = Lab::without_portal("drad", 1);
    let mut lango = Lango::prepare(&lab, "radius");
    let fr = freeradius::FreeRadius::start_in(&lango.dir.join("freeradius"), Some(&lab.router));
    fr.add_code(
        "mtaa-77",
        &[
            ("Session-Timeout", "3600"),
            ("Mikrotik-Rate-Limit", "2M/4M"),
            ("Acct-Interim-Interval", "60"),
        ],
    );
    let coa_port = 3799;
    let mut conf = std::fs::OpenOptions::new()
        .append(true)
        .open(&lango.config)
        .expect("config");
    use std::io::Write;
    write!(
        conf,
        "config radius 'radius'
	option server '127.0.0.1'
	option auth_port '{}'
	option acct_port '{}'
	option secret '{}'
	option nas_ip '127.0.0.1'
	option coa_listen '127.0.0.1:{coa_port}'
",
        fr.auth_port,
        fr.acct_port,
        freeradius::SECRET
    )
    .expect("config");
    drop(conf);
    lango.start();
    let b = &lab.phones[0];
    // Upload is compared with what reached the wan: what the shaper dropped (and the phone sent
    // again) never got through, and is not the customer's traffic.
    let wan_rx = || -> u64 {
        let path = "/sys/class/net/eth0/statistics/rx_bytes";
        lab.exec_ok(&lab.wan, &["cat", path])
            .trim()
            .parse()
            .expect("rx_bytes")
    };
    let (rx0, up0) = (lab.rx_bytes(b), wan_rx());
    let portal = format!("http://{ROUTER4}:{PORTAL_PORT}");
    let r = lab.curl_with(
        b,
        &[
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"code":"mtaa-77"}"#,
        ],
        &format!("{portal}/api/voucher"),
        SHORT,
    );
    assert_eq!(r.status, 200, "code: {r:?}");
    online_within(&lab, b, Duration::from_secs(1));
    lab.iperf_server(5201);
    let mut off = vec![];
    off.extend(within_5_percent(
        "RADIUS download (tx 4M)",
        4000,
        lab.iperf(b, 5201, true, 5),
    ));
    off.extend(within_5_percent(
        "RADIUS upload (rx 2M)",
        2000,
        lab.iperf(b, 5201, false, 5),
    ));

    // CoA: half the speed, in the kernel when the ACK comes.
    let coa: std::net::SocketAddr = ([127, 0, 0, 1], coa_port).into();
    let out = fr
        .radclient(
            coa,
            "coa",
            freeradius::SECRET,
            "User-Name = \"mtaa-77\"\nMikrotik-Rate-Limit = \"1M/2M\"\n",
        )
        .expect("CoA answered");
    assert!(out.contains("CoA-ACK"), "{out}");
    off.extend(within_5_percent(
        "after CoA download (tx 2M)",
        2000,
        lab.iperf(b, 5201, true, 5),
    ));

    // An Interim-Update on the server's 60 s interval carries the octets so far.
    let db = fr.db();
    let interim = || -> i64 {
        db.query_row(
            "SELECT COALESCE(max(acctsessiontime), 0) FROM radacct WHERE username = 'mtaa-77'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0)
    };
    let until = Instant::now() + Duration::from_secs(90);
    while interim() < 60 {
        assert!(Instant::now() < until, "no Interim-Update in radacct");
        std::thread::sleep(Duration::from_millis(500));
    }

    // Disconnect: ACKed and cut off within a second.
    let started = Instant::now();
    let mac = b.mac.to_string().to_uppercase().replace(':', "-");
    let out = fr
        .radclient(
            coa,
            "disconnect",
            freeradius::SECRET,
            &format!("Calling-Station-Id = \"{mac}\"\n"),
        )
        .expect("Disconnect answered");
    assert!(out.contains("Disconnect-ACK"), "{out}");
    let r = lab.curl(b, &format!("http://{WAN4}/"), Duration::from_millis(500));
    let cut = started.elapsed();
    assert!(!r.reached_wan(), "still online after the Disconnect: {r:?}");
    println!(
        "Disconnect: ACKed and off the wan in {} ms",
        cut.as_millis()
    );
    assert!(cut < Duration::from_secs(1), "{cut:?}");
    let (rx, tx) = (lab.rx_bytes(b) - rx0, wan_rx() - up0);

    // The Stop's octets against what the phone's link moved (the portal's own few kB included).
    let until = Instant::now() + Duration::from_secs(10);
    let (down, up, cause) = loop {
        let row: Option<(i64, i64, String)> = db
            .query_row(
                "SELECT acctoutputoctets, acctinputoctets, acctterminatecause FROM radacct
                 WHERE username = 'mtaa-77' AND acctstoptime IS NOT NULL",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .ok();
        if let Some(r) = row {
            break r;
        }
        assert!(Instant::now() < until, "no Stop in radacct");
        std::thread::sleep(Duration::from_millis(200));
    };
    let pct = |a: i64, b: u64| a as f64 * 100.0 / b as f64;
    println!(
        "radacct Stop: output {down} B of {rx} B received ({:.2} %), input {up} B of {tx} B the wan received ({:.2} %), cause {cause}",
        pct(down, rx),
        pct(up, tx)
    );
    assert_eq!(cause, "Admin-Reset");
    assert!((98.0..=102.0).contains(&pct(down, rx)), "download octets");
    assert!((98.0..=102.0).contains(&pct(up, tx)), "upload octets");
    assert!(off.is_empty(), "rates off: {off:?}");
}
