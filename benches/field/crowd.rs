//! The portal under a crowd of phones, measured from outside the way the world uses it: `lango
//! demo` as a child process (the shipped static musl binary when it is built), every simulated phone
//! on its own loopback source address (127.1.x.y), so the per-address cap sees phones, not one
//! script. Every row says how many phones were served; a row that served fewer than asked is
//! reported and makes the bench exit non-zero. RSS is sampled while the load runs.
//! Touches: loopback sockets, the child's /proc entries. Never: the kernel's tables.

use super::Row;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A phone that has no answer by then counts as not served (SYN retries after 1 s still fit).
const PHONE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long each keep-alive row runs.
const KEEP_ALIVE_SECS: f64 = 3.0;
/// RSS is read this often while a load runs: short enough to catch the peak of a burst.
const RSS_EVERY: Duration = Duration::from_millis(20);
/// docs/design.md's budget is for RSS this long after a load.
const SETTLE: Duration = Duration::from_secs(10);

/// Rows that served fewer phones than asked; the bench fails when there are any.
static SHORT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Exits non-zero, naming the rows, if any row served fewer phones than it asked for.
pub fn exit_if_short() {
    let short = SHORT.lock().unwrap_or_else(|p| p.into_inner());
    if !short.is_empty() {
        eprintln!("\nFAILED: rows that served fewer phones than asked:");
        for s in short.iter() {
            eprintln!("  {s}");
        }
        std::process::exit(1);
    }
}

/// "served N/N phones", and a failure recorded when fewer than `asked`.
fn served(what: &str, got: usize, asked: usize) -> String {
    served_of(what, got, asked, "phones")
}

fn served_of(what: &str, got: usize, asked: usize, unit: &str) -> String {
    if got < asked {
        SHORT
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(format!("{what}: {got} of {asked} {unit} served"));
        format!("ONLY {got}/{asked} {unit} served")
    } else {
        format!("served {got}/{asked} {unit}")
    }
}

/// Phone `i`'s own source address: 127.1.x.y, y never 0 or 255.
pub fn phone_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 1, (i / 254) as u8, (i % 254 + 1) as u8)
}

async fn connect_from(ip: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind((ip, 0).into())?;
    let s = s.connect(to).await?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// `lango demo` as a child process, on fixed loopback ports.
pub struct Demo {
    child: Child,
    pub portal: SocketAddr,
    pub socket: PathBuf,
    /// Which binary runs, for the table.
    pub binary: String,
}

impl Demo {
    pub async fn start() -> Demo {
        let portal: SocketAddr = "127.0.0.1:28050".parse().expect("literal address");
        let (bin, binary) = shipped_binary();
        let child = Command::new(&bin)
            .args([
                "demo",
                "--portal",
                &portal.to_string(),
                "--admin",
                "127.0.0.1:28443",
                "--admin-http",
                "127.0.0.1:28080",
            ])
            .env("LANGO_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("lango demo starts");
        let socket = std::env::temp_dir()
            .join(format!("lango-demo-{}", child.id()))
            .join("lango.sock");
        for _ in 0..200 {
            if TcpStream::connect(portal).await.is_ok() && socket.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        Demo {
            child,
            portal,
            socket,
            binary,
        }
    }

    pub fn rss_mb(&self) -> f64 {
        rss_kb(self.child.id()) as f64 / 1024.0
    }

    /// Samples RSS until `load` finishes: its result and the peak in MB.
    async fn peak_during<T>(&self, load: impl std::future::Future<Output = T>) -> (T, f64) {
        let pid = self.child.id();
        let stop = Arc::new(AtomicBool::new(false));
        let watch = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut peak = rss_kb(pid);
                while !stop.load(Ordering::Relaxed) {
                    peak = peak.max(rss_kb(pid));
                    tokio::time::sleep(RSS_EVERY).await;
                }
                peak.max(rss_kb(pid))
            })
        };
        let out = load.await;
        stop.store(true, Ordering::Relaxed);
        let peak = watch.await.unwrap_or(0);
        (out, peak as f64 / 1024.0)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What ships: `LANGO_BENCH_BIN`, else the static musl build that `scripts/build-ipk.sh x86_64`
/// leaves in target/, else this host build (glibc: its RSS is not the router's).
fn shipped_binary() -> (PathBuf, String) {
    let host = PathBuf::from(env!("CARGO_BIN_EXE_lango"));
    if let Some(p) = std::env::var_os("LANGO_BENCH_BIN") {
        let p = PathBuf::from(p);
        let shown = format!("{} (LANGO_BENCH_BIN)", p.display());
        return (p, shown);
    }
    let musl = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/x86_64-unknown-linux-musl/release/lango");
    if !musl.exists() {
        return (
            host,
            "host build, NOT the musl binary (run scripts/build-ipk.sh x86_64 first)".into(),
        );
    }
    let built = std::fs::metadata(&musl).and_then(|m| m.modified()).ok();
    let stale = built < newest(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let shown = format!(
        "static musl (target/x86_64-unknown-linux-musl){}",
        if stale {
            ", OLDER than src/: rebuild with scripts/build-ipk.sh x86_64"
        } else {
            ""
        }
    );
    (musl, shown)
}

/// The newest modification time of the files under `dir`.
fn newest(dir: &Path) -> Option<std::time::SystemTime> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            if m.is_dir() {
                newest(&e.path())
            } else {
                m.modified().ok()
            }
        })
        .max()
}

