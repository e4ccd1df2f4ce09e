//! Renders per-client HTB shaping as `tc -batch -` text, and hands out the class ids it uses.
//! Pure text and bookkeeping: touches nothing. `runner` applies the text, `kernel` decides when.
//!
//! Download is shaped on each captive interface's egress, upload on an IFB that the interface's
//! ingress redirects everything to. Each root is `htb default 1` with an unshaped class 1:1 and
//! one class per client. Filters are u32 matches on the MAC (`ether dst` going out, `ether src`
//! on the IFB) kept in a 256-bucket hash table keyed on the MAC's last byte, so finding a
//! client's class costs the same with 1 or 1000 clients.
//!
//! `tc -batch` stops at the first failing line. Setting up and tearing down are written to succeed
//! whatever state they find (`replace` first, then `del`/`add`); a change to one client is written
//! against the state `KernelGate` remembers, and if the kernel disagrees the batch fails and the
//! caller's full `sync` rebuilds everything.

use super::Client;
use crate::mac::Mac;
use crate::units::Kbps;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

/// HTB counts whole Ethernet frames; a speed test counts TCP payload, 1448 bytes of a full
/// 1514-byte IPv4 frame (timestamps on). Classes run this much faster, so a customer's speed test
/// shows the rate they paid for (IPv6, with 20 bytes more header, shows about 98.6 %).
const FRAME: u64 = 1514;
const PAYLOAD: u64 = 1448;
/// Tokens a class may save up. Covers a late timer on a slow router without letting a speed
/// test see more than a fraction of a percent extra over a few seconds.
const BURST_MS: u64 = 10;
/// A class's own queue holds this much time at its rate when there is no fq_codel: enough for
/// full speed with real Internet round trips, without seconds of bufferbloat.
const QUEUE_MS: u64 = 200;
/// Flow queues per client. fq_codel's default of 1024 costs about 68 KB of kernel memory per
/// instance, two per client: 136 MB for 1000 clients on a router that may have 128 MB. A phone
/// has a few dozen connections at most.
const FQ_FLOWS: u32 = 64;
/// The class for traffic that is nobody's: portal pages, DNS answers, ARP.
const UNSHAPED: &str = "rate 10gbit quantum 200000";
/// u32 hash table holding the per-client filters (`100:`), and its bucket count.
const HT: &str = "100";
/// Priority of all our u32 filters.
const PRIO: u32 = 1;

/// Where a client's classes and filters live: bucket = last MAC byte, index = 1..=255 within it.
/// The HTB class minor is `index << 8 | bucket` (never 1, the unshaped class), and the filter
/// handle is `100:bucket:index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Slot(u16);

impl Slot {
    fn bucket(self) -> u16 {
        self.0 & 0xff
    }
    fn index(self) -> u16 {
        self.0 >> 8
    }
    fn classid(self) -> String {
        format!("1:{:x}", self.0)
    }
    fn filter(self) -> String {
        format!("{HT}:{:x}:{:x}", self.bucket(), self.index())
    }
}

/// Which slot each shaped MAC has. Lives as long as the kernel state it describes.
#[derive(Debug, Default)]
pub struct Slots {
    by_mac: HashMap<Mac, Slot>,
    /// Per bucket, which indexes are taken (bit i = index i).
    used: HashMap<u8, [u128; 2]>,
}

impl Slots {
    pub fn get(&self, mac: Mac) -> Option<Slot> {
        self.by_mac.get(&mac).copied()
    }

    /// The MAC's slot, giving it one if it has none. `None` when 255 shaped devices already share
    /// its last byte.
    pub fn assign(&mut self, mac: Mac) -> Option<Slot> {
        if let Some(s) = self.get(mac) {
            return Some(s);
        }
        let bucket = mac.0[5];
        let used = self.used.entry(bucket).or_default();
        let index = (1u16..=255).find(|&i| used[usize::from(i / 128)] & (1 << (i % 128)) == 0)?;
        used[usize::from(index / 128)] |= 1 << (index % 128);
        let slot = Slot(index << 8 | u16::from(bucket));
        self.by_mac.insert(mac, slot);
        Some(slot)
    }

