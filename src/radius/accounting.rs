//! Accounting (RFC 2866): Start when any session begins, Interim-Update on the interval, Stop
//! when it ends, each made once and kept in the `radius_queue` table until the server answers.
//! Records follow the sessions table rather than the code paths that change it, so every way a
//! session starts or ends (payment, voucher, RADIUS, owner, expiry, kick, move, restart) is
//! accounted alike. Sending is in order, one at a time, with Acct-Delay-Time; a server that does
//! not answer is tried again, ever more slowly, for as long as it takes: nothing is lost, and
//! FreeRADIUS's unique key per record (Acct-Unique-Session-Id) makes a repeat harmless.
//! Touches: the store, the client, usage (reads). Never: the kernel.

use super::auth::WIRELESS;
use super::client::{self, Server};
use super::packet::{attr, Attrs, Code};
use super::{station, Radius, Reply};
use crate::clock::Unix;
use crate::mac::Mac;
use crate::store::radius::{self as rstore, Accounted};
use crate::store::usage::Bytes;
use crate::store::{self, packages, payments};
use std::collections::HashMap;
use std::time::Duration;

/// How often sessions are looked at for records due.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// The longest wait between tries of an unanswered record.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Acct-Status-Type values.
pub const START: u32 = 1;
pub const STOP: u32 = 2;
pub const INTERIM: u32 = 3;

/// Acct-Terminate-Cause for a session's end reason (RFC 2866 §5.10).
pub fn terminate_cause(reason: Option<&str>) -> u32 {
    match reason {
        Some("expired") => 5, // Session-Timeout
        // RFC 2866 has no cause for a used-up data allowance; the nearest is the paid limit
        // running out, as for time.
        Some("data_used_up") => 5,
        Some("revoked") => 6, // Admin-Reset: the owner's kick, or a Disconnect-Request
        Some("moved") => 1,   // User-Request: the customer moved the time to another device
        _ => 10,              // NAS-Request
    }
}

/// The Acct-Session-Id of session `id` that started at `started_at`: unique on this router
/// even if the database is replaced (the start time differs).
pub fn session_id(id: i64, started_at: Unix) -> String {
    format!("{:08X}{:08X}", started_at as u32, id as u32)
}

/// Reads the session's row id back from an Acct-Session-Id.
pub fn parse_session_id(s: &str) -> Option<i64> {
    (s.len() == 16)
        .then(|| i64::from_str_radix(&s[8..], 16).ok())
        .flatten()
}

/// Octets as two 32-bit counters: the low word and Gigawords (RFC 2869 §5.1).
fn split(n: u64) -> (u32, u32) {
    (n as u32, (n >> 32) as u32)
}

impl Radius {
    /// Looks for records due each second, for ever.
    pub(super) async fn track(&self) {
        let mut seen: HashMap<i64, Bytes> = HashMap::new();
        loop {
            tokio::time::sleep(LOOK_EVERY).await;
            match self.look(&seen).await {
                Ok((made, now_seen)) => {
                    seen = now_seen;
                    if made > 0 {
                        self.kick_accounting();
                    }
                }
                Err(e) => log::error!("RADIUS accounting: {e}"),
            }
        }
    }

