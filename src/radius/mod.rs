//! RADIUS: Lango as a NAS (network access server) of a central FreeRADIUS, as MikroTik hotspots
//! are. Codes that are not local vouchers are checked with an Access-Request, every session is
//! accounted (Start, Interim-Update, Stop) from a queue kept in SQLite, and the server may
//! disconnect a device or change its time and speed (RFC 5176). The operator's side is in
//! `docs/radius.md`. Touches: UDP sockets, the store, sessions, usage (reads). Never: HTTP, the
//! kernel directly.

pub mod accounting;
pub mod auth;
pub mod client;
pub mod dae;
pub mod md5;
pub mod packet;
pub mod rate;

pub use auth::Verdict;

use crate::clock::Unix;
use crate::config::RadiusConfig;
use crate::mac::Mac;
use crate::sessions::Sessions;
use crate::store::Store;
use crate::usage::Usage;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// What the owner's Overview shows about the server.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    pub last_accept: Option<Unix>,
    pub last_reject: Option<Unix>,
    /// The last time the server could not be reached for a code.
    pub unreachable: Option<Unix>,
    pub last_acct_answer: Option<Unix>,
}

/// The RADIUS side of a running Lango.
pub struct Radius {
    pub config: RadiusConfig,
    store: Store,
    sessions: Arc<Sessions>,
    /// The byte counters (`None` in tests without a gate's counters).
    usage: Option<Arc<Usage>>,
    health: Mutex<Health>,
    /// Wakes the sender when records were made.
    acct_wake: Notify,
}

impl Radius {
    pub fn new(
        config: RadiusConfig,
        store: Store,
        sessions: Arc<Sessions>,
        usage: Option<Arc<Usage>>,
    ) -> Arc<Radius> {
        Arc::new(Radius {
            config,
            store,
            sessions,
            usage,
            health: Mutex::default(),
            acct_wake: Notify::new(),
        })
    }

    /// Starts accounting, and the Disconnect/CoA listener if `coa_listen` is set. Returns the
    /// listener's address. A listener that cannot bind is an error: the operator asked for it.
    pub async fn start(
        self: &Arc<Self>,
        tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    ) -> anyhow::Result<Option<SocketAddr>> {
        let me = self.clone();
        tasks.push(tokio::spawn(async move { me.track().await }));
        let me = self.clone();
        tasks.push(tokio::spawn(async move { me.send().await }));
        let Some(addr) = self.config.coa_listen else {
            return Ok(None);
        };
        let sock = tokio::net::UdpSocket::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("radius coa_listen: cannot listen on {addr}: {e}"))?;
        let bound = sock.local_addr()?;
        let me = self.clone();
        tasks.push(tokio::spawn(async move { me.serve_dae(sock).await }));
        log::info!(
            "RADIUS: server {}, Disconnect/CoA on udp {bound}",
            self.config.server
        );
        Ok(Some(bound))
    }

    pub fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn kick_accounting(&self) {
        self.acct_wake.notify_one();
    }
}

/// A MAC as RADIUS servers write it in Calling-Station-Id: `AA-BB-CC-DD-EE-FF`.
pub fn station(mac: Mac) -> String {
    mac.to_string().to_ascii_uppercase().replace(':', "-")
}