    /// Frees the MAC's slot, returning it.
    pub fn release(&mut self, mac: Mac) -> Option<Slot> {
        let slot = self.by_mac.remove(&mac)?;
        if let Some(used) = self.used.get_mut(&(slot.bucket() as u8)) {
            used[usize::from(slot.index() / 128)] &= !(1 << (slot.index() % 128));
        }
        Some(slot)
    }

    /// Every shaped MAC with its slot.
    pub fn iter(&self) -> impl Iterator<Item = (Mac, Slot)> + '_ {
        self.by_mac.iter().map(|(m, s)| (*m, *s))
    }

    pub fn clear(&mut self) {
        self.by_mac.clear();
        self.used.clear();
    }
}

/// The leaf queue under each client's class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaf {
    /// Fair queueing with AQM, when the kernel has it: `FQ_FLOWS` flows, capped like the FIFO.
    FqCodel,
    /// A plain FIFO bounded to `QUEUE_MS` at the class rate.
    Fifo,
}

/// The devices shaping happens on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shaper {
    /// Captive interfaces: download classes on their egress, upload redirected from their ingress.
    pub interfaces: Vec<String>,
    /// The IFB holding upload classes.
    pub ifb: String,
    pub leaf: Leaf,
}

/// Which way a device's classes shape.
#[derive(Clone, Copy)]
enum Dir {
    /// Captive interface egress: frames to the client, matched on `ether dst`.
    Down,
    /// IFB: frames from the client, matched on `ether src`.
    Up,
}

impl Dir {
    fn matcher(self) -> &'static str {
        match self {
            Dir::Down => "ether dst",
            Dir::Up => "ether src",
        }
    }
    /// Hash on the last MAC byte, read as a 32-bit word relative to the IP header: the
    /// destination MAC's last byte is the low byte of the word at -12, the source MAC's the
    /// second byte of the word at -4.
    fn hashkey(self) -> &'static str {
        match self {
            Dir::Down => "mask 0x000000ff at -12",
            Dir::Up => "mask 0x00ff0000 at -4",
        }
    }
    fn rate(self, r: Rates) -> Kbps {
        match self {
            Dir::Down => r.down,
            Dir::Up => r.up,
        }
    }
}

/// A client's speeds as shaped; 0 is unlimited (no class in that direction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rates {
    pub down: Kbps,
    pub up: Kbps,
}

impl Rates {
    pub fn of(c: &Client) -> Rates {
        Rates {
            down: c.down,
            up: c.up,
        }
    }
    /// Unlimited both ways: nothing to shape.
    pub fn unlimited(self) -> bool {
        self.down.0 == 0 && self.up.0 == 0
    }
}

impl Shaper {
    fn devices(&self) -> impl Iterator<Item = (&str, Dir)> {
        self.interfaces
            .iter()
            .map(|i| (i.as_str(), Dir::Down))
            .chain(std::iter::once((self.ifb.as_str(), Dir::Up)))
    }

