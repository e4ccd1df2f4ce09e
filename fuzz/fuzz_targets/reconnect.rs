//! Typed "Already paid?" text -> `reconnect::Key`: a code prints as `XXX-XXX` and parses back to
//! itself; a receipt is 10 capital letters and digits; nothing else is accepted.
#![no_main]

use lango::reconnect::{Key, LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match Key::parse(s) {
        Ok(Key::Code(code)) => {
            let printed = code.to_string();
            assert_eq!(printed.len(), LEN + 1);
            assert_eq!(Key::parse(&printed), Ok(Key::Code(code.clone())));
            assert_eq!(Key::parse(&printed.to_lowercase()), Ok(Key::Code(code)));
        }
        Ok(Key::Receipt(r)) => {
            assert_eq!(r.len(), 10);
            assert!(r.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        }
        Err(_) => {}
    }
});
