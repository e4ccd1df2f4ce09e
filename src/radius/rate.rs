//! Speeds in RADIUS replies: `Mikrotik-Rate-Limit` ("rx/tx" from the router's side, so rx is
//! the client's upload and tx its download) and `WISPr-Bandwidth-Max-Up/Down` (bits per second).
//! Touches: nothing.

use super::packet::{vendor, Packet};
use crate::units::Kbps;

/// Download and upload speeds for a device, as a reply asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub down: Kbps,
    pub up: Kbps,
}

/// One MikroTik rate: `512k`, `2M`, `1G`, or bits per second (`2000000`).
fn bits(word: &str) -> Option<u64> {
    let w = word.trim();
    let (num, mult) = match w.as_bytes().last()? {
        b'k' | b'K' => (&w[..w.len() - 1], 1_000),
        b'm' | b'M' => (&w[..w.len() - 1], 1_000_000),
        b'g' | b'G' => (&w[..w.len() - 1], 1_000_000_000),
        _ => (w, 1),
    };
    let n: u64 = num.parse().ok()?;
    n.checked_mul(mult).filter(|b| *b > 0)
}

fn kbps(bits: u64) -> Kbps {
    Kbps(u32::try_from(bits.div_ceil(1000)).unwrap_or(u32::MAX))
}

/// Parses `Mikrotik-Rate-Limit`: its first word, "rx[/tx]" (one figure sets both); the burst
/// words after it are ignored (Lango shapes at a flat rate).
pub fn mikrotik(s: &str) -> Option<Rate> {
    let first = s.split_whitespace().next()?;
    let (rx, tx) = first.split_once('/').unwrap_or((first, first));
    Some(Rate {
        up: kbps(bits(rx)?),
        down: kbps(bits(tx)?),
    })
}

/// The rate a reply (Access-Accept, CoA-Request) asks for: `Mikrotik-Rate-Limit` first, else
/// both WISPr attributes. `None`: it sets no rate (or one that does not parse).
pub fn from_reply(p: &Packet) -> Option<Rate> {
    if let Some(v) = p.vendor(vendor::MIKROTIK_RATE_LIMIT) {
        if let Some(r) = std::str::from_utf8(v).ok().and_then(mikrotik) {
            return Some(r);
        }
    }
    let int = |a| {
        p.vendor(a)
            .and_then(|v| Some(u32::from_be_bytes(v.try_into().ok()?)))
            .filter(|b| *b > 0)
    };
    Some(Rate {
        up: kbps(int(vendor::WISPR_MAX_UP)?.into()),
        down: kbps(int(vendor::WISPR_MAX_DOWN)?.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radius::packet::{encode_response, Attrs, Code};

    #[test]
    fn mikrotik_rx_is_upload_and_tx_is_download() {
        assert_eq!(
            mikrotik("2M/5M"),
            Some(Rate {
                up: Kbps(2000),
                down: Kbps(5000)
            })
        );
        assert_eq!(
            mikrotik("512k/1000000 4M/8M 1M/2M 10/10"),
            Some(Rate {
                up: Kbps(512),
                down: Kbps(1000)
            })
        );
        assert_eq!(
            mikrotik("3M"),
            Some(Rate {
                up: Kbps(3000),
                down: Kbps(3000)
            })
        );
        for bad in ["", "fast", "2X/5M", "0/0", "-1/2M", "/"] {
            assert_eq!(mikrotik(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn wispr_is_read_when_there_is_no_mikrotik_rate() {
        let mut a = Attrs::default();
        a.vendor(vendor::WISPR_MAX_UP, &1_000_000u32.to_be_bytes())
            .vendor(vendor::WISPR_MAX_DOWN, &4_000_000u32.to_be_bytes());
        let b = encode_response(Code::AccessAccept, 1, &[0; 16], &a, b"k");
        let p = Packet::decode(&b).unwrap();
        assert_eq!(
            from_reply(&p),
            Some(Rate {
                up: Kbps(1000),
                down: Kbps(4000)
            })
        );
        let b = encode_response(Code::AccessAccept, 1, &[0; 16], &Attrs::default(), b"k");
        assert_eq!(from_reply(&Packet::decode(&b).unwrap()), None);
    }
}
