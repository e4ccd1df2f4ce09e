//! The control protocol behind `lango status | clients | auth | deauth | vouchers | passwd`: one JSON
//! request per line over a unix socket (mode 0600: root only), one JSON answer per line.
//! Touches: the socket, sessions, the store (through its modules). Never: nft or SQL directly.

pub mod answer;

use crate::admin::Auth;
use crate::clock::Clock;
use crate::mac::Mac;
use crate::owner;
use crate::sessions::Sessions;
use crate::store::{self, vouchers, Store};
use crate::units::ByteCount;
use crate::voucher::VoucherCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// The periods `status` reports payment figures for: name and length in seconds.
pub const FIGURE_PERIODS: [(&str, i64); 3] =
    [("24h", 86_400), ("7d", 7 * 86_400), ("30d", 30 * 86_400)];

/// A control line longer than this is not from our CLI.
const MAX_LINE: usize = 64 * 1024;
/// The CLI sends its line at once; a connection silent this long is closed.
pub const IDLE: Duration = Duration::from_secs(10);
/// Control connections open at once (the CLI opens one per command).
pub const MAX_CONNECTIONS: usize = 32;

/// What the CLI can ask.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Status,
    Clients,
    Auth {
        mac: Mac,
        minutes: u32,
        down_kbps: Option<u32>,
        up_kbps: Option<u32>,
    },
    Deauth {
        mac: Mac,
    },
    VouchersGenerate {
        package: i64,
        count: u32,
        /// Codes work through the last of this many EAT days (today counts); none: no end.
        #[serde(default)]
        valid_days: Option<u32>,
    },
    /// Batches (newest first), or the codes of one batch.
    VouchersList {
        #[serde(default)]
        batch: Option<String>,
    },
    VouchersRevoke {
        code: String,
    },
    /// A new owner's password, already hashed by the CLI (the password never crosses the socket).
    Passwd {
        hash: String,
    },
    /// Replace the database with the backup at `path` (checked first); the gate follows.
    Restore {
        path: PathBuf,
    },
}

/// The daemon side.
pub struct Control {
    /// The owner's page certificate (its fingerprint is in `status`).
    pub certs: Arc<crate::certs::Certs>,
    pub store: Store,
    pub sessions: Arc<Sessions>,
    /// Bytes per device (`clients`).
    pub usage: Arc<crate::usage::Usage>,
    /// The settings in force: `status` reports the current Daraja account's health.
    pub live: Arc<crate::live::Live>,
    pub clock: Arc<dyn Clock>,
    pub started_at: std::time::Instant,
    /// A new password logs every owner's page session out.
    pub logins: Arc<Auth>,
    /// The RADIUS side, if on (`status` shows its accounting queue).
    pub radius: Option<Arc<crate::radius::Radius>>,
}

