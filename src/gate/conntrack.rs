//! Which conntrack entries to delete when devices are evicted, as a `conntrack -R -` script.
//! Pure text: touches nothing. `runner` dumps the table and runs the script.
//!
//! Every `conntrack -D` line walks the kernel's whole hash table, so the script names only
//! addresses that appear in the dump, and only in a position that catches their entries.

use std::collections::BTreeSet;
use std::net::IpAddr;

/// `conntrack -R` lines deleting every entry of `dump` (`conntrack -L` output) that involves one
/// of `addrs`, in either direction, NAT included.
pub fn render_deletions(dump: &str, addrs: &[IpAddr]) -> String {
    // (option, address): -s/-d orig source/destination, -r/-q reply source/destination.
    let mut lines = BTreeSet::new();
    for entry in dump.lines() {
        let found = entry
            .split_whitespace()
            .filter_map(|w| {
                w.strip_prefix("src=")
                    .map(|a| (true, a))
                    .or_else(|| w.strip_prefix("dst=").map(|a| (false, a)))
            })
            .filter_map(|(src, a)| a.parse::<IpAddr>().ok().map(|ip| (src, ip)));
        // One line per entry is enough: the first position an evicted address holds.
        if let Some((i, (src, ip))) = found
            .take(4)
            .enumerate()
            .find(|(_, (_, ip))| addrs.contains(ip))
        {
            let option = match (i < 2, src) {
                (true, true) => "-s",
                (true, false) => "-d",
                (false, true) => "-r",
                (false, false) => "-q",
            };
            lines.insert((option, ip));
        }
    }
    lines
        .into_iter()
        .map(|(o, ip)| format!("-D {o} {ip}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "\
tcp      6 431999 ESTABLISHED src=192.168.1.11 dst=198.51.100.2 sport=40000 dport=80 src=198.51.100.2 dst=198.51.100.1 sport=80 dport=40000 [ASSURED] mark=0 use=1
tcp      6 99 ESTABLISHED src=fd00:1::11 dst=fd00:2::2 sport=1000 dport=443 src=fd00:2::2 dst=fd00:1::11 sport=443 dport=1000 mark=0 use=1
udp      17 20 src=203.0.113.5 dst=198.51.100.1 sport=5000 dport=5000 [UNREPLIED] src=192.168.1.12 dst=203.0.113.5 sport=5000 dport=5000 mark=0 use=1
tcp      6 99 ESTABLISHED src=192.168.1.13 dst=198.51.100.2 sport=1 dport=2 src=198.51.100.2 dst=192.168.1.13 sport=2 dport=1 mark=0 use=1
";

    fn ips(s: &[&str]) -> Vec<IpAddr> {
        s.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn deletes_only_addresses_that_have_entries() {
        let got = render_deletions(DUMP, &ips(&["192.168.1.11", "fd00:1::11", "192.168.1.99"]));
        assert_eq!(got, "-D -s 192.168.1.11\n-D -s fd00:1::11\n");
    }

    #[test]
    fn finds_devices_behind_a_port_forward() {
        assert_eq!(
            render_deletions(DUMP, &ips(&["192.168.1.12"])),
            "-D -r 192.168.1.12\n"
        );
    }

    #[test]
    fn nothing_to_do_is_empty() {
        assert_eq!(render_deletions(DUMP, &ips(&["10.0.0.1"])), "");
        assert_eq!(render_deletions("", &ips(&["192.168.1.11"])), "");
    }
}
