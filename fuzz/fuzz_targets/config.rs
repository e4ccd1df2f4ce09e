//! `/etc/config/lango` text -> `Config`: never panics; what it accepts is within the documented
//! bounds, and `to_uci` writes it back to text that reads as the same config.
#![no_main]

use lango::config::Config;
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, "fuzz") {
        Ok(c) => {
            assert!(!c.interfaces.is_empty());
            assert!(c.portal_port > 0);
            assert!((1..=40).contains(&c.site_name.chars().count()));
            assert!(c.database.is_absolute() && c.control_socket.is_absolute());
            let d = &c.daraja;
            let url = d.base_url.as_str();
            let host = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            assert!(host.is_some_and(|h| !h.is_empty()), "{url:?}");
            // Daraja refuses a push whose CallBackURL is not public https.
            let cb = d.callback_url.as_str();
            assert!(cb.is_empty() || lango::https::is_public_https(cb), "{cb:?}");
            for t in [d.poll_first, d.poll_interval, d.poll_timeout] {
                assert!(t >= Duration::from_millis(10) && t <= Duration::from_secs(86_400));
            }
            let _ = format!("{c:?}");
            // Written out by the option table and read back: the same config.
            let back = Config::parse(&c.to_uci(), "fuzz").map_err(|e| e.to_string());
            assert_eq!(back.as_ref(), Ok(&c), "{text:?}");
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("fuzz"), "{msg}");
        }
    }
});
