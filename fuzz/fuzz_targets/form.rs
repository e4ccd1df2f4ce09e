//! Portal form bodies (`POST /pay`, `POST /voucher`) and query strings, read as the handlers do.
#![no_main]

use lango::phone::Msisdn;
use lango::portal::{pay_form, voucher_form};
use lango::server::{form_pairs, form_value};
use lango::voucher::VoucherCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pay = pay_form(data);
    let _ = pay.phone.parse::<Msisdn>();
    let _ = VoucherCode::parse(&voucher_form(data));

    // Query strings reach `form_pairs` as `&str`.
    let text = String::from_utf8_lossy(data);
    let pairs = form_pairs(&text);
    assert!(pairs.len() <= text.matches('&').count() + 1);
    for key in ["lang", "voucher", "code", "phone", "package_id"] {
        let _ = form_value(&pairs, key);
    }
    // Without escapes, decoding changes nothing.
    if !text.contains(['%', '+']) {
        for (k, v) in &pairs {
            assert!(text.contains(k.as_str()) && text.contains(v.as_str()));
        }
    }
});
