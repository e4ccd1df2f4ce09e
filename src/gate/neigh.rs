//! IP -> MAC from the kernel's neighbour tables (`/proc/net/arp`, `ip -6 neigh` through the
//! runner), cached briefly. Touches: /proc. Never: SQLite, HTTP, spawning processes itself.

use crate::mac::Mac;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A phone's neighbour entry is trusted this long before the table is read again.
const CACHE_FOR: Duration = Duration::from_secs(2);

/// Where a connection's MAC address comes from.
pub enum Neighbours {
    /// The kernel's tables. `arp` is `/proc/net/arp` on a router (tests point it at a file).
    Kernel {
        arp: PathBuf,
        cache: Mutex<HashMap<IpAddr, (Option<Mac>, Instant)>>,
    },
    /// `lango demo`: every address gets a made-up MAC derived from it (`02:00:` + IPv4 bytes).
    Derived,
}

impl Neighbours {
    /// The router's real tables.
    pub fn kernel() -> Self {
        Self::from_arp_file("/proc/net/arp".into())
    }

    /// Reads IPv4 entries from `arp` (same format as `/proc/net/arp`).
    pub fn from_arp_file(arp: PathBuf) -> Self {
        Neighbours::Kernel {
            arp,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Every complete IPv4 entry of the table (empty for `Derived`). Blocking.
    pub fn table(&self) -> Vec<(IpAddr, Mac)> {
        match self {
            Neighbours::Derived => vec![],
            Neighbours::Kernel { arp, .. } => std::fs::read_to_string(arp)
                .map(|t| arp_entries(&t))
                .unwrap_or_default(),
        }
    }

    /// What is known about `ip` without reading the tables: `Some(answer)` when the answer is
    /// fresh in the cache (or derived), `None` when [`Neighbours::lookup`] must read them.
    /// Never blocks.
    pub fn cached(&self, ip: IpAddr) -> Option<Option<Mac>> {
        let ip = canonical(ip);
        match self {
            Neighbours::Derived => Some(Some(derived(ip))),
            Neighbours::Kernel { cache, .. } => cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&ip)
                .filter(|(_, at)| at.elapsed() < CACHE_FOR)
                .map(|(mac, _)| *mac),
        }
    }

    /// The MAC behind `ip`, if the kernel knows it. Blocking: call off the event loop.
    pub fn lookup(&self, ip: IpAddr) -> Option<Mac> {
        if let Some(known) = self.cached(ip) {
            return known;
        }
        let ip = canonical(ip);
        match self {
            Neighbours::Derived => Some(derived(ip)),
            Neighbours::Kernel { arp, cache } => {
                let now = Instant::now();
                // The whole table goes into the cache, not only `ip`: when a crowd arrives,
                // one read answers every phone in it instead of one read (of a table as long
                // as the crowd) per phone.
                let entries = match ip {
                    IpAddr::V4(_) => std::fs::read_to_string(arp)
                        .map(|t| arp_entries(&t))
                        .unwrap_or_default(),
                    IpAddr::V6(_) => super::runner::Runner::host()
                        .ip6_neigh()
                        .map(|t| ip6_entries(&t))
                        .unwrap_or_default(),
                };
                let mac = entries.iter().find(|(i, _)| *i == ip).map(|(_, m)| *m);
                let mut c = cache.lock().unwrap_or_else(|p| p.into_inner());
                if c.len() + entries.len() > 4096 {
                    c.clear();
                }
                for (i, m) in entries {
                    c.insert(i, (Some(m), now));
                }
                c.insert(ip, (mac, now));
                mac
            }
        }
    }
}

/// IPv4-mapped IPv6 (dual-stack sockets) -> plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn derived(ip: IpAddr) -> Mac {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            Mac([0x02, 0x00, o[0], o[1], o[2], o[3]])
        }
        IpAddr::V6(v6) => {
            let o = v6.octets();
            Mac([0x02, 0x06, o[12], o[13], o[14], o[15]])
        }
    }
}

/// Every complete entry of `/proc/net/arp` text (incomplete ones, flags 0x0 or a zero MAC, do
/// not count).
pub fn arp_entries(table: &str) -> Vec<(IpAddr, Mac)> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 4 || f[2] == "0x0" {
                return None;
            }
            let mac: Mac = f[3].parse().ok().filter(|m: &Mac| !m.is_zero())?;
            Some((f[0].parse().ok()?, mac))
        })
        .collect()
}

