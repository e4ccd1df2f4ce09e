//! `LogGate`: a gate that keeps the admitted set in memory and logs each change.
//! Used by `lango demo` and in-process tests, where there is no kernel to drive.

use super::{Change, Client, Counter, Error, Gate, Opening};
use crate::mac::Mac;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Records what the kernel would have been told.
#[derive(Default)]
pub struct LogGate {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    admitted: BTreeMap<Mac, Client>,
    batches: usize,
    /// What `counters` answers: set by tests, as if the devices had moved these bytes.
    counted: BTreeMap<Mac, Counter>,
    /// The walled garden's host addresses and their seconds, as last opened.
    opened: BTreeMap<std::net::IpAddr, u64>,
}

impl LogGate {
    pub fn new() -> Self {
        Self::default()
    }

    /// Who is admitted now.
    pub fn admitted(&self) -> BTreeMap<Mac, Client> {
        self.lock().admitted.clone()
    }

    /// How many batches were applied (each would be one kernel transaction).
    pub fn batches(&self) -> usize {
        self.lock().batches
    }

    /// The walled garden's host addresses opened so far, with the seconds each was given last.
    pub fn opened(&self) -> BTreeMap<std::net::IpAddr, u64> {
        self.lock().opened.clone()
    }

    /// Sets the kernel's counters for a device, as its traffic would (tests).
    pub fn count(&self, mac: Mac, down: u64, up: u64) {
        self.lock().counted.insert(mac, Counter { mac, down, up });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Gate for LogGate {
    fn apply(&self, changes: &[Change]) -> Result<(), Error> {
        let mut s = self.lock();
        s.batches += 1;
        for c in changes {
            match c {
                Change::Admit(client) => {
                    log::info!(
                        "gate: admit mac={} seconds={} down={} up={}",
                        client.mac,
                        client.seconds,
                        client.down,
                        client.up
                    );
                    s.admitted.insert(client.mac, client.clone());
                }
                Change::Evict { mac, .. } => {
                    log::info!("gate: evict mac={mac}");
                    s.admitted.remove(mac);
                }
            }
        }
        Ok(())
    }

    fn sync(&self, clients: &[Client]) -> Result<(), Error> {
        let mut s = self.lock();
        s.batches += 1;
        s.admitted = clients.iter().map(|c| (c.mac, c.clone())).collect();
        log::info!("gate: synced {} clients", clients.len());
        Ok(())
    }

    fn installed(&self) -> Result<bool, Error> {
        Ok(true)
    }

    fn teardown(&self) -> Result<(), Error> {
        self.lock().admitted.clear();
        Ok(())
    }

    fn counters(&self) -> Result<Vec<Counter>, Error> {
        Ok(self.lock().counted.values().copied().collect())
    }

    fn open(&self, openings: &[Opening]) -> Result<(), Error> {
        let mut s = self.lock();
        for o in openings {
            log::info!("gate: walled garden open to {} for {} s", o.addr, o.seconds);
            s.opened.insert(o.addr, o.seconds);
        }
        Ok(())
    }
}
