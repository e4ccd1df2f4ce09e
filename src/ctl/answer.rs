//! What the daemon answers each control request with: one type per answer, written by the
//! daemon and read by the CLI, so both sides agree on every field (`--json` prints the same
//! object, with `"ok": true`).
//! Touches: nothing (data only).

use crate::clock::Unix;
use crate::mac::Mac;
use crate::store::backup::Checked;
use crate::store::payments::Figures;
use crate::store::sessions::Source;
use crate::store::vouchers::{Batch, VoucherState};
use crate::units::{ByteCount, Kbps};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// `lango status`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    pub online: usize,
    pub uptime_s: u64,
    /// The Daraja settings in force and what Daraja made of them.
    pub daraja: crate::payments::Health,
    /// Payment figures by period name (`24h`, `7d`, `30d`).
    pub payments: BTreeMap<String, Figures>,
    pub admin_certificate_sha256: String,
    /// `None`: RADIUS is off.
    pub radius: Option<Radius>,
}

/// The RADIUS side in `status`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Radius {
    pub server: IpAddr,
    /// Accounting records written and not yet answered by the server.
    pub accounting_queue: u64,
    pub health: crate::radius::Health,
}

/// `lango clients`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Clients {
    pub clients: Vec<Client>,
}

/// One device online.
#[derive(Debug, Serialize, Deserialize)]
pub struct Client {
    pub mac: Mac,
    pub ip: Option<IpAddr>,
    pub seconds_remaining: u64,
    pub down_kbps: Kbps,
    pub up_kbps: Kbps,
    pub source: Source,
    /// Since the session began.
    pub bytes_down: ByteCount,
    pub bytes_up: ByteCount,
    /// Over the last second.
    pub rate_down_bps: u64,
    pub rate_up_bps: u64,
    /// `None`: the package has no data allowance.
    pub data_limit_bytes: Option<ByteCount>,
    pub bytes_remaining: Option<ByteCount>,
}

/// `lango auth`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Given {
    pub mac: Mac,
    pub seconds_remaining: u64,
}

/// `lango deauth`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Disconnected {
    pub mac: Mac,
    pub was_online: bool,
}

/// `lango vouchers generate`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Generated {
    pub package: i64,
    pub batch: String,
    pub expires_at: Option<Unix>,
    /// Formatted for print (`XXXXX-XXXXX`).
    pub codes: Vec<String>,
}

/// `lango vouchers list`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Batches {
    pub batches: Vec<Batch>,
}

/// `lango vouchers list --batch B`.
#[derive(Debug, Serialize, Deserialize)]
pub struct BatchCodes {
    pub batch: String,
    pub codes: Vec<Code>,
}

/// One code of a batch.
#[derive(Debug, Serialize, Deserialize)]
pub struct Code {
    pub code: String,
    pub package_id: i64,
    pub state: VoucherState,
    pub expires_at: Option<Unix>,
    pub used_by_mac: Option<Mac>,
    pub used_at: Option<Unix>,
}

/// `lango vouchers revoke`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Revoked {
    pub code: String,
}

/// `lango restore` (by the running daemon).
#[derive(Debug, Serialize, Deserialize)]
pub struct Restored {
    pub restored: Checked,
    /// Sessions in the gate after the swap.
    pub online: usize,
}

/// `lango passwd`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PasswordSet {}
