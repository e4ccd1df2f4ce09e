//! Usage: the bytes each device moves. Reads the gate's counters once a second (one batched
//! read for all devices), turns them into increments (`Meter`), keeps what is not yet persisted
//! and each device's rate in memory, and adds the increments to the store every minute and at
//! stop. A session whose data allowance is used up (persisted plus unsaved bytes) is persisted
//! and ended through `Sessions`, which evicts it like a kick: within a second of reaching it.
//! Touches: the gate (reads only), the store and `Sessions`. Never: kernel changes, HTTP.
//!
//! Kernel counters start from 0 whenever a device's classes are created, and every class the
//! gate holds was created by this process (a start re-installs everything): so a device seen for
//! the first time counts from 0, and a counter that went down was re-created. After a crash, at
//! most what was counted since the last persist is lost; nothing is counted twice.

use crate::clock::Clock;
use crate::gate::{Counter, Gate};
use crate::mac::Mac;
use crate::sessions::Sessions;
use crate::store::usage::Bytes;
use crate::store::{self, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How often the kernel's counters are read: a used-up allowance is acted on this fast.
pub const READ_EVERY: Duration = Duration::from_secs(1);
/// How often counted bytes are written to the database: what a crash may lose at most.
pub const PERSIST_EVERY: Duration = Duration::from_secs(60);

/// Turns the kernel's running counters into increments since the previous read.
#[derive(Debug, Default)]
pub struct Meter {
    last: HashMap<Mac, Bytes>,
}

impl Meter {
    /// The bytes each device moved since the previous read. Devices no longer counted are
    /// forgotten; one seen for the first time, or whose counter went down, counts from 0.
    pub fn read(&mut self, counters: &[Counter]) -> Vec<(Mac, Bytes)> {
        let mut next = HashMap::with_capacity(counters.len());
        let mut moved = Vec::with_capacity(counters.len());
        for c in counters {
            let now = Bytes {
                down: c.down,
                up: c.up,
            };
            let before = self.last.get(&c.mac).copied().unwrap_or_default();
            let step = |now: u64, before: u64| now.checked_sub(before).unwrap_or(now);
            let d = Bytes {
                down: step(now.down, before.down),
                up: step(now.up, before.up),
            };
            if d.total() > 0 {
                moved.push((c.mac, d));
            }
            next.insert(c.mac, now);
        }
        self.last = next;
        moved
    }
}

/// A device's usage as the owner and the customer see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Seen {
    /// Bytes its open session has moved: persisted plus counted since.
    pub used: Bytes,
    /// Bytes per second over the last read.
    pub rate: Bytes,
}

#[derive(Default)]
struct State {
    meter: Meter,
    unsaved: HashMap<Mac, Bytes>,
    rate: HashMap<Mac, Bytes>,
    /// Bytes moved today, not yet persisted.
    unsaved_total: Bytes,
}

/// The usage counter of a running daemon.
pub struct Usage {
    store: Store,
    gate: Arc<dyn Gate>,
    clock: Arc<dyn Clock>,
    sessions: Arc<Sessions>,
    state: Mutex<State>,
}

