//! A minimal DNS stub (RFC 1035): asks the router's resolver for a host's A and AAAA records and
//! reads the addresses with their TTLs, for the walled garden's host names. Packets are built and
//! read by pure functions; every malformed answer is refused with the reason.
//! Touches: one UDP socket per lookup. Never: the kernel, SQLite.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Where the router's resolver is when `/etc/resolv.conf` names none (dnsmasq on OpenWrt).
pub const DEFAULT_RESOLVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53);
/// How long one lookup waits for its answers, per try.
const WAIT: Duration = Duration::from_secs(2);
const TRIES: usize = 2;

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

/// One address of a host and how long the resolver says it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub addr: IpAddr,
    pub ttl: u32,
}

/// Why a lookup gave no addresses.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("not a host name: {0:?}")]
    BadName(String),
    #[error("answer cut short at byte {0}")]
    Short(usize),
    #[error("answer to another question (id {0})")]
    OtherId(u16),
    #[error("not an answer")]
    NotAnAnswer,
    #[error("a name in the answer points in a loop")]
    PointerLoop,
    #[error("the resolver says no such host")]
    NoSuchHost,
    #[error("the resolver failed (rcode {0})")]
    Rcode(u8),
    #[error("no answer from {0}")]
    NoAnswer(SocketAddr),
    #[error("{0}")]
    Io(String),
}

/// The resolver in a `resolv.conf` text: its first `nameserver`, on port 53.
pub fn resolver_in(resolv_conf: &str) -> Option<SocketAddr> {
    resolv_conf.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next() == Some("nameserver"))
            .then(|| w.next()?.parse::<IpAddr>().ok())
            .flatten()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

/// The router's resolver: `/etc/resolv.conf`'s, else [`DEFAULT_RESOLVER`].
pub fn system_resolver() -> SocketAddr {
    std::fs::read_to_string("/etc/resolv.conf")
        .ok()
        .and_then(|t| resolver_in(&t))
        .unwrap_or(DEFAULT_RESOLVER)
}

/// Whether `name` is a DNS name: letters, digits and hyphens (not at either end) in
/// dot-separated labels of 1 to 63 characters, 253 in all (a final dot allowed).
pub fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    name.len() <= 253
        && name.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Whether `name` is a host name a resolver can be asked for: a DNS name of at least two
/// labels whose last is not all digits (so not an IPv4 address).
pub fn is_host_name(name: &str) -> bool {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    is_dns_name(name)
        && trimmed.contains('.')
        && !trimmed
            .rsplit('.')
            .next()
            .unwrap_or("")
            .chars()
            .all(|c| c.is_ascii_digit())
}

/// A recursive query for `name`'s records of type `qtype`.
pub fn query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, Error> {
    if !is_host_name(name) {
        return Err(Error::BadName(name.to_string()));
    }
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00]); // a query, recursion desired
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(q)
}