    /// One look: queues the Starts, Interim-Updates and Stops due, in one transaction. `seen`
    /// holds each open session's bytes at the previous look (a Stop counts what the kernel
    /// counted until the end, not only what was persisted). Returns how many records were made
    /// and the bytes seen now.
    async fn look(
        &self,
        seen: &HashMap<i64, Bytes>,
    ) -> Result<(usize, HashMap<i64, Bytes>), store::Error> {
        let live: HashMap<Mac, Bytes> = match &self.usage {
            Some(u) => u
                .open()
                .await?
                .into_iter()
                .map(|(m, s)| (m, s.used))
                .collect(),
            None => HashMap::new(),
        };
        let now = self.sessions.now();
        let seen = seen.clone();
        let me = self.nas_attrs();
        let default_interim = self.config.interim.as_secs() as i64;
        let looked = self
            .db(Box::new(move |tx| {
                let mut made = 0;
                let interval = |a: &Accounted| a.interim_s.map_or(default_interim, i64::from);
                for a in rstore::to_start(tx)? {
                    let attrs = record(tx, &me, &a, START, now, Bytes::default())?;
                    rstore::started(tx, a.id, now + interval(&a))?;
                    rstore::enqueue(tx, a.id, START, now, &attrs.to_wire())?;
                    made += 1;
                }
                for a in rstore::interim_due(tx, now)? {
                    let b = a.bytes.max(live.get(&a.mac).copied().unwrap_or_default());
                    let attrs = record(tx, &me, &a, INTERIM, now, b)?;
                    rstore::interim_queued(tx, a.id, now + interval(&a))?;
                    rstore::enqueue(tx, a.id, INTERIM, now, &attrs.to_wire())?;
                    made += 1;
                }
                for a in rstore::to_stop(tx)? {
                    let b = a.bytes.max(seen.get(&a.id).copied().unwrap_or_default());
                    let at = a.ended_at.unwrap_or(now);
                    let attrs = record(tx, &me, &a, STOP, at, b)?;
                    rstore::stopped(tx, a.id)?;
                    rstore::enqueue(tx, a.id, STOP, at, &attrs.to_wire())?;
                    made += 1;
                }
                let mut now_seen = HashMap::new();
                for a in rstore::open(tx)? {
                    let b = a.bytes.max(live.get(&a.mac).copied().unwrap_or_default());
                    now_seen.insert(a.id, b);
                }
                Ok(Reply::Looked(made, now_seen))
            }))
            .await?;
        Ok(match looked {
            Reply::Looked(made, seen) => (made, seen),
            _ => (0, HashMap::new()),
        })
    }

    fn nas_attrs(&self) -> Attrs {
        let mut a = Attrs::default();
        self.nas(&mut a);
        a.int(attr::NAS_PORT_TYPE, WIRELESS);
        a
    }

