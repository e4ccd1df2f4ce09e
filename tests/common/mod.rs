//! A Lango on loopback for integration tests: real HTTP, real SQLite, the simulator over HTTP
//! (or HTTPS with a self-signed certificate), optionally Daraja's callbacks to Lango's callback
//! listener, a recording gate, a neighbour table file, and a clock the test moves.
#![allow(dead_code)]

pub mod owner;

use lango::clock::{Clock, ManualClock};
use lango::config::Config;
use lango::daemon::{Daemon, Parts};
use lango::gate::neigh::Neighbours;
use lango::gate::LogGate;
use lango::mac::Mac;
use lango::sim::{SimOptions, Simulator};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Phones 1..=20 live at 127.0.0.N with MAC 02:aa:00:00:00:NN; 127.0.0.99 has no neighbour entry.
pub fn phone_ip(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

pub fn phone_mac(n: u8) -> Mac {
    Mac([0x02, 0xaa, 0, 0, 0, n])
}

pub const UNKNOWN_PHONE: u8 = 99;

/// The secret path of the Lab's callback URL.
pub const CALLBACK_PATH: &str = "/lango/cb/Zq3xW9kP2mT7vR4nY8sB";

/// How a Lab differs from the default one.
#[derive(Clone)]
pub struct LabOptions {
    pub sim: SimOptions,
    /// Serve the simulator over HTTPS (a self-signed certificate trusted through `ca_file`).
    pub tls: bool,
    /// Start Lango's callback listener and have the simulator post its callbacks there.
    pub callbacks: bool,
    /// Last changes to Lango's config (after the Lab's own).
    pub configure: Arc<dyn Fn(&mut Config) + Send + Sync>,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            sim: SimOptions::default(),
            tls: false,
            callbacks: false,
            configure: Arc::new(|_| {}),
        }
    }
}

