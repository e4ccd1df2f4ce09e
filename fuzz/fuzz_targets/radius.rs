//! RADIUS packet bytes -> `Packet` and the answer checks: never panics; what decodes re-encodes
//! within the 4096-byte limit, and nothing verifies under a secret it was not made with.
#![no_main]

use lango::radius::packet::{verify_request, verify_response, Attrs, Packet, MAX_LEN};
use lango::radius::rate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::decode(data) {
        assert!(p.attrs.iter().all(|(_, v)| v.len() <= 253));
        let _ = rate::from_reply(&p);
        let b = lango::radius::packet::encode_response(
            p.code,
            p.id,
            &p.authenticator,
            &Attrs(p.attrs.clone()),
            b"fuzz",
        );
        assert!(b.len() <= MAX_LEN);
    }
    let _ = verify_request(data, b"fuzz");
    let _ = verify_response(data, data.get(1).copied().unwrap_or(0), &[0; 16], b"fuzz", true);
});