    /// Everything from scratch with exactly `clients` shaped, whatever was on the devices before.
    /// A rate of 0 (unlimited) in a direction means no class there.
    pub fn render_setup(&self, clients: &[(Slot, Mac, Rates)]) -> String {
        let mut s = String::with_capacity(1024 + clients.len() * 600);
        for (dev, dir) in self.devices() {
            // A different kind of root is grafted over whatever is there (even an htb 1:), so the
            // second line always creates a fresh htb 1: with no classes or filters.
            let _ = writeln!(s, "qdisc replace dev {dev} root pfifo");
            let _ = writeln!(s, "qdisc replace dev {dev} root handle 1: htb default 1");
            let _ = writeln!(
                s,
                "class add dev {dev} parent 1: classid 1:1 htb {UNSHAPED}"
            );
            let _ = writeln!(
                s,
                "filter add dev {dev} parent 1: prio {PRIO} handle {HT}: protocol all u32 divisor 256"
            );
            let _ = writeln!(
                s,
                "filter add dev {dev} parent 1: prio {PRIO} handle 800::1 protocol all u32 ht 800:: match u32 0 0 hashkey {} link {HT}:",
                dir.hashkey()
            );
            for &(slot, mac, rates) in clients {
                let rate = dir.rate(rates);
                if rate.0 > 0 {
                    self.add(&mut s, dev, dir, slot, mac, rate);
                }
            }
        }
        for dev in &self.interfaces {
            // `replace` then `del` succeeds whether or not an ingress qdisc was there.
            let _ = writeln!(s, "qdisc replace dev {dev} handle ffff: ingress");
            let _ = writeln!(s, "qdisc del dev {dev} ingress");
            let _ = writeln!(s, "qdisc add dev {dev} handle ffff: ingress");
            let _ = writeln!(
                s,
                "filter add dev {dev} parent ffff: prio {PRIO} protocol all u32 match u32 0 0 action mirred egress redirect dev {}",
                self.ifb
            );
        }
        s
    }

    /// Takes `mac`'s shaping in `slot` from `old` (`None`: nothing in the kernel yet) to `new`,
    /// writing only what changes: an extension at the same speeds is no line at all. A new filter
    /// is added, never replaced (u32 keeps the old match on `replace`): should a stale one be in
    /// the way, the batch fails and the caller's `sync` rebuilds everything.
    pub fn render_admit(&self, slot: Slot, mac: Mac, old: Option<Rates>, new: Rates) -> String {
        let mut s = String::new();
        for (dev, dir) in self.devices() {
            let (was, now) = (old.map(|r| dir.rate(r)).unwrap_or(Kbps(0)), dir.rate(new));
            if was == now {
                continue;
            }
            if now.0 == 0 {
                remove(&mut s, dev, slot);
            } else if was.0 == 0 {
                self.add(&mut s, dev, dir, slot, mac, now);
            } else {
                // Only the rate: the leaf queue and the filter stay (fq_codel cannot be changed
                // to the same flow count it already has).
                let _ = writeln!(
                    s,
                    "class replace dev {dev} parent 1: classid {} htb {}",
                    slot.classid(),
                    htb_rate(now)
                );
            }
        }
        s
    }

    /// Stops shaping the device in `slot`, shaped at `old`: filters, then classes (HTB refuses
    /// to delete a class a filter points to).
    pub fn render_evict(&self, slot: Slot, old: Rates) -> String {
        let mut s = String::new();
        for (dev, dir) in self.devices() {
            if dir.rate(old).0 > 0 {
                remove(&mut s, dev, slot);
            }
        }
        s
    }

    /// Removes our qdiscs (and so every class and filter) from the devices, restoring the
    /// kernel's default. Run with `tc -force`: a device may already be gone.
    pub fn render_teardown(&self) -> String {
        let mut s = String::new();
        for (dev, _) in self.devices() {
            let _ = writeln!(s, "qdisc replace dev {dev} root pfifo");
            let _ = writeln!(s, "qdisc del dev {dev} root");
        }
        for dev in &self.interfaces {
            let _ = writeln!(s, "qdisc replace dev {dev} handle ffff: ingress");
            let _ = writeln!(s, "qdisc del dev {dev} ingress");
        }
        s
    }

    /// A new class with its leaf queue and its filter.
    fn add(&self, s: &mut String, dev: &str, dir: Dir, slot: Slot, mac: Mac, rate: Kbps) {
        let id = slot.classid();
        let _ = writeln!(
            s,
            "class add dev {dev} parent 1: classid {id} htb {}",
            htb_rate(rate)
        );
        let _ = writeln!(
            s,
            "qdisc add dev {dev} parent {id} {}",
            leaf(self.leaf, rate)
        );
        let _ = writeln!(s, "filter add dev {dev} {}", filter_spec(dir, slot, mac));
    }
}

