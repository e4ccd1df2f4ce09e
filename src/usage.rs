//! Usage: the bytes each device moves. Reads the gate's counters once a second (one batched
//! read for all devices), turns them into increments (`Meter`), keeps what is not yet persisted
//! and each device's rate in memory, and adds the increments to the store every minute and at
//! stop. Touches: the gate (reads only) and the store. Never: kernel changes, HTTP.
//!
//! Kernel counters start from 0 whenever a device's classes are created, and every class the
//! gate holds was created by this process (a start re-installs everything): so a device seen for
//! the first time counts from 0, and a counter that went down was re-created. After a crash, at
//! most what was counted since the last persist is lost; nothing is counted twice.

use crate::clock::Clock;
use crate::gate::{Counter, Gate};
use crate::mac::Mac;
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
    state: Mutex<State>,
}

impl Usage {
    pub fn new(store: Store, gate: Arc<dyn Gate>, clock: Arc<dyn Clock>) -> Arc<Usage> {
        Arc::new(Usage {
            store,
            gate,
            clock,
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

    /// One read of the kernel's counters; returns the devices that moved bytes since the last.
    pub async fn read(&self) -> Vec<(Mac, Bytes)> {
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
                let g = crate::store::sessions::Grant {
                    mac: a,
                    ip: None,
                    source: crate::store::sessions::Source::Payment,
                    source_ref: None,
                    package_id: None,
                    duration_s: 3600,
                    down: crate::units::Kbps(1000),
                    up: crate::units::Kbps(500),
                };
                crate::store::sessions::grant(tx, &g, 1_790_000_000).map(drop)
            })
            .unwrap();
        let usage = Usage::new(store.clone(), gate.clone(), clock);
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
}
