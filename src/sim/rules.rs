//! The simulator's request validation, as strict as the live Daraja: STK Push and STK Push Query
//! bodies in, a checked request or Daraja's error (status, errorCode, errorMessage) out.
//! Touches: nothing (pure functions; `now` is passed in).

use super::SimOptions;
use crate::clock::{parse_eat_timestamp, Unix};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::Value;

/// Daraja takes whole shillings up to this much per STK push.
const MAX_AMOUNT: u64 = 250_000;
/// A Timestamp further than this from Daraja's clock is refused.
const TIMESTAMP_SKEW: i64 = 3600;
const MAX_ACCOUNT_REFERENCE: usize = 12;
const MAX_TRANSACTION_DESC: usize = 13;
pub const PAYBILL: &str = "CustomerPayBillOnline";
pub const BUY_GOODS: &str = "CustomerBuyGoodsOnline";

/// An answer other than success, in Daraja's error envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    /// `400 400.002.02 "Bad Request - Invalid <field>"`.
    pub fn invalid(field: &str) -> Refusal {
        Refusal {
            status: 400,
            code: "400.002.02",
            message: format!("Bad Request - Invalid {field}"),
        }
    }

    fn merchant(message: &str) -> Refusal {
        Refusal {
            status: 500,
            code: "500.001.1001",
            message: message.into(),
        }
    }
}

/// An STK push that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPush {
    pub transaction_type: &'static str,
    pub amount: u32,
    pub phone: String,
    pub party_b: String,
    pub callback_url: String,
    pub account_reference: String,
    pub transaction_desc: String,
}

impl CheckedPush {
    /// A paybill push whose PartyB is not the paybill is accepted, then fails with ResultCode 2028.
    pub fn party_b_mismatch(&self, shortcode: &str) -> bool {
        self.transaction_type == PAYBILL && self.party_b != shortcode
    }
}

/// Checks an STK push body (`POST /mpesa/stkpush/v1/processrequest`).
pub fn check_push(body: &Value, opts: &SimOptions, now: Unix) -> Result<CheckedPush, Refusal> {
    check_merchant(body, opts, now)?;
    let transaction_type = match text(body, "TransactionType").as_deref() {
        Some(PAYBILL) => PAYBILL,
        Some(BUY_GOODS) => BUY_GOODS,
        _ => return Err(Refusal::invalid("TransactionType")),
    };
    let amount = amount(body.get("Amount")).ok_or_else(|| Refusal::invalid("Amount"))?;
    let phone = text(body, "PartyA")
        .filter(|p| is_msisdn(p))
        .ok_or_else(|| Refusal::invalid("PartyA"))?;
    let party_b = text(body, "PartyB")
        .filter(|b| is_shortcode(b))
        .ok_or_else(|| Refusal::invalid("PartyB"))?;
    if text(body, "PhoneNumber").as_deref() != Some(phone.as_str()) {
        return Err(Refusal::invalid("PhoneNumber"));
    }
    let callback_url = text(body, "CallBackURL")
        .filter(|u| crate::https::is_public_https(u))
        .ok_or_else(|| Refusal::invalid("CallBackURL"))?;
    let account_reference = text(body, "AccountReference")
        .filter(|r| {
            !r.is_empty()
                && r.chars().count() <= MAX_ACCOUNT_REFERENCE
                && !r.contains(['@', '#', '&'])
        })
        .ok_or_else(|| Refusal::invalid("AccountReference"))?;
    let transaction_desc = text(body, "TransactionDesc")
        .filter(|d| !d.trim().is_empty() && d.chars().count() <= MAX_TRANSACTION_DESC)
        .ok_or_else(|| Refusal::invalid("Remarks"))?;
    Ok(CheckedPush {
        transaction_type,
        amount,
        phone,
        party_b,
        callback_url,
        account_reference,
        transaction_desc,
    })
}

