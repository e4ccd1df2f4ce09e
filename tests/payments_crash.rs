//! The crash test: the real `lango run` (kernel gate and all) inside a network namespace, paid by
//! phones in their own namespaces through the portal's JSON API, confirmed by a `lango
//! daraja-sim` child over TLS (polling and callbacks both, with duplicate callbacks and a busy
//! spell), and killed with SIGKILL at random moments (a seeded xorshift, so a failure can be
//! replayed with LANGO_CRASH_SEED) then restarted, across 60 payments with mixed outcomes. The
//! SQLite file must then show every paid payment granted exactly once, nothing granted for a
//! failed one, nothing left unfinished, and every approval the simulator made paid or accounted
//! for. Needs root (namespaces, nft); prints `SKIPPED: needs root` otherwise. LANGO_CRASH_KEEP=1
//! keeps the logs and the database.

use lango::store::Store;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PAYMENTS: usize = 60;
const PHONES: usize = 6;
const ROUTER_IP: &str = "192.168.77.1";
const PORTAL: &str = "http://192.168.77.1:2050";
const SIM_ADDR: &str = "127.0.0.1:8443";
const CALLBACK_LISTEN: &str = "127.0.0.1:8099";
const CALLBACK_PATH: &str = "/lango/cb/crashTestSecret0123456789";
/// The simulated customer answers after this long.
const SIM_DELAY_MS: u64 = 500;
/// `poll_timeout` of this test's config: a customer who never answers is `timeout` after 5 s.
const POLL_TIMEOUT_S: u64 = 5;
/// What the phones type, and what the simulator's customer does with each (by the last digits).
const NUMBERS: [&str; 8] = [
    "0708374149", // approves (the sandbox test number)
    "0712345678", // approves
    "0711223344", // approves
    "0712341032", // cancels
    "0712340001", // insufficient balance
    "0712342001", // wrong PIN
    "0712341037", // unreachable
    "0712344999", // never answers
];
/// No single wait in this test is longer.
const PATIENCE: Duration = Duration::from_secs(60);

