//! The gate: what the kernel lets through. A `Gate` takes batches of changes and applies each
//! batch at once; `KernelGate` drives nftables + tc, `LogGate` only records (demo, tests).
//! Touches: the kernel (through `KernelGate`). Never: SQLite, HTTP, Daraja.

mod conntrack;
mod kernel;
mod log_gate;
pub mod neigh;
mod nft;
mod runner;
mod tc;

pub use kernel::KernelGate;
pub use log_gate::LogGate;
pub use runner::Runner;

use crate::mac::Mac;
use crate::units::Kbps;
use std::net::IpAddr;

/// A device allowed through, as the kernel should see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub mac: Mac,
    /// Addresses the device was last seen with (its open connections are cut on eviction).
    pub ip: Option<IpAddr>,
    /// Time left; the kernel drops the device by itself when it runs out.
    pub seconds: u64,
    pub down: Kbps,
    pub up: Kbps,
}

/// One change to the kernel's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Let this device through (new, or new time left / rates for a known one).
    Admit(Client),
    /// Cut this device off now, including its open connections. Harmless if it is already gone.
    Evict { mac: Mac, ip: Option<IpAddr> },
}

/// Bytes the kernel has counted for one device since its classes were (re)created: whole
/// Ethernet frames, to the device (`down`) and from it (`up`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counter {
    pub mac: Mac,
    pub down: u64,
    pub up: u64,
}

/// An address of a walled-garden host name: reachable without paying for `seconds` more
/// (the kernel forgets it then, unless it is opened again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opening {
    pub addr: IpAddr,
    pub seconds: u64,
}

/// Why the kernel refused a change.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
}

/// The kernel's view of who may pass. Each call is one batch. After an error the kernel may hold
/// part of a batch: `sync` puts it right.
pub trait Gate: Send + Sync + 'static {
    /// Applies `changes` in one batch.
    fn apply(&self, changes: &[Change]) -> Result<(), Error>;
    /// Installs the gate from scratch with exactly `clients` admitted (start, re-creation).
    fn sync(&self, clients: &[Client]) -> Result<(), Error>;
    /// Whether the gate is still installed (someone may have run `nft flush ruleset`).
    fn installed(&self) -> Result<bool, Error>;
    /// Removes everything Lango put in the kernel (clean stop).
    fn teardown(&self) -> Result<(), Error>;
    /// Every counted device's bytes, read from the kernel at once. Counters restart from 0 when
    /// a device's classes are re-created (eviction, `sync`): `meter::Meter` turns them into
    /// increments.
    fn counters(&self) -> Result<Vec<Counter>, Error>;
    /// Opens (or keeps open for longer) the walled garden to these addresses, in one batch.
    /// They survive a `sync`.
    fn open(&self, openings: &[Opening]) -> Result<(), Error>;
}
