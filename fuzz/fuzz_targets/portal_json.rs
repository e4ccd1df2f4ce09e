//! Portal JSON bodies (`POST /api/pay`, `POST /api/voucher`), read as the handlers do.
#![no_main]

use lango::phone::Msisdn;
use lango::portal::{pay_request, voucher_request};
use lango::voucher::VoucherCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let is_object = matches!(
        serde_json::from_slice::<serde_json::Value>(data),
        Ok(serde_json::Value::Object(_))
    );
    match pay_request(data) {
        Ok(p) => {
            assert!(is_object);
            let _ = p.phone.parse::<Msisdn>();
        }
        Err(e) => {
            assert!(!is_object);
            let _ = e.to_string();
        }
    }
    match voucher_request(data) {
        Ok(code) => {
            assert!(is_object);
            let _ = VoucherCode::parse(&code);
        }
        Err(_) => assert!(!is_object),
    }
});
