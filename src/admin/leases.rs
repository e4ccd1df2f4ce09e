//! dnsmasq's lease file (`/tmp/dhcp.leases` on OpenWrt), for the hostnames phones announce.
//! Touches: that file (read only; absent is fine).

use crate::mac::Mac;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

/// What a device told the DHCP server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub ip: IpAddr,
    /// `None` when the device sent no name (dnsmasq writes `*`).
    pub hostname: Option<String>,
}

/// The leases by MAC; empty if the file is missing or unreadable.
pub fn read(path: &Path) -> HashMap<Mac, Lease> {
    std::fs::read_to_string(path)
        .map(|t| parse(&t))
        .unwrap_or_default()
}

/// Lines are `EXPIRY MAC IP HOSTNAME CLIENT-ID`; IPv6 lines (DUIDs, `duid` header) are skipped.
pub fn parse(text: &str) -> HashMap<Mac, Lease> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let (Ok(mac), Ok(ip)) = (f[1].parse::<Mac>(), f[2].parse::<IpAddr>()) else {
            continue;
        };
        let hostname = (f[3] != "*").then(|| f[3].chars().take(63).collect());
        out.insert(mac, Lease { ip, hostname });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dnsmasq_leases() {
        let text = "\
1764000000 02:aa:00:00:00:01 192.168.1.101 Tecno-Spark-10 01:02:aa:00:00:00:01
1764000001 02:aa:00:00:00:02 192.168.1.102 * *
duid 00:01:00:01:2c:aa:bb:cc
1764000002 1234 fd00::5 phone 00:01:00:01
garbage
";
        let l = parse(text);
        assert_eq!(l.len(), 2);
        let a = &l[&"02:aa:00:00:00:01".parse().unwrap()];
        assert_eq!(a.hostname.as_deref(), Some("Tecno-Spark-10"));
        assert_eq!(a.ip.to_string(), "192.168.1.101");
        assert_eq!(l[&"02:aa:00:00:00:02".parse().unwrap()].hostname, None);
        assert!(read(Path::new("/nonexistent/dhcp.leases")).is_empty());
    }
}