/// `lango backup FILE`: a consistent copy of `database`, whether or not the daemon runs.
pub async fn backup(database: PathBuf, dest: PathBuf) -> Result<store::backup::Checked, String> {
    tokio::task::spawn_blocking(move || store::backup::copy_file(&database, &dest))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// `lango restore FILE`: checks the file, then has the running daemon swap it in (its gate
/// follows the restored sessions); with no daemon answering, swaps it into the database file
/// (the gate follows at the next start). Returns what was restored and whether a daemon did it.
pub async fn restore(
    socket: &PathBuf,
    database: PathBuf,
    src: PathBuf,
) -> Result<(store::backup::Checked, bool), String> {
    let src = std::path::absolute(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    let s = src.clone();
    tokio::task::spawn_blocking(move || store::backup::check(&s))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if UnixStream::connect(socket).await.is_ok() {
        let a = ask(socket, &Request::Restore { path: src }).await?;
        let checked = serde_json::from_value(a.json["restored"].clone())
            .map_err(|e| format!("daemon answered nonsense: {e}"))?;
        return Ok((checked, true));
    }
    let checked = tokio::task::spawn_blocking(move || Store::open(&database)?.restore(&src))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok((checked, false))
}

/// Binds the control socket at `path` (replacing a stale one), mode 0600.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

impl Control {
    /// Serves requests until the task is dropped (its connections end with it).
    pub async fn serve(self: Arc<Self>, listener: UnixListener) {
        let open = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        // Connections end with this task (a restart in place), like the HTTP listeners'.
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let accepted = tokio::select! {
                biased;
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                accepted = listener.accept() => accepted,
            };
            let Ok((mut stream, _)) = accepted else {
                // EMFILE and friends: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let Ok(permit) = open.clone().try_acquire_owned() else {
                log::warn!("control socket: {MAX_CONNECTIONS} connections open; one refused");
                let busy = format!(
                    "{}\n",
                    json!({ "ok": false, "error": "busy: too many control connections open" })
                );
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(IDLE, stream.write_all(busy.as_bytes())).await;
                });
                continue;
            };
            let me = self.clone();
            connections.spawn(async move {
                me.connection(stream).await;
                drop(permit);
            });
        }
    }

    async fn connection(&self, stream: UnixStream) {
        let (r, mut w) = stream.into_split();
        let mut lines = BufReader::new(r.take(MAX_LINE as u64 * 16)).lines();
        // A connection that says nothing for `IDLE` is closed, so idle ones cannot pile up.
        while let Ok(Ok(Some(line))) = tokio::time::timeout(IDLE, lines.next_line()).await {
            let answer = match serde_json::from_str::<Request>(&line) {
                Ok(req) => self.answer(req).await,
                Err(e) => json!({ "ok": false, "error": format!("bad request: {e}") }),
            };
            let mut out = answer.to_string();
            out.push('\n');
            if w.write_all(out.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    async fn answer(&self, req: Request) -> Value {
        match self.run(req).await {
            Ok(v) => v,
            Err(e) => json!({ "ok": false, "error": e }),
        }
    }

    async fn run(&self, req: Request) -> Result<Value, String> {
        let now = self.clock.now();
        let internal = |e: &dyn std::fmt::Display| e.to_string();
        match req {
            Request::Status => {
                let online = self.sessions.online().await.map_err(|e| internal(&e))?;
                let payments = self
                    .store
                    .call(move |c| {
                        let mut out = std::collections::BTreeMap::new();
                        for (name, secs) in FIGURE_PERIODS {
                            out.insert(name, store::payments::figures(c, now - secs)?);
                        }
                        Ok(out)
                    })
                    .await
                    .map_err(|e| internal(&e))?;
                let radius = match &self.radius {
                    Some(r) => Some(answer::Radius {
                        server: r.config.server,
                        accounting_queue: r.queued().await,
                        health: r.health().clone(),
                    }),
                    None => None,
                };
                ok(answer::Status {
                    version: env!("CARGO_PKG_VERSION"),
                    online: online.len(),
                    uptime_s: self.started_at.elapsed().as_secs(),
                    daraja: self.live.get().payments.health(),
                    payments,
                    admin_certificate_sha256: self.certs.fingerprint().to_string(),
                    radius,
                })
            }
            Request::Clients => {
                let online = self.sessions.online().await.map_err(|e| internal(&e))?;
                let usage = self.usage.open().await.map_err(|e| internal(&e))?;
                let clients = online
                    .iter()
                    .map(|s| {
                        let u = usage.get(&s.mac).copied().unwrap_or_default();
                        answer::Client {
                            mac: s.mac,
                            ip: s.ip,
                            seconds_remaining: s.seconds_left(now),
                            down_kbps: s.down,
                            up_kbps: s.up,
                            source: s.source,
                            bytes_down: ByteCount(u.used.down),
                            bytes_up: ByteCount(u.used.up),
                            rate_down_bps: u.rate.down * 8,
                            rate_up_bps: u.rate.up * 8,
                            data_limit_bytes: s.data_limit.map(ByteCount),
                            bytes_remaining: s.data_left(u.used).map(ByteCount),
                        }
                    })
                    .collect();
                ok(answer::Clients { clients })
            }
            Request::Auth {
                mac,
                minutes,
                down_kbps,
                up_kbps,
            } => {
                let speed = owner::Speed::Kbps {
                    down: down_kbps,
                    up: up_kbps,
                };
                let s = owner::give(&self.sessions, &self.store, mac, None, minutes, speed)
                    .await
                    .map_err(flagged)?;
                ok(answer::Given {
                    mac,
                    seconds_remaining: s.seconds_left(now),
                })
            }
            Request::Deauth { mac } => {
                let ended = owner::disconnect(&self.sessions, mac)
                    .await
                    .map_err(flagged)?;
                ok(answer::Disconnected {
                    mac,
                    was_online: ended.is_some(),
                })
            }
            Request::VouchersGenerate {
                package,
                count,
                valid_days,
            } => {
                let expires_at = valid_days
                    .map(|d| owner::valid_through(d, now))
                    .transpose()
                    .map_err(flagged)?;
                let b = owner::generate_vouchers(&self.store, package, count, expires_at, now)
                    .await
                    .map_err(flagged)?;
                ok(answer::Generated {
                    package,
                    batch: b.id,
                    expires_at: b.expires_at,
                    codes: b.codes,
                })
            }
            Request::VouchersList { batch: None } => {
                let batches = self
                    .store
                    .call(|c| vouchers::batches(c, 1000))
                    .await
                    .map_err(|e| internal(&e))?;
                ok(answer::Batches { batches })
            }
            Request::VouchersList { batch: Some(batch) } => {
                let b = batch.clone();
                let list = self
                    .store
                    .call(move |c| vouchers::in_batch(c, &b))
                    .await
                    .map_err(|e| internal(&e))?;
                if list.is_empty() {
                    return Err(format!("no batch {batch:?} (see `lango vouchers list`)"));
                }
                let codes = list
                    .into_iter()
                    .map(|v| answer::Code {
                        code: VoucherCode::parse(&v.code).map_or(v.code, |c| c.to_string()),
                        package_id: v.package_id,
                        state: v.state,
                        expires_at: v.expires_at,
                        used_by_mac: v.used_by_mac,
                        used_at: v.used_at,
                    })
                    .collect();
                ok(answer::BatchCodes { batch, codes })
            }
            Request::VouchersRevoke { code } => {
                let revoked = owner::revoke_voucher(&self.store, &code, now)
                    .await
                    .map_err(flagged)?;
                ok(answer::Revoked {
                    code: revoked.to_string(),
                })
            }
            Request::Passwd { hash } => {
                owner::set_password(&self.store, hash, owner::PasswordBy::Cli, now)
                    .await
                    .map_err(flagged)?;
                self.logins.end_all();
                log::info!("admin: password set over the control socket; owner sessions ended");
                ok(answer::PasswordSet {})
            }
            Request::Restore { path } => {
                let (store, p) = (self.store.clone(), path.clone());
                let restored = tokio::task::spawn_blocking(move || store.restore(&p))
                    .await
                    .map_err(|e| internal(&e))?
                    .map_err(|e| e.to_string())?;
                let detail = format!(
                    "from {}: {} payments, {} sessions",
                    path.display(),
                    restored.payments,
                    restored.sessions
                );
                self.store
                    .transact(move |tx| {
                        store::events::record(tx, now, "database.restored", None, None, &detail)
                    })
                    .await
                    .map_err(|e| internal(&e))?;
                let online = self.sessions.restore().await.map_err(|e| internal(&e))?;
                log::warn!(
                    "database restored from {}; {online} sessions in the gate",
                    path.display()
                );
                ok(answer::Restored { restored, online })
            }
        }
    }
}

/// A successful answer: its fields beside `"ok": true`, and its words for a person (`text`).
fn ok(answer: impl Serialize + std::fmt::Display) -> Result<Value, String> {
    let mut v = serde_json::to_value(&answer).map_err(|e| e.to_string())?;
    if let Value::Object(fields) = &mut v {
        fields.insert("ok".into(), Value::Bool(true));
        fields.insert("text".into(), Value::String(answer.to_string()));
    }
    Ok(v)
}

/// An owner's action refused, named by the CLI flag it is about.
fn flagged(e: owner::Error) -> String {
    match e {
        owner::Error::Refused { input, why } => {
            let flag = match input {
                owner::Input::Minutes => "--minutes",
                owner::Input::DownKbps => "--down-kbps",
                owner::Input::UpKbps => "--up-kbps",
                owner::Input::Package => "--package",
                owner::Input::Count => "--count",
                owner::Input::ValidDays => "--valid-days",
                owner::Input::Code => "CODE",
                owner::Input::PasswordHash => "the password",
            };
            format!("{flag}: {why}")
        }
        e => e.to_string(),
    }
}

/// A successful answer, as the CLI gets it.
#[derive(Debug)]
pub struct Reply {
    /// What a person reads (the answer's `Display`).
    pub text: String,
    /// The answer's fields, for `--json` and scripts.
    pub json: Value,
}

/// The CLI side: sends one request, returns the answer (or why the daemon could not be asked).
pub async fn ask(socket: &PathBuf, req: &Request) -> Result<Reply, String> {
    let stream = UnixStream::connect(socket).await.map_err(|e| {
        format!(
            "cannot reach the Lango daemon at {}: {e} (is it running? see `service lango status`)",
            socket.display()
        )
    })?;
    let (r, mut w) = stream.into_split();
    let mut line = serde_json::to_string(req).map_err(|e| e.to_string())?;
    line.push('\n');
    w.write_all(line.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    BufReader::new(r)
        .read_line(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let mut json: Value =
        serde_json::from_str(&answer).map_err(|e| format!("daemon answered nonsense: {e}"))?;
    if json["ok"] != json!(true) {
        return Err(json["error"]
            .as_str()
            .unwrap_or("daemon refused")
            .to_string());
    }
    let text = match json.as_object_mut().and_then(|f| f.remove("text")) {
        Some(Value::String(t)) => t,
        _ => return Err("daemon answered without its text".into()),
    };
    Ok(Reply { text, json })
}
