//! Reconnect codes: every session has a short code (voucher alphabet, shown `K7Q-3MP`) on the
//! "You are online" page. Typed on another device, or after the phone changed its MAC, it moves
//! the time left there (`Sessions::reconnect`); the M-Pesa receipt from the customer's SMS works
//! as well where Lango knows it. Here: the code type and what a customer may type (wrong tries
//! count with wrong voucher codes, in `limits`, before the code is looked at).
//! Touches: nothing. Never: SQL, the kernel, HTTP.

use std::fmt;

/// 31^6 ≈ 8.9·10^8 codes: with a few hundred sessions open and tries limited per device,
/// guessing one is hopeless; short enough to copy from one phone to another.
pub const LEN: usize = 6;
/// M-Pesa receipts are 10 capital letters and digits, e.g. `NLJ7RT61SV`.
const RECEIPT_LEN: usize = 10;

/// A reconnect code in canonical form (upper case, no dash).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ReconnectCode(String);

impl ReconnectCode {
    pub fn random() -> Self {
        ReconnectCode(crate::voucher::draw::<LEN>())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// From the database: a stored code is trusted to be canonical.
    pub fn from_stored(s: String) -> Self {
        ReconnectCode(s)
    }
}

impl fmt::Display for ReconnectCode {
    /// `K7Q-3MP`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.get(..3).zip(self.0.get(3..)) {
            Some((a, b)) => write!(f, "{a}-{b}"),
            None => f.write_str(&self.0),
        }
    }
}

impl fmt::Debug for ReconnectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What a customer typed into "Already paid?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Code(ReconnectCode),
    /// An M-Pesa receipt (upper case).
    Receipt(String),
}

/// Typed text that is neither a reconnect code nor an M-Pesa receipt.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is neither a reconnect code like K7Q-3MP nor an M-Pesa code like NLJ7RT61SV")]
pub struct BadKey(pub String);

impl Key {
    /// Accepts any case, spaces and dashes: 6 characters of the voucher alphabet are a code,
    /// 10 letters and digits an M-Pesa receipt.
    pub fn parse(typed: &str) -> Result<Key, BadKey> {
        let c: String = typed
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect::<String>()
            .to_ascii_uppercase();
        if c.len() == LEN && c.bytes().all(|b| crate::voucher::ALPHABET.contains(&b)) {
            return Ok(Key::Code(ReconnectCode(c)));
        }
        if c.len() == RECEIPT_LEN && c.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(Key::Receipt(c));
        }
        Err(BadKey(typed.chars().take(40).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_receipts_are_told_apart() {
        for _ in 0..50 {
            let c = ReconnectCode::random();
            assert_eq!(Key::parse(&c.to_string()), Ok(Key::Code(c.clone())));
            assert_eq!(
                Key::parse(&c.as_str().to_lowercase()),
                Ok(Key::Code(c.clone()))
            );
        }
        assert_eq!(
            Key::parse("k7q 3mp").unwrap(),
            Key::Code(ReconnectCode("K7Q3MP".into()))
        );
        assert_eq!(
            Key::parse(" nlj7rt61sv ").unwrap(),
            Key::Receipt("NLJ7RT61SV".into())
        );
        assert_eq!(ReconnectCode("K7Q3MP".into()).to_string(), "K7Q-3MP");
        for bad in ["", "K7Q-3M", "K7Q-3M0", "NLJ7RT61S;", "ABCDE-FGH23X"] {
            assert!(Key::parse(bad).is_err(), "{bad}");
        }
    }
}
