//! `KernelGate`: the real gate — Lango's own nftables table and tc shaping, one batch per change.
//! Decides what to render and when; `nft`/`tc` render, `runner` runs. Never: SQLite, HTTP, Daraja.
//!
//! Every `apply` is one `nft -f -` transaction, then one `tc -batch -`, then (when someone is
//! evicted) one `conntrack -R -`. A `sync` is the same with the whole state, however many clients.
//! After any error the kernel may be half-way: the caller should `sync`.

use super::runner::Runner;
use super::tc::{Leaf, Shaper, Slots};
use super::{neigh, nft, tc, Change, Client, Error, Gate};
use crate::config::Config;
use crate::mac::Mac;
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
    slots: Slots,
    /// Probed on the first `sync`.
    leaf: Option<Leaf>,
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

    fn shaper(&self, state: &State) -> Option<Shaper> {
        self.shaping.as_ref().map(|d| Shaper {
            interfaces: d.interfaces.clone(),
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
                            match state.slots.assign(c.mac) {
                                Some(slot) => script.push_str(&shaper.render_admit(slot, c)),
                                None => log::warn!(
                                    "gate: mac={} admitted unshaped: too many devices end in the same byte",
                                    c.mac
                                ),
                            }
                        }
                    }
                    Change::Admit(Client { mac, ip, .. }) | Change::Evict { mac, ip } => {
                        log::debug!("gate: evict mac={mac}");
                        if let (Some(shaper), Some(slot)) = (&shaper, state.slots.release(*mac)) {
                            script.push_str(&shaper.render_evict(slot, *mac));
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
        let mut state = self.lock();
        self.check_surroundings();
        self.runner.nft(&nft::render_table(&self.rules, clients))?;
        if let Some(devices) = &self.shaping {
            self.ensure_ifb(&devices.ifb)?;
            if state.leaf.is_none() {
                state.leaf = Some(self.probe_leaf(&devices.ifb));
            }
            state.slots.clear();
            let mut shaped = vec![];
            for c in clients.iter().filter(|c| c.seconds > 0) {
                match state.slots.assign(c.mac) {
                    Some(slot) => shaped.push((slot, c)),
                    None => log::warn!(
                        "gate: mac={} admitted unshaped: too many devices end in the same byte",
                        c.mac
                    ),
                }
            }
            let shaper = self.shaper(&state).expect("shaping is on");
            self.runner.tc_batch(&shaper.render_setup(&shaped))?;
        }
        log::info!(
            "gate: installed clients={}",
            clients.iter().filter(|c| c.seconds > 0).count()
        );
        Ok(())
    }

    fn installed(&self) -> Result<bool, Error> {
        let state = self.lock();
        if !nft::has_table(&self.runner.nft_list(&["tables"])?) {
            return Ok(false);
        }
        match self.shaper(&state) {
            Some(shaper) => Ok(tc::installed(&shaper, &self.runner.tc(&["qdisc", "show"])?)),
            None => Ok(true),
        }
    }

    fn teardown(&self) -> Result<(), Error> {
        let mut state = self.lock();
        self.runner.nft(nft::render_teardown())?;
        if let Some(shaper) = self.shaper(&state) {
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
}