/// CPU time `pid` has used (user + system), in clock ticks: the server's cost per request, which
/// a busy shared machine disturbs far less than wall-clock rates.
fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces), from field 3 on.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux everywhere Lango runs).
const TICKS_PER_SEC: f64 = 100.0;

pub fn rss_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// What a phone asks first: Android's captive-portal probe, answered with a 302 to the portal.
const PROBE: &[u8] = b"GET /generate_204 HTTP/1.1\r\nHost: connectivitycheck.gstatic.com\r\n\r\n";
const PROBE_CLOSE: &[u8] = b"GET /generate_204 HTTP/1.1\r\nHost: connectivitycheck.gstatic.com\r\nConnection: close\r\n\r\n";

fn page_request(portal: SocketAddr) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: {portal}\r\n\r\n").into_bytes()
}

/// Reads one HTTP/1.1 response (headers + Content-Length body) from `s`; its status code.
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status = head
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(status);
        }
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Latencies in microseconds -> (per second over `secs`, p50 ms, p99 ms).
fn summarise(mut lat: Vec<u32>, secs: f64) -> (f64, f64, f64) {
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    (lat.len() as f64 / secs, pct(0.50), pct(0.99))
}

/// What a load measured: latencies (µs) and how many phones got what they asked for.
struct Load {
    lat: Vec<u32>,
    served: usize,
}

/// `phones` phones, each on one keep-alive connection from its own address, sending `req` back to
/// back for `secs`; a phone is served when every answer it got had status `want`.
async fn keep_alive(portal: SocketAddr, req: Vec<u8>, want: u16, phones: usize, secs: f64) -> Load {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let req: Arc<[u8]> = req.into();
    let tasks: Vec<_> = (0..phones)
        .map(|i| {
            let req = req.clone();
            tokio::spawn(async move {
                let mut lat = vec![];
                let Ok(Ok(mut s)) =
                    tokio::time::timeout(PHONE_TIMEOUT, connect_from(phone_ip(i), portal)).await
                else {
                    return (lat, false);
                };
                let mut buf = Vec::with_capacity(32 * 1024);
                let mut ok = true;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if s.write_all(&req).await.is_err() {
                        break;
                    }
                    match read_response(&mut s, &mut buf).await {
                        Ok(status) => ok &= status == want,
                        Err(_) => break,
                    }
                    lat.push(t.elapsed().as_micros() as u32);
                }
                let served = ok && !lat.is_empty();
                (lat, served)
            })
        })
        .collect();
    let mut load = Load {
        lat: vec![],
        served: 0,
    };
    for t in tasks {
        let (lat, ok) = t.await.unwrap_or_default();
        load.lat.extend(lat);
        load.served += usize::from(ok);
    }
    load
}

/// One request on a fresh connection from `ip`; its status.
async fn once(ip: Ipv4Addr, portal: SocketAddr, req: &[u8]) -> std::io::Result<u16> {
    let mut s = connect_from(ip, portal).await?;
    s.write_all(req).await?;
    let mut buf = vec![];
    read_response(&mut s, &mut buf).await
}

/// `phones` phones join at once: each sends the captive probe (302 expected), then loads the
/// portal page (200), each on a fresh connection from its own address. Latency: the whole join.
async fn burst(portal: SocketAddr, phones: usize) -> Load {
    let page: Arc<[u8]> = page_request(portal).into();
    let go = Arc::new(tokio::sync::Barrier::new(phones));
    let tasks: Vec<_> = (0..phones)
        .map(|i| {
            let (page, go) = (page.clone(), go.clone());
            tokio::spawn(async move {
                let ip = phone_ip(i);
                go.wait().await;
                let t = Instant::now();
                let join = async {
                    once(ip, portal, PROBE_CLOSE).await.ok() == Some(302)
                        && once(ip, portal, &page).await.ok() == Some(200)
                };
                match tokio::time::timeout(PHONE_TIMEOUT, join).await {
                    Ok(true) => Some(t.elapsed().as_micros() as u32),
                    _ => None,
                }
            })
        })
        .collect();
    let mut lat = vec![];
    for t in tasks {
        lat.extend(t.await.ok().flatten());
    }
    let served = lat.len();
    Load { lat, served }
}