/// Checks an STK Push Query body (`POST /mpesa/stkpushquery/v1/query`); returns the CheckoutRequestID.
/// Whether that push exists is the caller's question.
pub fn check_query(body: &Value, opts: &SimOptions, now: Unix) -> Result<String, Refusal> {
    check_merchant(body, opts, now)?;
    text(body, "CheckoutRequestID")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Refusal::invalid("CheckoutRequestID"))
}

/// BusinessShortCode, Timestamp and Password: who is asking, and do they know the passkey.
fn check_merchant(body: &Value, opts: &SimOptions, now: Unix) -> Result<(), Refusal> {
    if !body.is_object() {
        return Err(Refusal::invalid("BusinessShortCode"));
    }
    let shortcode = text(body, "BusinessShortCode").filter(|s| is_shortcode(s));
    let shortcode = shortcode.ok_or_else(|| Refusal::invalid("BusinessShortCode"))?;
    if shortcode != opts.shortcode {
        return Err(Refusal::merchant("Merchant does not exist"));
    }
    let timestamp = text(body, "Timestamp").unwrap_or_default();
    match parse_eat_timestamp(&timestamp) {
        Some(t) if (t - now).abs() <= TIMESTAMP_SKEW => {}
        _ => return Err(Refusal::invalid("Timestamp")),
    }
    let expected = BASE64.encode(format!("{shortcode}{}{timestamp}", opts.passkey));
    if text(body, "Password").as_deref() != Some(expected.as_str()) {
        return Err(Refusal::merchant("Wrong credentials"));
    }
    Ok(())
}

/// A field Daraja takes as a string or, in its own samples, as a number.
fn text(body: &Value, key: &str) -> Option<String> {
    match body.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// Whole shillings 1..=250000, as `"50"` or `50`; no decimals.
fn amount(v: Option<&Value>) -> Option<u32> {
    let n = match v? {
        Value::String(s) if (1..=7).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()?
        }
        Value::Number(n) => n.as_u64()?,
        _ => return None,
    };
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=MAX_AMOUNT).contains(&u64::from(*n)))
}

/// `^254[17][0-9]{8}$`.
fn is_msisdn(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && s.starts_with("254")
        && matches!(b[3], b'1' | b'7')
        && b.iter().all(u8::is_ascii_digit)
}