impl Usage {
    pub fn new(
        store: Store,
        gate: Arc<dyn Gate>,
        clock: Arc<dyn Clock>,
        sessions: Arc<Sessions>,
    ) -> Arc<Usage> {
        Arc::new(Usage {
            store,
            gate,
            clock,
            sessions,
            state: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the counters every `READ_EVERY` and persists every `PERSIST_EVERY`, for ever.
    pub async fn run(self: Arc<Self>) {
        let mut tick = tokio::time::interval(READ_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut persisted = tokio::time::Instant::now();
        loop {
            tick.tick().await;
            self.read().await;
            if persisted.elapsed() >= PERSIST_EVERY {
                persisted = tokio::time::Instant::now();
                self.persist().await;
            }
        }
    }

    /// One read of the kernel's counters, then the cut-off of devices whose data allowance is
    /// used up; returns the devices that moved bytes since the last read.
    pub async fn read(&self) -> Vec<(Mac, Bytes)> {
        let moved = self.count().await;
        if !moved.is_empty() {
            self.cut_off_used_up().await;
        }
        moved
    }

    /// Ends the sessions whose allowance is used up, counting what is not yet persisted: the
    /// bytes are persisted first, so the ended session holds them and the check in the store's
    /// transaction sees them (an allowance bought meanwhile wins).
    async fn cut_off_used_up(&self) {
        let limited = match self.store.call(store::sessions::limited).await {
            Ok(l) => l,
            Err(e) => {
                log::error!("usage: cannot read data allowances: {e}");
                return;
            }
        };
        let used_up: Vec<Mac> = {
            let s = self.lock();
            limited
                .into_iter()
                .filter(|(mac, limit, persisted)| {
                    let unsaved = s.unsaved.get(mac).copied().unwrap_or_default();
                    persisted.total().saturating_add(unsaved.total()) >= *limit
                })
                .map(|(mac, _, _)| mac)
                .collect()
        };
        if used_up.is_empty() {
            return;
        }
        self.persist().await;
        if let Err(e) = self.sessions.end_used_up(used_up).await {
            log::error!("usage: cannot end sessions whose data is used up: {e}");
        }
    }

    /// Reads the kernel's counters into the unsaved bytes and the rates.
    async fn count(&self) -> Vec<(Mac, Bytes)> {
        let g = self.gate.clone();
        let counters = match tokio::task::spawn_blocking(move || g.counters()).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                log::warn!("usage: cannot read the kernel's counters: {e}");
                return Vec::new();
            }
            Err(e) => {
                log::warn!("usage: counter read failed: {e}");
                return Vec::new();
            }
        };
        let secs = READ_EVERY.as_secs().max(1);
        let mut s = self.lock();
        let moved = s.meter.read(&counters);
        s.rate = moved
            .iter()
            .map(|(mac, b)| {
                let rate = Bytes {
                    down: b.down / secs,
                    up: b.up / secs,
                };
                (*mac, rate)
            })
            .collect();
        for (mac, b) in &moved {
            *s.unsaved.entry(*mac).or_default() += *b;
            s.unsaved_total += *b;
        }
        moved
    }

    /// Adds what was counted since the last persist to the store, in one transaction. On
    /// failure the bytes are kept for the next try.
    pub async fn persist(&self) {
        let moved: Vec<(Mac, Bytes)> = {
            let mut s = self.lock();
            s.unsaved_total = Bytes::default();
            s.unsaved.drain().collect()
        };
        if moved.is_empty() {
            return;
        }
        let now = self.clock.now();
        let batch = moved.clone();
        let result = self
            .store
            .transact(move |tx| store::usage::add(tx, &batch, now))
            .await;
        match result {
            Ok(()) => log::debug!("usage: persisted devices={}", moved.len()),
            Err(e) => {
                log::error!("usage: cannot persist: {e}");
                let mut s = self.lock();
                for (mac, b) in moved {
                    *s.unsaved.entry(mac).or_default() += b;
                    s.unsaved_total += b;
                }
            }
        }
    }

    /// The bytes `mac`'s open session has moved: persisted plus counted since.
    pub async fn of(&self, mac: Mac) -> Result<Bytes, store::Error> {
        let persisted = self
            .store
            .call(move |c| store::usage::of_open(c, mac))
            .await?
            .unwrap_or_default();
        let mut used = persisted;
        used += self.lock().unsaved.get(&mac).copied().unwrap_or_default();
        Ok(used)
    }

    /// Every open session's usage now, by device.
    pub async fn open(&self) -> Result<HashMap<Mac, Seen>, store::Error> {
        let persisted = self.store.call(store::usage::open).await?;
        let s = self.lock();
        Ok(persisted
            .into_iter()
            .map(|(mac, mut used)| {
                used += s.unsaved.get(&mac).copied().unwrap_or_default();
                let rate = s.rate.get(&mac).copied().unwrap_or_default();
                (mac, Seen { used, rate })
            })
            .collect())
    }

    /// The router's traffic today (EAT), all devices together.
    pub async fn today(&self) -> Result<Bytes, store::Error> {
        let day = crate::clock::eat_day(self.clock.now());
        let mut b = self
            .store
            .call(move |c| store::usage::on_day(c, day))
            .await?;
        b += self.lock().unsaved_total;
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::gate::LogGate;

    fn mac(s: &str) -> Mac {
        s.parse().unwrap()
    }

    /// An hour at 1/0.5 Mbps with `data` bytes of allowance (`None`: unlimited).
    fn paid_hour(mac: Mac, data: Option<u64>) -> crate::store::sessions::Grant {
        crate::store::sessions::Grant {
            mac,
            ip: None,
            source: crate::store::sessions::Source::Payment,
            source_ref: None,
            package_id: None,
            duration_s: 3600,
            down: crate::units::Kbps(1000),
            up: crate::units::Kbps(500),
            data,
        }
    }

    fn counter(mac: Mac, down: u64, up: u64) -> Counter {
        Counter { mac, down, up }
    }

    #[test]
    fn counters_become_increments_and_recreated_classes_count_from_zero() {
        let (a, b) = (mac("02:00:00:00:00:0a"), mac("02:00:00:00:00:0b"));
        let mut m = Meter::default();
        // First sight counts from 0: every class was created by this process.
        assert_eq!(
            m.read(&[counter(a, 1000, 100)]),
            vec![(
                a,
                Bytes {
                    down: 1000,
                    up: 100
                }
            )]
        );
        // Unchanged: nothing moved.
        assert_eq!(m.read(&[counter(a, 1000, 100)]), vec![]);
        assert_eq!(
            m.read(&[counter(a, 1500, 100), counter(b, 7, 3)]),
            vec![
                (a, Bytes { down: 500, up: 0 }),
                (b, Bytes { down: 7, up: 3 })
            ]
        );
        // a's classes were re-created (eviction and return, or a re-sync): 0 + 40 since.
        assert_eq!(
            m.read(&[counter(a, 40, 2), counter(b, 7, 3)]),
            vec![(a, Bytes { down: 40, up: 2 })]
        );
        // b left and came back: its new classes count from 0, not from its old counter.
        assert_eq!(m.read(&[]), vec![]);
        assert_eq!(
            m.read(&[counter(b, 5, 1)]),
            vec![(b, Bytes { down: 5, up: 1 })]
        );
    }

    #[tokio::test]
    async fn counted_bytes_reach_the_store_once() {
        let store = Store::open_in_memory().unwrap();
        let gate = Arc::new(LogGate::new());
        let clock = Arc::new(ManualClock::new(1_790_000_000));
        let a = mac("02:00:00:00:00:0a");
        store
            .write(|tx| {
                crate::store::sessions::grant(tx, &paid_hour(a, None), 1_790_000_000).map(drop)
            })
            .unwrap();
        let sessions = Sessions::new(store.clone(), gate.clone(), clock.clone());
        let usage = Usage::new(store.clone(), gate.clone(), clock, sessions);
        let both = |down, up| Bytes { down, up };
        let seen = HashMap::from([(
            a,
            Seen {
                used: both(5000, 400),
                rate: both(2000, 100),
            },
        )]);
        gate.count(a, 3000, 300);
        usage.read().await;
        gate.count(a, 5000, 400);
        usage.read().await;
        // Seen before it is persisted, the same after, and persisted once.
        assert_eq!(usage.open().await.unwrap(), seen);
        assert_eq!(usage.today().await.unwrap(), both(5000, 400));
        usage.persist().await;
        usage.persist().await;
        assert_eq!(usage.open().await.unwrap(), seen);
        assert_eq!(usage.today().await.unwrap(), both(5000, 400));
        let persisted = store.call(store::usage::open).await.unwrap();
        assert_eq!(persisted, vec![(a, both(5000, 400))]);
    }

    #[tokio::test]
    async fn a_used_up_allowance_ends_the_session_at_the_next_read_and_evicts_it() {
        let store = Store::open_in_memory().unwrap();
        let gate = Arc::new(LogGate::new());
        let clock = Arc::new(ManualClock::new(1_790_000_000));
        let sessions = Sessions::new(store.clone(), gate.clone(), clock.clone());
        let usage = Usage::new(store.clone(), gate.clone(), clock, sessions.clone());
        let (a, b) = (mac("02:00:00:00:00:0a"), mac("02:00:00:00:00:0b"));
        let bundle = paid_hour;
        sessions.grant(bundle(a, Some(10_000))).await.unwrap();
        sessions.grant(bundle(b, None)).await.unwrap();
        gate.count(a, 9_000, 999);
        gate.count(b, 50_000, 0);
        usage.read().await;
        assert!(sessions.active(a).await.unwrap().is_some(), "9999 of 10000");
        assert_eq!(usage.of(a).await.unwrap().total(), 9_999, "unsaved counts");
        // Bought again before it ran out: the allowance grows, nothing is cut.
        sessions.grant(bundle(a, Some(5_000))).await.unwrap();
        gate.count(a, 14_000, 999);
        usage.read().await;
        assert!(
            sessions.active(a).await.unwrap().is_some(),
            "14999 of 15000"
        );
        gate.count(a, 14_000, 1000);
        gate.count(b, 900_000, 0);
        usage.read().await;
        assert!(
            sessions.active(a).await.unwrap().is_none(),
            "15000 of 15000"
        );
        let last = sessions.latest(a).await.unwrap().unwrap();
        assert!(last.data_used_up());
        assert_eq!(last.used.total(), 15_000, "persisted before it ended");
        assert!(!gate.admitted().contains_key(&a), "evicted from the gate");
        assert!(gate.admitted().contains_key(&b), "unlimited data runs on");
        assert!(sessions.active(b).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn after_a_restart_the_allowance_counts_what_was_persisted_before_it() {
        let store = Store::open_in_memory().unwrap();
        let clock = Arc::new(ManualClock::new(1_790_000_000));
        let a = mac("02:00:00:00:00:0a");
        let first = Arc::new(LogGate::new());
        let sessions = Sessions::new(store.clone(), first.clone(), clock.clone());
        let usage = Usage::new(
            store.clone(),
            first.clone(),
            clock.clone(),
            sessions.clone(),
        );
        sessions.grant(paid_hour(a, Some(20_000))).await.unwrap();
        first.count(a, 12_000, 0);
        usage.read().await;
        usage.persist().await;
        // Counted after the last persist and lost in a crash: in the customer's favour.
        first.count(a, 15_000, 0);
        usage.read().await;

        // A new process: the kernel's counters start from 0 again, the database has 12000.
        let gate = Arc::new(LogGate::new());
        let sessions = Sessions::new(store.clone(), gate.clone(), clock.clone());
        sessions.restore().await.unwrap();
        let usage = Usage::new(store.clone(), gate.clone(), clock, sessions.clone());
        gate.count(a, 7_999, 0);
        usage.read().await;
        assert_eq!(usage.of(a).await.unwrap().total(), 19_999);
        assert!(
            sessions.active(a).await.unwrap().is_some(),
            "19999 of 20000"
        );
        gate.count(a, 8_000, 0);
        usage.read().await;
        assert!(
            sessions.active(a).await.unwrap().is_none(),
            "20000 of 20000"
        );
        assert!(!gate.admitted().contains_key(&a));
    }
}
