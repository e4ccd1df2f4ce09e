//! What the simulated customer does with the PIN prompt, chosen by the phone number, and the
//! answers that carry it: STK Push Query results and the callback body.
//! Touches: nothing (pure functions).

use super::SimPush;
use serde_json::{json, Value};

/// Safaricom's sandbox test number: approves here.
pub const SANDBOX_MSISDN: &str = "254708374149";
/// ResultCode of STK Push Query while the customer has not answered.
pub const STILL_PROCESSING: i64 = 4999;
/// Numbers ending in this approve late: after `late_delay`, past Lango's default poll timeout.
pub const LATE_APPROVER: i64 = 240;

/// ResultCodes a number's last four digits select; every other number approves.
const SELECTABLE: [i64; 15] = [
    1, 2, 3, 4, 8, 17, 1001, 1019, 1025, 1032, 1037, 2001, 2028, 4999, 9999,
];

/// How a push ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The customer answers after the delay with this ResultCode (0 approves).
    Final(i64),
    /// Never answers: STK Push Query says "still processing" forever and no callback comes.
    StillProcessing,
    /// Approves (ResultCode 0), but only after `late_delay`.
    Late,
}

impl Outcome {
    /// The outcome table in `sim/mod.rs`.
    pub fn for_phone(phone: &str) -> Outcome {
        if phone == SANDBOX_MSISDN {
            return Outcome::Final(0);
        }
        let last4 = phone
            .get(phone.len().saturating_sub(4)..)
            .and_then(|s| s.parse::<i64>().ok());
        match last4 {
            Some(STILL_PROCESSING) => Outcome::StillProcessing,
            Some(LATE_APPROVER) => Outcome::Late,
            Some(code) if SELECTABLE.contains(&code) => Outcome::Final(code),
            _ => Outcome::Final(0),
        }
    }
}

/// Daraja's `ResultDesc` for a ResultCode.
pub fn describe(code: i64) -> &'static str {
    match code {
        0 => "The service request is processed successfully.",
        1 => "The balance is insufficient for the transaction.",
        2 => "Declined due to limit rule: less than the minimum transaction amount.",
        3 => "Declined due to limit rule: greater than the maximum transaction amount.",
        4 => "Declined due to limit rule: would exceed daily transfer limit.",
        8 => "Declined due to limit rule: would exceed the maximum balance.",
        17 => "Rule limited.",
        1001 => "Unable to lock subscriber, a transaction is already in process for the current subscriber",
        1019 => "Transaction has expired",
        1025 => "An error occurred while sending a push request",
        1032 => "Request cancelled by user",
        1037 => "DS timeout user cannot be reached",
        2001 => "The initiator information is invalid.",
        2028 => "The request is not permitted according to product assignment",
        STILL_PROCESSING => "The transaction is still under processing",
        9999 => "An error occurred while sending a push request.",
        _ => "The transaction failed.",
    }
}

/// STK Push Query's final answer: codes as strings, as Daraja sends them.
pub fn query_final(push: &SimPush, code: i64) -> Value {
    json!({
        "ResponseCode": "0",
        "ResponseDescription": "The service request has been accepted successfully",
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResultCode": code.to_string(),
        "ResultDesc": describe(code),
    })
}

/// STK Push Query's "ask again" answers, alternating so clients must handle both:
/// odd queries get HTTP 500 with an error envelope, even ones HTTP 200 with ResultCode "4999".
pub fn query_pending(push: &SimPush) -> (u16, Value) {
    if push.queries % 2 == 1 {
        let body = json!({
            "requestId": push.checkout_request_id,
            "errorCode": "500.001.1001",
            "errorMessage": "The transaction is being processed",
        });
        (500, body)
    } else {
        (
            200,
            json!({"ResultCode": STILL_PROCESSING.to_string(), "ResultDesc": describe(STILL_PROCESSING)}),
        )
    }
}

