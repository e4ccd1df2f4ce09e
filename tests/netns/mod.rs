//! Network namespaces for Lango's end-to-end tests: a `router` with a bridge `br-lan` (the captive
//! interface) to `phone` namespaces, and a `wan` namespace behind it with HTTP and iperf3 servers.
//! The router forwards and masquerades like an OpenWrt router (an fw4-like `table inet fw4`).
//! Traffic stays inside the namespaces a `Lab` creates; dropping the `Lab` removes them all.
#![allow(dead_code)]

use lango::config::Config;
use lango::gate::Runner;
use lango::mac::Mac;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const ROUTER4: &str = "192.168.1.1";
pub const WAN4: &str = "198.51.100.2";
pub const WAN6: &str = "fd00:2::2";
/// A second wan address, in the walled garden of `Lab::config`.
pub const GARDEN4: &str = "198.51.100.3";
/// Somewhere on "the Internet" that nobody in the lab owns: only a redirect can answer it.
pub const ELSEWHERE4: &str = "203.0.113.9";
pub const PORTAL_PORT: u16 = 2050;
pub const ADMIN_PORT: u16 = 8080;
pub const IFB: &str = "ifb-lango";
/// A wan port that accepts TCP connections and closes them (connect probes).
pub const OPEN_PORT: u16 = 9;

/// An fw4-like table: lan may go to wan, replies come back, everything leaving wan0 is masqueraded.
pub const FW4: &str = "table inet fw4
delete table inet fw4
table inet fw4 {
	chain input { type filter hook input priority filter; policy accept; }
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname \"br-lan\" oifname \"wan0\" accept
	}
	chain srcnat {
		type nat hook postrouting priority srcnat; policy accept;
		oifname \"wan0\" masquerade
	}
}
";

/// Whether this process is root (the suite needs namespaces, nft and tc).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Prints a visible skip line and returns true when not root (in CI, LANGO_CI=1, it fails).
pub fn skip(test: &str) -> bool {
    if is_root() {
        for tool in [
            "nft",
            "tc",
            "ip",
            "iperf3",
            "curl",
            "python3",
            "conntrack",
            "dnsmasq",
        ] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            assert!(
                found,
                "{test}: `{tool}` is needed (see .ci/packages-gate.txt)"
            );
        }
        return false;
    }
    // CI runs as root; a skip there would hide the gate's tests.
    assert!(
        std::env::var("LANGO_CI").as_deref() != Ok("1"),
        "{test}: CI must run the network-namespace tests as root"
    );
    println!("SKIPPED: needs root: {test}");
    true
}

