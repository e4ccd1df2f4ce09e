//! The `lango` command line: parse, start logging, call the library, map errors to exit codes.

use clap::{Parser, Subcommand};
use lango::config::{self, Config};
use lango::ctl::{self, Request};
use lango::mac::Mac;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lango",
    version,
    about = "Pay-per-time M-Pesa Wi-Fi hotspot for OpenWrt"
)]
struct Cli {
    /// Config file; the control commands also find the daemon's socket through it.
    #[arg(long, global = true, default_value = config::DEFAULT_PATH)]
    config: PathBuf,
    /// Print control-command answers as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the hotspot daemon (what procd starts).
    Run,
    /// Portal + simulated M-Pesa on this machine, no router needed.
    Demo {
        #[arg(long, default_value = "127.0.0.1:2050")]
        portal: SocketAddr,
        /// The owner's page (HTTPS, self-signed).
        #[arg(long, default_value = "127.0.0.1:8443")]
        admin: SocketAddr,
        /// Plain HTTP that redirects to the owner's page.
        #[arg(long, default_value = "127.0.0.1:8080")]
        admin_http: SocketAddr,
    },
    /// Run the strict Daraja simulator (outcome chosen by phone number; see the README).
    DarajaSim {
        #[arg(long)]
        listen: SocketAddr,
        /// PEM certificate chain: serve HTTPS (with --key).
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        /// How long the simulated customer takes to answer the PIN prompt, in milliseconds.
        #[arg(long, default_value_t = 3000)]
        delay_ms: u64,
        /// How long the late customer (numbers ending in 0240) takes, in milliseconds.
        #[arg(long, default_value_t = 240_000)]
        late_ms: u64,
        /// POST Daraja's callbacks here (e.g. Lango's callback listener).
        #[arg(long)]
        callback_url: Option<String>,
        /// Misbehave like the live Daraja, e.g. `spike-arrest-queries=3`, `html-503-queries=2`,
        /// `duplicate-callbacks=1`, `callback-delay=20`, `expire-tokens-after=5`,
        /// `queries-fail-for=600`, `refuse-credentials`, `query-says-failed` (repeatable; see the
        /// README).
        #[arg(long = "fault", value_name = "NAME[=VALUE]")]
        faults: Vec<String>,
    },
    /// Validate the config file and exit.
    Check,
    /// Is the daemon running, and how many are online.
    Status,
    /// Who is online.
    Clients,
    /// Give a device time (owner's gift; unshaped unless speeds are given).
    Auth {
        mac: Mac,
        #[arg(long)]
        minutes: u32,
        #[arg(long)]
        down_kbps: Option<u32>,
        #[arg(long)]
        up_kbps: Option<u32>,
    },
    /// End a device's session now.
    Deauth { mac: Mac },
    /// Voucher codes.
    #[command(subcommand)]
    Vouchers(Vouchers),
    /// Write a consistent copy of the database to FILE (also while Lango runs).
    Backup { file: PathBuf },
    /// Check FILE (a backup) and make it the database; a running Lango's gate follows it.
    Restore { file: PathBuf },
    /// Set the owner's page password (asks twice; logs every browser out).
    Passwd {
        /// Read the password from one line of stdin, without prompts (for scripts).
        #[arg(long)]
        stdin: bool,
    },
}

#[derive(Subcommand)]
enum Vouchers {
    /// Draw a batch of new codes for a package.
    Generate {
        #[arg(long)]
        package: i64,
        #[arg(long)]
        count: u32,
        /// Codes work through the last of this many days (today counts); default: no end.
        #[arg(long)]
        valid_days: Option<u32>,
    },
    /// Batches, newest first; with --batch, that batch's codes.
    List {
        #[arg(long)]
        batch: Option<String>,
    },
    /// Make an unused code stop working.
    Revoke { code: String },
}

/// Memory a crowd used goes back to the router when it leaves (see `lango::alloc`).
#[global_allocator]
static ALLOC: lango::alloc::Paged = lango::alloc::Paged;

/// See the runtime set-up in `main`.
const MAX_BLOCKING_THREADS: usize = 4;

