//! `KernelGate`: the real gate — Lango's own nftables table and tc shaping, one batch per change.
//! Decides what to render and when; `nft`/`tc` render, `runner` runs. Never: SQLite, HTTP, Daraja.
//!
//! Every `apply` is one `nft -f -` transaction, then one `tc -batch -`, then (when someone is
//! evicted) one `conntrack -R -`. A `sync` is the same with the whole state, however many clients.
//! After any error the kernel may be half-way: the caller should `sync`.

use super::runner::Runner;
use super::tc::{Leaf, Rates, Shaper, Slots};
use super::{neigh, nft, tc, Change, Client, Counter, Error, Gate, Opening};
use crate::config::Config;
use crate::mac::Mac;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};

/// fw4's config, read for `flow_offloading`.
const FIREWALL_CONFIG: &str = "/etc/config/firewall";
/// 1 when bridged IPv4 goes through iptables/nft (br_netfilter).
const BRIDGE_NF: &str = "/proc/sys/net/bridge/bridge-nf-call-iptables";

/// Drives nftables and tc for the captive interfaces of a `Config`.
pub struct KernelGate {
    runner: Runner,
    rules: nft::Ruleset,
    /// `None` when shaping is off in the config.
    shaping: Option<Devices>,
    /// Held for a whole batch, so batches never interleave.
    state: Mutex<State>,
}

struct Devices {
    interfaces: Vec<String>,
    ifb: String,
}

#[derive(Default)]
struct State {
    /// The captive interfaces shaped since the last `sync`: the configured ones that existed.
    interfaces: Vec<String>,
    slots: Slots,
    /// What each shaped device is shaped at in the kernel (the ones with a slot).
    shaped: HashMap<Mac, Rates>,
    /// Probed on the first `sync`.
    leaf: Option<Leaf>,
    /// The walled garden's host addresses and when the kernel forgets each, for `sync`.
    opened: HashMap<IpAddr, std::time::Instant>,
}

impl State {
    /// tc lines taking `mac` to `rates` from what the kernel has now.
    fn shape(&mut self, shaper: &Shaper, mac: Mac, rates: Rates) -> String {
        if rates.unlimited() {
            return self.unshape(shaper, mac);
        }
        let Some(slot) = self.slots.assign(mac) else {
            log::warn!("gate: mac={mac} admitted unshaped: too many devices end in the same byte");
            return String::new();
        };
        let old = self.shaped.insert(mac, rates);
        shaper.render_admit(slot, mac, old, rates)
    }

    /// tc lines removing `mac`'s shaping, if it has any.
    fn unshape(&mut self, shaper: &Shaper, mac: Mac) -> String {
        match (self.shaped.remove(&mac), self.slots.release(mac)) {
            (Some(old), Some(slot)) => shaper.render_evict(slot, old),
            _ => String::new(),
        }
    }
}

impl KernelGate {
    /// The gate for the router itself.
    pub fn new(config: &Config) -> Self {
        Self::with_runner(config, Runner::host())
    }

