//! Wires the rooms together: store, sessions + gate, payments, portal, admin and control socket.
//! `lango run`, `lango demo` and the integration tests all start Lango through `Daemon::start`.
//! Touches: listeners and tasks. Holds no business rules of its own.

use crate::admin::Admin;
use crate::certs::{self, Certs};
use crate::clock::Clock;
use crate::config::Config;
use crate::ctl::{self, Control};
use crate::gate::neigh::Neighbours;
use crate::gate::Gate;
use crate::live::Live;
use crate::payments::daraja::Daraja;
use crate::payments::{callback, Payments};
use crate::portal::Portal;
use crate::server;
use crate::sessions::Sessions;
use crate::store::Store;
use crate::usage::Usage;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What differs between a router, the demo and a test.
pub struct Parts {
    pub gate: Arc<dyn Gate>,
    pub neighbours: Neighbours,
    pub clock: Arc<dyn Clock>,
    /// Where the portal listens; `None`: every address, on `portal_port`.
    pub portal_listen: Option<SocketAddr>,
}

/// A running Lango.
pub struct Daemon {
    pub portal_addr: SocketAddr,
    /// The owner's page (HTTPS).
    pub admin_addr: SocketAddr,
    /// Plain HTTP that redirects to it, if `admin_http_listen` is set.
    pub admin_http_addr: Option<SocketAddr>,
    /// The owner's page certificate in force.
    pub certs: Arc<Certs>,
    /// Where Daraja's callbacks are received, if `callback_listen` is set and could be bound.
    pub callback_addr: Option<SocketAddr>,
    pub store: Store,
    pub sessions: Arc<Sessions>,
    /// Bytes per device, counted from the gate.
    pub usage: Arc<Usage>,
    /// Payments as started; after a reload with new Daraja settings, `live` has the current one.
    pub payments: Arc<Payments>,
    /// The settings a reload changes (SIGHUP, the owner's Settings page).
    pub live: Arc<Live>,
    /// The central RADIUS server's side, if `config radius` names one.
    pub radius: Option<Arc<crate::radius::Radius>>,
    /// Where Disconnect and CoA requests are taken, if RADIUS is on and `coa_listen` set.
    pub coa_addr: Option<SocketAddr>,
    gate: Arc<dyn Gate>,
    tasks: Vec<JoinHandle<()>>,
}

impl Daemon {
    /// Opens the database, restores sessions into the gate, resumes payments and starts serving.
    pub async fn start(config: Config, parts: Parts) -> anyhow::Result<Daemon> {
        Self::start_with(config, parts, Arc::new(crate::admin::Auth::new())).await
    }

