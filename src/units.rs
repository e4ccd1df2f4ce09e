//! Small value types for money and speed, so a price is never mistaken for a rate.
//! Touches: nothing.

use std::fmt;

/// Whole Kenyan shillings (M-Pesa takes no cents).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Kes(pub u32);

impl fmt::Display for Kes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KES {}", self.0)
    }
}

/// A rate in kilobits per second (1 Mbps = 1000 kbps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
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
}
