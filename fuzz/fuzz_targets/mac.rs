//! MAC addresses (config `trusted`, the CLI, control requests, neighbour tables) -> `Mac`: round-trips.
#![no_main]

use lango::mac::Mac;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match s.parse::<Mac>() {
        Ok(mac) => {
            let printed = mac.to_string();
            assert_eq!(printed.len(), 17);
            assert_eq!(printed.parse::<Mac>(), Ok(mac));
            assert_eq!(printed, s.trim().to_ascii_lowercase().replace('-', ":"));
            let json = serde_json::to_string(&mac).unwrap();
            assert_eq!(serde_json::from_str::<Mac>(&json).unwrap(), mac);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