/// The A and AAAA records in the answer to query `id`. CNAMEs are followed by the resolver,
/// which puts the final addresses in the same answer.
pub fn answers(packet: &[u8], id: u16) -> Result<Vec<Record>, Error> {
    let header = packet.get(..12).ok_or(Error::Short(packet.len()))?;
    let got = u16::from_be_bytes([header[0], header[1]]);
    if got != id {
        return Err(Error::OtherId(got));
    }
    if header[2] & 0x80 == 0 {
        return Err(Error::NotAnAnswer);
    }
    match header[3] & 0x0f {
        0 => {}
        3 => return Err(Error::NoSuchHost),
        rcode => return Err(Error::Rcode(rcode)),
    }
    let count = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
    let mut at = 12;
    for _ in 0..count(4) {
        at = skip_name(packet, at)? + 4;
    }
    let mut out = vec![];
    for _ in 0..count(6) {
        at = skip_name(packet, at)?;
        let fixed = packet.get(at..at + 10).ok_or(Error::Short(packet.len()))?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let class = u16::from_be_bytes([fixed[2], fixed[3]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let len = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        at += 10;
        let data = packet.get(at..at + len).ok_or(Error::Short(packet.len()))?;
        at += len;
        let addr = match (rtype, class, data.len()) {
            (TYPE_A, CLASS_IN, 4) => IpAddr::V4(Ipv4Addr::new(data[0], data[1], data[2], data[3])),
            (TYPE_AAAA, CLASS_IN, 16) => {
                let mut b = [0u8; 16];
                b.copy_from_slice(data);
                IpAddr::V6(Ipv6Addr::from(b))
            }
            _ => continue,
        };
        // RFC 2181: a TTL with the top bit set counts as 0.
        let ttl = if ttl > i32::MAX as u32 { 0 } else { ttl };
        out.push(Record { addr, ttl });
    }
    Ok(out)
}

/// Where the name starting at `at` ends (a pointer ends it; every pointer must go backwards,
/// so none can loop).
fn skip_name(packet: &[u8], mut at: usize) -> Result<usize, Error> {
    loop {
        let len = *packet.get(at).ok_or(Error::Short(packet.len()))?;
        match len & 0xc0 {
            0x00 if len == 0 => return Ok(at + 1),
            0x00 => at += 1 + usize::from(len),
            0xc0 => {
                let low = *packet.get(at + 1).ok_or(Error::Short(packet.len()))?;
                let target = usize::from(len & 0x3f) << 8 | usize::from(low);
                if target >= at {
                    return Err(Error::PointerLoop);
                }
                return Ok(at + 2);
            }
            _ => return Err(Error::NotAnAnswer),
        }
    }
}

/// `name`'s IPv4 and IPv6 addresses from the resolver at `server`. A host with addresses of one
/// family only is fine; no address at all is an error.
pub async fn resolve(server: SocketAddr, name: &str) -> Result<Vec<Record>, Error> {
    let io = |e: std::io::Error| Error::Io(format!("{server}: {e}"));
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = tokio::net::UdpSocket::bind(local).await.map_err(io)?;
    socket.connect(server).await.map_err(io)?;
    let first = u16::from_be_bytes(crate::random::bytes::<2>());
    let ids = [first, first.wrapping_add(1)];
    let queries = [
        query(ids[0], name, TYPE_A)?,
        query(ids[1], name, TYPE_AAAA)?,
    ];
    let mut pending = [true, true];
    let mut found = vec![];
    let mut refused = None;
    let mut buf = [0u8; 1232];
    for _ in 0..TRIES {
        for (q, _) in queries.iter().zip(pending).filter(|(_, p)| *p) {
            socket.send(q).await.map_err(io)?;
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        while pending.iter().any(|p| *p) {
            let Ok(got) = tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await else {
                break;
            };
            let n = got.map_err(io)?;
            let Some(which) = buf.get(..2).and_then(|b| {
                let id = u16::from_be_bytes([b[0], b[1]]);
                ids.iter().position(|i| *i == id)
            }) else {
                continue; // a late answer to nothing we still ask: ignored
            };
            if !pending[which] {
                continue;
            }
            pending[which] = false;
            match answers(&buf[..n], ids[which]) {
                Ok(r) => found.extend(r),
                Err(e) => refused = Some(e),
            }
        }
        if !pending.iter().any(|p| *p) {
            break;
        }
    }
    if !found.is_empty() {
        return Ok(found);
    }
    Err(refused.unwrap_or(if pending.iter().all(|p| *p) {
        Error::NoAnswer(server)
    } else {
        Error::NoSuchHost
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer as dnsmasq sends it: the question, a CNAME, then two A records whose names
    /// are pointers.
    fn answer(id: u16) -> Vec<u8> {
        let mut p = vec![];
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0]);
        p.extend_from_slice(b"\x03pay\x07example\x00\x00\x01\x00\x01");
        // pay.example CNAME edge.example (edge + pointer to "example" at byte 16)
        p.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 7]);
        p.extend_from_slice(b"\x04edge\xc0\x10");
        let edge = 12 + 17 + 12;
        for (ip, ttl) in [
            ([198, 51, 100, 4], 300u32),
            ([198, 51, 100, 5], 0x8000_0000),
        ] {
            p.extend_from_slice(&[0xc0, edge as u8, 0, 1, 0, 1]);
            p.extend_from_slice(&ttl.to_be_bytes());
            p.extend_from_slice(&[0, 4]);
            p.extend_from_slice(&ip);
        }
        p
    }

    #[test]
    fn a_query_is_the_name_in_labels() {
        assert_eq!(
            query(0x1234, "pay.example", TYPE_AAAA).unwrap(),
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03pay\x07example\x00\x00\x1c\x00\x01"
        );
        for bad in [
            "",
            "localhost",
            "a..b",
            "-a.b",
            "a.b-",
            "x y.com",
            "1.2.3.4",
            &"a.".repeat(130),
        ] {
            assert_eq!(
                query(1, bad, TYPE_A),
                Err(Error::BadName(bad.into())),
                "{bad}"
            );
        }
        assert!(is_host_name("safaricom.co.ke") && is_host_name("sandbox.safaricom.co.ke."));
    }

    #[test]
    fn answers_give_the_addresses_behind_cnames_with_their_ttls() {
        assert_eq!(
            answers(&answer(7), 7).unwrap(),
            [
                Record {
                    addr: "198.51.100.4".parse().unwrap(),
                    ttl: 300
                },
                Record {
                    addr: "198.51.100.5".parse().unwrap(),
                    ttl: 0
                },
            ]
        );
    }

    #[test]
    fn malformed_answers_are_refused_with_the_reason() {
        let good = answer(7);
        assert_eq!(answers(&good, 8), Err(Error::OtherId(7)));
        for cut in [0, 5, 20, 40, good.len() - 1] {
            assert!(
                matches!(answers(&good[..cut], 7), Err(Error::Short(_))),
                "cut at {cut}"
            );
        }
        let mut query_back = good.clone();
        query_back[2] = 0x01;
        assert_eq!(answers(&query_back, 7), Err(Error::NotAnAnswer));
        let mut nx = good.clone();
        nx[3] = 0x83;
        assert_eq!(answers(&nx, 7), Err(Error::NoSuchHost));
        nx[3] = 0x82;
        assert_eq!(answers(&nx, 7), Err(Error::Rcode(2)));
        // A pointer to itself.
        let mut lp = good.clone();
        lp[29..31].copy_from_slice(&[0xc0, 29]);
        assert_eq!(answers(&lp, 7), Err(Error::PointerLoop));
    }

    #[test]
    fn the_resolver_is_resolv_confs_first_nameserver() {
        let text = "search lan\n# nameserver 9.9.9.9\nnameserver 127.0.0.1\nnameserver ::1\n";
        assert_eq!(resolver_in(text), Some("127.0.0.1:53".parse().unwrap()));
        assert_eq!(
            resolver_in("nameserver ::1"),
            Some("[::1]:53".parse().unwrap())
        );
        assert_eq!(resolver_in("nameserver bogus\n"), None);
    }

    #[tokio::test]
    async fn a_silent_resolver_is_named() {
        // A bound socket that never answers.
        let quiet = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = quiet.local_addr().unwrap();
        let started = std::time::Instant::now();
        assert_eq!(
            resolve(addr, "pay.example").await,
            Err(Error::NoAnswer(addr))
        );
        assert!(started.elapsed() >= WAIT * TRIES as u32);
    }
}
