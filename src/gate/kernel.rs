//! `KernelGate`: the real gate — Lango's own nftables table and tc shaping, one batch per change.
//! Touches: the `nft`, `tc` and `conntrack` binaries. Never: SQLite, HTTP, Daraja.

use super::{Change, Client, Error, Gate};
use crate::config::Config;

/// Drives nftables and tc for the captive interfaces of a `Config`.
pub struct KernelGate {
    _interfaces: Vec<String>,
}

impl KernelGate {
    pub fn new(config: &Config) -> Self {
        KernelGate {
            _interfaces: config.interfaces.clone(),
        }
    }
}

impl Gate for KernelGate {
    fn apply(&self, _changes: &[Change]) -> Result<(), Error> {
        unimplemented!("kernel gate")
    }
    fn sync(&self, _clients: &[Client]) -> Result<(), Error> {
        unimplemented!("kernel gate")
    }
    fn installed(&self) -> Result<bool, Error> {
        unimplemented!("kernel gate")
    }
    fn teardown(&self) -> Result<(), Error> {
        unimplemented!("kernel gate")
    }
}