/// Devices that are up (or carry a qdisc of their own), from `tc qdisc show` output.
pub fn devices(qdiscs: &str) -> HashSet<&str> {
    qdiscs
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 5 && w[0] == "qdisc" && w[3] == "dev").then_some(w[4])
        })
        .collect()
}

/// Whether `tc qdisc show` output has our roots on the IFB and on every captive interface that
/// is up (one that comes up later needs a new `sync`).
pub fn installed(shaper: &Shaper, qdiscs: &str) -> bool {
    let has = |kind: &str, handle: &str, dev: &str| {
        qdiscs.lines().any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() >= 5
                && w[0] == "qdisc"
                && w[1] == kind
                && w[2] == handle
                && w[3] == "dev"
                && w[4] == dev
        })
    };
    let present = devices(qdiscs);
    shaper
        .interfaces
        .iter()
        .filter(|i| present.contains(i.as_str()))
        .all(|i| has("htb", "1:", i) && has("ingress", "ffff:", i))
        && has("htb", "1:", &shaper.ifb)
}

/// The line after `filter add dev DEV ` for a client's MAC match.
fn filter_spec(dir: Dir, slot: Slot, mac: Mac) -> String {
    format!(
        "parent 1: prio {PRIO} handle {} protocol all u32 ht {HT}:{:x}: match {} {mac} classid {}",
        slot.filter(),
        slot.bucket(),
        dir.matcher(),
        slot.classid()
    )
}

/// Removes one device's filter and class for `slot`.
fn remove(s: &mut String, dev: &str, slot: Slot) {
    let _ = writeln!(
        s,
        "filter del dev {dev} parent 1: prio {PRIO} handle {} protocol all u32",
        slot.filter()
    );
    let _ = writeln!(s, "class del dev {dev} classid {}", slot.classid());
}

/// HTB parameters for a package rate: compensated to payload, with burst and quantum to match.
fn htb_rate(rate: Kbps) -> String {
    let kbit = wire_kbit(rate);
    let bytes_per_s = kbit * 1000 / 8;
    let burst = (bytes_per_s * BURST_MS / 1000).max(2 * FRAME);
    let quantum = (bytes_per_s / 10).clamp(FRAME, 200_000);
    format!("rate {kbit}kbit ceil {kbit}kbit burst {burst} cburst {burst} quantum {quantum}")
}

fn wire_kbit(rate: Kbps) -> u64 {
    (u64::from(rate.0) * FRAME).div_ceil(PAYLOAD)
}

fn leaf(leaf: Leaf, rate: Kbps) -> String {
    let packets = wire_kbit(rate) * 1000 / 8 * QUEUE_MS / 1000 / FRAME;
    match leaf {
        // CoDel keeps the queue short; the limit is only the hard cap on a flood.
        Leaf::FqCodel => format!(
            "fq_codel limit {} flows {FQ_FLOWS}",
            packets.clamp(64, 1000)
        ),
        Leaf::Fifo => format!("pfifo limit {}", packets.clamp(16, 1000)),
    }
}

/// Bytes each per-client class has sent, by class minor, from `tc -s class show dev DEV`. Only
/// HTB classes count (a leaf fq_codel lists its flows as classes too); the unshaped class 1:1
/// is nobody's and left out. The kernel counts whole Ethernet frames.
pub fn parse_sent(out: &str) -> HashMap<u16, u64> {
    let mut sent = HashMap::new();
    let mut class: Option<u16> = None;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("class htb 1:") {
            class = rest
                .split_whitespace()
                .next()
                .and_then(|minor| u16::from_str_radix(minor, 16).ok())
                .filter(|&minor| minor != 1);
        } else if line.starts_with("class ") {
            class = None;
        } else if let (Some(minor), Some(rest)) = (class, line.trim_start().strip_prefix("Sent ")) {
            if let Some(bytes) = rest.split_whitespace().next().and_then(|b| b.parse().ok()) {
                sent.insert(minor, bytes);
            }
            class = None;
        }
    }
    sent
}

