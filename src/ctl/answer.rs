//! What the daemon answers each control request with: one type per answer. The daemon writes
//! each as JSON (its fields, for `--json` and scripts) and as the text a person reads (its
//! `Display`), both from the same typed values; the CLI prints one or the other. Reading the
//! answer back into types in the CLI would cost ~50 KB of deserializing code for nothing the
//! daemon does not already know.
//! Touches: nothing (data and its wording).

use crate::clock::{eat_date, eat_day, eat_display, Unix};
use crate::mac::Mac;
use crate::payments::Health;
use crate::store::backup::Checked;
use crate::store::payments::Figures;
use crate::store::sessions::Source;
use crate::store::vouchers::{Batch, VoucherState};
use crate::units::{ByteCount, Kbps};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// `lango status`.
#[derive(Debug, Serialize)]
pub struct Status {
    pub version: &'static str,
    pub online: usize,
    pub uptime_s: u64,
    /// The Daraja settings in force and what Daraja made of them.
    pub daraja: Health,
    /// Payment figures by period name (`24h`, `7d`, `30d`).
    pub payments: BTreeMap<&'static str, Figures>,
    pub admin_certificate_sha256: String,
    /// `None`: RADIUS is off.
    pub radius: Option<Radius>,
}

/// The RADIUS side in `status`.
#[derive(Debug, Serialize)]
pub struct Radius {
    pub server: IpAddr,
    /// Accounting records written and not yet answered by the server.
    pub accounting_queue: u64,
    pub health: crate::radius::Health,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "running {} · {} online · up {} s",
            self.version, self.online, self.uptime_s
        )?;
        writeln!(f, "M-Pesa: {}", daraja(&self.daraja))?;
        if let Some(r) = &self.radius {
            let ago = |t: Option<Unix>| t.map_or("never".into(), eat_display);
            writeln!(
                f,
                "RADIUS {}: {} accounting records queued · last accept {} · last accounting answer {}",
                r.server,
                r.accounting_queue,
                ago(r.health.last_accept),
                ago(r.health.last_acct_answer)
            )?;
        }
        write!(
            f,
            "owner's page certificate SHA-256: {}",
            self.admin_certificate_sha256
        )?;
        for (name, _) in super::FIGURE_PERIODS {
            write!(f, "\npayments {name:>3}: ")?;
            figures(f, self.payments.get(name))?;
        }
        Ok(())
    }
}

/// One line about the Daraja settings.
fn daraja(h: &Health) -> String {
    match h {
        Health::Ok { .. } => "settings accepted by Daraja".into(),
        Health::Unchecked => "settings not checked yet".into(),
        Health::NotSetUp { missing } => format!(
            "NOT SET UP (empty: {}) — the portal offers vouchers only",
            missing.join(", ")
        ),
        Health::Refused { reason, .. } => format!("SETTINGS REFUSED: {reason}"),
        Health::Unreachable { reason, .. } => format!("Daraja unreachable, retrying: {reason}"),
    }
}

/// `12 started · 75% paid · 8.3% cancelled · … · median 14 s to confirm · KES 600`.
fn figures(f: &mut fmt::Formatter<'_>, figures: Option<&Figures>) -> fmt::Result {
    let Some(p) = figures.filter(|p| p.started > 0) else {
        return f.write_str("none");
    };
    write!(
        f,
        "{} started · {}% paid · {}% cancelled · {}% timeout · {}% failed",
        p.started, p.success_pct, p.cancel_pct, p.timeout_pct, p.failure_pct
    )?;
    if p.pending > 0 {
        write!(f, " · {} pending", p.pending)?;
    }
    if let Some(m) = p.median_confirm_s {
        write!(f, " · median {m} s to confirm")?;
    }
    write!(f, " · KES {}", p.revenue_kes)
}

/// `lango clients`.
#[derive(Debug, Serialize)]
pub struct Clients {
    pub clients: Vec<Client>,
}

/// One device online.
#[derive(Debug, Serialize)]
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