/// Every entry with a MAC of `ip -6 neigh show` output (`ADDR dev IF lladdr MAC STATE`);
/// `FAILED` ones do not count.
pub fn ip6_entries(table: &str) -> Vec<(IpAddr, Mac)> {
    table
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.last() == Some(&"FAILED") {
                return None;
            }
            let ip = f.first()?.parse::<IpAddr>().ok()?;
            let i = f.iter().position(|w| *w == "lladdr")?;
            Some((ip, f.get(i + 1)?.parse().ok()?))
        })
        .collect()
}

/// Every address the neighbour tables list for `mac` (used to cut its connections).
pub fn addresses_of(mac: Mac, arp_table: &str, ip6_table: &str) -> Vec<IpAddr> {
    let mut out = vec![];
    for line in arp_table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 4 && f[3].parse::<Mac>().ok() == Some(mac) {
            if let Ok(ip) = f[0].parse() {
                out.push(ip);
            }
        }
    }
    for line in ip6_table.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = f.iter().position(|w| *w == "lladdr") {
            if f.get(i + 1).and_then(|m| m.parse::<Mac>().ok()) == Some(mac) {
                if let Some(ip) = f.first().and_then(|a| a.parse().ok()) {
                    out.push(ip);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARP: &str =
        "IP address       HW type     Flags       HW address            Mask     Device
192.168.1.23     0x1         0x2         aa:bb:cc:dd:ee:01     *        br-lan
192.168.1.24     0x1         0x0         00:00:00:00:00:00     *        br-lan
192.168.1.25     0x1         0x2         AA:BB:CC:DD:EE:02     *        br-lan
";

    const NEIGH6: &str = "fe80::1 dev br-lan lladdr aa:bb:cc:dd:ee:01 REACHABLE
2001:db8::5 dev br-lan lladdr aa:bb:cc:dd:ee:02 STALE
2001:db8::6 dev br-lan FAILED
";

    fn entry(ip: &str, mac: &str) -> (IpAddr, Mac) {
        (ip.parse().unwrap(), mac.parse().unwrap())
    }

    #[test]
    fn finds_complete_arp_entries_only() {
        assert_eq!(
            arp_entries(ARP),
            [
                entry("192.168.1.23", "aa:bb:cc:dd:ee:01"),
                entry("192.168.1.25", "aa:bb:cc:dd:ee:02")
            ]
        );
    }

    #[test]
    fn finds_ipv6_neighbours() {
        assert_eq!(
            ip6_entries(NEIGH6),
            [
                entry("fe80::1", "aa:bb:cc:dd:ee:01"),
                entry("2001:db8::5", "aa:bb:cc:dd:ee:02")
            ]
        );
    }

    /// A crowd arriving at once: the first phone's lookup reads the table, and every other
    /// phone in it is answered from the cache.
    #[test]
    fn one_read_of_the_table_answers_every_phone_in_it() {
        let dir = std::env::temp_dir().join(format!("lango-neigh-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let arp = dir.join("arp");
        std::fs::write(&arp, ARP).unwrap();
        let n = Neighbours::from_arp_file(arp.clone());
        let (ip, mac) = entry("192.168.1.23", "aa:bb:cc:dd:ee:01");
        assert_eq!(n.cached(ip), None, "nothing read yet");
        assert_eq!(n.lookup(ip), Some(mac));
        std::fs::remove_file(&arp).unwrap();
        assert_eq!(
            n.cached("192.168.1.25".parse().unwrap()),
            Some(Some("aa:bb:cc:dd:ee:02".parse().unwrap())),
            "the other phone is known without reading the table"
        );
        assert_eq!(
            n.cached("192.168.1.24".parse().unwrap()),
            None,
            "incomplete"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn lists_every_address_of_a_mac() {
        let ips = addresses_of("aa:bb:cc:dd:ee:02".parse().unwrap(), ARP, NEIGH6);
        assert_eq!(
            ips,
            vec![
                "192.168.1.25".parse::<IpAddr>().unwrap(),
                "2001:db8::5".parse().unwrap()
            ]
        );
    }

    #[test]
    fn mapped_ipv4_is_looked_up_as_ipv4() {
        let n = Neighbours::Derived;
        assert_eq!(
            n.lookup("::ffff:127.0.0.2".parse().unwrap()),
            Some("02:00:7f:00:00:02".parse().unwrap())
        );
    }
}
