//! The walled garden's host names (`list walled_garden 'safaricom.co.ke'`): each is looked up
//! through the router's resolver (the one phones ask, so both see the same addresses) and its
//! addresses are opened in the gate for their TTL and a margin, then looked up again before that
//! runs out. The kernel forgets an address nobody renews. A failed lookup keeps the last
//! addresses open and tries again soon: phones that still hold them keep working.
//! Touches: the gate, DNS. Never: SQLite, HTTP.

use crate::dns::{self, Record};
use crate::gate::{Gate, Opening};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// TTLs below this count as this (dnsmasq answers from /etc/hosts with TTL 0).
const MIN_TTL: u64 = 60;
/// And above this as this: a moved host is noticed within a day at worst.
const MAX_TTL: u64 = 24 * 60 * 60;
/// Addresses stay open this much longer than their TTL, so a late lookup closes nothing.
const MARGIN: u64 = 60;
/// After a failed lookup, the next try.
const RETRY: Duration = Duration::from_secs(30);
/// At most this many addresses per host name (a CDN may answer with many).
const MAX_ADDRESSES: usize = 32;

/// How long to open an address with this TTL for, and when to look its host up again.
pub fn plan(ttl: u32) -> (u64, Duration) {
    let ttl = u64::from(ttl).clamp(MIN_TTL, MAX_TTL);
    (ttl + MARGIN, Duration::from_secs(ttl * 3 / 4))
}

/// Keeps `hosts`' addresses open in `gate`, asking the router's resolver, until the task is
/// dropped.
pub async fn run(hosts: Vec<String>, gate: Arc<dyn Gate>) {
    if hosts.is_empty() {
        return;
    }
    let resolver = tokio::task::spawn_blocking(dns::system_resolver)
        .await
        .unwrap_or(dns::DEFAULT_RESOLVER);
    log::info!(
        "walled garden: keeping {} open through the resolver {resolver}",
        hosts.join(", ")
    );
    let mut known: Vec<Vec<IpAddr>> = vec![vec![]; hosts.len()];
    let mut due: Vec<Instant> = vec![Instant::now(); hosts.len()];
    loop {
        let now = Instant::now();
        for (i, host) in hosts.iter().enumerate() {
            if due[i] <= now {
                due[i] = now + refresh(host, &gate, resolver, &mut known[i]).await;
            }
        }
        let next = due.iter().min().copied().unwrap_or(now + RETRY);
        tokio::time::sleep_until(next).await;
    }
}

/// Looks `host` up once and opens what it found (or, when the lookup fails, keeps `known` open).
/// Returns when to look again.
pub async fn refresh(
    host: &str,
    gate: &Arc<dyn Gate>,
    resolver: SocketAddr,
    known: &mut Vec<IpAddr>,
) -> Duration {
    let (openings, again) = match dns::resolve(resolver, host).await {
        Ok(records) => {
            let (openings, again) = openings(&records);
            let addrs: Vec<IpAddr> = openings.iter().map(|o| o.addr).collect();
            if *known != addrs {
                log::info!(
                    "walled garden: {host} is {}",
                    addrs
                        .iter()
                        .map(IpAddr::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            *known = addrs;
            (openings, again)
        }
        Err(e) => {
            log::warn!(
                "walled garden: looking up {host}: {e}; {} kept open, trying again in {} s",
                if known.is_empty() {
                    "nothing".to_string()
                } else {
                    format!("{} addresses", known.len())
                },
                RETRY.as_secs()
            );
            let (seconds, _) = plan(0);
            let kept = known
                .iter()
                .map(|&addr| Opening { addr, seconds })
                .collect();
            (kept, RETRY)
        }
    };
    if openings.is_empty() {
        return again;
    }
    let g = gate.clone();
    match tokio::task::spawn_blocking(move || g.open(&openings)).await {
        Ok(Ok(())) => again,
        Ok(Err(e)) => {
            log::error!("walled garden: opening {host}'s addresses: {e}");
            RETRY
        }
        Err(e) => {
            log::error!("walled garden: {e}");
            RETRY
        }
    }
}

/// What to open for these records (each address once, with its longest TTL), and when to look
/// again: before the shortest TTL runs out.
fn openings(records: &[Record]) -> (Vec<Opening>, Duration) {
    let mut out: Vec<Opening> = vec![];
    let mut again = plan(u32::MAX).1;
    for r in records {
        let (seconds, refresh) = plan(r.ttl);
        again = again.min(refresh);
        if let Some(o) = out.iter_mut().find(|o| o.addr == r.addr) {
            o.seconds = o.seconds.max(seconds);
        } else if out.len() < MAX_ADDRESSES {
            out.push(Opening {
                addr: r.addr,
                seconds,
            });
        }
    }
    (out, again)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_stay_open_past_their_ttl_and_are_looked_up_before_it_ends() {
        assert_eq!(plan(0), (120, Duration::from_secs(45)));
        assert_eq!(plan(300), (360, Duration::from_secs(225)));
        assert_eq!(plan(u32::MAX), (86_460, Duration::from_secs(64_800)));
        for ttl in [0, 1, 59, 60, 61, 300, 3600, 86_400, u32::MAX] {
            let (open, again) = plan(ttl);
            assert!(again.as_secs() + MARGIN < open, "ttl {ttl}");
        }
    }

    #[test]
    fn each_address_opens_once_for_its_longest_ttl() {
        let r = |a: &str, ttl| Record {
            addr: a.parse().unwrap(),
            ttl,
        };
        let (open, again) = openings(&[
            r("198.51.100.4", 300),
            r("fd00::4", 100),
            r("198.51.100.4", 900),
        ]);
        assert_eq!(
            open,
            [
                Opening {
                    addr: "198.51.100.4".parse().unwrap(),
                    seconds: 960
                },
                Opening {
                    addr: "fd00::4".parse().unwrap(),
                    seconds: 160
                },
            ]
        );
        assert_eq!(again, Duration::from_secs(75));
        let many: Vec<Record> = (0..100u8).map(|i| r(&format!("10.0.0.{i}"), 60)).collect();
        assert_eq!(openings(&many).0.len(), MAX_ADDRESSES);
    }
}