impl fmt::Display for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.clients.is_empty() {
            return f.write_str("nobody online");
        }
        write!(
            f,
            "{:<17}  {:<15}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>10}  {:>17}  source",
            "MAC", "IP", "left", "down", "up", "used down", "used up", "rate now", "data left"
        )?;
        for c in &self.clients {
            let left = c.seconds_remaining;
            // "15 MB of 20 MB", or "unlimited" for a package without an allowance.
            let data = match (c.bytes_remaining, c.data_limit_bytes) {
                (Some(left), Some(limit)) => format!("{left} of {limit}"),
                _ => "unlimited".into(),
            };
            let rate = (c.rate_down_bps + c.rate_up_bps) / 1000;
            write!(
                f,
                "\n{:<17}  {:<15}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>10}  {:>17}  {}",
                c.mac.to_string(),
                c.ip.map_or("-".into(), |ip| ip.to_string()),
                format!("{}h{:02}m", left / 3600, left % 3600 / 60),
                c.down_kbps.to_string(),
                c.up_kbps.to_string(),
                c.bytes_down.to_string(),
                c.bytes_up.to_string(),
                format!("{rate} kbit/s"),
                data,
                c.source.as_str()
            )?;
        }
        Ok(())
    }
}

/// `lango auth`.
#[derive(Debug, Serialize)]
pub struct Given {
    pub mac: Mac,
    pub seconds_remaining: u64,
}

impl fmt::Display for Given {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} online for {} s", self.mac, self.seconds_remaining)
    }
}

/// `lango deauth`.
#[derive(Debug, Serialize)]
pub struct Disconnected {
    pub mac: Mac,
    pub was_online: bool,
}

impl fmt::Display for Disconnected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.was_online {
            true => write!(f, "{} disconnected", self.mac),
            false => write!(f, "{} was not online", self.mac),
        }
    }
}

/// `lango vouchers generate`.
#[derive(Debug, Serialize)]
pub struct Generated {
    pub package: i64,
    pub batch: String,
    pub expires_at: Option<Unix>,
    /// Formatted for print (`XXXXX-XXXXX`).
    pub codes: Vec<String>,
}

impl fmt::Display for Generated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.codes.join("\n"))
    }
}

/// `lango vouchers list`.
#[derive(Debug, Serialize)]
pub struct Batches {
    pub batches: Vec<Batch>,
}

impl fmt::Display for Batches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.batches.is_empty() {
            return f.write_str("no vouchers");
        }
        write!(
            f,
            "{:<20}  {:>7}  {:>5}  {:>6}  {:>4}  {:>7}  valid until",
            "batch", "package", "codes", "unused", "used", "revoked"
        )?;
        for b in &self.batches {
            let until = b
                .expires_at
                .map_or("-".to_string(), |e| eat_date(eat_day(e - 1)));
            write!(
                f,
                "\n{:<20}  {:>7}  {:>5}  {:>6}  {:>4}  {:>7}  {until}",
                b.batch, b.package_id, b.total, b.unused, b.used, b.revoked
            )?;
        }
        Ok(())
    }
}

/// `lango vouchers list --batch B`.
#[derive(Debug, Serialize)]
pub struct BatchCodes {
    pub batch: String,
    pub codes: Vec<Code>,
}

/// One code of a batch.
#[derive(Debug, Serialize)]
pub struct Code {
    pub code: String,
    pub package_id: i64,
    pub state: VoucherState,
    pub expires_at: Option<Unix>,
    pub used_by_mac: Option<Mac>,
    pub used_at: Option<Unix>,
}

impl fmt::Display for BatchCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.codes.iter().enumerate() {
            let used = c.used_by_mac.map_or(String::new(), |m| format!("  by {m}"));
            let sep = if i == 0 { "" } else { "\n" };
            write!(f, "{sep}{}  {:<7}{used}", c.code, c.state.as_str())?;
        }
        Ok(())
    }
}

/// `lango vouchers revoke`.
#[derive(Debug, Serialize)]
pub struct Revoked {
    pub code: String,
}

impl fmt::Display for Revoked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} revoked", self.code)
    }
}

/// `lango restore` (by the running daemon).
#[derive(Debug, Serialize)]
pub struct Restored {
    pub restored: Checked,
    /// Sessions in the gate after the swap.
    pub online: usize,
}

impl fmt::Display for Restored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("restored")
    }
}

/// `lango passwd`.
#[derive(Debug, Serialize)]
pub struct PasswordSet {}

impl fmt::Display for PasswordSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("password set; every browser logged in to the owner's page was logged out")
    }
}
