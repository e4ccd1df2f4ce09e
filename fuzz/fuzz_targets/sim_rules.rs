//! The simulator's STK Push and Query validation on arbitrary JSON: never panics, and what it accepts
//! is what Daraja documents. Each body is checked as sent, then with a valid merchant
//! (BusinessShortCode, and a Password matching its Timestamp) so the later rules are reached too.
#![no_main]

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use lango::clock::{eat_timestamp, parse_eat_timestamp, Unix};
use lango::phone::Msisdn;
use lango::sim::{check_push, check_query, SimOptions};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

/// 2026-11-22 14:30:05 EAT.
const NOW: Unix = 1_795_347_005;

fn check(body: &Value, opts: &SimOptions) {
    if let Ok(p) = check_push(body, opts, NOW) {
        let phone: Msisdn = p
            .phone
            .parse()
            .expect("accepted PartyA is an M-Pesa number");
        assert_eq!(phone.as_str(), p.phone);
        assert!((1..=250_000).contains(&p.amount));
        assert!(p.callback_url.starts_with("https://"));
        assert!((1..=12).contains(&p.account_reference.chars().count()));
        assert!(!p.transaction_desc.trim().is_empty());
        assert!(p.transaction_desc.chars().count() <= 13);
    }
    if let Ok(id) = check_query(body, opts, NOW) {
        assert!(!id.is_empty());
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = SimOptions::default();
    // What the simulator does with a body that is not JSON.
    let mut body = serde_json::from_slice::<Value>(data).unwrap_or(Value::Null);
    check(&body, &opts);

    let Some(fields) = body.as_object_mut() else {
        return;
    };
    let timestamp = match fields.get("Timestamp") {
        Some(Value::String(t)) => {
            if let Some(unix) = parse_eat_timestamp(t) {
                assert_eq!(&eat_timestamp(unix), t);
            }
            t.clone()
        }
        _ => eat_timestamp(NOW),
    };
    let password = BASE64.encode(format!("{}{}{timestamp}", opts.shortcode, opts.passkey));
    fields.insert("BusinessShortCode".into(), json!(opts.shortcode));
    fields.insert("Timestamp".into(), json!(timestamp));
    fields.insert("Password".into(), json!(password));
    check(&body, &opts);
});
