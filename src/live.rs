//! The settings a reload can change while Lango runs (site name, portal texts, language, the
//! Daraja account), shared by the listeners as one snapshot each request reads, swapped whole.
//! A reload never touches sessions or the gate, so nobody online is dropped; what only a
//! restart can change (listen addresses, the database, the gate's interfaces and lists) is
//! reported back instead of half-applied.
//! Touches: the store, sessions and payments (builds a new `Payments` for new Daraja settings).
//! Never: the kernel, HTTP.

use crate::certs::Certs;
use crate::clock::Clock;
use crate::config::{options, Config};
use crate::payments::daraja::Daraja;
use crate::payments::Payments;
use crate::sessions::Sessions;
use crate::store::Store;
use anyhow::Context;
use std::sync::{Arc, RwLock};

/// What one request sees.
pub struct Settings {
    pub config: Config,
    /// Starts new payments with the current Daraja account. Payments already under way finish
    /// with the `Payments` that started them.
    pub payments: Arc<Payments>,
}

/// The current settings and how to replace them.
pub struct Live {
    current: RwLock<Arc<Settings>>,
    /// The config Lango started with: options only a restart applies are compared with it.
    boot: Config,
    store: Store,
    sessions: Arc<Sessions>,
    clock: Arc<dyn Clock>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
    /// The Daraja settings check started by the last reload.
    checking: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The owner's page certificate: a reload brings changed files in at once.
    certs: Arc<Certs>,
    /// Set by *Apply* on the Settings page; `daemon::serve` restarts the services in place.
    restart: tokio::sync::Notify,
    /// Why the last restart could not start the saved settings (the ones before run instead).
    restart_failure: std::sync::Mutex<Option<String>>,
}

impl Live {
    pub fn new(
        config: Config,
        payments: Arc<Payments>,
        store: Store,
        sessions: Arc<Sessions>,
        clock: Arc<dyn Clock>,
        certs: Arc<Certs>,
    ) -> Arc<Live> {
        Arc::new(Live {
            certs,
            boot: config.clone(),
            current: RwLock::new(Arc::new(Settings { config, payments })),
            store,
            sessions,
            clock,
            reloading: tokio::sync::Mutex::new(()),
            checking: std::sync::Mutex::new(None),
            restart: tokio::sync::Notify::new(),
            restart_failure: std::sync::Mutex::new(None),
        })
    }

    /// The options saved since the start that only a restart puts in force.
    pub fn pending(&self) -> Vec<String> {
        options::needing_restart(&self.boot, &self.get().config)
    }

    /// Asks the daemon to re-read its config and restart the services in place (online clients
    /// stay online). A request made while nobody waits is kept until someone does.
    pub fn request_restart(&self) {
        self.restart.notify_one();
    }

    /// Records that the saved settings could not start, for the owner's Settings page.
    pub fn note_restart_failure(&self, why: String) {
        *self
            .restart_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(why);
    }

    /// Why the saved settings could not start, if they could not.
    pub fn restart_failure(&self) -> Option<String> {
        self.restart_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits for `request_restart`.
    pub async fn restart_requested(&self) {
        self.restart.notified().await;
    }

    /// The settings now in force.
    pub fn get(&self) -> Arc<Settings> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Puts `config` in force. Returns the options that differ from the running daemon's and
    /// take effect only after a restart.
    pub async fn reload(&self, config: Config) -> anyhow::Result<Vec<String>> {
        let _one = self.reloading.lock().await;
        // Files are looked at off the event loop. A bad new certificate refuses the whole
        // reload: the running one stays.
        let (certs, cert, key) = (
            self.certs.clone(),
            config.admin_cert.clone(),
            config.admin_key.clone(),
        );
        let changed = tokio::task::spawn_blocking(move || {
            certs
                .differs(&cert, &key)
                .then(|| crate::certs::load(&cert, &key))
                .transpose()
        })
        .await??;
        if let Some(loaded) = changed {
            log::info!(
                "reload: owner's page certificate {} (SHA-256 {})",
                config.admin_cert.display(),
                loaded.fingerprint
            );
            self.certs.replace(loaded);
        }
        let now = self.get();
        let payments = if config.daraja == now.config.daraja && config.limits == now.config.limits {
            now.payments.clone()
        } else {
            let daraja = Daraja::new(&config.daraja).context("setting up the Daraja client")?;
            log::info!("reload: new Daraja settings for new payments");
            let p = Payments::new(
                self.store.clone(),
                self.sessions.clone(),
                daraja,
                &config.daraja,
                &config.limits,
                self.clock.clone(),
            );
            // Ask Daraja whether the new settings work; a check still running for the
            // previous ones has nothing left to report.
            let check = tokio::spawn(p.clone().check_settings());
            let previous = self
                .checking
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .replace(check);
            if let Some(h) = previous {
                h.abort();
            }
            p
        };
        let pending = options::needing_restart(&self.boot, &config);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) =
            Arc::new(Settings { config, payments });
        log::info!("reload: settings applied");
        if !pending.is_empty() {
            log::warn!(
                "reload: changed options take effect after a restart: {}",
                pending.join(", ")
            );
        }
        Ok(pending)
    }
}