pub struct Lab {
    pub dir: PathBuf,
    pub sim_url: String,
    pub sim: Simulator,
    pub clock: ManualClock,
    pub gate: Arc<LogGate>,
    pub daemon: Option<Daemon>,
    pub portal: SocketAddr,
    pub opts: LabOptions,
    sim_task: tokio::task::JoinHandle<()>,
}

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "lango-test-{name}-{}-{}",
        std::process::id(),
        lango::random::hex::<4>()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Lab {
    /// Starts a simulator and a Lango. `sim_delay`: how long the simulated customer takes.
    pub async fn start(name: &str, sim_delay: Duration) -> Lab {
        let mut opts = LabOptions::default();
        opts.sim.delay = sim_delay;
        Lab::start_with(name, opts).await
    }

    /// Starts a simulator and a Lango as `opts` say.
    pub async fn start_with(name: &str, opts: LabOptions) -> Lab {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = temp_dir(name);
        let mut arp = String::from(
            "IP address       HW type     Flags       HW address            Mask     Device\n",
        );
        for n in 1..=20u8 {
            arp += &format!(
                "{}        0x1         0x2         {}     *        br-lan\n",
                phone_ip(n),
                phone_mac(n)
            );
        }
        std::fs::write(dir.join("arp"), arp).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sim = Simulator::new(opts.sim.clone());
        let serving = sim.clone();
        let (sim_url, sim_task) = if opts.tls {
            let cert =
                rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                    .unwrap();
            let (cert_path, key_path) = (dir.join("sim-cert.pem"), dir.join("sim-key.pem"));
            std::fs::write(&cert_path, cert.cert.pem()).unwrap();
            std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
            let task = tokio::spawn(async move {
                serving
                    .serve_tls(listener, &cert_path, &key_path)
                    .await
                    .unwrap()
            });
            (format!("https://127.0.0.1:{port}"), task)
        } else {
            (
                format!("http://127.0.0.1:{port}"),
                tokio::spawn(serving.serve(listener)),
            )
        };
        let mut lab = Lab {
            dir,
            sim_url,
            sim,
            clock: ManualClock::new(lango::clock::SystemClock.now()),
            gate: Arc::new(LogGate::new()),
            daemon: None,
            portal: "127.0.0.1:0".parse().unwrap(),
            opts,
            sim_task,
        };
        lab.boot().await;
        lab
    }

    pub fn config(&self) -> Config {
        let mut c = lango::demo::config(&self.dir, &self.sim_url);
        c.admin_listen = "127.0.0.1:0".parse().unwrap();
        c.admin_http_listen = Some("127.0.0.1:0".parse().unwrap());
        c.dhcp_leases = self.dir.join("dhcp.leases");
        c.daraja.poll_first = Duration::from_millis(50);
        c.daraja.poll_interval = Duration::from_millis(50);
        c.daraja.poll_timeout = Duration::from_secs(120);
        if self.opts.tls {
            c.daraja.ca_file = Some(self.dir.join("sim-cert.pem"));
        }
        if self.opts.callbacks {
            c.daraja.callback_listen = Some("127.0.0.1:0".parse().unwrap());
            c.daraja.callback_url = format!("https://lango.example.com{CALLBACK_PATH}");
            c.daraja.callback_path = CALLBACK_PATH.into();
        }
        (self.opts.configure)(&mut c);
        c
    }

    /// (Re)starts Lango on the same database and gate, as after a crash.
    pub async fn boot(&mut self) {
        self.try_boot().await.expect("lango starts");
    }

    /// Like `boot`, giving back why Lango would not start.
    pub async fn try_boot(&mut self) -> anyhow::Result<()> {
        // Lango runs from a config file, as on a router, so the owner's page can edit it; a
        // restart reads what was saved.
        let path = self.config_path();
        if !path.exists() {
            std::fs::write(&path, self.config().to_uci()).unwrap();
        }
        let config = Config::load(&path).expect("the lab's config loads");
        let parts = Parts {
            gate: self.gate.clone(),
            neighbours: Neighbours::from_arp_file(self.dir.join("arp")),
            clock: Arc::new(self.clock.clone()),
            portal_listen: Some("127.0.0.1:0".parse().unwrap()),
        };
        let d = Daemon::start(config, parts).await?;
        self.portal = d.portal_addr;
        if let Some(cb) = d.callback_addr {
            self.sim
                .set_callback_url(Some(format!("http://{cb}{CALLBACK_PATH}")));
        }
        self.daemon = Some(d);
        Ok(())
    }

    /// Where Lango receives callbacks (the Lab must have `callbacks`).
    pub fn callback_url(&self) -> String {
        let addr = self.daemon().callback_addr.expect("callback listener");
        format!("http://{addr}{CALLBACK_PATH}")
    }

    /// Asks the running daemon over its control socket.
    pub async fn ctl(&self, req: lango::ctl::Request) -> Value {
        lango::ctl::ask(&self.config().control_socket, &req)
            .await
            .expect("control socket answers")
            .json
    }

    /// How many `events` rows of `kind` there are (for `payment`, or for all).
    pub fn events(&self, kind: &str, payment: Option<i64>) -> i64 {
        self.daemon()
            .store
            .with(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM events WHERE kind = ?1 AND (?2 IS NULL OR payment_id = ?2)",
                    rusqlite::params![kind, payment],
                    |r| r.get(0),
                )?)
            })
            .unwrap()
    }

    /// The payment as recorded.
    pub fn payment(&self, id: i64) -> lango::store::payments::Payment {
        self.daemon()
            .store
            .with(|c| lango::store::payments::get(c, id))
            .unwrap()
            .expect("payment exists")
    }

    /// Waits (up to 10 s) until `check` holds.
    pub async fn until(&self, what: &str, check: impl Fn(&Lab) -> bool) {
        for _ in 0..400 {
            if check(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting until {what}");
    }

    /// Stops Lango without tearing the gate down (as `kill -9` would leave it).
    pub async fn crash(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.stop(false).await;
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("lango.conf")
    }

    /// The owner's page (HTTPS).
    pub fn admin_url(&self) -> String {
        format!("https://{}", self.daemon().admin_addr)
    }

    /// An owner's browser at `from` (a loopback address) that has accepted the router's
    /// certificate.
    pub fn owner(&self, from: &str) -> owner::Owner {
        let pem = std::fs::read(self.config().admin_cert).expect("the router's certificate");
        owner::Owner::new(&self.admin_url(), from.parse().expect("an address"), &pem)
    }

    pub fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("running")
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// An HTTP client that connects from phone `n`'s address and never follows redirects.
    pub fn phone(&self, n: u8) -> Phone {
        let http = reqwest::Client::builder()
            .local_address(phone_ip(n))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Phone {
            http,
            base: format!("http://{}", self.portal),
        }
    }

    /// Polls a payment until it is final.
    pub async fn wait_final(&self, phone: &Phone, id: i64) -> Value {
        for _ in 0..200 {
            let (status, v) = phone.get_json(&format!("/api/pay/{id}")).await;
            assert_eq!(status, 200, "{v}");
            if v["final"] == Value::Bool(true) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("payment {id} never became final");
    }
}

impl Lab {
    /// The gate's view of `mac` once the kernel batch for it has been applied (it follows the
    /// database by a few milliseconds).
    pub async fn admitted(&self, mac: Mac) -> lango::gate::Client {
        self.admitted_with(mac, |_| true).await
    }

    /// Like `admitted`, waiting until the gate's entry also satisfies `want`.
    pub async fn admitted_with(
        &self,
        mac: Mac,
        want: impl Fn(&lango::gate::Client) -> bool,
    ) -> lango::gate::Client {
        for _ in 0..200 {
            if let Some(c) = self.gate.admitted().get(&mac).filter(|c| want(c)) {
                return c.clone();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{mac} never admitted by the gate");
    }
}

impl Lab {
    /// Gives `package` a data allowance of `mb` MB (`None`: unlimited data).
    pub fn set_data(&self, package: i64, mb: Option<u32>) {
        self.daemon()
            .store
            .with(|c| {
                let mut p = lango::store::packages::get(c, package)?.expect("package");
                p.data_mb = mb;
                lango::store::packages::update(c, &p)
            })
            .unwrap();
    }

    /// Puts phone `n` online through a fresh voucher for `package`, as a customer would.
    pub async fn online_by_voucher(&self, n: u8, package: i64) {
        let codes =
            lango::owner::generate_vouchers(&self.daemon().store, package, 1, None, self.now())
                .await
                .map(|b| b.codes)
                .unwrap();
        let (s, v) = self
            .phone(n)
            .post_json("/api/voucher", &format!(r#"{{"code":"{}"}}"#, codes[0]))
            .await;
        assert_eq!(s, 200, "{v}");
    }
}

/// A success callback as Daraja sends it.
pub fn success_callback(checkout: &str, amount: &str, receipt: &str, phone: &str) -> Vec<u8> {
    format!(
        r#"{{"Body":{{"stkCallback":{{"MerchantRequestID":"1-2-3","CheckoutRequestID":"{checkout}","ResultCode":0,"ResultDesc":"The service request is processed successfully.","CallbackMetadata":{{"Item":[{{"Name":"Amount","Value":{amount}}},{{"Name":"MpesaReceiptNumber","Value":"{receipt}"}},{{"Name":"PhoneNumber","Value":{phone}}}]}}}}}}}}"#
    )
    .into_bytes()
}

/// One plain HTTP/1.1 request written as given from `from`: (status, the whole answer).
pub async fn raw_http(to: SocketAddr, from: IpAddr, request: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = connect_from(from, to).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// A TCP connection from `ip` (a loopback address of the test's choosing) to `to`.
pub async fn connect_from(ip: IpAddr, to: SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let s = tokio::net::TcpSocket::new_v4()?;
    s.bind((ip, 0).into())?;
    s.connect(to).await
}

/// Whether the server has closed `s` (read gives EOF or an error) within `wait`.
pub async fn closed_within(s: &mut tokio::net::TcpStream, wait: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(wait, s.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.sim_task.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub struct Phone {
    pub http: reqwest::Client,
    pub base: String,
}

impl Phone {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self.get(path).await;
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, body: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_form(&self, path: &str, body: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// Starts a payment for `package` with `phone`; returns its id.
    pub async fn pay(&self, package: i64, phone: &str) -> i64 {
        let (s, v) = self
            .post_json(
                "/api/pay",
                &format!(r#"{{"package_id":{package},"phone":"{phone}"}}"#),
            )
            .await;
        assert_eq!(s, 202, "{v}");
        v["id"].as_i64().unwrap()
    }
}
