//! `VoucherCode`: what a customer types from a printed voucher, normalised; and how codes are drawn.
//! Touches: /dev/urandom (through `random`).

use std::fmt;

/// No 0/O, 1/I/L: codes are read off paper by people (reconnect codes use it too).
pub(crate) const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// 31^10 ≈ 8·10^14 codes: guessing one is hopeless at the throttled rate.
pub const LEN: usize = 10;

/// A voucher code in canonical form (upper case, no separators).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VoucherCode(String);

/// Why typed text cannot be a voucher code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a voucher code is {LEN} letters and digits, like ABCDE-FGH23")]
pub struct BadCode;

impl VoucherCode {
    /// Draws a fresh random code.
    pub fn random() -> Self {
        VoucherCode(draw::<LEN>())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Accepts any case, spaces and dashes. Look-alikes (O, 0, I, 1, L) never appear in codes,
    /// so they are refused rather than guessed.
    pub fn parse(s: &str) -> Result<Self, BadCode> {
        let c: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect::<String>()
            .to_ascii_uppercase();
        if c.len() != LEN || !c.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(BadCode);
        }
        Ok(VoucherCode(c))
    }
}

/// `N` random characters of `ALPHABET`.
pub(crate) fn draw<const N: usize>() -> String {
    let b = crate::random::bytes::<N>();
    // 256 % 31 bias is under 1 %: irrelevant for codes that are also throttled.
    b.iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect()
}

impl fmt::Display for VoucherCode {
    /// Printed in two groups: `ABCDE-FGH23`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..5], &self.0[5..])
    }
}

impl fmt::Debug for VoucherCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_codes_parse_back() {
        for _ in 0..100 {
            let c = VoucherCode::random();
            assert_eq!(VoucherCode::parse(&c.to_string()).unwrap(), c);
            assert_eq!(VoucherCode::parse(&c.as_str().to_lowercase()).unwrap(), c);
        }
    }

    #[test]
    fn refuses_look_alikes_and_wrong_lengths() {
        for s in [
            "",
            "ABCDE",
            "ABCDE-FGH2O",
            "ABCDE-FGH21",
            "ABCDEFGHJKM",
            "ABCDE;FGH23",
        ] {
            assert_eq!(VoucherCode::parse(s), Err(BadCode), "{s}");
        }
    }
}