/// The callback Daraja POSTs: numbers as JSON numbers, `CallbackMetadata` only on success.
/// `transaction_date` is `YYYYMMDDHHmmss` in EAT.
pub fn callback(push: &SimPush, code: i64, receipt: &str, transaction_date: &str) -> Value {
    let mut result = json!({
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResultCode": code,
        "ResultDesc": describe(code),
    });
    if code == 0 {
        let number = |s: &str| s.parse::<u64>().map(Value::from).unwrap_or(Value::Null);
        result["CallbackMetadata"] = json!({"Item": [
            // Daraja writes the amount as 1.00: a float, not an integer.
            {"Name": "Amount", "Value": f64::from(push.amount)},
            {"Name": "MpesaReceiptNumber", "Value": receipt},
            {"Name": "Balance"},
            {"Name": "TransactionDate", "Value": number(transaction_date)},
            {"Name": "PhoneNumber", "Value": number(&push.phone)},
        ]});
    }
    json!({"Body": {"stkCallback": result}})
}

/// `SIM` and seven upper-case letters or digits from `random`, like `NLJ7RT61SV`.
pub fn receipt(mut random: u64) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut r = String::from("SIM");
    for _ in 0..7 {
        r.push(ALPHABET[(random % 36) as usize] as char);
        random /= 36;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(phone: &str) -> SimPush {
        SimPush {
            checkout_request_id: "ws_CO_20261122143005000001".into(),
            merchant_request_id: "12345-00000001-1".into(),
            phone: phone.into(),
            amount: 50,
            transaction_type: "CustomerPayBillOnline".into(),
            party_b: "174379".into(),
            account_reference: "Lango".into(),
            transaction_desc: "Standard 3h".into(),
            callback_url: "https://lango.invalid/cb".into(),
            queries: 0,
        }
    }

    #[test]
    fn the_phone_number_picks_the_outcome() {
        assert_eq!(Outcome::for_phone(SANDBOX_MSISDN), Outcome::Final(0));
        assert_eq!(Outcome::for_phone("254712341032"), Outcome::Final(1032));
        assert_eq!(Outcome::for_phone("254712340001"), Outcome::Final(1));
        assert_eq!(Outcome::for_phone("254112342001"), Outcome::Final(2001));
        assert_eq!(Outcome::for_phone("254712344999"), Outcome::StillProcessing);
        assert_eq!(Outcome::for_phone("254712340240"), Outcome::Late);
        assert_eq!(Outcome::for_phone("254712345678"), Outcome::Final(0));
        assert_eq!(Outcome::for_phone("254712340000"), Outcome::Final(0));
        assert_eq!(Outcome::for_phone("254712340005"), Outcome::Final(0));
    }

    #[test]
    fn callbacks_carry_metadata_only_on_success() {
        let ok = callback(&push("254712345678"), 0, "SIMABC1234", "20261122143005");
        let cb = &ok["Body"]["stkCallback"];
        assert_eq!(cb["ResultCode"], 0);
        let items = cb["CallbackMetadata"]["Item"].as_array().unwrap();
        assert_eq!(items[0], json!({"Name": "Amount", "Value": 50.0}));
        assert_eq!(items[1]["Value"], "SIMABC1234");
        assert_eq!(items[3]["Value"], 20261122143005u64);
        assert_eq!(items[4]["Value"], 254712345678u64);

        let failed = callback(&push("254712341032"), 1032, "", "20261122143005");
        assert_eq!(
            failed["Body"]["stkCallback"]["ResultDesc"],
            "Request cancelled by user"
        );
        assert!(failed["Body"]["stkCallback"]
            .get("CallbackMetadata")
            .is_none());
    }

    #[test]
    fn pending_answers_alternate() {
        let mut p = push(SANDBOX_MSISDN);
        p.queries = 1;
        assert_eq!(query_pending(&p).0, 500);
        p.queries = 2;
        let (status, body) = query_pending(&p);
        assert_eq!((status, body["ResultCode"].as_str()), (200, Some("4999")));
    }

    #[test]
    fn receipts_look_like_mpesa_ones() {
        let r = receipt(u64::MAX);
        assert_eq!(r.len(), 10);
        assert!(r.starts_with("SIM"));
        assert!(
            r.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
            "{r}"
        );
    }
}
