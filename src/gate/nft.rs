//! Renders Lango's nftables table (`inet lango`) and its client-set changes as `nft -f -` scripts.
//! Pure text: touches nothing. `runner` applies the scripts, `kernel` decides when.
//!
//! The table is ours alone: fw4 flushes only `inet fw4`, so a firewall reload leaves it be. Its
//! base chains run just before fw4's (`dstnat - 5`, `filter - 5`) and look only at packets that
//! came in on a captive interface. An `accept` here does not bypass fw4; a `drop` is final.

use super::{Change, Client, Opening};
use crate::config::{Cidr, Config};
use crate::mac::Mac;
use std::collections::HashMap;
use std::fmt::Write;
use std::net::IpAddr;

/// Everything the table's rules depend on (the client set is rendered separately).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ruleset {
    /// Captive interfaces; packets from anywhere else pass our chains untouched.
    pub interfaces: Vec<String>,
    /// Where unknown devices' HTTP is redirected.
    pub portal_port: u16,
    /// The owner's page and Daraja's callback listener: refused from captive interfaces unless
    /// the MAC is trusted (paying customers included).
    pub owner_ports: Vec<u16>,
    pub trusted: Vec<Mac>,
    /// Reachable without paying.
    pub walled_garden: Vec<Cidr>,
}

impl Ruleset {
    pub fn from_config(config: &Config) -> Ruleset {
        Ruleset {
            interfaces: config.interfaces.clone(),
            portal_port: config.portal_port,
            owner_ports: {
                let mut ports: Vec<u16> = std::iter::once(config.admin_listen.port())
                    .chain(config.admin_http_listen.map(|a| a.port()))
                    .chain(config.daraja.callback_listen.map(|a| a.port()))
                    .collect();
                ports.sort_unstable();
                ports.dedup();
                ports
            },
            trusted: config.trusted.clone(),
            walled_garden: config.walled_garden.clone(),
        }
    }
}