    /// The gate driving the kernel through `runner` (tests: inside a network namespace).
    pub fn with_runner(config: &Config, runner: Runner) -> Self {
        let shaping = config.shaping.enabled.then(|| Devices {
            interfaces: config.interfaces.clone(),
            ifb: config.shaping.ifb.clone(),
        });
        KernelGate {
            runner,
            rules: nft::Ruleset::from_config(config),
            shaping,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The shaper for the interfaces set up by the last `sync`.
    fn shaper(&self, state: &State) -> Option<Shaper> {
        self.shaping.as_ref().map(|d| Shaper {
            interfaces: state.interfaces.clone(),
            ifb: d.ifb.clone(),
            leaf: state.leaf.unwrap_or(Leaf::Fifo),
        })
    }

    /// Says so when something on the router would let traffic around the gate.
    fn check_surroundings(&self) {
        let flowtables = self.runner.nft_list(&["flowtables"]).unwrap_or_default();
        let firewall = std::fs::read_to_string(FIREWALL_CONFIG).unwrap_or_default();
        if nft::offload_enabled(&flowtables, &firewall) {
            log::warn!(
                "gate: flow offloading is on (fw4 flow_offloading or an nft flowtable): offloaded \
                 connections bypass the forward hook and tc, so expiry and speed limits do not hold for them; \
                 turn it off in /etc/config/firewall"
            );
        }
        if self.shaping.is_some() && self.runner.read(BRIDGE_NF).is_some_and(|v| v.trim() == "1") {
            log::warn!(
                "gate: br_netfilter is on (net.bridge.bridge-nf-call-iptables=1): uploads redirected to the \
                 IFB lose their conntrack entry and NAT; set it to 0 or disable shaping"
            );
        }
    }

    /// Creates the IFB if needed and brings it up.
    fn ensure_ifb(&self, ifb: &str) -> Result<(), Error> {
        if self.runner.ip(&["link", "show", "dev", ifb]).is_err() {
            self.runner.ip(&["link", "add", ifb, "type", "ifb"])?;
        }
        self.runner.ip(&["link", "set", "dev", ifb, "up"]).map(drop)
    }

    /// fq_codel if the kernel has it: tried on our own IFB, whose root is replaced right after.
    fn probe_leaf(&self, ifb: &str) -> Leaf {
        let leaf = match self
            .runner
            .tc(&["qdisc", "replace", "dev", ifb, "root", "fq_codel"])
        {
            Ok(_) => Leaf::FqCodel,
            Err(_) => Leaf::Fifo,
        };
        log::info!("gate: per-client queue {leaf:?}");
        leaf
    }

    /// Every address the device is known by: the caller's hint and the neighbour tables'.
    fn addresses(&self, evicted: &[(Mac, Option<IpAddr>)]) -> Vec<IpAddr> {
        let table = match self.runner.neighbours() {
            Ok(t) => t,
            Err(e) => {
                log::warn!("gate: cannot read neighbour tables: {e}");
                String::new()
            }
        };
        let mut out: Vec<IpAddr> = vec![];
        for (mac, hint) in evicted {
            for ip in hint
                .iter()
                .copied()
                .chain(neigh::addresses_of(*mac, "", &table))
            {
                if !out.contains(&ip) {
                    out.push(ip);
                }
            }
        }
        out
    }
}

impl Gate for KernelGate {
    fn apply(&self, changes: &[Change]) -> Result<(), Error> {
        if changes.is_empty() {
            return Ok(());
        }
        let evicted = {
            let mut state = self.lock();
            self.runner.nft(&nft::render_changes(changes))?;
            let mut evicted = vec![];
            let mut script = String::new();
            let shaper = self.shaper(&state);
            for change in changes {
                match change {
                    Change::Admit(c) if c.seconds > 0 => {
                        log::debug!(
                            "gate: admit mac={} seconds={} down={} up={}",
                            c.mac,
                            c.seconds,
                            c.down,
                            c.up
                        );
                        if let Some(shaper) = &shaper {
                            script.push_str(&state.shape(shaper, c.mac, Rates::of(c)));
                        }
                    }
                    Change::Admit(Client { mac, ip, .. }) | Change::Evict { mac, ip } => {
                        log::debug!("gate: evict mac={mac}");
                        if let Some(shaper) = &shaper {
                            script.push_str(&state.unshape(shaper, *mac));
                        }
                        evicted.push((*mac, *ip));
                    }
                }
            }
            if !script.is_empty() {
                self.runner.tc_batch(&script)?;
            }
            evicted
        };
        // The kernel already refuses the evicted; cutting their connections need not hold up
        // the next batch.
        if !evicted.is_empty() {
            self.runner.forget_connections(&self.addresses(&evicted));
        }
        log::info!(
            "gate: applied admitted={} evicted={}",
            changes.len() - evicted.len(),
            evicted.len()
        );
        Ok(())
    }

    fn sync(&self, clients: &[Client]) -> Result<(), Error> {
        // One entry per device (the last wins), each with time left.
        let mut clients: Vec<Client> = clients.iter().filter(|c| c.seconds > 0).cloned().collect();
        clients.reverse();
        let mut seen = HashSet::new();
        clients.retain(|c| seen.insert(c.mac));
        clients.reverse();
        let mut state = self.lock();
        self.check_surroundings();
        let now = std::time::Instant::now();
        state.opened.retain(|_, until| *until > now);
        let opened: Vec<Opening> = state
            .opened
            .iter()
            .map(|(addr, until)| Opening {
                addr: *addr,
                seconds: until.duration_since(now).as_secs().max(1),
            })
            .collect();
        self.runner
            .nft(&nft::render_table(&self.rules, &clients, &opened))?;
        if let Some(devices) = &self.shaping {
            self.ensure_ifb(&devices.ifb)?;
            if state.leaf.is_none() {
                state.leaf = Some(self.probe_leaf(&devices.ifb));
            }
            // A captive interface that is not up yet (a guest Wi-Fi) is gated by nft already;
            // its shaping comes with the `sync` after it appears (`installed` notices).
            let qdiscs = self.runner.tc(&["qdisc", "show"])?;
            let present = tc::devices(&qdiscs);
            let (here, missing): (Vec<String>, Vec<String>) = devices
                .interfaces
                .iter()
                .cloned()
                .partition(|i| present.contains(i.as_str()));
            for i in &missing {
                log::warn!("gate: interface {i} is missing or down; shaped once it is up");
            }
            state.interfaces = here;
            state.slots.clear();
            state.shaped.clear();
            let mut shaped = vec![];
            for c in &clients {
                let rates = Rates::of(c);
                if rates.unlimited() {
                    continue;
                }
                match state.slots.assign(c.mac) {
                    Some(slot) => {
                        state.shaped.insert(c.mac, rates);
                        shaped.push((slot, c.mac, rates));
                    }
                    None => log::warn!(
                        "gate: mac={} admitted unshaped: too many devices end in the same byte",
                        c.mac
                    ),
                }
            }
            let shaper = self.shaper(&state).expect("shaping is on");
            self.runner.tc_batch(&shaper.render_setup(&shaped))?;
        }
        log::info!("gate: installed clients={}", clients.len());
        Ok(())
    }

    fn installed(&self) -> Result<bool, Error> {
        let state = self.lock();
        if !nft::has_table(&self.runner.nft_list(&["tables"])?) {
            return Ok(false);
        }
        // Every configured interface that exists now must be shaped, not only last sync's.
        match (self.shaper(&state), &self.shaping) {
            (Some(shaper), Some(devices)) => {
                let all = Shaper {
                    interfaces: devices.interfaces.clone(),
                    ..shaper
                };
                Ok(tc::installed(&all, &self.runner.tc(&["qdisc", "show"])?))
            }
            _ => Ok(true),
        }
    }

    fn teardown(&self) -> Result<(), Error> {
        let mut state = self.lock();
        self.runner.nft(nft::render_teardown())?;
        if let (Some(shaper), Some(devices)) = (self.shaper(&state), &self.shaping) {
            // Every configured interface: a crashed run may have left its qdiscs anywhere.
            let shaper = Shaper {
                interfaces: devices.interfaces.clone(),
                ..shaper
            };
            // Best effort: an interface may be gone already, and then so are its qdiscs.
            if let Err(e) = self.runner.tc_batch_force(&shaper.render_teardown()) {
                log::debug!("gate: teardown: {e}");
            }
            if let Err(e) = self.runner.ip(&["link", "del", "dev", &shaper.ifb]) {
                log::debug!("gate: teardown: {e}");
            }
        }
        state.slots.clear();
        log::info!("gate: removed");
        Ok(())
    }

    fn open(&self, openings: &[Opening]) -> Result<(), Error> {
        let mut state = self.lock();
        let script = nft::render_openings(openings);
        if script.is_empty() {
            return Ok(());
        }
        self.runner.nft(&script)?;
        let now = std::time::Instant::now();
        for o in openings.iter().filter(|o| o.seconds > 0) {
            state
                .opened
                .insert(o.addr, now + std::time::Duration::from_secs(o.seconds));
        }
        Ok(())
    }

    fn counters(&self) -> Result<Vec<Counter>, Error> {
        let state = self.lock();
        let Some(shaper) = self.shaper(&state) else {
            return Ok(Vec::new());
        };
        if state.shaped.is_empty() {
            return Ok(Vec::new());
        }
        // Download classes have the same ids on every captive interface: their bytes add up.
        let mut down: HashMap<u16, u64> = HashMap::new();
        for dev in &shaper.interfaces {
            for (minor, bytes) in
                tc::parse_sent(&self.runner.tc(&["-s", "class", "show", "dev", dev])?)
            {
                *down.entry(minor).or_default() += bytes;
            }
        }
        let up = tc::parse_sent(
            &self
                .runner
                .tc(&["-s", "class", "show", "dev", &shaper.ifb])?,
        );
        Ok(state
            .slots
            .iter()
            .map(|(mac, slot)| Counter {
                mac,
                down: down.get(&slot.minor()).copied().unwrap_or(0),
                up: up.get(&slot.minor()).copied().unwrap_or(0),
            })
            .collect())
    }
}