    /// Sends queued records in order, for ever; woken when records are made.
    pub(super) async fn send(&self) {
        let server = Server {
            addr: (self.config.server, self.config.acct_port).into(),
            secret: self.config.secret.0.as_bytes().to_vec(),
            timeout: self.config.timeout,
            retries: self.config.retries,
        };
        let mut fails: u32 = 0;
        loop {
            let next = match self
                .db(Box::new(|tx| rstore::next(tx).map(Reply::Next)))
                .await
            {
                Ok(Reply::Next(n)) => n,
                Ok(_) => None,
                Err(e) => {
                    log::error!("RADIUS accounting queue: {e}");
                    None
                }
            };
            let Some(q) = next else {
                tokio::select! {
                    _ = self.acct_wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
                continue;
            };
            let mut a = match Attrs::from_wire(&q.attrs) {
                Ok(a) => a,
                Err(e) => {
                    // Only Lango writes the queue: a row that does not read is dropped, named.
                    log::error!(
                        "RADIUS accounting record {} unreadable ({e}); dropped",
                        q.id
                    );
                    self.settle(q.id, true).await;
                    continue;
                }
            };
            let now = self.sessions.now();
            let delay = u32::try_from((now - q.made_at).max(0)).unwrap_or(u32::MAX);
            a.int(attr::ACCT_DELAY_TIME, delay);
            match client::ask(&server, Code::AccountingRequest, &a, |_, _| {}).await {
                Ok(p) if p.code == Code::AccountingResponse => {
                    if fails > 0 {
                        log::info!("RADIUS accounting answered again after {fails} failed tries");
                    }
                    fails = 0;
                    self.health().last_acct_answer = Some(now);
                    self.settle(q.id, true).await;
                }
                answer => {
                    match answer {
                        Ok(p) => log::warn!("RADIUS accounting: answered {:?}; kept", p.code),
                        Err(e) => log::warn!(
                            "RADIUS accounting: {e}; {} records kept",
                            self.queued().await
                        ),
                    }
                    fails += 1;
                    self.settle(q.id, false).await;
                    let wait = (Duration::from_secs(1) * fails).min(MAX_BACKOFF);
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Takes an answered record off the queue, or counts a try of one that was not.
    async fn settle(&self, id: i64, answered: bool) {
        let done = self
            .db(Box::new(move |tx| {
                match answered {
                    true => rstore::answered(tx, id)?,
                    false => rstore::unanswered(tx, id)?,
                }
                Ok(Reply::Done)
            }))
            .await;
        if let Err(e) = done {
            log::error!("RADIUS accounting queue: {e}");
        }
    }

    /// Records waiting for the server's answer.
    pub async fn queued(&self) -> u64 {
        match self
            .db(Box::new(|tx| rstore::queued(tx).map(Reply::Count)))
            .await
        {
            Ok(Reply::Count(n)) => n,
            _ => 0,
        }
    }
}

/// The attributes of one record for session `a`, at `at`.
fn record(
    tx: &rusqlite::Connection,
    nas: &Attrs,
    a: &Accounted,
    status: u32,
    at: Unix,
    b: Bytes,
) -> Result<Attrs, store::Error> {
    let mut r = Attrs::default();
    r.int(attr::ACCT_STATUS_TYPE, status)
        .text(attr::ACCT_SESSION_ID, &session_id(a.id, a.started_at))
        .text(
            attr::USER_NAME,
            a.user_name
                .as_deref()
                .or(a.source_ref.as_deref().filter(|_| a.source == "voucher"))
                .unwrap_or(&station(a.mac)),
        )
        .text(attr::CALLING_STATION_ID, &station(a.mac))
        .int(
            attr::ACCT_AUTHENTIC,
            if a.source == "radius" { 1 } else { 2 },
        )
        .int(attr::EVENT_TIMESTAMP, at.max(0) as u32);
    r.0.extend(nas.0.iter().cloned());
    if let Some(std::net::IpAddr::V4(v4)) = a.ip.map(|i| i.to_canonical()) {
        r.ip(attr::FRAMED_IP_ADDRESS, v4);
    }
    if let Some(c) = &a.class {
        r.bytes(attr::CLASS, c);
    }
    if status == START {
        if let Some(info) = paid_with(tx, a)? {
            r.text(attr::CONNECT_INFO, &info);
        }
    } else {
        let (down, down_g) = split(b.down);
        let (up, up_g) = split(b.up);
        // Input is what the router received from the device: its upload.
        r.int(attr::ACCT_SESSION_TIME, (at - a.started_at).max(0) as u32)
            .int(attr::ACCT_INPUT_OCTETS, up)
            .int(attr::ACCT_INPUT_GIGAWORDS, up_g)
            .int(attr::ACCT_OUTPUT_OCTETS, down)
            .int(attr::ACCT_OUTPUT_GIGAWORDS, down_g);
    }
    if status == STOP {
        r.int(
            attr::ACCT_TERMINATE_CAUSE,
            terminate_cause(a.end_reason.as_deref()),
        );
    }
    Ok(r)
}

/// Connect-Info of a Start: what paid for the session, in words FreeRADIUS stores as they are
/// (`radacct.connectinfo_start`; its SQL escaping leaves letters, digits, `: /.-_@` and spaces
/// alone, so no `=`): `M-Pesa receipt: SGR7XXXX amount: KES 20 package: 1 Hour`,
/// `voucher package: 1 Hour`, `owner`. The package comes last: its name may hold anything.
fn paid_with(tx: &rusqlite::Connection, a: &Accounted) -> Result<Option<String>, store::Error> {
    Ok(match a.source.as_str() {
        "payment" => match a.source_ref.as_deref().and_then(|r| r.parse().ok()) {
            Some(id) => payments::get(tx, id)?.map(|p| {
                format!(
                    "M-Pesa receipt: {} amount: KES {} package: {}",
                    p.receipt.as_deref().unwrap_or("-"),
                    p.amount.0,
                    p.package_name
                )
            }),
            None => None,
        },
        "voucher" => {
            let name = match a.package_id {
                Some(id) => packages::get(tx, id)?.map(|p| p.name),
                None => None,
            };
            Some(format!(
                "voucher package: {}",
                name.as_deref().unwrap_or("-")
            ))
        }
        "admin" => Some("owner".into()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_read_back_and_causes_map() {
        let s = session_id(42, 1_700_000_000);
        assert_eq!(s, "6553F1000000002A");
        assert_eq!(parse_session_id(&s), Some(42));
        assert_eq!(parse_session_id("42"), None);
        assert_eq!(terminate_cause(Some("expired")), 5);
        assert_eq!(terminate_cause(Some("data_used_up")), 5);
        assert_eq!(terminate_cause(Some("revoked")), 6);
        assert_eq!(terminate_cause(Some("moved")), 1);
        assert_eq!(terminate_cause(None), 10);
        assert_eq!(split(5_000_000_000), (705_032_704, 1));
    }
}
