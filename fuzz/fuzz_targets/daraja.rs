//! Daraja's answers (OAuth, STK Push, STK Push Query, error envelopes) as the client reads them.
//! The first byte picks the HTTP status; the rest is the body.
#![no_main]

use lango::payments::daraja::{read_push, read_query, read_token, Answer, QueryAnswer};
use libfuzzer_sys::fuzz_target;
use std::time::Instant;

const STATUSES: [u16; 8] = [200, 200, 400, 401, 404, 500, 503, 302];

fuzz_target!(|data: &[u8]| {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let status = STATUSES[usize::from(first % 8)];
    let answer = Answer::parse(status, body);

    match read_token("OAuth", &answer) {
        Ok((token, ttl)) => {
            assert_eq!(status, 200);
            assert!(!token.is_empty());
            // The client keeps the token until `Instant::now() + ttl`.
            assert!(Instant::now().checked_add(ttl).is_some(), "ttl {ttl:?}");
        }
        Err(e) => assert!(e.to_string().starts_with("OAuth: "), "{e}"),
    }
    match read_push("STK push", &answer) {
        Ok(p) => {
            assert_eq!(status, 200);
            assert!(!p.checkout_request_id.is_empty());
        }
        Err(e) => assert!(e.to_string().starts_with("STK push: "), "{e}"),
    }
    match read_query("STK query", &answer) {
        Ok(QueryAnswer::Done { result_code, .. }) => {
            assert_eq!(status, 200);
            assert_ne!(result_code, 4999);
        }
        Ok(QueryAnswer::Pending) => {}
        Err(e) => assert!(e.to_string().starts_with("STK query: "), "{e}"),
    }
});
