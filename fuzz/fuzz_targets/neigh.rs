//! Neighbour tables (`/proc/net/arp`, `ip -6 neigh`) -> MACs and addresses: never panics, and every
//! address found for a MAC is listed among that MAC's addresses.
#![no_main]

use lango::gate::neigh::{addresses_of, find_arp, find_ip_neigh};
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut ips: Vec<IpAddr> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    ips.truncate(8);
    ips.push("192.168.1.23".parse().unwrap());
    for ip in ips {
        if let Some(mac) = find_arp(&text, ip) {
            assert!(!mac.is_zero());
            assert!(addresses_of(mac, &text, "").contains(&ip), "{ip} {mac}");
        }
        if let Some(mac) = find_ip_neigh(&text, ip) {
            assert!(addresses_of(mac, "", &text).contains(&ip), "{ip} {mac}");
        }
    }
});
