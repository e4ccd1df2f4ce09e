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
use crate::store::radius::Queued;
use crate::store::usage::Bytes;
use crate::store::Store;
use crate::usage::Usage;
use std::collections::HashMap;
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

/// What a RADIUS task's database job gives back.
enum Reply {
    Count(u64),
    Next(Option<Queued>),
    Found(Option<Mac>),
    /// Records made, and each open session's bytes.
    Looked(usize, HashMap<i64, Bytes>),
    Done,
}

/// Every database job of the RADIUS tasks has this one boxed type: the binary then holds one
/// copy of tokio's blocking-task code for all of them instead of one per closure (~3 KB of flash
/// each on aarch64, measured).
type Job = Box<dyn FnOnce(&rusqlite::Transaction) -> Result<Reply, crate::store::Error> + Send>;

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
    /// The Disconnect/CoA listener's thread, and the flag that ends it (`stop`).
    coa: Mutex<Option<std::thread::JoinHandle<()>>>,
    stopping: std::sync::atomic::AtomicBool,
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
            coa: Mutex::default(),
            stopping: Default::default(),
        })
    }

    /// Ends the Disconnect/CoA listener and waits until its port is free again, so a restart in
    /// place can bind it (the accounting task ends with the daemon's tasks).
    pub async fn stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let thread = self.coa.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }

    /// Whether `stop` was called.
    fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Starts accounting (one task), and the Disconnect/CoA listener (a thread) if
    /// `coa_listen` is set. Returns the listener's address. A listener that cannot bind is an
    /// error: the operator asked for it.
    pub fn start(
        self: &Arc<Self>,
        tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    ) -> anyhow::Result<Option<SocketAddr>> {
        let sock =
            match self.config.coa_listen {
                Some(addr) => Some(std::net::UdpSocket::bind(addr).map_err(|e| {
                    anyhow::anyhow!("radius coa_listen: cannot listen on {addr}: {e}")
                })?),
                None => None,
            };
        let bound = match &sock {
            Some(s) => Some(s.local_addr()?),
            None => None,
        };
        log::info!(
            "RADIUS: server {}, Disconnect/CoA on {}",
            self.config.server,
            bound.map_or("nothing".into(), |b| format!("udp {b}"))
        );
        if let Some(sock) = sock {
            let (me, rt) = (Arc::downgrade(self), tokio::runtime::Handle::current());
            let thread = std::thread::Builder::new()
                .name("radius-coa".into())
                .spawn(move || dae::serve(me, sock, rt))?;
            *self.coa.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread);
        }
        let me = self.clone();
        tasks.push(tokio::spawn(async move {
            tokio::join!(me.track(), me.send());
        }));
        Ok(bound)
    }

    /// Runs `job` in one transaction, off the event loop.
    async fn db(&self, job: Job) -> Result<Reply, crate::store::Error> {
        self.store.transact(job).await
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
