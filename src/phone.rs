//! `Msisdn`: an M-Pesa phone number normalised to `2547XXXXXXXX` / `2541XXXXXXXX`.
//! Touches: nothing. Parse once at the edge; everything inside uses the normalised form.

use std::fmt;
use std::str::FromStr;

/// A Kenyan mobile number in Daraja's form: `254` then `7` or `1` then eight digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Msisdn(String);

/// Why a typed phone number cannot be an M-Pesa number.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a Safaricom number: type it as 07XXXXXXXX, 01XXXXXXXX or +2547XXXXXXXX")]
pub struct BadMsisdn(pub String);

impl Msisdn {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: `2547****149`. Never log a whole number.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..4], &self.0[9..])
    }
}

impl FromStr for Msisdn {
    type Err = BadMsisdn;

    /// Accepts `07…`, `01…`, `7…`, `1…`, `+254…`, `254…`, ignoring spaces and dashes.
    fn from_str(s: &str) -> Result<Self, BadMsisdn> {
        let bad = || BadMsisdn(s.chars().take(32).collect());
        let compact: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').unwrap_or(&compact);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let national = if let Some(rest) = digits.strip_prefix("254") {
            rest
        } else if let Some(rest) = digits.strip_prefix('0') {
            rest
        } else {
            digits
        };
        if national.len() != 9 || !matches!(national.as_bytes()[0], b'7' | b'1') {
            return Err(bad());
        }
        Ok(Msisdn(format!("254{national}")))
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Msisdn {
    /// Debug output lands in logs: masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_every_common_form() {
        for s in [
            "0708374149",
            "+254708374149",
            "254708374149",
            "708374149",
            "0708 374 149",
            "0708-374-149",
        ] {
            assert_eq!(s.parse::<Msisdn>().unwrap().as_str(), "254708374149", "{s}");
        }
        assert_eq!(
            "0110000001".parse::<Msisdn>().unwrap().as_str(),
            "254110000001"
        );
    }

    #[test]
    fn rejects_what_daraja_would() {
        for s in [
            "",
            "0808374149",
            "07083741",
            "07083741490",
            "2550708374149",
            "07o8374149",
            "+",
            "254",
            "0708374149;",
        ] {
            assert!(s.parse::<Msisdn>().is_err(), "{s} accepted");
        }
    }

    #[test]
    fn masks_for_logs() {
        let m: Msisdn = "0708374149".parse().unwrap();
        assert_eq!(m.masked(), "2547****149");
        assert_eq!(format!("{m:?}"), "2547****149");
    }
}
