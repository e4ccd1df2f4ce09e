//! Notices a paid MAC answering at two IPv4 addresses at once: a second device copying a paying
//! phone's MAC while the first is still on the Wi-Fi. Lango cannot stop this at layer 2 (no router
//! can without 802.1X); it tells the owner. A copier who waits until the payer leaves cannot be
//! told apart from the payer.
//! Touches: the neighbour table (through `gate::neigh`), sessions (read), the events table.

use crate::gate::neigh::Neighbours;
use crate::mac::Mac;
use crate::sessions::Sessions;
use crate::store::{events, Store};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How often the neighbour table is compared with the paid sessions.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);
/// A pair already reported is not reported again for this long.
const QUIET_FOR: Duration = Duration::from_secs(3600);

/// Paid MACs seen at more than one address, with the addresses (sorted).
pub fn shared(table: &[(IpAddr, Mac)], paid: &HashSet<Mac>) -> Vec<(Mac, Vec<IpAddr>)> {
    let mut by_mac: HashMap<Mac, Vec<IpAddr>> = HashMap::new();
    for (ip, mac) in table {
        if paid.contains(mac) {
            by_mac.entry(*mac).or_default().push(*ip);
        }
    }
    let mut out: Vec<_> = by_mac
        .into_iter()
        .filter(|(_, ips)| ips.len() > 1)
        .map(|(m, mut ips)| {
            ips.sort();
            (m, ips)
        })
        .collect();
    out.sort();
    out
}

/// Runs forever: checks every `CHECK_EVERY` and records each new finding as a `mac.shared` event.
pub async fn watch(neighbours: Arc<Neighbours>, sessions: Arc<Sessions>, store: Store) {
    let mut reported: HashMap<(Mac, Vec<IpAddr>), tokio::time::Instant> = HashMap::new();
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        let Ok(online) = sessions.online().await else {
            continue;
        };
        if online.is_empty() {
            continue;
        }
        let paid: HashSet<Mac> = online.iter().map(|s| s.mac).collect();
        let n = neighbours.clone();
        let Ok(table) = tokio::task::spawn_blocking(move || n.table()).await else {
            continue;
        };
        reported.retain(|_, at| at.elapsed() < QUIET_FOR);
        for (mac, ips) in shared(&table, &paid) {
            if reported.contains_key(&(mac, ips.clone())) {
                continue;
            }
            let list = ips
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            log::warn!(
                "mac {mac} of a paid session is at {list} at once: a device may be copying it"
            );
            let now = sessions.now();
            let detail = format!("paid MAC seen at {list}");
            if let Err(e) = store
                .call(move |c| events::record(c, now, "mac.shared", Some(mac), None, &detail))
                .await
            {
                log::error!("recording a shared MAC: {e}");
            }
            reported.insert((mac, ips), tokio::time::Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paid_macs_at_two_addresses_count() {
        let a: Mac = "aa:bb:cc:dd:ee:01".parse().unwrap();
        let b: Mac = "aa:bb:cc:dd:ee:02".parse().unwrap();
        let c: Mac = "aa:bb:cc:dd:ee:03".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let table = vec![
            (ip("192.168.1.20"), a),
            (ip("192.168.1.9"), a),
            (ip("192.168.1.21"), b),
            (ip("192.168.1.22"), c),
            (ip("192.168.1.23"), c),
        ];
        let paid: HashSet<Mac> = [a, b].into();
        assert_eq!(
            shared(&table, &paid),
            vec![(a, vec![ip("192.168.1.9"), ip("192.168.1.20")])]
        );
    }
}
