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
        // `--json`: the answer's fields as the daemon wrote them; else its words.
        Ok(reply) if cli.json => {
            println!("{}", reply.json);
            Ok(ExitCode::SUCCESS)
        }
        Ok(reply) => {
            println!("{}", reply.text);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("lango: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn config_error(e: config::Error) -> ExitCode {
    eprintln!("lango: {e}");
    ExitCode::from(2)
}