/// Runs a command that must succeed; panics with its stderr otherwise.
pub fn must(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `ip -n NS -batch -` with `lines`.
fn ip_batch(ns: &str, lines: &str) {
    let mut child = Command::new("ip")
        .args(["-n", ns, "-batch", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ip");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), lines.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("ip");
    assert!(
        out.status.success(),
        "ip -n {ns} -batch: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct Phone {
    pub ns: String,
    pub mac: Mac,
    pub ip4: String,
    pub ip6: String,
}

/// What a `curl` from a phone saw.
#[derive(Debug)]
pub struct Curl {
    /// curl's exit code: 0 ok, 7 could not connect (refused), 28 timed out, 56 reset mid-transfer.
    pub exit: i32,
    pub status: u16,
    pub location: String,
    pub body: String,
    pub took: Duration,
}

impl Curl {
    pub fn reached_wan(&self) -> bool {
        self.exit == 0 && self.status == 200 && self.body == "wan-ok"
    }
    pub fn redirected_to_portal(&self) -> bool {
        self.exit == 0
            && self.status == 302
            && self.location == format!("http://{ROUTER4}:{PORTAL_PORT}/")
    }
    pub fn refused_at_once(&self) -> bool {
        self.exit == 7 && self.took < Duration::from_millis(500)
    }
}

/// A router, a wan and some phones, each in its own network namespace.
pub struct Lab {
    pub router: String,
    pub wan: String,
    pub phones: Vec<Phone>,
    namespaces: Vec<String>,
    children: Mutex<Vec<Child>>,
}

static LABS: AtomicUsize = AtomicUsize::new(0);

/// One iperf3 run: payload bytes the receiver got and the seconds it counted them over.
pub struct Iperf {
    pub received: f64,
    pub seconds: f64,
}

impl Lab {
    /// Builds the topology with `phones` phones (MAC 02:1a:00:00:00:0N, 192.168.1.1N, fd00:1::1N),
    /// the fw4-like table, a stand-in portal (302) and admin listener on the router, and the wan
    /// servers.
    pub fn new(tag: &str, phones: usize) -> Lab {
        let lab = Lab::without_portal(tag, phones);
        lab.serve(
            &lab.router,
            &[
                &format!("portal:{PORTAL_PORT}"),
                &format!("admin:{ADMIN_PORT}"),
            ],
        );
        lab
    }

    /// The same with nothing listening on the router: for running the real `lango run` there.
    pub fn without_portal(tag: &str, phones: usize) -> Lab {
        let id = format!(
            "lg{}{}{}",
            std::process::id(),
            tag,
            LABS.fetch_add(1, Ordering::Relaxed)
        );
        let mut lab = Lab {
            router: format!("{id}-r"),
            wan: format!("{id}-w"),
            phones: vec![],
            namespaces: vec![],
            children: Mutex::new(vec![]),
        };
        for ns in [lab.router.clone(), lab.wan.clone()] {
            lab.add_ns(&ns);
        }
        let (r, w) = (lab.router.clone(), lab.wan.clone());
        // OpenWrt has no br_netfilter; this host may (it would send bridged frames through nft).
        lab.exec_ok(
            &r,
            &[
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
                "net.ipv6.conf.all.forwarding=1",
            ],
        );
        let _ = lab.exec(
            &r,
            &[
                "sysctl",
                "-qw",
                "-e",
                "net.bridge.bridge-nf-call-iptables=0",
                "net.bridge.bridge-nf-call-ip6tables=0",
                "net.bridge.bridge-nf-call-arptables=0",
            ],
        );
        ip_batch(
            &r,
            &format!(
                "link set lo up
link add br-lan type bridge
link set br-lan up
addr add {ROUTER4}/24 dev br-lan
addr add fd00:1::1/64 dev br-lan nodad
link add wan0 type veth peer name eth0 netns {w}
link set wan0 up
addr add 198.51.100.1/24 dev wan0
addr add fd00:2::1/64 dev wan0 nodad
route add default via {WAN4}
route add default via {WAN6}
"
            ),
        );
        // Frames on a real link are at most MTU-sized; veth would pass 64 KB TSO super-frames.
        ip_batch(
            &w,
            &format!(
                "link set lo up
link set eth0 gso_max_segs 1
link set eth0 up
addr add {WAN4}/24 dev eth0
addr add {GARDEN4}/24 dev eth0
addr add {WAN6}/64 dev eth0 nodad
"
            ),
        );
        for i in 0..phones {
            lab.add_phone(i);
        }
        lab.nft(FW4);
        lab.serve(
            &w,
            &[
                "wan:80",
                "wan:443",
                &format!("tcp:{OPEN_PORT}"),
                "udpecho:443",
            ],
        );
        lab
    }

    fn add_ns(&mut self, ns: &str) {
        must(&["ip", "netns", "add", ns]);
        self.namespaces.push(ns.to_string());
    }

    fn add_phone(&mut self, i: usize) {
        let ns = format!("{}-p{i}", self.router.trim_end_matches("-r"));
        self.add_ns(&ns);
        let mac = Mac([0x02, 0x1a, 0, 0, 0, 0x10 + i as u8]);
        let (ip4, ip6) = (
            format!("192.168.1.{}", 10 + i),
            format!("fd00:1::{:x}", 0x10 + i),
        );
        ip_batch(
            &self.router,
            &format!(
                "link add p{i} type veth peer name eth0 netns {ns}\nlink set p{i} master br-lan up\n"
            ),
        );
        ip_batch(
            &ns,
            &format!(
                "link set lo up
link set eth0 address {mac} gso_max_segs 1
link set eth0 up
addr add {ip4}/24 dev eth0
addr add {ip6}/64 dev eth0 nodad
route add default via {ROUTER4}
route add default via fd00:1::1
"
            ),
        );
        self.phones.push(Phone { ns, mac, ip4, ip6 });
    }

    /// A namespace with `count` macvlans on one veth into `br-lan`, each its own device to the
    /// router: MAC 02:c8:00:00:i:(i % 64) (so several share a hash bucket), address 192.168.2.(10+i).
    /// Returns the namespace and the (device, MAC) pairs.
    pub fn add_crowd(&mut self, count: usize) -> (String, Vec<(String, Mac)>) {
        let ns = format!("{}-c", self.router.trim_end_matches("-r"));
        self.add_ns(&ns);
        ip_batch(
            &self.router,
            &format!(
                "link add pc type veth peer name eth0 netns {ns}\nlink set pc master br-lan up\naddr add 192.168.2.1/24 dev br-lan\n"
            ),
        );
        // Only the device owning an address answers ARP for it.
        self.exec_ok(
            &ns,
            &[
                "sysctl",
                "-qw",
                "net.ipv4.conf.all.arp_ignore=1",
                "net.ipv4.conf.default.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2",
                "net.ipv4.conf.default.arp_announce=2",
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0",
            ],
        );
        let mut lines = String::from("link set lo up\nlink set eth0 up\n");
        let mut devs = vec![];
        for i in 0..count {
            let mac = Mac([0x02, 0xc8, 0, 0, i as u8, (i % 64) as u8]);
            let dev = format!("mv{i}");
            lines += &format!(
                "link add {dev} link eth0 address {mac} type macvlan mode private
link set {dev} up
addr add 192.168.2.{}/24 dev {dev}
route add default via 192.168.2.1 dev {dev} metric {}
",
                10 + i,
                100 + i
            );
            devs.push((dev, mac));
        }
        ip_batch(&ns, &lines);
        (ns, devs)
    }

    /// The gate's config for this lab: `br-lan` captive, the garden address walled in.
    pub fn config(&self, trusted: &[Mac]) -> Config {
        self.config_with(trusted, &[])
    }

    /// `config` with more captive interfaces besides `br-lan`.
    pub fn config_with(&self, trusted: &[Mac], more: &[&str]) -> Config {
        let mut text = String::from("config lango 'main'\n\tlist interface 'br-lan'\n");
        for i in more {
            text += &format!("\tlist interface '{i}'\n");
        }
        text += &format!(
            "	option portal_port '{PORTAL_PORT}'
	option admin_listen '0.0.0.0:{ADMIN_PORT}'
	list walled_garden '{GARDEN4}/32'
"
        );
        for m in trusted {
            text += &format!("\tlist trusted '{m}'\n");
        }
        text += &format!("config shaping 'shaping'\n\toption enabled '1'\n\toption ifb '{IFB}'\n");
        Config::parse(&text, "lab").expect("lab config")
    }

    /// Runs the gate's commands inside the router namespace.
    pub fn runner(&self) -> Runner {
        Runner::in_netns(&self.router)
    }

    pub fn exec(&self, ns: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .output()
            .expect("ip netns exec")
    }

    pub fn exec_ok(&self, ns: &str, args: &[&str]) -> String {
        let out = self.exec(ns, args);
        assert!(
            out.status.success(),
            "{ns}: {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Applies an nft script in the router.
    pub fn nft(&self, script: &str) {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.router, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nft");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), script.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("nft");
        assert!(
            out.status.success(),
            "nft: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the helper's servers in `ns` and waits until they listen.
    pub fn serve(&self, ns: &str, specs: &[&str]) {
        let helper = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/netns/helper.py");
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "python3", helper, "serve"])
            .args(specs)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("ready line");
        assert_eq!(
            line.trim(),
            "ready",
            "servers {specs:?} in {ns} did not start"
        );
        self.children.lock().unwrap().push(child);
    }

    /// Starts an iperf3 server on the wan at `port`.
    pub fn iperf_server(&self, port: u16) {
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.wan,
                "iperf3",
                "-s",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("iperf3");
        self.children.lock().unwrap().push(child);
        self.wait_listening(&self.wan, port, Duration::from_secs(5));
    }

    /// GET `url` from `phone` with curl, giving up after `max`.
    pub fn curl(&self, phone: &Phone, url: &str, max: Duration) -> Curl {
        self.curl_with(phone, &[], url, max)
    }

    /// curl from `phone` with `extra` options (headers, a body).
    pub fn curl_with(&self, phone: &Phone, extra: &[&str], url: &str, max: Duration) -> Curl {
        let started = Instant::now();
        let max = format!("{:.1}", max.as_secs_f64());
        let mut args = vec!["curl", "-sg", "--max-time", &max, "-o", "-"];
        args.extend(["-w", "\n%{http_code} %{redirect_url}"]);
        args.extend(extra);
        args.push(url);
        let out = self.exec(&phone.ns, &args);
        let took = started.elapsed();
        let text = String::from_utf8_lossy(&out.stdout);
        let (body, tail) = text.rsplit_once('\n').unwrap_or(("", &text));
        let mut tail = tail.split_whitespace();
        Curl {
            exit: out.status.code().unwrap_or(-1),
            status: tail.next().and_then(|s| s.parse().ok()).unwrap_or(0),
            location: tail.next().unwrap_or("").to_string(),
            body: body.to_string(),
            took,
        }
    }

    /// Runs `args` in `ns` in the background, stdout and stderr to `log`; killed with the lab.
    pub fn spawn(&self, ns: &str, args: &[&str], log: &std::path::Path) {
        let file = std::fs::File::create(log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .expect("spawn");
        self.children.lock().unwrap().push(child);
    }

    /// Waits until something listens on TCP `port` in `ns`.
    pub fn wait_listening(&self, ns: &str, port: u16, within: Duration) {
        let deadline = Instant::now() + within;
        let filter = format!("sport = :{port}");
        while self
            .exec_ok(ns, &["ss", "-Hltn", &filter])
            .trim()
            .is_empty()
        {
            assert!(
                Instant::now() < deadline,
                "nothing listens on {port} in {ns}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts an endless download of the wan's /stream on `phone`; curl exits when it breaks.
    pub fn start_stream(&self, phone: &Phone) -> Child {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &phone.ns,
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "--max-time",
                "20",
            ])
            .arg(format!("http://{WAN4}/stream"))
            .spawn()
            .expect("curl")
    }

    /// Bytes the phone has received so far.
    pub fn rx_bytes(&self, phone: &Phone) -> u64 {
        self.link_bytes(phone, "rx_bytes")
    }

    /// Bytes the phone has sent so far.
    pub fn tx_bytes(&self, phone: &Phone) -> u64 {
        self.link_bytes(phone, "tx_bytes")
    }

    fn link_bytes(&self, phone: &Phone, what: &str) -> u64 {
        let path = format!("/sys/class/net/eth0/statistics/{what}");
        self.exec_ok(&phone.ns, &["cat", &path])
            .trim()
            .parse()
            .expect(what)
    }

    /// TCP connects from each device of `ns` to `host:port` at once: device -> ok/refused/timeout.
    pub fn connect_from(&self, ns: &str, host: &str, port: u16, devs: &[String]) -> Value {
        let helper = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/netns/helper.py");
        let mut args = vec!["python3", helper, "connect", host];
        let port = port.to_string();
        args.push(&port);
        args.extend(devs.iter().map(String::as_str));
        serde_json::from_str(&self.exec_ok(ns, &args)).expect("connect json")
    }

    /// One UDP datagram from `phone` to the wan's echo on `host:443`: ok, refused or timeout.
    pub fn udp(&self, phone: &Phone, host: &str) -> String {
        let helper = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/netns/helper.py");
        self.exec_ok(&phone.ns, &["python3", helper, "udp", host, "443"])
            .trim()
            .to_string()
    }

    /// iperf3 from `phone` to the wan server on `port` for `secs`; `download` reverses it.
    /// Returns the receiver's Mbit/s of payload over the whole run: every byte sent arrives
    /// before the receiver stops counting, so losses and reordering cannot shift bytes out of
    /// (or into) the measured window, as they can with per-interval figures at low rates.
    pub fn iperf(&self, phone: &Phone, port: u16, download: bool, secs: u32) -> f64 {
        let run = self.iperf_bytes(phone, port, download, secs);
        run.received * 8.0 / run.seconds / 1e6
    }

    /// iperf3 as in `iperf`, in bytes.
    pub fn iperf_bytes(&self, phone: &Phone, port: u16, download: bool, secs: u32) -> Iperf {
        let (port, secs) = (port.to_string(), secs.to_string());
        let mut args = vec!["iperf3", "-c", WAN4, "-p", &port, "-t", &secs, "-J"];
        if download {
            args.push("-R");
        }
        let j: Value = serde_json::from_str(&self.exec_ok(&phone.ns, &args)).expect("iperf3 json");
        let received = &j["end"]["sum_received"];
        let (bytes, seconds) = (
            received["bytes"].as_f64().unwrap_or(0.0),
            received["seconds"].as_f64().unwrap_or(0.0),
        );
        assert!(seconds > 0.0, "iperf3 measured nothing: {j}");
        Iperf {
            received: bytes,
            seconds,
        }
    }

    /// iperf3 from every phone at once (phone i against port 5201 + i): Mbit/s per phone.
    pub fn iperf_all(&self, download: bool, secs: u32) -> Vec<f64> {
        std::thread::scope(|s| {
            let runs: Vec<_> = (self.phones.iter().enumerate())
                .map(|(i, p)| s.spawn(move || self.iperf(p, 5201 + i as u16, download, secs)))
                .collect();
            runs.into_iter().map(|r| r.join().expect("iperf")).collect()
        })
    }

    /// Number of HTB classes on `dev` in the router, the unshaped default included.
    pub fn classes(&self, dev: &str) -> usize {
        self.exec_ok(&self.router, &["tc", "class", "show", "dev", dev])
            .lines()
            .filter(|l| l.starts_with("class htb"))
            .count()
    }

    /// Packets sent by each HTB class on `dev` but the default: (classid, packets).
    pub fn class_packets(&self, dev: &str) -> Vec<(String, u64)> {
        let out = self.exec_ok(&self.router, &["tc", "-s", "class", "show", "dev", dev]);
        let mut res = vec![];
        let mut current: Option<String> = None;
        for line in out.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.first() == Some(&"class") && w.len() > 2 {
                current = Some(w[2].to_string());
            } else if w.first() == Some(&"Sent") && w.len() > 3 {
                if let Some(id) = current.take() {
                    if id != "1:1" {
                        res.push((id, w[3].parse().unwrap_or(0)));
                    }
                }
            }
        }
        res
    }

    /// The MACs in the kernel's client set.
    pub fn client_set(&self) -> String {
        self.exec_ok(
            &self.router,
            &["nft", "list", "set", "inet", "lango", "clients"],
        )
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for mut c in self
            .children
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
