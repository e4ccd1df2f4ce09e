//! Typed phone numbers -> `Msisdn`: what is accepted is what Daraja takes, and masks without panicking.
#![no_main]

use lango::phone::Msisdn;
use libfuzzer_sys::fuzz_target;

/// `^254[17][0-9]{8}$`
fn is_daraja_msisdn(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && s.starts_with("254")
        && matches!(b[3], b'1' | b'7')
        && b.iter().all(u8::is_ascii_digit)
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match s.parse::<Msisdn>() {
        Ok(m) => {
            assert!(is_daraja_msisdn(m.as_str()), "{s:?} -> {:?}", m.as_str());
            assert_eq!(m.to_string(), m.as_str());
            let masked = m.masked();
            assert_eq!(masked.len(), 11);
            assert_eq!(format!("{m:?}"), masked);
            assert_eq!(m.as_str().parse::<Msisdn>().as_ref(), Ok(&m));
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