impl Slot {
    /// The HTB class minor this slot's classes have (`1:minor`).
    pub fn minor(self) -> u16 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = Mac([2, 0, 0, 0, 0, 0x2a]);

    fn rates(down: u32, up: u32) -> Rates {
        Rates {
            down: Kbps(down),
            up: Kbps(up),
        }
    }

    fn shaper() -> Shaper {
        Shaper {
            interfaces: vec!["br-lan".into()],
            ifb: "ifb-lango".into(),
            leaf: Leaf::Fifo,
        }
    }

    #[test]
    fn slots_share_a_bucket_by_last_byte_and_are_reused() {
        let mut s = Slots::default();
        let a: Mac = "02:00:00:00:01:2a".parse().unwrap();
        let b: Mac = "02:00:00:00:02:2a".parse().unwrap();
        let c: Mac = "02:00:00:00:02:2b".parse().unwrap();
        assert_eq!(s.assign(a), Some(Slot(0x12a)));
        assert_eq!(s.assign(b), Some(Slot(0x22a)));
        assert_eq!(s.assign(c), Some(Slot(0x12b)));
        assert_eq!(s.assign(a), Some(Slot(0x12a)), "same MAC, same slot");
        assert_eq!(s.release(a), Some(Slot(0x12a)));
        assert_eq!(s.release(a), None);
        let d: Mac = "02:00:00:00:03:2a".parse().unwrap();
        assert_eq!(s.assign(d), Some(Slot(0x12a)), "freed index is reused");
    }

    #[test]
    fn a_full_bucket_refuses() {
        let mut s = Slots::default();
        for i in 0..255u8 {
            assert!(s.assign(Mac([2, 0, 0, 0, i, 7])).is_some());
        }
        assert_eq!(s.assign(Mac([2, 0, 0, 1, 0, 7])), None);
        assert!(s.assign(Mac([2, 0, 0, 1, 0, 8])).is_some());
        assert_eq!(s.get(Mac([2, 0, 0, 0, 254, 7])), Some(Slot(0xff07)));
    }

    #[test]
    fn rates_are_compensated_to_payload() {
        assert_eq!(wire_kbit(Kbps(5000)), 5228);
        assert_eq!(wire_kbit(Kbps(2000)), 2092);
        assert_eq!(
            htb_rate(Kbps(5000)),
            "rate 5228kbit ceil 5228kbit burst 6535 cburst 6535 quantum 65350"
        );
        assert_eq!(
            htb_rate(Kbps(256)),
            "rate 268kbit ceil 268kbit burst 3028 cburst 3028 quantum 3350"
        );
        assert_eq!(leaf(Leaf::Fifo, Kbps(5000)), "pfifo limit 86");
        assert_eq!(leaf(Leaf::Fifo, Kbps(256)), "pfifo limit 16");
        assert_eq!(leaf(Leaf::FqCodel, Kbps(256)), "fq_codel limit 64 flows 64");
        assert_eq!(
            leaf(Leaf::FqCodel, Kbps(20000)),
            "fq_codel limit 345 flows 64"
        );
    }

