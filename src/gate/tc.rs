//! Renders per-client HTB shaping as `tc -batch -` text, and hands out the class ids it uses.
//! Pure text and bookkeeping: touches nothing. `runner` applies the text, `kernel` decides when.
//!
//! Download is shaped on each captive interface's egress, upload on an IFB that the interface's
//! ingress redirects everything to. Each root is `htb default 1` with an unshaped class 1:1 and
//! one class per client. Filters are u32 matches on the MAC (`ether dst` going out, `ether src`
//! on the IFB) kept in a 256-bucket hash table keyed on the MAC's last byte, so finding a
//! client's class costs the same with 1 or 1000 clients.
//!
//! `tc -batch` stops at the first failing line, so every change is written to succeed whatever
//! state it finds: `replace` creates or changes, and deletions are preceded by a `replace`.

use super::Client;
use crate::mac::Mac;
use crate::units::Kbps;
use std::collections::HashMap;
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

    pub fn clear(&mut self) {
        self.by_mac.clear();
        self.used.clear();
    }
}

/// The leaf queue under each client's class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaf {
    /// Fair queueing with AQM, when the kernel has it.
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
    fn rate(self, c: &Client) -> Kbps {
        match self {
            Dir::Down => c.down,
            Dir::Up => c.up,
        }
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
    /// Clients without a slot, or with a rate of 0 (unlimited) in a direction, are not shaped there.
    pub fn render_setup(&self, clients: &[(Slot, &Client)]) -> String {
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
            let _ = writeln!(s, "filter add dev {dev} parent 1: prio {PRIO} handle {HT}: protocol all u32 divisor 256");
            let _ = writeln!(
                s,
                "filter add dev {dev} parent 1: prio {PRIO} handle 800::1 protocol all u32 ht 800:: match u32 0 0 hashkey {} link {HT}:",
                dir.hashkey()
            );
            for &(slot, c) in clients {
                let rate = dir.rate(c);
                if rate.0 > 0 {
                    self.class(&mut s, dev, slot, rate);
                    let _ = writeln!(s, "filter add dev {dev} {}", filter_spec(dir, slot, c.mac));
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

    /// Shapes `client` at its rates (new, or new rates), in `slot`.
    pub fn render_admit(&self, slot: Slot, client: &Client) -> String {
        let mut s = String::new();
        for (dev, dir) in self.devices() {
            let rate = dir.rate(client);
            if rate.0 == 0 {
                remove(&mut s, dev, dir, slot, client.mac);
                continue;
            }
            self.class(&mut s, dev, slot, rate);
            // The slot may have held another MAC whose filter outlived it; u32 keeps a filter's
            // match on `replace`, so make sure the filter is new.
            let spec = filter_spec(dir, slot, client.mac);
            let _ = writeln!(s, "filter replace dev {dev} {spec}");
            let _ = writeln!(
                s,
                "filter del dev {dev} parent 1: prio {PRIO} handle {} protocol all u32",
                slot.filter()
            );
            let _ = writeln!(s, "filter add dev {dev} {spec}");
        }
        s
    }

    /// Stops shaping the device in `slot`: filters, then classes (HTB keeps a class in use).
    pub fn render_evict(&self, slot: Slot, mac: Mac) -> String {
        let mut s = String::new();
        for (dev, dir) in self.devices() {
            remove(&mut s, dev, dir, slot, mac);
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

    fn class(&self, s: &mut String, dev: &str, slot: Slot, rate: Kbps) {
        let id = slot.classid();
        let _ = writeln!(
            s,
            "class replace dev {dev} parent 1: classid {id} htb {}",
            htb_rate(rate)
        );
        let _ = writeln!(
            s,
            "qdisc replace dev {dev} parent {id} {}",
            leaf(self.leaf, rate)
        );
    }
}

/// Whether `tc qdisc show` output has our roots on every captive interface and the IFB.
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
    shaper
        .interfaces
        .iter()
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

/// Idempotent removal of one device's filter and class for `slot`.
fn remove(s: &mut String, dev: &str, dir: Dir, slot: Slot, mac: Mac) {
    let id = slot.classid();
    let _ = writeln!(
        s,
        "class replace dev {dev} parent 1: classid {id} htb rate 1mbit"
    );
    let _ = writeln!(
        s,
        "filter replace dev {dev} {}",
        filter_spec(dir, slot, mac)
    );
    let _ = writeln!(
        s,
        "filter del dev {dev} parent 1: prio {PRIO} handle {} protocol all u32",
        slot.filter()
    );
    let _ = writeln!(s, "class del dev {dev} classid {id}");
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
    match leaf {
        Leaf::FqCodel => "fq_codel".into(),
        Leaf::Fifo => {
            let packets = (wire_kbit(rate) * 1000 / 8 * QUEUE_MS / 1000 / FRAME).clamp(16, 1000);
            format!("pfifo limit {packets}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(mac: &str, down: u32, up: u32) -> Client {
        Client {
            mac: mac.parse().unwrap(),
            ip: None,
            seconds: 60,
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
        assert_eq!(leaf(Leaf::FqCodel, Kbps(256)), "fq_codel");
    }

    #[test]
    fn renders_setup() {
        let c = client("02:00:00:00:00:2a", 5000, 0);
        let got = shaper().render_setup(&[(Slot(0x12a), &c)]);
        let want = "\
qdisc replace dev br-lan root pfifo
qdisc replace dev br-lan root handle 1: htb default 1
class add dev br-lan parent 1: classid 1:1 htb rate 10gbit quantum 200000
filter add dev br-lan parent 1: prio 1 handle 100: protocol all u32 divisor 256
filter add dev br-lan parent 1: prio 1 handle 800::1 protocol all u32 ht 800:: match u32 0 0 hashkey mask 0x000000ff at -12 link 100:
class replace dev br-lan parent 1: classid 1:12a htb rate 5228kbit ceil 5228kbit burst 6535 cburst 6535 quantum 65350
qdisc replace dev br-lan parent 1:12a pfifo limit 86
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
    fn renders_admit_and_evict_idempotently() {
        let c = client("02:00:00:00:00:2a", 5000, 2000);
        let got = Shaper {
            leaf: Leaf::FqCodel,
            ..shaper()
        }
        .render_admit(Slot(0x12a), &c);
        let want = "\
class replace dev br-lan parent 1: classid 1:12a htb rate 5228kbit ceil 5228kbit burst 6535 cburst 6535 quantum 65350
qdisc replace dev br-lan parent 1:12a fq_codel
filter replace dev br-lan parent 1: prio 1 handle 100:2a:1 protocol all u32 ht 100:2a: match ether dst 02:00:00:00:00:2a classid 1:12a
filter del dev br-lan parent 1: prio 1 handle 100:2a:1 protocol all u32
filter add dev br-lan parent 1: prio 1 handle 100:2a:1 protocol all u32 ht 100:2a: match ether dst 02:00:00:00:00:2a classid 1:12a
class replace dev ifb-lango parent 1: classid 1:12a htb rate 2092kbit ceil 2092kbit burst 3028 cburst 3028 quantum 26150
qdisc replace dev ifb-lango parent 1:12a fq_codel
filter replace dev ifb-lango parent 1: prio 1 handle 100:2a:1 protocol all u32 ht 100:2a: match ether src 02:00:00:00:00:2a classid 1:12a
filter del dev ifb-lango parent 1: prio 1 handle 100:2a:1 protocol all u32
filter add dev ifb-lango parent 1: prio 1 handle 100:2a:1 protocol all u32 ht 100:2a: match ether src 02:00:00:00:00:2a classid 1:12a
";
        assert_eq!(got, want);
        let got = shaper().render_evict(Slot(0x12a), c.mac);
        let want = "\
class replace dev br-lan parent 1: classid 1:12a htb rate 1mbit
filter replace dev br-lan parent 1: prio 1 handle 100:2a:1 protocol all u32 ht 100:2a: match ether dst 02:00:00:00:00:2a classid 1:12a
filter del dev br-lan parent 1: prio 1 handle 100:2a:1 protocol all u32
class del dev br-lan classid 1:12a
class replace dev ifb-lango parent 1: classid 1:12a htb rate 1mbit
filter replace dev ifb-lango parent 1: prio 1 handle 100:2a:1 protocol all u32 ht 100:2a: match ether src 02:00:00:00:00:2a classid 1:12a
filter del dev ifb-lango parent 1: prio 1 handle 100:2a:1 protocol all u32
class del dev ifb-lango classid 1:12a
";
        assert_eq!(got, want);
    }

    #[test]
    fn an_unlimited_direction_is_unshaped() {
        let c = client("02:00:00:00:00:2a", 5000, 0);
        let got = shaper().render_admit(Slot(0x12a), &c);
        assert!(
            got.contains("class del dev ifb-lango classid 1:12a\n"),
            "{got}"
        );
        assert!(!got.contains("class del dev br-lan"), "{got}");
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
    }
}
