//! The owner's password: the rules for a new one, and its stored form, an scrypt hash written
//! as `$scrypt$ln=13,r=8,p=1$SALT$HASH` (base64, the passlib/PHC layout, so the cost can rise
//! later without breaking stored hashes). Touches: /dev/urandom (salt). Never: the database.

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;

/// log2 of scrypt's N. 2^13 with r = 8 takes 8 MiB and about half a second on a 580 MHz MIPS
/// router: a 64 MiB router can spare that for a login, and throttling caps the rate anyway.
/// Debug builds (the tests) use 2^10 so a test suite full of logins stays quick; the stored
/// form carries its cost, so either build verifies the other's hashes.
const LOG_N: u8 = if cfg!(debug_assertions) { 10 } else { 13 };
const R: u32 = 8;
const P: u32 = 1;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
/// A stored hash asking for more than this is not ours (and would eat the router's memory).
const MAX_LOG_N: u8 = 16;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

/// Why a new password is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Weak {
    #[error("the password must be at least {MIN_LEN} characters")]
    Short,
    #[error("the password must be at most {MAX_LEN} bytes")]
    Long,
}

/// Whether `password` may become the owner's password.
pub fn check_new(password: &str) -> Result<(), Weak> {
    if password.chars().count() < MIN_LEN {
        return Err(Weak::Short);
    }
    if password.len() > MAX_LEN {
        return Err(Weak::Long);
    }
    Ok(())
}

/// The stored form of `password`, with a fresh salt. Slow on purpose: call off the event loop.
pub fn hash(password: &str) -> String {
    let salt = crate::random::bytes::<SALT_LEN>();
    let mut out = [0u8; HASH_LEN];
    crate::scrypt::derive(password.as_bytes(), &salt, 1 << LOG_N, R, P, &mut out)
        .expect("built-in parameters are valid");
    format!(
        "$scrypt$ln={LOG_N},r={R},p={P}${}${}",
        B64.encode(salt),
        B64.encode(out)
    )
}

/// Whether `password` matches `stored`; false for a stored form that is not ours.
/// Slow on purpose: call off the event loop.
pub fn verify(password: &str, stored: &str) -> bool {
    let Some(h) = Parsed::from(stored) else {
        return false;
    };
    let mut out = vec![0u8; h.hash.len()];
    if crate::scrypt::derive(
        password.as_bytes(),
        &h.salt,
        1 << h.log_n,
        h.r,
        h.p,
        &mut out,
    )
    .is_err()
    {
        return false;
    }
    // Constant time: how much of the hash matched must not show in the timing.
    out.iter()
        .zip(&h.hash)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// Whether `stored` is a hash this Lango can verify (the CLI sends hashes, never passwords).
pub fn is_hash(stored: &str) -> bool {
    Parsed::from(stored).is_some()
}

struct Parsed {
    log_n: u8,
    r: u32,
    p: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Parsed {
    fn from(s: &str) -> Option<Parsed> {
        let mut parts = s.strip_prefix("$scrypt$")?.split('$');
        let (params, salt, hash) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let (mut log_n, mut r, mut p) = (None, None, None);
        for kv in params.split(',') {
            match kv.split_once('=')? {
                ("ln", v) => log_n = v.parse::<u8>().ok(),
                ("r", v) => r = v.parse::<u32>().ok(),
                ("p", v) => p = v.parse::<u32>().ok(),
                _ => return None,
            }
        }
        let (log_n, r, p) = (log_n?, r?, p?);
        if !(1..=MAX_LOG_N).contains(&log_n) || !(1..=32).contains(&r) || !(1..=16).contains(&p) {
            return None;
        }
        let salt = B64.decode(salt).ok()?;
        let hash = B64.decode(hash).ok()?;
        if salt.len() < 8 || !(16..=64).contains(&hash.len()) {
            return None;
        }
        Some(Parsed {
            log_n,
            r,
            p,
            salt,
            hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("mama mboga 2025");
        assert!(
            h.starts_with(&format!("$scrypt$ln={LOG_N},r=8,p=1$")),
            "{h}"
        );
        assert!(is_hash(&h));
        assert!(verify("mama mboga 2025", &h));
        assert!(!verify("mama mboga 2024", &h));
        assert_ne!(h, hash("mama mboga 2025"), "salted");
    }

    #[test]
    fn verifies_a_passlib_style_hash_of_another_cost() {
        // scrypt("password", "saltsalt") computed independently (Python hashlib.scrypt,
        // n=2^4, r=1, p=1, 32 bytes): the format and the KDF agree with other tools.
        let stored = "$scrypt$ln=4,r=1,p=1$c2FsdHNhbHQ$0a3GPom3Z1unCocbxYK40UHyGj5hLe7J6BfIEEPjKTk";
        assert!(is_hash(stored));
        assert!(verify("password", stored));
        assert!(!verify("Password", stored));
    }

    #[test]
    fn refuses_malformed_and_greedy_hashes() {
        for s in [
            "",
            "password",
            "$scrypt$ln=13,r=8,p=1$c2FsdHNhbHQ",
            "$scrypt$ln=13,r=8$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$AAAA",
        ] {
            assert!(!is_hash(s), "{s}");
            assert!(!verify("x", s), "{s}");
        }
    }

    #[test]
    fn new_passwords_have_a_minimum_length() {
        assert_eq!(check_new("short"), Err(Weak::Short));
        assert_eq!(check_new(&"x".repeat(300)), Err(Weak::Long));
        assert_eq!(check_new("long enough"), Ok(()));
    }
}
