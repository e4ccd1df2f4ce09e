//! Small value types for money, speed and data, so a price is never mistaken for a rate.
//! Touches: nothing.

use std::fmt;

/// Whole Kenyan shillings (M-Pesa takes no cents).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Kes(pub u32);

impl fmt::Display for Kes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KES {}", self.0)
    }
}

/// A rate in kilobits per second (1 Mbps = 1000 kbps).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Kbps(pub u32);

impl fmt::Display for Kbps {
    /// `5 Mbps`, `2.5 Mbps`, `512 kbps`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.0;
        if k >= 1000 && k.is_multiple_of(100) {
            if k.is_multiple_of(1000) {
                write!(f, "{} Mbps", k / 1000)
            } else {
                write!(f, "{}.{} Mbps", k / 1000, (k % 1000) / 100)
            }
        } else {
            write!(f, "{k} kbps")
        }
    }
}

/// An amount of data in bytes, printed in decimal units (1 MB = 1 000 000 bytes).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ByteCount(pub u64);

impl fmt::Display for ByteCount {
    /// `512 B`, `12 kB`, `340 MB`, `1.2 GB`: three significant figures at most.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
        let mut unit = 0;
        let mut scale = 1u64;
        while unit + 1 < UNITS.len() && self.0 >= scale * 1000 {
            scale *= 1000;
            unit += 1;
        }
        let tenths = self.0 * 10 / scale;
        if unit == 0 || tenths >= 100 || tenths.is_multiple_of(10) {
            write!(f, "{} {}", tenths / 10, UNITS[unit])
        } else {
            write!(f, "{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_print_for_people() {
        assert_eq!(Kbps(5000).to_string(), "5 Mbps");
        assert_eq!(Kbps(2500).to_string(), "2.5 Mbps");
        assert_eq!(Kbps(512).to_string(), "512 kbps");
        assert_eq!(Kes(50).to_string(), "KES 50");
    }

    #[test]
    fn data_prints_for_people() {
        assert_eq!(ByteCount(0).to_string(), "0 B");
        assert_eq!(ByteCount(999).to_string(), "999 B");
        assert_eq!(ByteCount(12_345).to_string(), "12 kB");
        assert_eq!(ByteCount(1_200_000_000).to_string(), "1.2 GB");
        assert_eq!(ByteCount(1_000_000_000).to_string(), "1 GB");
        assert_eq!(ByteCount(340_500_000).to_string(), "340 MB");
        assert_eq!(ByteCount(5_000_000_000_000_000).to_string(), "5000 TB");
    }
}
