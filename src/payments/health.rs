//! Are the owner's Daraja settings usable? Checked once in the background at start (a fresh
//! OAuth token, then a query Daraja answers only after checking shortcode and passkey), and
//! updated by what pushes and queries find later. Failures are logged at error level (never the
//! secrets) and recorded as `events` rows of kind `daraja.credentials`, so the owner's page can
//! flag them; a passing check is recorded as `daraja.ok`.
//! Touches: Daraja (through the client), the events table.

use super::{daraja, Payments};
use crate::clock::Unix;
use std::sync::Arc;
use std::time::Duration;

/// First retry of a check Daraja could not answer (network down at boot is common).
const RECHECK_FIRST: Duration = Duration::from_secs(30);
/// Retries slow down to this.
const RECHECK_MAX: Duration = Duration::from_secs(600);
/// While Daraja is unreachable, new payments are refused at once (no customer waits for a
/// connect timeout); after this long the next one is tried again.
const PROBE_EVERY: Duration = Duration::from_secs(30);

/// What Lango knows about its Daraja settings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Health {
    /// Settings M-Pesa needs are empty: the portal offers vouchers only.
    NotSetUp { missing: Vec<&'static str> },
    /// Not checked yet.
    Unchecked,
    /// Daraja accepted the settings at `at`.
    Ok { at: Unix },
    /// Daraja refused the settings, or a payment showed them wrong (ResultCode 2028).
    Refused { at: Unix, reason: String },
    /// Daraja could not be asked; the check is retried.
    Unreachable { at: Unix, reason: String },
}

impl Payments {
    /// What is known about the Daraja settings now.
    pub fn health(&self) -> Health {
        self.lock_health().clone()
    }

    pub(super) fn set_health(&self, h: Health) {
        *self.lock_health() = h;
    }

    /// A push was accepted: the credentials work (a refusal found earlier stays until restart,
    /// since a till mismatch shows only after an accepted push).
    pub(super) fn health_after_push(&self) {
        let mut h = self.lock_health();
        if matches!(*h, Health::Unchecked | Health::Unreachable { .. }) {
            *h = Health::Ok {
                at: self.clock.now(),
            };
        }
    }

    /// Daraja answered: if it was unreachable, it is back.
    pub(super) fn note_reachable(&self) {
        let mut h = self.lock_health();
        if matches!(*h, Health::Unreachable { .. }) {
            log::info!("Daraja reachable again");
            *h = Health::Ok {
                at: self.clock.now(),
            };
        }
    }

    /// A call could not reach Daraja. Settings already found refused stay refused.
    pub(super) fn note_unreachable(&self, reason: &str) {
        let mut h = self.lock_health();
        if !matches!(*h, Health::Refused { .. } | Health::NotSetUp { .. }) {
            *h = Health::Unreachable {
                at: self.clock.now(),
                reason: reason.to_string(),
            };
        }
    }

    /// Why new payments should not even be tried now: Daraja was unreachable moments ago.
    /// After `PROBE_EVERY` the next customer's push is tried again (and so finds the way back).
    pub(super) fn recently_unreachable(&self) -> Option<String> {
        match &*self.lock_health() {
            Health::Unreachable { at, reason }
                if self.clock.now() - at < PROBE_EVERY.as_secs() as i64 =>
            {
                Some(reason.clone())
            }
            _ => None,
        }
    }

    /// Whether the portal should say M-Pesa is down.
    pub fn unreachable(&self) -> bool {
        matches!(*self.lock_health(), Health::Unreachable { .. })
    }

    fn lock_health(&self) -> std::sync::MutexGuard<'_, Health> {
        // The guarded value is always whole, so a panic elsewhere cannot leave it inconsistent.
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks the settings once, retrying while Daraja cannot be reached. Run in the background
    /// at start: a router often boots before its uplink is up.
    pub async fn check_settings(self: Arc<Self>) {
        if !self.missing.is_empty() {
            let why = format!(
                "M-Pesa is not set up: option {} empty in config daraja; the portal offers vouchers only",
                self.missing.join(", ")
            );
            log::error!("{why}");
            self.record_event(self.clock.now(), "daraja.credentials", None, None, &why)
                .await;
            return;
        }
        let mut wait = RECHECK_FIRST;
        loop {
            let now = self.clock.now();
            match self.daraja.verify(now).await {
                Ok(()) => {
                    log::info!("Daraja accepted the settings");
                    self.set_health(Health::Ok { at: now });
                    self.record_event(now, "daraja.ok", None, None, "settings accepted by Daraja")
                        .await;
                    return;
                }
                Err(daraja::Error::Busy(m)) => {
                    // Daraja answered: it can be reached, it is just busy.
                    log::warn!(
                        "cannot check the Daraja settings yet ({m}); trying again in {} s",
                        wait.as_secs()
                    );
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(RECHECK_MAX);
                }
                Err(daraja::Error::Transient(m)) => {
                    log::warn!(
                        "cannot check the Daraja settings yet ({m}); trying again in {} s",
                        wait.as_secs()
                    );
                    self.set_health(Health::Unreachable { at: now, reason: m });
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(RECHECK_MAX);
                }
                Err(e) => {
                    let why = format!("Daraja refused the settings: {e}");
                    log::error!("{why} — fix consumer_key / consumer_secret / shortcode / passkey in config daraja");
                    self.set_health(Health::Refused {
                        at: now,
                        reason: why.clone(),
                    });
                    self.record_event(now, "daraja.credentials", None, None, &why)
                        .await;
                    return;
                }
            }
        }
    }
}