/// A row of `phones` joining at once: their latency, `also` (what else was measured), how many
/// were served.
fn join_row(label: String, load: Load, phones: usize, also: &str, budget: &str) -> Row {
    let got = load.served;
    let (_, p50, p99) = summarise(load.lat, 1.0);
    let measured = format!(
        "p50 {p50:.1} ms, p99 {p99:.1} ms, {also}{}",
        served(&label, got, phones)
    );
    Row(label, measured, budget.into())
}

/// A bare responder on two worker threads (as Lango runs): reads a request's head, answers the
/// captive probe with a 302 and anything else with a 9 KB page, nothing more. The floor the
/// join rows are read against.
fn floor_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let socket = TcpSocket::new_v4().expect("socket");
            socket.bind(([127, 0, 0, 1], 0).into()).expect("bind");
            let listener = socket.listen(4096).expect("listen");
            tx.send(listener.local_addr().expect("address")).expect("send");
            let mut page = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
                9000
            )
            .into_bytes();
            page.resize(page.len() + 9000, b'x');
            let page: Arc<[u8]> = page.into();
            while let Ok((mut s, _)) = listener.accept().await {
                let page = page.clone();
                tokio::spawn(async move {
                    let _ = s.set_nodelay(true);
                    let mut head = vec![0u8; 8192];
                    let mut n = 0;
                    while find(&head[..n], b"\r\n\r\n").is_none() {
                        match s.read(&mut head[n..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => n += k,
                        }
                    }
                    let answer: &[u8] = if head.starts_with(b"GET /generate_204") {
                        b"HTTP/1.1 302 Found\r\nLocation: http://10.0.0.1:2050/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    } else {
                        &page
                    };
                    let _ = s.write_all(answer).await;
                    // Until the phone closes (it reads one answer, then hangs up).
                    let _ = tokio::time::timeout(PHONE_TIMEOUT, s.read(&mut head)).await;
                });
            }
        });
    });
    rx.recv().expect("the responder listens")
}

/// New connections at `rate`/s without keep-alive for `secs`, spread over `phones` addresses.
async fn open_loop(portal: SocketAddr, rate: u32, secs: u32, phones: usize) -> Load {
    let mut tasks = vec![];
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let per_tick = (rate / 100) as usize;
    for k in 0..(secs * 100) as usize {
        tick.tick().await;
        for j in 0..per_tick {
            let ip = phone_ip((k * per_tick + j) % phones);
            tasks.push(tokio::spawn(async move {
                let t = Instant::now();
                let status = tokio::time::timeout(PHONE_TIMEOUT, once(ip, portal, PROBE_CLOSE))
                    .await
                    .ok()?
                    .ok()?;
                (status == 302).then(|| t.elapsed().as_micros() as u32)
            }));
        }
    }
    let mut lat = vec![];
    for t in tasks {
        lat.extend(t.await.ok().flatten());
    }
    let served = lat.len();
    Load { lat, served }
}

/// Phones holding an idle keep-alive connection in the per-connection row.
const IDLE_PHONES: usize = 512;

