//! Resolver answers -> `dns::answers`: never panics; every record found is an address with a TTL
//! below 2^31 (RFC 2181), and a packet shorter than a header is refused.
#![no_main]

use lango::dns::answers;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let id = data.get(..2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    match answers(data, id) {
        Ok(records) => {
            assert!(data.len() >= 12);
            for r in records {
                assert!(r.ttl <= i32::MAX as u32, "{r:?}");
            }
        }
        Err(_) => {}
    }
});