    #[test]
    fn renders_setup() {
        let got = shaper().render_setup(&[(Slot(0x12a), MAC, rates(5000, 0))]);
        let want = "\
qdisc replace dev br-lan root pfifo
qdisc replace dev br-lan root handle 1: htb default 1
class add dev br-lan parent 1: classid 1:1 htb rate 10gbit quantum 200000
filter add dev br-lan parent 1: prio 1 handle 100: protocol all u32 divisor 256
filter add dev br-lan parent 1: prio 1 handle 800::1 protocol all u32 ht 800:: match u32 0 0 hashkey mask 0x000000ff at -12 link 100:
class add dev br-lan parent 1: classid 1:12a htb rate 5228kbit ceil 5228kbit burst 6535 cburst 6535 quantum 65350
qdisc add dev br-lan parent 1:12a pfifo limit 86
filter add dev br-lan parent 1: prio 1 handle 100:2a:1 protocol all u32 ht 100:2a: match ether dst 02:00:00:00:00:2a classid 1:12a
qdisc replace dev ifb-lango root pfifo
qdisc replace dev ifb-lango root handle 1: htb default 1
class add dev ifb-lango parent 1: classid 1:1 htb rate 10gbit quantum 200000
filter add dev ifb-lango parent 1: prio 1 handle 100: protocol all u32 divisor 256
filter add dev ifb-lango parent 1: prio 1 handle 800::1 protocol all u32 ht 800:: match u32 0 0 hashkey mask 0x00ff0000 at -4 link 100:
qdisc replace dev br-lan handle ffff: ingress
qdisc del dev br-lan ingress
qdisc add dev br-lan handle ffff: ingress
filter add dev br-lan parent ffff: prio 1 protocol all u32 match u32 0 0 action mirred egress redirect dev ifb-lango
";
        assert_eq!(got, want);
    }

    #[test]
    fn a_new_client_gets_class_queue_and_filter_both_ways() {
        let fq = Shaper {
            leaf: Leaf::FqCodel,
            ..shaper()
        };
        let got = fq.render_admit(Slot(0x12a), MAC, None, rates(5000, 2000));
        let want = "\
class add dev br-lan parent 1: classid 1:12a htb rate 5228kbit ceil 5228kbit burst 6535 cburst 6535 quantum 65350
qdisc add dev br-lan parent 1:12a fq_codel limit 86 flows 64
filter add dev br-lan parent 1: prio 1 handle 100:2a:1 protocol all u32 ht 100:2a: match ether dst 02:00:00:00:00:2a classid 1:12a
class add dev ifb-lango parent 1: classid 1:12a htb rate 2092kbit ceil 2092kbit burst 3028 cburst 3028 quantum 26150
qdisc add dev ifb-lango parent 1:12a fq_codel limit 64 flows 64
filter add dev ifb-lango parent 1: prio 1 handle 100:2a:1 protocol all u32 ht 100:2a: match ether src 02:00:00:00:00:2a classid 1:12a
";
        assert_eq!(got, want);
    }

    #[test]
    fn an_extension_at_the_same_speed_touches_nothing() {
        let r = rates(5000, 2000);
        assert_eq!(shaper().render_admit(Slot(0x12a), MAC, Some(r), r), "");
    }

    #[test]
    fn a_new_speed_changes_only_the_class() {
        let got = shaper().render_admit(
            Slot(0x12a),
            MAC,
            Some(rates(5000, 2000)),
            rates(10000, 2000),
        );
        assert_eq!(
            got,
            "class replace dev br-lan parent 1: classid 1:12a htb rate 10456kbit ceil 10456kbit burst 13070 cburst 13070 quantum 130700\n"
        );
    }

    #[test]
    fn an_unlimited_direction_has_no_class() {
        let got = shaper().render_admit(Slot(0x12a), MAC, Some(rates(5000, 2000)), rates(5000, 0));
        assert_eq!(
            got,
            "filter del dev ifb-lango parent 1: prio 1 handle 100:2a:1 protocol all u32\nclass del dev ifb-lango classid 1:12a\n"
        );
        let got = shaper().render_admit(Slot(0x12a), MAC, None, rates(5000, 0));
        assert!(!got.contains("ifb-lango"), "{got}");
    }

