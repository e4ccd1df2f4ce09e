//! Control-socket lines -> `ctl::Request`: never panics; what parses serialises back to the same request.
#![no_main]

use lango::ctl::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(req) = serde_json::from_str::<Request>(line) {
        let again = serde_json::to_string(&req).unwrap();
        let back: Request = serde_json::from_str(&again).unwrap();
        assert_eq!(format!("{req:?}"), format!("{back:?}"));
    }
});
