//! Neighbour tables (`/proc/net/arp`, `ip -6 neigh`) -> MACs and addresses: never panics, and every
//! address found for a MAC is listed among that MAC's addresses.
#![no_main]

use lango::gate::neigh::{addresses_of, arp_entries, ip6_entries};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for (ip, mac) in arp_entries(&text) {
        assert!(!mac.is_zero());
        assert!(addresses_of(mac, &text, "").contains(&ip), "{ip} {mac}");
    }
    for (ip, mac) in ip6_entries(&text) {
        assert!(addresses_of(mac, "", &text).contains(&ip), "{ip} {mac}");
    }
});