/// The whole table with exactly `clients` admitted and the walled garden open to `opened`,
/// replacing whatever was there, as one transaction. `table` + `delete table` first makes it
/// work whether or not the table exists.
pub fn render_table(rules: &Ruleset, clients: &[Client], opened: &[Opening]) -> String {
    let mut s = String::with_capacity(2048 + clients.len() * 48);
    s.push_str("table inet lango\ndelete table inet lango\ntable inet lango {\n");

    let admitted: Vec<String> = clients
        .iter()
        .filter(|c| c.seconds > 0)
        .map(|c| format!("{} timeout {}s", c.mac, c.seconds))
        .collect();
    set(&mut s, "clients", "ether_addr", &["timeout"], &admitted);
    let trusted: Vec<String> = rules.trusted.iter().map(Mac::to_string).collect();
    set(&mut s, "trusted", "ether_addr", &[], &trusted);
    let (v4, v6): (Vec<&Cidr>, Vec<&Cidr>) =
        rules.walled_garden.iter().partition(|c| c.addr.is_ipv4());
    set(
        &mut s,
        "allow4",
        "ipv4_addr",
        &["interval"],
        &v4.into_iter().map(|c| network(*c)).collect::<Vec<_>>(),
    );
    set(
        &mut s,
        "allow6",
        "ipv6_addr",
        &["interval"],
        &v6.into_iter().map(|c| network(*c)).collect::<Vec<_>>(),
    );
    let (h4, h6): (Vec<&Opening>, Vec<&Opening>) = opened
        .iter()
        .filter(|o| o.seconds > 0)
        .partition(|o| o.addr.is_ipv4());
    let timed = |o: &&Opening| format!("{} timeout {}s", o.addr, o.seconds);
    set(
        &mut s,
        "hosts4",
        "ipv4_addr",
        &["timeout"],
        &h4.iter().map(timed).collect::<Vec<_>>(),
    );
    set(
        &mut s,
        "hosts6",
        "ipv6_addr",
        &["timeout"],
        &h6.iter().map(timed).collect::<Vec<_>>(),
    );

    let ifaces = rules
        .interfaces
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let entry = |s: &mut String, name: &str, hook: &str, target: &str| {
        let _ = writeln!(s, "\tchain {name} {{\n\t\t{hook}");
        if !ifaces.is_empty() {
            let _ = writeln!(s, "\t\tiifname {{ {ifaces} }} jump {target}");
        }
        s.push_str("\t}\n");
    };

    // Unknown devices' web requests go to the portal, which answers with a redirect to itself.
    entry(
        &mut s,
        "prerouting",
        "type nat hook prerouting priority dstnat - 5; policy accept;",
        "captive_nat",
    );
    let _ = write!(
        s,
        "\tchain captive_nat {{
\t\tether saddr @trusted return
\t\tether saddr @clients return
\t\tip daddr @allow4 return
\t\tip6 daddr @allow6 return
\t\tip daddr @hosts4 return
\t\tip6 daddr @hosts6 return
\t\ttcp dport 80 redirect to :{portal}
\t}}
",
        portal = rules.portal_port
    );

    // To the router: unknown devices get name service, addresses and the portal, nothing else.
    entry(
        &mut s,
        "input",
        "type filter hook input priority filter - 5; policy accept;",
        "captive_input",
    );
    let _ = write!(
        s,
        "\tchain captive_input {{
\t\ttcp dport {{ {owner} }} ether saddr != @trusted reject with tcp reset
\t\tether saddr @trusted accept
\t\tether saddr @clients accept
\t\tudp dport {{ 53, 67, 68, 547 }} accept
\t\ttcp dport {{ 53, {portal} }} accept
\t\tmeta l4proto {{ icmp, ipv6-icmp }} accept
\t\tmeta l4proto tcp reject with tcp reset
\t\treject
\t}}
",
        owner = rules
            .owner_ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        portal = rules.portal_port
    );

    // Through the router: unknown devices reach the walled garden only, and fail fast elsewhere.
    entry(
        &mut s,
        "forward",
        "type filter hook forward priority filter - 5; policy accept;",
        "captive_forward",
    );
    s.push_str(
        "\tchain captive_forward {
\t\tether saddr @trusted accept
\t\tether saddr @clients accept
\t\tip daddr @allow4 accept
\t\tip6 daddr @allow6 accept
\t\tip daddr @hosts4 accept
\t\tip6 daddr @hosts6 accept
\t\tmeta l4proto tcp reject with tcp reset
\t\tudp dport 443 reject
\t\tdrop
\t}
}
",
    );
    s
}

/// One transaction applying `changes` to the client set; the last change to a device decides.
/// It works whether or not each element exists (and whether or not the kernel already expired
/// it): adding every touched device first, then deleting them all, leaves nothing; adding the
/// admitted again sets their new timeouts. Three statements, however many devices.
pub fn render_changes(changes: &[Change]) -> String {
    let mut order: Vec<Mac> = vec![];
    let mut last: HashMap<Mac, Option<u64>> = HashMap::new();
    for change in changes {
        let (mac, seconds) = match change {
            Change::Admit(c) if c.seconds > 0 => (c.mac, Some(c.seconds)),
            Change::Admit(Client { mac, .. }) | Change::Evict { mac, .. } => (*mac, None),
        };
        if last.insert(mac, seconds).is_none() {
            order.push(mac);
        }
    }
    if order.is_empty() {
        return String::new();
    }
    let list = |f: &dyn Fn(&Mac) -> Option<String>| {
        order.iter().filter_map(f).collect::<Vec<_>>().join(", ")
    };
    let mut s = format!(
        "add element inet lango clients {{ {} }}\ndelete element inet lango clients {{ {} }}\n",
        list(&|m| Some(format!("{m} timeout 1s"))),
        list(&|m| Some(m.to_string())),
    );
    let admitted = list(&|m| last[m].map(|secs| format!("{m} timeout {secs}s")));
    if !admitted.is_empty() {
        let _ = writeln!(s, "add element inet lango clients {{ {admitted} }}");
    }
    s
}

