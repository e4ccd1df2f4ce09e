//! Typed voucher codes -> `VoucherCode`: what is accepted prints as `XXXXX-XXXXX` and parses back.
#![no_main]

use lango::voucher::{VoucherCode, LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(code) = VoucherCode::parse(s) {
        let printed = code.to_string();
        assert_eq!(printed.len(), LEN + 1);
        assert_eq!(VoucherCode::parse(&printed).as_ref(), Ok(&code));
        assert_eq!(VoucherCode::parse(code.as_str()).as_ref(), Ok(&code));
        assert_eq!(
            VoucherCode::parse(&printed.to_lowercase()).as_ref(),
            Ok(&code)
        );
    }
});