    /// `start`, keeping the owner's logins of the services this replaces (`serve`'s restarts).
    async fn start_with(
        config: Config,
        parts: Parts,
        logins: Arc<crate::admin::Auth>,
    ) -> anyhow::Result<Daemon> {
        let started_at = std::time::Instant::now();
        let store = {
            let path = config.database.clone();
            tokio::task::spawn_blocking(move || Store::open(&path)).await??
        };
        let sessions = Sessions::new(store.clone(), parts.gate.clone(), parts.clock.clone());
        sessions.restore().await.context("restoring sessions")?;
        let usage = Usage::new(
            store.clone(),
            parts.gate.clone(),
            parts.clock.clone(),
            sessions.clone(),
        );
        let radius = config.radius.clone().map(|r| {
            crate::radius::Radius::new(r, store.clone(), sessions.clone(), Some(usage.clone()))
        });
        let daraja = Daraja::new(&config.daraja).context("setting up the Daraja client")?;
        let payments = Payments::new(
            store.clone(),
            sessions.clone(),
            daraja,
            &config.daraja,
            &config.limits,
            parts.clock.clone(),
        );
        payments.resume().await.context("resuming payments")?;
        let mut tasks = vec![tokio::spawn(payments.clone().check_settings())];
        let callback_addr = match config.daraja.callback_listen {
            Some(addr) => {
                callback_listener(addr, &config.daraja.callback_path, &payments, &mut tasks).await
            }
            None => None,
        };

        let portal_listener = match parts.portal_listen {
            Some(a) => {
                crate::listen::bind(a).with_context(|| format!("portal: cannot listen on {a}"))?
            }
            None => bind_any(config.portal_port).await?,
        };
        let portal_addr = portal_listener.local_addr()?;
        let admin_listener = crate::listen::bind(config.admin_listen)
            .with_context(|| format!("admin_listen: cannot listen on {}", config.admin_listen))?;
        let admin_addr = admin_listener.local_addr()?;
        let admin_http_listener = match config.admin_http_listen {
            Some(a) => Some(
                crate::listen::bind(a)
                    .with_context(|| format!("admin_http_listen: cannot listen on {a}"))?,
            ),
            None => None,
        };
        let admin_http_addr = match &admin_http_listener {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        let certs = owner_certificate(&config, parts.clock.now()).await?;
        let control_listener = ctl::bind(&config.control_socket).with_context(|| {
            format!(
                "control_socket: cannot listen on {}",
                config.control_socket.display()
            )
        })?;

        let control_path = config.control_socket.clone();
        let garden_hosts = config.walled_garden_hosts.clone();
        let guesses = crate::limits::Guesses::new(config.limits.voucher_guesses);
        let neighbours = Arc::new(parts.neighbours);
        let live = Live::new(
            config,
            payments.clone(),
            store.clone(),
            sessions.clone(),
            parts.clock.clone(),
            certs.clone(),
        );
        let portal = Arc::new(Portal {
            live: live.clone(),
            store: store.clone(),
            sessions: sessions.clone(),
            usage: usage.clone(),
            neighbours: neighbours.clone(),
            clock: parts.clock.clone(),
            guesses,
            pages: Default::default(),
            radius: radius.clone(),
        });
        let admin = Admin::new(crate::admin::Rooms {
            live: live.clone(),
            store: store.clone(),
            sessions: sessions.clone(),
            usage: usage.clone(),
            clock: parts.clock.clone(),
            certs: certs.clone(),
            logins: logins.clone(),
            radius: radius.clone(),
        });
        let control = Arc::new(Control {
            certs: certs.clone(),
            store: store.clone(),
            sessions: sessions.clone(),
            usage: usage.clone(),
            live: live.clone(),
            clock: parts.clock.clone(),
            started_at,
            logins: logins.clone(),
            radius: radius.clone(),
        });
        let current = live.clone();
        tasks.extend([
            tokio::spawn(sessions.clone().run()),
            tokio::spawn(usage.clone().run()),
            tokio::spawn(crate::upkeep::run(
                store.clone(),
                live.clone(),
                parts.clock.clone(),
            )),
            tokio::spawn(crate::payments::recheck::run(move || {
                current.get().payments.clone()
            })),
            tokio::spawn(server::serve_devices(
                portal_listener,
                Arc::new(Devices(neighbours.clone())),
                move |req, peer| portal.clone().handle(req, peer),
            )),
            tokio::spawn(server::serve_tls(admin_listener, certs.acceptor(), {
                let admin = admin.clone();
                move |req, peer| admin.clone().handle(req, peer)
            })),
            tokio::spawn(control.serve(control_listener)),
            tokio::spawn(crate::garden::run(garden_hosts, parts.gate.clone())),
            tokio::spawn(crate::spoofing::watch(
                neighbours,
                sessions.clone(),
                store.clone(),
            )),
        ]);
        let coa_addr = match &radius {
            Some(r) => r.start(&mut tasks)?,
            None => None,
        };
        if let Some(l) = admin_http_listener {
            let https_port = admin_addr.port();
            tasks.push(tokio::spawn(server::serve(l, move |req, peer| {
                let r = admin.redirect_to_https(&req, peer, https_port);
                async move { r }
            })));
        }
        log::info!(
            "lango {} started in {} ms: portal {portal_addr}, admin https://{admin_addr} (certificate SHA-256 {}), control {}",
            env!("CARGO_PKG_VERSION"),
            started_at.elapsed().as_millis(),
            certs.fingerprint(),
            control_path.display()
        );
        Ok(Daemon {
            portal_addr,
            admin_addr,
            admin_http_addr,
            certs,
            callback_addr,
            store,
            sessions,
            usage,
            payments,
            live,
            radius,
            coa_addr,
            gate: parts.gate,
            tasks,
        })
    }

    /// Stops serving. With `teardown`, also removes Lango from the kernel (clean stop); sessions
    /// stay in the database either way and come back at the next start.
    pub async fn stop(self, teardown: bool) {
        for t in &self.tasks {
            t.abort();
        }
        // Wait until the listeners are really closed, so a restart can bind them again.
        for t in self.tasks {
            let _ = t.await;
        }
        if let Some(r) = &self.radius {
            r.stop().await;
        }
        // The last second's bytes, then everything not yet written: a clean stop loses nothing.
        self.usage.read().await;
        self.usage.persist().await;
        if teardown {
            self.sessions.teardown(self.gate.clone()).await;
        }
    }
}

/// Starts the callback listener. A port that cannot be bound is logged, not fatal: payments
/// are still confirmed by polling.
async fn callback_listener(
    addr: SocketAddr,
    path: &str,
    payments: &Arc<Payments>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Option<SocketAddr> {
    match crate::listen::bind(addr) {
        Ok(l) => {
            let bound = l.local_addr().unwrap_or(addr);
            log::info!("Daraja callbacks received on {bound}");
            let serve = callback::serve(l, path.to_string(), payments.clone());
            tasks.push(tokio::spawn(serve));
            Some(bound)
        }
        Err(e) => {
            log::error!(
                "callback_listen: cannot listen on {addr}: {e}; payments are confirmed by polling only"
            );
            None
        }
    }
}

/// The portal counts connections per device: the MAC from the neighbour tables.
struct Devices(Arc<Neighbours>);

impl server::DeviceOf for Devices {
    fn cached(&self, ip: std::net::IpAddr) -> Option<Option<crate::mac::Mac>> {
        self.0.cached(ip)
    }

    fn lookup(&self, ip: std::net::IpAddr) -> Option<crate::mac::Mac> {
        self.0.lookup(ip)
    }
}

/// The owner's page certificate: `admin_cert`/`admin_key`, made self-signed at first start for
/// the router's names and loopback addresses. A bad file stops the start, naming the option.
async fn owner_certificate(config: &Config, now: crate::clock::Unix) -> anyhow::Result<Arc<Certs>> {
    let (cert, key) = (config.admin_cert.clone(), config.admin_key.clone());
    let mut names = vec!["localhost".to_string()];
    names.extend(crate::admin::own_hostnames());
    names.extend(config.admin_hosts.iter().cloned());
    let mut ips: Vec<std::net::IpAddr> =
        vec![[127, 0, 0, 1].into(), std::net::Ipv6Addr::LOCALHOST.into()];
    if !config.admin_listen.ip().is_unspecified() {
        ips.push(config.admin_listen.ip());
    }
    let loaded =
        tokio::task::spawn_blocking(move || certs::load_or_create(&cert, &key, &names, &ips, now))
            .await??;
    Ok(Certs::new(loaded))
}

/// The portal on every address: dual-stack where the router has IPv6, else IPv4 only.
async fn bind_any(port: u16) -> anyhow::Result<TcpListener> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    match crate::listen::bind((Ipv6Addr::UNSPECIFIED, port).into()) {
        Ok(l) => Ok(l),
        Err(_) => crate::listen::bind((Ipv4Addr::UNSPECIFIED, port).into())
            .with_context(|| format!("portal_port: cannot listen on {port}")),
    }
}

/// `lango run`: the daemon on a router, until SIGTERM/SIGINT (clean stop: the gate is removed).
/// A crash or SIGKILL leaves the gate in the kernel, so paid clients keep their time and new
/// phones stay captive until procd restarts Lango.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let parts = |config: &Config| Parts {
        gate: Arc::new(crate::gate::KernelGate::new(config)),
        neighbours: Neighbours::kernel(),
        clock: Arc::new(crate::clock::SystemClock),
        portal_listen: None,
    };
    serve(config, parts, true, async |_| Ok(())).await
}