/// One transaction opening the walled garden to `openings` for their new times, whether or not
/// each address is in its set already (the same add, delete, add as for clients).
pub fn render_openings(openings: &[Opening]) -> String {
    let mut s = String::new();
    for (set, v4) in [("hosts4", true), ("hosts6", false)] {
        let these: Vec<&Opening> = openings
            .iter()
            .filter(|o| o.addr.is_ipv4() == v4 && o.seconds > 0)
            .collect();
        if these.is_empty() {
            continue;
        }
        let list = |f: &dyn Fn(&Opening) -> String| {
            these.iter().map(|o| f(o)).collect::<Vec<_>>().join(", ")
        };
        let _ = write!(
            s,
            "add element inet lango {set} {{ {} }}\ndelete element inet lango {set} {{ {} }}\nadd element inet lango {set} {{ {} }}\n",
            list(&|o| format!("{} timeout 1s", o.addr)),
            list(&|o| o.addr.to_string()),
            list(&|o| format!("{} timeout {}s", o.addr, o.seconds)),
        );
    }
    s
}

/// Removes the whole table (clean stop); fine if it is already gone.
pub fn render_teardown() -> &'static str {
    "table inet lango\ndelete table inet lango\n"
}

/// Whether `nft list tables` output shows our table.
pub fn has_table(list_tables: &str) -> bool {
    list_tables
        .lines()
        .any(|l| l.split_whitespace().eq(["table", "inet", "lango"]))
}

/// Whether fw4 (or anyone) set up flow offloading, which sends established flows around the
/// forward hook and the qdiscs, so paid time and speed would not be enforced for them.
/// `flowtables` is `nft list flowtables` output; `firewall` is `/etc/config/firewall`.
pub fn offload_enabled(flowtables: &str, firewall: &str) -> bool {
    let listed = flowtables
        .lines()
        .any(|l| l.trim_start().starts_with("flowtable "));
    let configured = firewall.lines().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.len() >= 3
            && w[0] == "option"
            && matches!(w[1], "flow_offloading" | "flow_offloading_hw")
            && w[2].trim_matches(|c| c == '\'' || c == '"') == "1"
    });
    listed || configured
}

fn set(s: &mut String, name: &str, ty: &str, flags: &[&str], elements: &[String]) {
    let _ = writeln!(s, "\tset {name} {{\n\t\ttype {ty}");
    if !flags.is_empty() {
        let _ = writeln!(s, "\t\tflags {}", flags.join(", "));
    }
    if flags.contains(&"interval") {
        // Overlapping walled-garden entries in the config must not fail the whole table.
        s.push_str("\t\tauto-merge\n");
    }
    if !elements.is_empty() {
        let _ = writeln!(s, "\t\telements = {{ {} }}", elements.join(", "));
    }
    s.push_str("\t}\n");
}

