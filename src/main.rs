//! The `lango` command line: parse, start logging, call the library, map errors to exit codes.

use clap::{Parser, Subcommand};
use lango::config::{self, Config};
use lango::ctl::{self, answer, Request};
use lango::mac::Mac;
use lango::payments::Health;
use lango::store::payments::Figures;
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
    match ctl::ask(&socket, &req)
        .await
        .and_then(|answer| print_answer(&req, answer, cli.json))
    {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("lango: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// One line about the Daraja settings.
fn daraja_health(h: &Health) -> String {
    match h {
        Health::Ok { .. } => "settings accepted by Daraja".into(),
        Health::Unchecked => "settings not checked yet".into(),
        Health::NotSetUp { missing } => format!(
            "NOT SET UP (empty: {}) — the portal offers vouchers only",
            missing.join(", ")
        ),
        Health::Refused { reason, .. } => format!("SETTINGS REFUSED: {reason}"),
        Health::Unreachable { reason, .. } => format!("Daraja unreachable, retrying: {reason}"),
    }
}

/// `12 started · 75% paid · 8.3% cancelled · … · median 14 s to confirm · KES 600`.
fn figures(f: Option<&Figures>) -> String {
    let Some(f) = f.filter(|f| f.started > 0) else {
        return "none".into();
    };
    let mut line = format!(
        "{} started · {}% paid · {}% cancelled · {}% timeout · {}% failed",
        f.started, f.success_pct, f.cancel_pct, f.timeout_pct, f.failure_pct
    );
    if f.pending > 0 {
        line += &format!(" · {} pending", f.pending);
    }
    if let Some(m) = f.median_confirm_s {
        line += &format!(" · median {m} s to confirm");
    }
    line + &format!(" · KES {}", f.revenue_kes)
}

fn config_error(e: config::Error) -> ExitCode {
    eprintln!("lango: {e}");
    ExitCode::from(2)
}

/// Human output for the control commands (`--json` prints the daemon's answer as it is).
fn print_answer(req: &Request, a: serde_json::Value, json: bool) -> Result<(), String> {
    if json {
        println!("{a}");
        return Ok(());
    }
    match req {
        Request::Status => {
            let a: answer::Status = ctl::read(a)?;
            println!(
                "running {} · {} online · up {} s",
                a.version, a.online, a.uptime_s
            );
            println!("M-Pesa: {}", daraja_health(&a.daraja));
            if let Some(r) = &a.radius {
                let ago = |t: Option<i64>| t.map_or("never".into(), lango::clock::eat_display);
                println!(
                    "RADIUS {}: {} accounting records queued · last accept {} · last accounting answer {}",
                    r.server,
                    r.accounting_queue,
                    ago(r.health.last_accept),
                    ago(r.health.last_acct_answer)
                );
            }
            println!(
                "owner's page certificate SHA-256: {}",
                a.admin_certificate_sha256
            );
            for (name, _) in ctl::FIGURE_PERIODS {
                println!("payments {name:>3}: {}", figures(a.payments.get(name)));
            }
        }
        Request::Clients => {
            let a: answer::Clients = ctl::read(a)?;
            if a.clients.is_empty() {
                println!("nobody online");
                return Ok(());
            }
            println!(
                "{:<17}  {:<15}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>10}  {:>17}  source",
                "MAC", "IP", "left", "down", "up", "used down", "used up", "rate now", "data left"
            );
            for c in a.clients {
                let left = c.seconds_remaining;
                // "15 MB of 20 MB", or "unlimited" for a package without an allowance.
                let data = match (c.bytes_remaining, c.data_limit_bytes) {
                    (Some(left), Some(limit)) => format!("{left} of {limit}"),
                    _ => "unlimited".into(),
                };
                let rate = (c.rate_down_bps + c.rate_up_bps) / 1000;
                println!(
                    "{:<17}  {:<15}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>10}  {:>17}  {}",
                    c.mac.to_string(),
                    c.ip.map_or("-".into(), |ip| ip.to_string()),
                    format!("{}h{:02}m", left / 3600, left % 3600 / 60),
                    c.down_kbps.to_string(),
                    c.up_kbps.to_string(),
                    c.bytes_down.to_string(),
                    c.bytes_up.to_string(),
                    format!("{rate} kbit/s"),
                    data,
                    c.source.as_str()
                );
            }
        }
        Request::Auth { .. } => {
            let a: answer::Given = ctl::read(a)?;
            println!("{} online for {} s", a.mac, a.seconds_remaining);
        }
        Request::Deauth { .. } => {
            let a: answer::Disconnected = ctl::read(a)?;
            if a.was_online {
                println!("{} disconnected", a.mac)
            } else {
                println!("{} was not online", a.mac)
            }
        }
        Request::VouchersGenerate { .. } => {
            let a: answer::Generated = ctl::read(a)?;
            for c in a.codes {
                println!("{c}");
            }
        }
        Request::VouchersList { batch: None } => {
            let a: answer::Batches = ctl::read(a)?;
            if a.batches.is_empty() {
                println!("no vouchers");
                return Ok(());
            }
            println!(
                "{:<20}  {:>7}  {:>5}  {:>6}  {:>4}  {:>7}  valid until",
                "batch", "package", "codes", "unused", "used", "revoked"
            );
            for b in a.batches {
                let until = b.expires_at.map_or("-".to_string(), |e| {
                    lango::clock::eat_date(lango::clock::eat_day(e - 1))
                });
                println!(
                    "{:<20}  {:>7}  {:>5}  {:>6}  {:>4}  {:>7}  {until}",
                    b.batch, b.package_id, b.total, b.unused, b.used, b.revoked
                );
            }
        }
        Request::VouchersList { batch: Some(_) } => {
            let a: answer::BatchCodes = ctl::read(a)?;
            for c in a.codes {
                let used = c.used_by_mac.map_or(String::new(), |m| format!("  by {m}"));
                println!("{}  {:<7}{used}", c.code, c.state.as_str());
            }
        }
        Request::VouchersRevoke { .. } => {
            let a: answer::Revoked = ctl::read(a)?;
            println!("{} revoked", a.code)
        }
        Request::Restore { .. } => println!("restored"),
        Request::Passwd { .. } => {
            println!("password set; every browser logged in to the owner's page was logged out")
        }
    }
    Ok(())
}