    #[test]
    fn eviction_removes_filters_then_classes() {
        let got = shaper().render_evict(Slot(0x12a), rates(5000, 2000));
        let want = "\
filter del dev br-lan parent 1: prio 1 handle 100:2a:1 protocol all u32
class del dev br-lan classid 1:12a
filter del dev ifb-lango parent 1: prio 1 handle 100:2a:1 protocol all u32
class del dev ifb-lango classid 1:12a
";
        assert_eq!(got, want);
    }

    #[test]
    fn renders_teardown() {
        let want = "\
qdisc replace dev br-lan root pfifo
qdisc del dev br-lan root
qdisc replace dev ifb-lango root pfifo
qdisc del dev ifb-lango root
qdisc replace dev br-lan handle ffff: ingress
qdisc del dev br-lan ingress
";
        assert_eq!(shaper().render_teardown(), want);
    }

    #[test]
    fn recognises_installed_state() {
        let out = "qdisc noqueue 0: dev lo root refcnt 2
qdisc htb 1: dev br-lan root refcnt 2 r2q 10 default 0x1 direct_packets_stat 0 direct_qlen 1000
qdisc pfifo 8005: dev br-lan parent 1:12a limit 86p
qdisc ingress ffff: dev br-lan parent ffff:fff1 ----------------
qdisc htb 1: dev ifb-lango root refcnt 2 r2q 10 default 0x1 direct_packets_stat 0 direct_qlen 32
";
        assert!(installed(&shaper(), out));
        let no_ingress: String = out
            .lines()
            .filter(|l| !l.contains("ingress"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(!installed(&shaper(), &no_ingress));
        assert!(!installed(
            &shaper(),
            "qdisc noqueue 0: dev br-lan root refcnt 2\n"
        ));
        // A captive interface that is not up (yet) is not expected to be shaped.
        let guest = Shaper {
            interfaces: vec!["br-lan".into(), "guest".into()],
            ..shaper()
        };
        assert!(installed(&guest, out));
        let with_guest = format!("{out}qdisc noqueue 0: dev guest root refcnt 2\n");
        assert!(!installed(&guest, &with_guest));
        assert_eq!(devices(out), HashSet::from(["lo", "br-lan", "ifb-lango"]));
    }

    /// Literal `tc -s class show dev br-lan` output: HTB classes and a leaf fq_codel's flow.
    const CLASS_STATS: &str = "\
class htb 1:1 root prio 0 rate 10Gbit ceil 10Gbit burst 0b cburst 0b 
 Sent 5120 bytes 40 pkt (dropped 0, overlimits 0 requeues 0) 
 backlog 0b 0p requeues 0
 lended: 40 borrowed: 0 giants: 0
 tokens: 15 ctokens: 15

class htb 1:a05 root leaf 8001: prio 0 rate 5232Kbit ceil 5232Kbit burst 6540b cburst 6540b 
 Sent 21034567 bytes 13901 pkt (dropped 3, overlimits 2210 requeues 0) 
 backlog 0b 0p requeues 0
 lended: 13901 borrowed: 0 giants: 0
 tokens: 40000 ctokens: 40000

class fq_codel 8001:2c parent 8001: 
 (dropped 0, overlimits 0 requeues 0) 
 backlog 0b 0p requeues 0
  deficit 1162 count 0 lastcount 0 ldelay 3us

class htb 1:1e7 root prio 0 rate 1046Kbit ceil 1046Kbit burst 1599b cburst 1599b 
 Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) 
 backlog 0b 0p requeues 0
";

    #[test]
    fn class_stats_give_bytes_per_client_class() {
        let sent = parse_sent(CLASS_STATS);
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert_eq!(sent[&0xa05], 21_034_567);
        assert_eq!(sent[&0x1e7], 0);
        assert!(!sent.contains_key(&1), "the unshaped class is nobody's");
    }

    #[test]
    fn class_stats_of_nothing_are_empty() {
        assert!(parse_sent("").is_empty());
        assert!(parse_sent("class htb 1:zz root\n Sent 9 bytes 1 pkt\n").is_empty());
    }
}