/// `192.168.1.5/24` -> `192.168.1.0/24` (nft refuses host bits in a prefix).
fn network(c: Cidr) -> String {
    let (bits, width) = match c.addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    };
    let host = width - u32::from(c.prefix);
    let net = bits
        .checked_shr(host)
        .unwrap_or(0)
        .checked_shl(host)
        .unwrap_or(0);
    let addr = match c.addr {
        IpAddr::V4(_) => IpAddr::from(std::net::Ipv4Addr::from(net as u32)),
        IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::from(net)),
    };
    format!("{addr}/{}", c.prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Kbps;

    fn client(mac: &str, seconds: u64) -> Client {
        Client {
            mac: mac.parse().unwrap(),
            ip: None,
            seconds,
            down: Kbps(5000),
            up: Kbps(2000),
        }
    }

    fn rules() -> Ruleset {
        Ruleset {
            interfaces: vec!["br-lan".into(), "guest".into()],
            portal_port: 2050,
            owner_ports: vec![8080, 8099],
            trusted: vec!["aa:bb:cc:dd:ee:01".parse().unwrap()],
            walled_garden: vec![
                "196.201.214.7/24".parse().unwrap(),
                "2001:db8::1/32".parse().unwrap(),
            ],
        }
    }

    #[test]
    fn renders_the_whole_table() {
        let got = render_table(
            &rules(),
            &[
                client("02:00:00:00:00:0a", 3600),
                client("02:00:00:00:00:0b", 0),
            ],
            &[
                Opening {
                    addr: "198.51.100.4".parse().unwrap(),
                    seconds: 360,
                },
                Opening {
                    addr: "2001:db8::4".parse().unwrap(),
                    seconds: 120,
                },
                Opening {
                    addr: "198.51.100.5".parse().unwrap(),
                    seconds: 0,
                },
            ],
        );
        let want = r#"table inet lango
delete table inet lango
table inet lango {
	set clients {
		type ether_addr
		flags timeout
		elements = { 02:00:00:00:00:0a timeout 3600s }
	}
	set trusted {
		type ether_addr
		elements = { aa:bb:cc:dd:ee:01 }
	}
	set allow4 {
		type ipv4_addr
		flags interval
		auto-merge
		elements = { 196.201.214.0/24 }
	}
	set allow6 {
		type ipv6_addr
		flags interval
		auto-merge
		elements = { 2001:db8::/32 }
	}
	set hosts4 {
		type ipv4_addr
		flags timeout
		elements = { 198.51.100.4 timeout 360s }
	}
	set hosts6 {
		type ipv6_addr
		flags timeout
		elements = { 2001:db8::4 timeout 120s }
	}
	chain prerouting {
		type nat hook prerouting priority dstnat - 5; policy accept;
		iifname { "br-lan", "guest" } jump captive_nat
	}
	chain captive_nat {
		ether saddr @trusted return
		ether saddr @clients return
		ip daddr @allow4 return
		ip6 daddr @allow6 return
		ip daddr @hosts4 return
		ip6 daddr @hosts6 return
		tcp dport 80 redirect to :2050
	}
	chain input {
		type filter hook input priority filter - 5; policy accept;
		iifname { "br-lan", "guest" } jump captive_input
	}
	chain captive_input {
		tcp dport { 8080, 8099 } ether saddr != @trusted reject with tcp reset
		ether saddr @trusted accept
		ether saddr @clients accept
		udp dport { 53, 67, 68, 547 } accept
		tcp dport { 53, 2050 } accept
		meta l4proto { icmp, ipv6-icmp } accept
		meta l4proto tcp reject with tcp reset
		reject
	}
	chain forward {
		type filter hook forward priority filter - 5; policy accept;
		iifname { "br-lan", "guest" } jump captive_forward
	}
	chain captive_forward {
		ether saddr @trusted accept
		ether saddr @clients accept
		ip daddr @allow4 accept
		ip6 daddr @allow6 accept
		ip daddr @hosts4 accept
		ip6 daddr @hosts6 accept
		meta l4proto tcp reject with tcp reset
		udp dport 443 reject
		drop
	}
}
"#;
        assert_eq!(got, want);
    }

    #[test]
    fn openings_replace_their_timeouts_in_one_transaction() {
        let o = |a: &str, seconds| Opening {
            addr: a.parse().unwrap(),
            seconds,
        };
        assert_eq!(
            render_openings(&[
                o("198.51.100.4", 300),
                o("fd00::4", 120),
                o("198.51.100.6", 90)
            ]),
            "add element inet lango hosts4 { 198.51.100.4 timeout 1s, 198.51.100.6 timeout 1s }
delete element inet lango hosts4 { 198.51.100.4, 198.51.100.6 }
add element inet lango hosts4 { 198.51.100.4 timeout 300s, 198.51.100.6 timeout 90s }
add element inet lango hosts6 { fd00::4 timeout 1s }
delete element inet lango hosts6 { fd00::4 }
add element inet lango hosts6 { fd00::4 timeout 120s }
"
        );
        assert_eq!(render_openings(&[o("198.51.100.4", 0)]), "");
    }

    #[test]
    fn empty_sets_have_no_elements_line() {
        let r = Ruleset {
            trusted: vec![],
            walled_garden: vec![],
            ..rules()
        };
        let got = render_table(&r, &[], &[]);
        assert!(
            got.contains("\tset clients {\n\t\ttype ether_addr\n\t\tflags timeout\n\t}\n"),
            "{got}"
        );
        assert!(!got.contains("elements"), "{got}");
    }

    #[test]
    fn no_captive_interface_means_no_jump() {
        let r = Ruleset {
            interfaces: vec![],
            ..rules()
        };
        assert!(!render_table(&r, &[], &[]).contains("iifname"));
    }

    #[test]
    fn admit_and_evict_work_whether_or_not_the_element_exists() {
        let got = render_changes(&[
            Change::Admit(client("02:00:00:00:00:0a", 90)),
            Change::Evict {
                mac: "02:00:00:00:00:0b".parse().unwrap(),
                ip: None,
            },
        ]);
        assert_eq!(
            got,
            "add element inet lango clients { 02:00:00:00:00:0a timeout 1s, 02:00:00:00:00:0b timeout 1s }
delete element inet lango clients { 02:00:00:00:00:0a, 02:00:00:00:00:0b }
add element inet lango clients { 02:00:00:00:00:0a timeout 90s }
"
        );
    }

    #[test]
    fn the_last_change_to_a_device_decides() {
        let a = client("02:00:00:00:00:0a", 90);
        let evict_a = Change::Evict {
            mac: a.mac,
            ip: None,
        };
        let got = render_changes(&[Change::Admit(a.clone()), evict_a.clone()]);
        assert_eq!(got, render_changes(std::slice::from_ref(&evict_a)));
        assert!(!got.contains("90s"), "{got}");
        let longer = client("02:00:00:00:00:0a", 120);
        let got = render_changes(&[evict_a, Change::Admit(a), Change::Admit(longer.clone())]);
        assert_eq!(got, render_changes(&[Change::Admit(longer)]));
    }

    #[test]
    fn admit_with_no_time_left_evicts() {
        let mac = "02:00:00:00:00:0a".parse().unwrap();
        assert_eq!(
            render_changes(&[Change::Admit(client("02:00:00:00:00:0a", 0))]),
            render_changes(&[Change::Evict { mac, ip: None }])
        );
        assert!(!render_changes(&[Change::Evict { mac, ip: None }]).contains("timeout 0s"));
        assert_eq!(render_changes(&[]), "");
    }

    #[test]
    fn finds_our_table_among_others() {
        assert!(has_table("table inet fw4\ntable inet lango\n"));
        assert!(!has_table(
            "table inet fw4\ntable ip lango\ntable inet lango2\n"
        ));
    }

    #[test]
    fn detects_flow_offloading() {
        let ft = "table inet fw4 {\n\tflowtable ft {\n\t\thook ingress priority filter\n\t}\n}\n";
        assert!(offload_enabled(ft, ""));
        assert!(offload_enabled(
            "",
            "config defaults\n\toption flow_offloading '1'\n"
        ));
        assert!(offload_enabled(
            "",
            "config defaults\n\toption flow_offloading_hw \"1\"\n"
        ));
        assert!(!offload_enabled(
            "table inet fw4 {\n}\n",
            "config defaults\n\toption flow_offloading '0'\n"
        ));
    }

    #[test]
    fn masks_host_bits() {
        assert_eq!(network("10.1.2.3/8".parse().unwrap()), "10.0.0.0/8");
        assert_eq!(network("10.1.2.3".parse().unwrap()), "10.1.2.3/32");
        assert_eq!(network("0.0.0.0/0".parse().unwrap()), "0.0.0.0/0");
        assert_eq!(
            network("2001:db8:1::5/48".parse().unwrap()),
            "2001:db8:1::/48"
        );
    }
}