fn main() -> ExitCode {
    let cli = Cli::parse();
    lango::logger::init();
    #[cfg(feature = "alloc-stats")]
    lango::alloc::stats::start(lango::alloc::kept_bytes);
    // Blocking work is SQLite (one connection, calls take turns) and short process runs: a few
    // threads serve it; hundreds would each cost a stack and a malloc arena on a 64 MiB router.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lango: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lango: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let load = || Config::load(&cli.config);
    let req = match cli.cmd {
        Cmd::Run => {
            let config = match load() {
                Ok(c) => c,
                Err(e) => return Ok(config_error(e)),
            };
            lango::daemon::run(config).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Cmd::Demo {
            portal,
            admin,
            admin_http,
        } => {
            lango::demo::run(portal, admin, admin_http).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Cmd::DarajaSim {
            listen,
            cert,
            key,
            delay_ms,
            late_ms,
            callback_url,
            faults,
        } => {
            let mut opts = lango::sim::SimOptions {
                delay: std::time::Duration::from_millis(delay_ms),
                late_delay: std::time::Duration::from_millis(late_ms),
                callback_override: callback_url,
                ..Default::default()
            };
            for f in &faults {
                if let Err(e) = opts.faults.set(f) {
                    eprintln!("lango: {e}");
                    return Ok(ExitCode::from(2));
                }
            }
            lango::sim::run_cli(listen, cert, key, opts).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Cmd::Check => {
            return Ok(match load() {
                Ok(_) => {
                    println!("{}: ok", cli.config.display());
                    ExitCode::SUCCESS
                }
                Err(e) => config_error(e),
            })
        }
        Cmd::Backup { file } => {
            let config = match load() {
                Ok(c) => c,
                Err(e) => return Ok(config_error(e)),
            };
            return Ok(match ctl::backup(config.database, file.clone()).await {
                Ok(c) => {
                    println!(
                        "{}: schema {}, {} payments, {} sessions",
                        file.display(),
                        c.schema_version,
                        c.payments,
                        c.sessions
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("lango: {e}");
                    ExitCode::from(1)
                }
            });
        }
        Cmd::Restore { file } => {
            let config = match load() {
                Ok(c) => c,
                Err(e) => return Ok(config_error(e)),
            };
            let restored =
                ctl::restore(&config.control_socket, config.database, file.clone()).await;
            return Ok(match restored {
                Ok((c, live)) => {
                    println!(
                        "restored {}: schema {}, {} payments, {} sessions{}",
                        file.display(),
                        c.schema_version,
                        c.payments,
                        c.sessions,
                        if live {
                            "; the running Lango follows it"
                        } else {
                            " (Lango is not running: it uses it at the next start)"
                        }
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("lango: {e}");
                    ExitCode::from(1)
                }
            });
        }
        Cmd::Status => Request::Status,
        Cmd::Clients => Request::Clients,
        Cmd::Auth {
            mac,
            minutes,
            down_kbps,
            up_kbps,
        } => Request::Auth {
            mac,
            minutes,
            down_kbps,
            up_kbps,
        },
        Cmd::Deauth { mac } => Request::Deauth { mac },
        Cmd::Vouchers(Vouchers::Generate {
            package,
            count,
            valid_days,
        }) => Request::VouchersGenerate {
            package,
            count,
            valid_days,
        },
        Cmd::Vouchers(Vouchers::List { batch }) => Request::VouchersList { batch },
        Cmd::Vouchers(Vouchers::Revoke { code }) => Request::VouchersRevoke { code },
        Cmd::Passwd { stdin } => {
            let pw = match lango::tty::read_new_password(stdin) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("lango: {e}");
                    return Ok(ExitCode::from(1));
                }
            };
            let hash = tokio::task::spawn_blocking(move || lango::password::hash(&pw)).await?;
            Request::Passwd { hash }
        }
    };
    let socket = match load() {
        Ok(c) => c.control_socket,
        Err(config::Error::Read { .. }) if !cli.config.exists() => {
            PathBuf::from("/var/run/lango.sock")
        }
        Err(e) => return Ok(config_error(e)),
    };
    match ctl::ask(&socket, &req).await {
        Ok(answer) => {
            print_answer(&req, &answer, cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("lango: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// One line about the Daraja settings, from `status`'s `daraja` object.
fn daraja_health(h: &serde_json::Value) -> String {
    let text = |k: &str| h[k].as_str().unwrap_or("").to_string();
    match h["state"].as_str().unwrap_or("") {
        "ok" => "settings accepted by Daraja".into(),
        "unchecked" => "settings not checked yet".into(),
        "not_set_up" => format!(
            "NOT SET UP (empty: {}) — the portal offers vouchers only",
            h["missing"]
                .as_array()
                .map(|m| m
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        ),
        "refused" => format!("SETTINGS REFUSED: {}", text("reason")),
        "unreachable" => format!("Daraja unreachable, retrying: {}", text("reason")),
        other => other.to_string(),
    }
}

/// `12 started · 75% paid · 8.3% cancelled · … · median 14 s to confirm · KES 600`.
fn figures(f: &serde_json::Value) -> String {
    let started = f["started"].as_u64().unwrap_or(0);
    if started == 0 {
        return "none".into();
    }
    let pct = |k: &str| f[k].as_f64().unwrap_or(0.0);
    let mut line = format!(
        "{started} started · {}% paid · {}% cancelled · {}% timeout · {}% failed",
        pct("success_pct"),
        pct("cancel_pct"),
        pct("timeout_pct"),
        pct("failure_pct")
    );
    if let Some(p) = f["pending"].as_u64().filter(|p| *p > 0) {
        line += &format!(" · {p} pending");
    }
    if let Some(m) = f["median_confirm_s"].as_f64() {
        line += &format!(" · median {m} s to confirm");
    }
    line + &format!(" · KES {}", f["revenue_kes"].as_u64().unwrap_or(0))
}

fn config_error(e: config::Error) -> ExitCode {
    eprintln!("lango: {e}");
    ExitCode::from(2)
}

/// Human output for the control commands (`--json` prints the daemon's answer as it is).
fn print_answer(req: &Request, a: &serde_json::Value, json: bool) {
    if json {
        println!("{a}");
        return;
    }
    match req {
        Request::Status => {
            println!(
                "running {} · {} online · up {} s",
                a["version"].as_str().unwrap_or("?"),
                a["online"],
                a["uptime_s"]
            );
            println!("M-Pesa: {}", daraja_health(&a["daraja"]));
            if !a["radius"].is_null() {
                let r = &a["radius"];
                let ago = |k: &str| {
                    r["health"][k]
                        .as_i64()
                        .map_or("never".into(), lango::clock::eat_display)
                };
                println!(
                    "RADIUS {}: {} accounting records queued · last accept {} · last accounting answer {}",
                    r["server"].as_str().unwrap_or("?"),
                    r["accounting_queue"],
                    ago("last_accept"),
                    ago("last_acct_answer")
                );
            }
            println!(
                "owner's page certificate SHA-256: {}",
                a["admin_certificate_sha256"].as_str().unwrap_or("?")
            );
            for (name, _) in ctl::FIGURE_PERIODS {
                println!("payments {name:>3}: {}", figures(&a["payments"][name]));
            }
        }
        Request::Clients => {
            let list = a["clients"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                println!("nobody online");
                return;
            }
            println!(
                "{:<17}  {:<15}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>10}  {:>17}  source",
                "MAC", "IP", "left", "down", "up", "used down", "used up", "rate now", "data left"
            );
            for c in list {
                let left = c["seconds_remaining"].as_u64().unwrap_or(0);
                let bytes =
                    |k: &str| lango::units::ByteCount(c[k].as_u64().unwrap_or(0)).to_string();
                // "15 MB of 20 MB", or "unlimited" for a package without an allowance.
                let data = match (
                    c["bytes_remaining"].as_u64(),
                    c["data_limit_bytes"].as_u64(),
                ) {
                    (Some(left), Some(limit)) => format!(
                        "{} of {}",
                        lango::units::ByteCount(left),
                        lango::units::ByteCount(limit)
                    ),
                    _ => "unlimited".into(),
                };
                let rate = (c["rate_down_bps"].as_u64().unwrap_or(0)
                    + c["rate_up_bps"].as_u64().unwrap_or(0))
                    / 1000;
                println!(
                    "{:<17}  {:<15}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>10}  {:>17}  {}",
                    c["mac"].as_str().unwrap_or(""),
                    c["ip"].as_str().unwrap_or("-"),
                    format!("{}h{:02}m", left / 3600, left % 3600 / 60),
                    lango::units::Kbps(c["down_kbps"].as_u64().unwrap_or(0) as u32).to_string(),
                    lango::units::Kbps(c["up_kbps"].as_u64().unwrap_or(0) as u32).to_string(),
                    bytes("bytes_down"),
                    bytes("bytes_up"),
                    format!("{rate} kbit/s"),
                    data,
                    c["source"].as_str().unwrap_or("")
                );
            }
        }
        Request::Auth { mac, .. } => println!("{mac} online for {} s", a["seconds_remaining"]),
        Request::Deauth { mac } => {
            if a["was_online"] == serde_json::json!(true) {
                println!("{mac} disconnected")
            } else {
                println!("{mac} was not online")
            }
        }
        Request::VouchersGenerate { .. } => {
            for c in a["codes"].as_array().cloned().unwrap_or_default() {
                println!("{}", c.as_str().unwrap_or(""));
            }
        }
        Request::VouchersList { batch: None } => {
            let list = a["batches"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                println!("no vouchers");
                return;
            }
            println!(
                "{:<20}  {:>7}  {:>5}  {:>6}  {:>4}  {:>7}  valid until",
                "batch", "package", "codes", "unused", "used", "revoked"
            );
            for b in list {
                let until = b["expires_at"].as_i64().map_or("-".to_string(), |e| {
                    lango::clock::eat_date(lango::clock::eat_day(e - 1))
                });
                println!(
                    "{:<20}  {:>7}  {:>5}  {:>6}  {:>4}  {:>7}  {until}",
                    b["batch"].as_str().unwrap_or(""),
                    b["package_id"],
                    b["total"],
                    b["unused"],
                    b["used"],
                    b["revoked"]
                );
            }
        }
        Request::VouchersList { batch: Some(_) } => {
            for c in a["codes"].as_array().cloned().unwrap_or_default() {
                let used = c["used_by_mac"]
                    .as_str()
                    .map_or(String::new(), |m| format!("  by {m}"));
                println!(
                    "{}  {:<7}{used}",
                    c["code"].as_str().unwrap_or(""),
                    c["state"].as_str().unwrap_or("")
                );
            }
        }
        Request::VouchersRevoke { .. } => {
            println!("{} revoked", a["code"].as_str().unwrap_or(""))
        }
        Request::Restore { .. } => println!("restored"),
        Request::Passwd { .. } => {
            println!("password set; every browser logged in to the owner's page was logged out")
        }
    }
}