/// `phones` phones each send one probe on a connection of their own and keep it open, idle: RSS
/// (MB) with all of them connected, what an open connection costs while it waits, and how many
/// got their answer. They leave when this returns.
async fn idle_connections(demo: &Demo, phones: usize) -> (f64, usize) {
    let mut held = vec![];
    for i in 0..phones {
        let Ok(Ok(mut s)) =
            tokio::time::timeout(PHONE_TIMEOUT, connect_from(phone_ip(i), demo.portal)).await
        else {
            continue;
        };
        let mut buf = vec![];
        if s.write_all(PROBE).await.is_ok()
            && read_response(&mut s, &mut buf).await.ok() == Some(302)
        {
            held.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    (demo.rss_mb(), held.len())
}

/// The portal rows: keep-alive crowds, RSS under them and after, bursts of phones joining,
/// and a stream of new connections.
pub async fn portal(demo: &Demo, rows: &mut Vec<Row>) {
    rows.push(Row(
        "binary measured".into(),
        demo.binary.clone(),
        "the static musl binary (what ships)".into(),
    ));
    let idle = demo.rss_mb();
    rows.push(Row(
        "RSS idle".into(),
        format!("{idle:.1} MB"),
        "≤ 4.8 MB (openNDS 4.8 MB idle)".into(),
    ));
    let (rss, held) = idle_connections(demo, IDLE_PHONES).await;
    let label = format!("RSS with {IDLE_PHONES} idle keep-alive phones (one probe each)");
    rows.push(Row(
        label.clone(),
        format!(
            "{rss:.1} MB, {:.1} KiB a connection, {}",
            (rss - idle) * 1024.0 / IDLE_PHONES as f64,
            served(&label, held, IDLE_PHONES)
        ),
        String::new(),
    ));
    for (what, req, want) in [
        ("CPD probe 302", PROBE.to_vec(), 302),
        ("portal page", page_request(demo.portal), 200),
    ] {
        for phones in [1usize, 64, 512] {
            let cpu = cpu_ticks(demo.child.id());
            let (load, peak) = demo
                .peak_during(keep_alive(
                    demo.portal,
                    req.clone(),
                    want,
                    phones,
                    KEEP_ALIVE_SECS,
                ))
                .await;
            let cpu_us = cpu_ticks(demo.child.id()).saturating_sub(cpu) as f64 / TICKS_PER_SEC
                * 1e6
                / load.lat.len().max(1) as f64;
            let (rps, p50, p99) = summarise(load.lat, KEEP_ALIVE_SECS);
            let budget = match (what, phones) {
                ("CPD probe 302", 1) => "≥ 13,700 req/s (1000× openNDS 13.7/s, p50 71 ms)",
                _ => "",
            };
            let label = format!("{what}, {phones} keep-alive phones");
            rows.push(Row(
                label.clone(),
                format!(
                    "{rps:.0} req/s, p50 {p50:.2} ms, p99 {p99:.2} ms, {cpu_us:.0} µs CPU/req, {}",
                    served(&label, load.served, phones)
                ),
                budget.into(),
            ));
            if phones == 512 {
                rows.push(Row(
                    format!("RSS during 512-phone {what} load"),
                    format!("{peak:.1} MB peak"),
                    "≤ 12 MB (openNDS grows to 26 MB)".into(),
                ));
            }
        }
        tokio::time::sleep(SETTLE).await;
        rows.push(Row(
            format!("RSS 10 s after the {what} loads"),
            format!("{:.1} MB", demo.rss_mb()),
            "≤ 6 MB (openNDS stays at 26 MB)".into(),
        ));
    }
    for (phones, budget) in [
        (50usize, "p99 ≤ 10 ms (openNDS p50 3.4 s)"),
        (512, "p99 ≤ 50 ms"),
        (1000, "p99 ≤ 100 ms"),
    ] {
        let cpu = cpu_ticks(demo.child.id());
        let (load, peak) = demo.peak_during(burst(demo.portal, phones)).await;
        let cpu_us = cpu_ticks(demo.child.id()).saturating_sub(cpu) as f64 / TICKS_PER_SEC * 1e6
            / phones as f64;
        let label = format!("{phones} phones join at once (probe, then page)");
        let also = format!("{cpu_us:.0} µs CPU/phone, RSS peak {peak:.1} MB, ");
        rows.push(join_row(label, load, phones, &also, budget));
    }
    tokio::time::sleep(SETTLE).await;
    rows.push(Row(
        "RSS 10 s after the bursts".into(),
        format!("{:.1} MB", demo.rss_mb()),
        "≤ 6 MB".into(),
    ));
    // What this machine and this load generator allow at all: the same joins against a
    // responder that does nothing but answer (no HTTP parsing, no caps, no database).
    let floor = floor_server();
    for phones in [512usize, 1000] {
        let load = burst(floor, phones).await;
        let label = format!("floor: {phones} phones join a bare responder");
        let budget = "(the machine's floor for the rows above)";
        rows.push(join_row(label, load, phones, "", budget));
    }
    const RATE: u32 = 2000;
    const SECS: u32 = 3;
    let started = Instant::now();
    let load = open_loop(demo.portal, RATE, SECS, 1000).await;
    let label = format!("CPD probe, {RATE} new conns/s from 1000 phones, no keep-alive");
    let (rps, p50, p99) = summarise(load.lat, started.elapsed().as_secs_f64());
    rows.push(Row(
        label.clone(),
        format!(
            "{rps:.0} conn/s done, p50 {p50:.2} ms, p99 {p99:.2} ms, {}",
            served_of(&label, load.served, (RATE * SECS) as usize, "connections")
        ),
        "all answered".into(),
    ));
}