/// Marsaglia's xorshift64: enough randomness to pick kill moments, and replayable.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// The seed of test `name` (LANGO_CRASH_SEED, else `default`), or `None` when not root: the
/// test is then skipped, which CI (LANGO_CI=1, as root) never allows.
fn root_and_seed(name: &str, default: u64) -> Option<u64> {
    if !is_root() {
        assert!(
            std::env::var("LANGO_CI").as_deref() != Ok("1"),
            "CI runs as root: the crash test may not be skipped"
        );
        println!("SKIPPED: needs root (network namespaces and nft): payments_crash {name}");
        return None;
    }
    let seed = std::env::var("LANGO_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    println!("{name} seed {seed} (replay with LANGO_CRASH_SEED={seed})");
    Some(seed)
}

fn must(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The namespaces' names and the test's directory: what phones and children need.
struct Names {
    router: String,
    phones: Vec<String>,
    dir: PathBuf,
}

/// A router namespace with a bridge `br-lan` (the captive interface) and one namespace per
/// phone, each with its own MAC. Dropping it kills the children and deletes the namespaces.
struct Net {
    names: Arc<Names>,
    sim: Option<Child>,
    lango: Option<Child>,
}

impl Net {
    /// `tag` keeps the namespaces of the tests in this file apart (they run at once).
    fn new(tag: &str) -> Net {
        let pid = std::process::id();
        let router = format!("lcr{tag}{pid}");
        let phones: Vec<String> = (0..PHONES).map(|i| format!("lcp{i}{tag}-{pid}")).collect();
        let dir = std::env::temp_dir().join(format!("lango-crash-{tag}{pid}"));
        std::fs::create_dir_all(&dir).unwrap();
        let net = Net {
            names: Arc::new(Names {
                router: router.clone(),
                phones: phones.clone(),
                dir,
            }),
            sim: None,
            lango: None,
        };
        must(&["ip", "netns", "add", &router]);
        let r = ["ip", "-n", router.as_str()];
        must(&[&r[..], &["link", "set", "lo", "up"]].concat());
        must(&[&r[..], &["link", "add", "br-lan", "type", "bridge"]].concat());
        let cidr = format!("{ROUTER_IP}/24");
        must(&[&r[..], &["addr", "add", &cidr, "dev", "br-lan"]].concat());
        must(&[&r[..], &["link", "set", "br-lan", "up"]].concat());
        for (i, ns) in phones.iter().enumerate() {
            must(&["ip", "netns", "add", ns]);
            let port = format!("vp{i}");
            must(
                &[
                    &r[..],
                    &[
                        "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", ns,
                    ],
                ]
                .concat(),
            );
            must(&[&r[..], &["link", "set", &port, "master", "br-lan", "up"]].concat());
            let p = ["ip", "-n", ns.as_str()];
            let mac = format!("02:77:00:00:00:{i:02x}");
            let addr = format!("192.168.77.{}/24", 10 + i);
            must(&[&p[..], &["link", "set", "eth0", "address", &mac]].concat());
            must(&[&p[..], &["addr", "add", &addr, "dev", "eth0"]].concat());
            must(&[&p[..], &["link", "set", "eth0", "up"]].concat());
            must(&[&p[..], &["link", "set", "lo", "up"]].concat());
        }
        net
    }

    fn dir(&self) -> &Path {
        &self.names.dir
    }

    /// Starts `lango daraja-sim` over TLS on SIM_ADDR inside the router namespace, with `extra`
    /// switches; its log goes to `sim.log`.
    fn start_sim(&mut self, extra: &[&str]) {
        let (cert, key) = (self.dir().join("cert.pem"), self.dir().join("key.pem"));
        let mut args = vec![
            "daraja-sim",
            "--listen",
            SIM_ADDR,
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        self.sim = Some(self.names.spawn(&args, "sim.log"));
    }

    /// Starts `lango run` inside the router namespace.
    fn start_lango(&mut self) {
        let config = self.names.dir.join("lango.conf");
        let args = ["run", "--config", config.to_str().unwrap()];
        self.lango = Some(self.names.spawn(&args, "lango.log"));
    }

    /// SIGKILL, as a power cut or the OOM killer would.
    fn kill_lango(&mut self) {
        if let Some(mut c) = self.lango.take() {
            c.kill().expect("SIGKILL");
            c.wait().expect("reaped");
        }
    }

    /// SIGTERM: the clean stop procd does.
    fn stop_lango(&mut self) {
        if let Some(mut c) = self.lango.take() {
            Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status()
                .expect("kill runs");
            c.wait().expect("reaped");
        }
    }
}

impl Names {
    /// Starts `lango ARGS` inside the router namespace, its stderr appended to `log`.
    fn spawn(&self, args: &[&str], log: &str) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(log))
            .unwrap();
        Command::new("ip")
            .args(["netns", "exec", &self.router, env!("CARGO_BIN_EXE_lango")])
            .args(args)
            .env("LANGO_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("lango starts")
    }

    /// One HTTP request from phone `i` with curl: (status, body); status 0 if nobody answered.
    fn http(&self, i: usize, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let url = format!("{PORTAL}{path}");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.phones[i], "curl", "-sS", "-m", "5"])
            .args(["-w", "\n%{http_code}", "-X", method, &url]);
        if let Some(b) = body {
            cmd.args(["-H", "content-type: application/json", "--data-raw", b]);
        }
        let out = cmd.output().expect("curl runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
        (status.trim().parse().unwrap_or(0), body.to_string())
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in [&mut self.lango, &mut self.sim].into_iter().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let n = &self.names;
        for ns in n.phones.iter().chain([&n.router]) {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        if std::thread::panicking() || std::env::var_os("LANGO_CRASH_KEEP").is_some() {
            eprintln!("logs kept in {}", n.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&n.dir);
        }
    }
}

/// The certificate, key and config; `daraja_extra` are more options for the daraja section.
fn write_files(dir: &Path, daraja_extra: &str) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let config = format!(
        "config lango 'main'
	list interface 'br-lan'
	option portal_port '2050'
	option admin_listen '127.0.0.1:8080'
	option admin_http_listen ''
	option admin_cert '{dir}/admin.crt'
	option admin_key '{dir}/admin.key'
	option database '{dir}/lango.db'
	option control_socket '{dir}/lango.sock'

config daraja 'daraja'
	option base_url 'https://{SIM_ADDR}'
	option ca_file '{dir}/cert.pem'
	option consumer_key '{key}'
	option consumer_secret '{secret}'
	option shortcode '174379'
	option passkey '{passkey}'
	option type 'paybill'
	option callback_url 'https://lango.example.com{CALLBACK_PATH}'
	option callback_listen '{CALLBACK_LISTEN}'
	option poll_first '0.3'
	option poll_interval '0.3'
	option poll_timeout '{POLL_TIMEOUT_S}'
{daraja_extra}

config shaping 'shaping'
	option enabled '0'

config limits 'limits'
	option pushes_per_mac '1000'
	option pushes_per_phone '1000'
",
        dir = dir.display(),
        key = lango::sim::DEMO_CONSUMER_KEY,
        secret = lango::sim::DEMO_CONSUMER_SECRET,
        passkey = lango::sim::SANDBOX_PASSKEY,
    );
    std::fs::write(dir.join("lango.conf"), config).unwrap();
}

/// Waits until `check` holds, or panics naming `what`.
fn until(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// A phone's life: start a payment, follow it to a final state, again, while payments are left.
fn phone(net: &Names, i: usize, left: &AtomicUsize, seed: u64, ids: &std::sync::Mutex<Vec<i64>>) {
    let mut rng = XorShift(seed);
    while left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        let number = NUMBERS[rng.below(NUMBERS.len() as u64) as usize];
        let package = 1 + rng.below(4);
        let body = format!(r#"{{"package_id":{package},"phone":"{number}"}}"#);
        let started = Instant::now();
        let id = loop {
            assert!(
                started.elapsed() < PATIENCE,
                "phone {i} cannot start a payment"
            );
            match net.http(i, "POST", "/api/pay", Some(&body)) {
                (202, b) => break json(&b)["id"].as_i64().expect("an id"),
                // An earlier payment whose answer was lost with a killed Lango is still open.
                (409, _) => std::thread::sleep(Duration::from_millis(300)),
                // Lango is down (killed) or starting.
                (0 | 503, _) => std::thread::sleep(Duration::from_millis(100)),
                (s, b) => panic!("phone {i}: POST /api/pay answered {s}: {b}"),
            }
        };
        ids.lock().unwrap().push(id);
        let followed = Instant::now();
        loop {
            assert!(
                followed.elapsed() < PATIENCE,
                "payment {id} never became final"
            );
            match net.http(i, "GET", &format!("/api/pay/{id}"), None) {
                (200, b) if json(&b)["final"] == true => break,
                (200 | 0 | 503, _) => std::thread::sleep(Duration::from_millis(200)),
                (s, b) => panic!("phone {i}: GET /api/pay/{id} answered {s}: {b}"),
            }
        }
    }
}

/// The simulator's approvals: CheckoutRequestID -> amount, from its log.
fn approvals(log: &str) -> HashMap<String, u32> {
    log.lines()
        .filter(|l| l.ends_with("outcome Final(0)"))
        .filter_map(|l| {
            let rest = l.split("sim: STK push ").nth(1)?;
            let mut w = rest.split_whitespace();
            let checkout = w.next()?.to_string();
            let amount = w.nth(1)?.parse().ok()?;
            Some((checkout, amount))
        })
        .collect()
}

#[test]
fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let Some(seed) = root_and_seed("crash test", 0x5eed_1a9c_0ffe_e123) else {
        return;
    };
    let began = Instant::now();
    let mut net = Net::new("");
    write_files(net.dir(), "");
    let callback = format!("http://{CALLBACK_LISTEN}{CALLBACK_PATH}");
    let delay = SIM_DELAY_MS.to_string();
    net.start_sim(&[
        "--delay-ms",
        &delay,
        "--callback-url",
        &callback,
        "--fault",
        "duplicate-callbacks=2",
        "--fault",
        "spike-arrest-queries=8",
        "--fault",
        "html-503-queries=4",
    ]);
    net.start_lango();
    until("the portal to answer", || {
        net.names.http(0, "GET", "/api/packages", None).0 == 200
    });

    let left = Arc::new(AtomicUsize::new(PAYMENTS));
    let ids = Arc::new(std::sync::Mutex::new(vec![]));
    let done = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..PHONES)
        .map(|i| {
            let (names, left, ids) = (net.names.clone(), left.clone(), ids.clone());
            let seed = seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            std::thread::spawn(move || phone(&names, i, &left, seed, &ids))
        })
        .collect();
    let watcher = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut failed = None;
            for w in workers {
                if let Err(e) = w.join() {
                    failed.get_or_insert(e);
                }
            }
            done.store(true, Ordering::SeqCst);
            if let Some(e) = failed {
                std::panic::resume_unwind(e);
            }
        })
    };

    // The killer: SIGKILL at random moments, restart after a random pause.
    let mut rng = XorShift(seed);
    let mut kills = 0;
    loop {
        let pause = Instant::now() + Duration::from_millis(300 + rng.below(1700));
        while Instant::now() < pause && !done.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if done.load(Ordering::SeqCst) {
            break;
        }
        net.kill_lango();
        kills += 1;
        std::thread::sleep(Duration::from_millis(rng.below(400)));
        net.start_lango();
    }
    if let Err(e) = watcher.join() {
        std::panic::resume_unwind(e);
    }
    let db = net.dir().join("lango.db");

    // Lango keeps running: whatever is still open finishes (at most poll_timeout and a grace).
    until("every payment to be final", || {
        let store = Store::open(&db).unwrap();
        let open: i64 = store
            .with(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM payments WHERE state IN ('created', 'pushed')",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        open == 0
    });
    // Late duplicate callbacks land (and must change nothing).
    std::thread::sleep(Duration::from_millis(500));
    net.stop_lango();

    let store = Store::open(&db).unwrap();
    let (by_state, rows, bad_grants, time_mismatch, checkouts) = store
        .with(|c| {
            let mut by_state: HashMap<String, i64> = HashMap::new();
            let mut st = c.prepare("SELECT state, count(*) FROM payments GROUP BY state")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                by_state.insert(r.get(0)?, r.get(1)?);
            }
            // Each paid payment: exactly one grant event; each other payment: none.
            let grants: Vec<(i64, String, i64)> = c
                .prepare(
                    "SELECT p.id, p.state, (SELECT count(*) FROM events e
                       WHERE e.kind = 'session.grant' AND e.payment_id = p.id)
                     FROM payments p",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let bad_grants: Vec<_> = grants
                .iter()
                .filter(|(_, state, n)| (state == "paid") != (*n == 1) || *n > 1)
                .cloned()
                .collect();
            // Per device, the time in its sessions is exactly the time its paid payments bought.
            let time_mismatch: Vec<(String, i64, i64)> = c
                .prepare(
                    "SELECT m.mac, m.bought, COALESCE((SELECT sum(s.expires_at - s.started_at)
                       FROM sessions s WHERE s.mac = m.mac), 0)
                     FROM (SELECT mac, sum(duration_s) AS bought FROM payments
                           WHERE state = 'paid' GROUP BY mac) m",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .filter(|(_, bought, got)| bought != got)
                .collect();
            let checkouts: HashMap<String, (String, i64)> = c
                .prepare(
                    "SELECT checkout_request_id, state, amount_kes FROM payments
                     WHERE checkout_request_id IS NOT NULL",
                )?
                .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
                .collect::<rusqlite::Result<_>>()?;
            Ok((by_state, grants.len(), bad_grants, time_mismatch, checkouts))
        })
        .unwrap();
    let interrupted: i64 = store
        .with(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM payments WHERE state = 'failed' AND checkout_request_id IS NULL",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    let by_callback: i64 = store
        .with(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM payments WHERE state = 'paid' AND result_desc LIKE '%(callback)'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    let adopted: i64 = store
        .with(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM events WHERE kind = 'payment.adopted'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();

    let sim_log = std::fs::read_to_string(net.dir().join("sim.log")).unwrap_or_default();
    let approved = approvals(&sim_log);
    let mut unpaid_approvals = vec![];
    for (checkout, amount) in &approved {
        match checkouts.get(checkout) {
            Some((state, kes)) if state == "paid" && *kes == i64::from(*amount) => {}
            other => unpaid_approvals.push((checkout.clone(), other.cloned())),
        }
    }
    let lost_callbacks = sim_log
        .lines()
        .filter(|l| l.contains("sim: callback to"))
        .count();
    let restarts = std::fs::read_to_string(net.dir().join("lango.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" started in "))
        .count();

    let n = |s: &str| by_state.get(s).copied().unwrap_or(0);
    println!(
        "crash test: {} payments started by phones ({rows} rows), {kills} SIGKILLs, {restarts} starts, {:.1} s",
        ids.lock().unwrap().len(),
        began.elapsed().as_secs_f64()
    );
    println!(
        "  paid {} · cancelled {} · timeout {} · failed {} (of which {interrupted} interrupted mid-push) · unfinished {}",
        n("paid"),
        n("cancelled"),
        n("timeout"),
        n("failed"),
        n("created") + n("pushed")
    );
    println!(
        "  simulator approved {} pushes; paid in Lango: {} ({by_callback} confirmed by callback, the rest by query; {adopted} through an adopted CheckoutRequestID); callback posts that found Lango down: {lost_callbacks}",
        approved.len(),
        approved.len() - unpaid_approvals.len()
    );
    println!(
        "  grants: every paid payment exactly once: {}; failed ones granted: {}; devices whose time differs from what they paid for: {}",
        bad_grants.is_empty(),
        bad_grants.iter().filter(|(_, s, _)| s != "paid").count(),
        time_mismatch.len()
    );

    assert!(
        ids.lock().unwrap().len() >= PAYMENTS,
        "every phone payment started"
    );
    assert!(
        kills >= 5,
        "only {kills} kills: the test did not exercise restarts"
    );
    assert_eq!(n("created") + n("pushed"), 0, "payments left unfinished");
    assert!(
        bad_grants.is_empty(),
        "wrong grants (id, state, grants): {bad_grants:?}"
    );
    assert!(
        time_mismatch.is_empty(),
        "time bought vs granted: {time_mismatch:?}"
    );
    assert!(
        n("paid") > 0 && n("cancelled") + n("failed") + n("timeout") > 0,
        "mixed outcomes"
    );
    // An approval Lango has no paid payment for must be a push whose answer died with Lango and
    // whose callback came while it was down: recorded as failed without a CheckoutRequestID, so
    // the owner can find it (and a later callback would still pay it).
    assert!(
        unpaid_approvals.iter().all(|(_, found)| found.is_none()),
        "approvals Lango recorded but did not pay: {unpaid_approvals:?}"
    );
    assert!(
        unpaid_approvals.len() as i64 <= interrupted,
        "approvals unaccounted for: {unpaid_approvals:?}"
    );
    assert!(
        began.elapsed() < Duration::from_secs(120),
        "the crash test must stay under 2 minutes"
    );
}

/// The late customer's number (the simulator approves it after `--late-ms`).
const LATE_NUMBER: &str = "0712340240";
/// The late customer approves this long after the push: past `poll_timeout` (5 s).
const LATE_MS: u64 = 7000;
/// Phones paying late at once in the late-confirmation crash test.
const LATE_PHONES: usize = 4;

#[test]
fn a_late_success_after_timeout_is_granted_once_across_sigkill() {
    let Some(seed) = root_and_seed("late crash test", 0x1a7e_5eed_0000_0240) else {
        return;
    };
    let mut net = Net::new("l");
    // Re-checks every second for two minutes instead of 2, 5, 15, 60 minutes for a day.
    write_files(
        net.dir(),
        "\toption recheck_intervals '1'\n\toption recheck_for '120'",
    );
    net.start_sim(&["--late-ms", &LATE_MS.to_string()]);
    net.start_lango();
    until("the portal to answer", || {
        net.names.http(0, "GET", "/api/packages", None).0 == 200
    });

    // Every phone pays with the late number; each payment ends `timeout` before the approval.
    let body = format!(r#"{{"package_id":2,"phone":"{LATE_NUMBER}"}}"#);
    let ids: Vec<i64> = (0..LATE_PHONES)
        .map(
            |i| match net.names.http(i, "POST", "/api/pay", Some(&body)) {
                (202, b) => json(&b)["id"].as_i64().expect("an id"),
                (s, b) => panic!("phone {i}: POST /api/pay answered {s}: {b}"),
            },
        )
        .collect();
    let names = net.names.clone();
    let state = |i: usize, id: i64| -> serde_json::Value {
        json(&names.http(i, "GET", &format!("/api/pay/{id}"), None).1)
    };
    for (i, id) in ids.iter().enumerate() {
        until("the payment to time out", || {
            state(i, *id)["state"] == "timeout"
        });
    }

    // SIGKILL at random moments while the re-checks find the approvals, until all are paid.
    let db = net.dir().join("lango.db");
    let paid_late = || -> i64 {
        let store = Store::open(&db).unwrap();
        store
            .with(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM payments WHERE state = 'paid' AND paid_late_at IS NOT NULL",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap()
    };
    let mut rng = XorShift(seed);
    let (mut kills, began) = (0, Instant::now());
    while paid_late() < LATE_PHONES as i64 {
        assert!(
            began.elapsed() < PATIENCE,
            "the late payments were never paid"
        );
        std::thread::sleep(Duration::from_millis(100 + rng.below(700)));
        net.kill_lango();
        kills += 1;
        std::thread::sleep(Duration::from_millis(rng.below(300)));
        net.start_lango();
    }
    until("the portal to answer again", || {
        net.names.http(0, "GET", "/api/packages", None).0 == 200
    });
    // More time for anything that would wrongly grant again.
    std::thread::sleep(Duration::from_secs(3));

    for (i, id) in ids.iter().enumerate() {
        let v = state(i, *id);
        assert_eq!(
            (v["state"].as_str(), v["paid_late"].as_bool()),
            (Some("paid"), Some(true)),
            "{v}"
        );
        let status = json(&net.names.http(i, "GET", "/api/status", None).1);
        assert_eq!(status["online"], true, "phone {i}: {status}");
        let page = net.names.http(i, "GET", "/?lang=en", None).1;
        assert!(
            page.contains("<span class=\"nw\">M-Pesa</span> confirmed your payment late"),
            "phone {i}"
        );
    }
    net.stop_lango();
    let store = Store::open(&db).unwrap();
    let (grants, late_events, seconds, open): (Vec<i64>, i64, Vec<i64>, i64) = store
        .with(|c| {
            let grants = c
                .prepare(
                    "SELECT (SELECT count(*) FROM events e WHERE e.kind = 'session.grant'
                       AND e.payment_id = p.id) FROM payments p ORDER BY p.id",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let late_events = c.query_row(
                "SELECT count(*) FROM events WHERE kind = 'payment.paid_late'",
                [],
                |r| r.get(0),
            )?;
            let seconds = c
                .prepare("SELECT sum(expires_at - started_at) FROM sessions GROUP BY mac")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let open = c.query_row(
                "SELECT count(*) FROM rechecks WHERE state <> 'paid_late'",
                [],
                |r| r.get(0),
            )?;
            Ok((grants, late_events, seconds, open))
        })
        .unwrap();
    println!(
        "late crash test: {LATE_PHONES} late approvals, {kills} SIGKILLs, {:.1} s",
        began.elapsed().as_secs_f64()
    );
    assert!(
        kills >= 3,
        "only {kills} kills: restarts were not exercised"
    );
    assert_eq!(grants, vec![1; LATE_PHONES], "one grant per late payment");
    assert_eq!(late_events, LATE_PHONES as i64);
    assert_eq!(
        seconds,
        vec![10800; LATE_PHONES],
        "each phone got the 3 h it paid for"
    );
    assert_eq!(open, 0, "every re-check ended paid_late");
}