/// Runs Lango until SIGTERM or SIGINT; `teardown` removes the gate from the kernel then.
/// `started` runs once, after the first start.
///
/// A reload — SIGHUP (`service lango reload`) or *Apply* on the owner's Settings page —
/// re-reads the config file; one that does not validate is refused and the running settings
/// kept. What can change live (site, texts, Daraja account, limits) changes at once; a change to
/// what the listeners and the gate hold (interfaces, ports, trusted MACs, walled garden, shaping)
/// restarts the services in place: the gate is re-installed in one nft transaction, so online
/// clients keep their access throughout. If the new settings cannot start (a port taken, say),
/// Lango starts again with the ones that ran, rather than leave the hotspot down.
pub async fn serve(
    config: Config,
    parts: impl Fn(&Config) -> Parts,
    teardown: bool,
    started: impl AsyncFnOnce(&Daemon) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut config = config;
    // The settings that ran before a restart, to fall back on.
    let mut previous: Option<Config> = None;
    let mut started = Some(started);
    let logins = Arc::new(crate::admin::Auth::new());
    let mut failure: Option<String> = None;
    loop {
        let start = Daemon::start_with(config.clone(), parts(&config), logins.clone()).await;
        let daemon = match (start, previous.take()) {
            (Ok(d), _) => d,
            (Err(e), Some(old)) => {
                log::error!("reload: the new settings cannot start: {e:#}; starting again with the previous ones");
                failure = Some(format!("{e:#}"));
                config = old;
                continue;
            }
            (Err(e), None) => return Err(e),
        };
        if let Some(why) = failure.take() {
            daemon.live.note_restart_failure(why);
        }
        if let Some(f) = started.take() {
            f(&daemon).await?;
        }
        let restart_with = loop {
            tokio::select! {
                _ = term.recv() => break None,
                _ = int.recv() => break None,
                _ = hup.recv() => {}
                _ = daemon.live.restart_requested() => {
                    // The owner's browser gets the answer to *Apply* before its connection ends.
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                }
            }
            if let Some(c) = reload(&daemon, config.path.as_deref()).await {
                break Some(c);
            }
        };
        match restart_with {
            None => {
                if teardown {
                    log::info!("stopping: removing the gate from the kernel");
                }
                daemon.stop(teardown).await;
                return Ok(());
            }
            Some(c) => {
                log::info!("reload: restarting the services in place");
                daemon.stop(false).await;
                previous = Some(std::mem::replace(&mut config, c));
            }
        }
    }
}

/// Re-reads the config file and puts it in force. Returns it when the services must restart
/// for some of it to take effect.
async fn reload(daemon: &Daemon, path: Option<&std::path::Path>) -> Option<Config> {
    let Some(path) = path else {
        log::warn!("reload: started without a config file; nothing to re-read");
        return None;
    };
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            log::error!("reload: {e}; keeping the running settings");
            return None;
        }
    };
    match daemon.live.reload(config.clone()).await {
        Ok(pending) if pending.is_empty() => None,
        Ok(_) => Some(config),
        Err(e) => {
            log::error!("reload: {e:#}");
            None
        }
    }
}