fn is_shortcode(s: &str) -> bool {
    (5..=7).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::eat_timestamp;
    use serde_json::json;

    /// 2026-11-22 14:30:05 EAT.
    const NOW: Unix = 1_795_347_005;
    const TS: &str = "20261122143005";

    fn opts() -> SimOptions {
        SimOptions::default()
    }

    fn password(ts: &str) -> String {
        BASE64.encode(format!("174379{}{ts}", super::super::SANDBOX_PASSKEY))
    }

    /// The body docs/daraja.md tells clients to send.
    fn good_push() -> Value {
        json!({"BusinessShortCode":"174379","Password":password(TS),"Timestamp":TS,
            "TransactionType":"CustomerPayBillOnline","Amount":"50","PartyA":"254708374149","PartyB":"174379",
            "PhoneNumber":"254708374149","CallBackURL":"https://example.com/lango/cb/SECRET",
            "AccountReference":"Lango","TransactionDesc":"Standard 3h"})
    }

    fn with(mut body: Value, key: &str, value: Value) -> Value {
        if value.is_null() {
            body.as_object_mut().unwrap().remove(key);
        } else {
            body[key] = value;
        }
        body
    }

    fn refused(body: &Value) -> (u16, &'static str, String) {
        let r = check_push(body, &opts(), NOW).expect_err("accepted");
        (r.status, r.code, r.message)
    }

    fn invalid(field: &str) -> (u16, &'static str, String) {
        (400, "400.002.02", format!("Bad Request - Invalid {field}"))
    }

    #[test]
    fn accepts_the_documented_push() {
        let p = check_push(&good_push(), &opts(), NOW).unwrap();
        assert_eq!(p.transaction_type, PAYBILL);
        assert_eq!(
            (p.amount, p.phone.as_str(), p.party_b.as_str()),
            (50, "254708374149", "174379")
        );
        assert!(!p.party_b_mismatch("174379"));
    }

    #[test]
    fn accepts_the_official_samples_numbers() {
        let body: Value = serde_json::from_str(&format!(
            r#"{{"BusinessShortCode":174379,"Password":"{}","Timestamp":"{TS}",
            "TransactionType":"CustomerBuyGoodsOnline","Amount":1,"PartyA":254708374149,"PartyB":600123,
            "PhoneNumber":254708374149,"CallBackURL":"https://mydomain.com/path",
            "AccountReference":"CompanyXLTD","TransactionDesc":"Payment of X"}}"#,
            password(TS)
        ))
        .unwrap();
        let p = check_push(&body, &opts(), NOW).unwrap();
        assert_eq!(
            (p.transaction_type, p.amount, p.party_b.as_str()),
            (BUY_GOODS, 1, "600123")
        );
    }

    #[test]
    fn refuses_bad_merchant_fields() {
        assert_eq!(refused(&json!([1, 2])), invalid("BusinessShortCode"));
        assert_eq!(
            refused(&with(good_push(), "BusinessShortCode", json!("17437x"))),
            invalid("BusinessShortCode")
        );
        assert_eq!(
            refused(&with(good_push(), "BusinessShortCode", Value::Null)),
            invalid("BusinessShortCode")
        );
        assert_eq!(
            refused(&with(good_push(), "BusinessShortCode", json!("600000"))),
            (500, "500.001.1001", "Merchant does not exist".into())
        );
        assert_eq!(
            refused(&with(good_push(), "Password", json!("d3Jvbmc="))),
            (500, "500.001.1001", "Wrong credentials".into())
        );
    }

    #[test]
    fn refuses_bad_timestamps() {
        for ts in [
            "2026112214300",
            "20261122143005 ",
            "20261322143005",
            "20260230143005",
            "2026-11-22T14:30",
        ] {
            let body = with(
                with(good_push(), "Timestamp", json!(ts)),
                "Password",
                json!(password(ts)),
            );
            assert_eq!(refused(&body), invalid("Timestamp"), "{ts}");
        }
        // In UTC instead of EAT, three hours off.
        let utc = eat_timestamp(NOW - 3 * 3600);
        let body = with(
            with(good_push(), "Timestamp", json!(utc)),
            "Password",
            json!(password(&utc)),
        );
        assert_eq!(refused(&body), invalid("Timestamp"));
        let close = eat_timestamp(NOW - 3599);
        let body = with(
            with(good_push(), "Timestamp", json!(close)),
            "Password",
            json!(password(&close)),
        );
        assert!(check_push(&body, &opts(), NOW).is_ok());
    }

    #[test]
    fn refuses_bad_amounts() {
        for a in [
            json!("0"),
            json!(0),
            json!("1.00"),
            json!(50.5),
            json!(1.0),
            json!("250001"),
            json!(-5),
            json!(""),
            json!("5e2"),
        ] {
            assert_eq!(
                refused(&with(good_push(), "Amount", a.clone())),
                invalid("Amount"),
                "{a}"
            );
        }
        for a in [json!("1"), json!(250_000), json!("250000")] {
            assert!(
                check_push(&with(good_push(), "Amount", a.clone()), &opts(), NOW).is_ok(),
                "{a}"
            );
        }
    }

    #[test]
    fn refuses_bad_phone_numbers() {
        for phone in [
            "0708374149",
            "+254708374149",
            "25470837414",
            "254808374149",
            "2547083741490",
            "254 708374149",
        ] {
            let body = with(
                with(good_push(), "PartyA", json!(phone)),
                "PhoneNumber",
                json!(phone),
            );
            assert_eq!(refused(&body), invalid("PartyA"), "{phone}");
        }
        assert_eq!(
            refused(&with(good_push(), "PhoneNumber", json!("0708374149"))),
            invalid("PhoneNumber")
        );
        assert_eq!(
            refused(&with(good_push(), "PhoneNumber", json!("254708374148"))),
            invalid("PhoneNumber")
        );
        let ok = with(
            with(good_push(), "PartyA", json!("254110000001")),
            "PhoneNumber",
            json!("254110000001"),
        );
        assert!(check_push(&ok, &opts(), NOW).is_ok());
    }

    #[test]
    fn refuses_bad_types_and_party_b() {
        assert_eq!(
            refused(&with(
                good_push(),
                "TransactionType",
                json!("CustomerPayBill")
            )),
            invalid("TransactionType")
        );
        assert_eq!(
            refused(&with(good_push(), "PartyB", json!("12ab5"))),
            invalid("PartyB")
        );
        assert_eq!(
            refused(&with(good_push(), "PartyB", json!("1234"))),
            invalid("PartyB")
        );
        let other =
            check_push(&with(good_push(), "PartyB", json!("600000")), &opts(), NOW).unwrap();
        assert!(
            other.party_b_mismatch("174379"),
            "a paybill push to another PartyB fails later with 2028"
        );
    }

    #[test]
    fn refuses_unusable_callback_urls() {
        for url in [
            "http://example.com/cb",
            "https://localhost/cb",
            "https://localhost:8443/cb",
            "https://127.0.0.1/cb",
            "https://[::1]/cb",
            "https://192.168.1.1:8080/cb",
            "https://example.com/lango cb",
            "https://user:pw@example.com/cb",
            "https://router/cb",
            "https:///cb",
            "https://-bad-.com/cb",
            "https://example.com:99999/cb",
            "",
        ] {
            assert_eq!(
                refused(&with(good_push(), "CallBackURL", json!(url))),
                invalid("CallBackURL"),
                "{url}"
            );
        }
        for url in [
            "https://lango.invalid/daraja/callback",
            "https://my-shop.co.ke:8443/cb?x=1",
            "https://a.b.example.org",
        ] {
            assert!(
                check_push(&with(good_push(), "CallBackURL", json!(url)), &opts(), NOW).is_ok(),
                "{url}"
            );
        }
    }

    #[test]
    fn refuses_bad_texts() {
        for r in ["", "ThirteenChars", "Lango#1", "a@b", "A&B"] {
            assert_eq!(
                refused(&with(good_push(), "AccountReference", json!(r))),
                invalid("AccountReference"),
                "{r}"
            );
        }
        assert_eq!(
            refused(&with(good_push(), "TransactionDesc", Value::Null)),
            invalid("Remarks")
        );
        assert_eq!(
            refused(&with(good_push(), "TransactionDesc", json!(" "))),
            invalid("Remarks")
        );
        assert_eq!(
            refused(&with(
                good_push(),
                "TransactionDesc",
                json!("Standard 3 hrs")
            )),
            invalid("Remarks")
        );
        assert!(check_push(
            &with(good_push(), "TransactionDesc", json!("Standard 3 hr")),
            &opts(),
            NOW
        )
        .is_ok());
    }

    #[test]
    fn queries_are_checked_like_pushes() {
        let q = json!({"BusinessShortCode":"174379","Password":password(TS),"Timestamp":TS,"CheckoutRequestID":"ws_CO_1"});
        assert_eq!(check_query(&q, &opts(), NOW).unwrap(), "ws_CO_1");
        let r = check_query(
            &with(q.clone(), "CheckoutRequestID", Value::Null),
            &opts(),
            NOW,
        )
        .unwrap_err();
        assert_eq!(r, Refusal::invalid("CheckoutRequestID"));
        let r = check_query(&with(q, "Password", json!("x")), &opts(), NOW).unwrap_err();
        assert_eq!((r.status, r.code), (500, "500.001.1001"));
    }
}
