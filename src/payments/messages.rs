//! What a Daraja ResultCode means: the payment's final state, words for the customer (English
//! and Swahili) and a reason for the owner. One table, used by the portal, admin and CLI.

use crate::config::Lang;
use crate::store::payments::{Payment, PaymentState};

/// The final state a ResultCode leads to.
pub fn state_for(code: i64) -> PaymentState {
    match code {
        0 => PaymentState::Paid,
        1032 => PaymentState::Cancelled,
        1037 | 1019 => PaymentState::Timeout,
        _ => PaymentState::Failed,
    }
}

/// What the customer reads about a payment in `state` with Daraja's `code`.
pub fn for_customer(state: PaymentState, code: Option<i64>, lang: Lang) -> &'static str {
    let (en, sw) = match (state, code) {
        (PaymentState::Created | PaymentState::Pushed, _) => (
            "Check your phone: enter your M-Pesa PIN to pay.",
            "Angalia simu yako: weka PIN yako ya M-Pesa kulipa.",
        ),
        (PaymentState::Paid, _) => ("Payment received. You are online.", "Malipo yamepokelewa. Uko mtandaoni."),
        (_, Some(1)) => (
            "Not enough M-Pesa balance. Top up and try again.",
            "Salio la M-Pesa halitoshi. Ongeza salio ujaribu tena.",
        ),
        (_, Some(2 | 3 | 4 | 8)) => (
            "M-Pesa refused the amount: a transaction limit was reached.",
            "M-Pesa imekataa kiasi hiki: kikomo cha muamala kimefikiwa.",
        ),
        (_, Some(17)) => (
            "The same payment was just made. Wait 2 minutes and try again.",
            "Malipo kama haya yamefanyika sasa hivi. Subiri dakika 2 ujaribu tena.",
        ),
        (_, Some(1001)) => (
            "Another M-Pesa request is open on your phone. Finish or cancel it, then try again in a minute.",
            "Kuna ombi lingine la M-Pesa kwenye simu yako. Limalize au ulifute, kisha ujaribu tena baada ya dakika moja.",
        ),
        (_, Some(1032)) => ("You cancelled the payment. Nothing was charged.", "Umesitisha malipo. Hakuna pesa iliyotozwa."),
        (_, Some(1037)) => (
            "Your phone could not be reached or did not answer in time. Try again.",
            "Simu yako haikupatikana au haikujibu kwa wakati. Jaribu tena.",
        ),
        (_, Some(1025 | 9999)) => (
            "The PIN prompt could not be delivered to your phone. Nothing was charged. Try again.",
            "Ombi la PIN halikufika kwenye simu yako. Hakuna pesa iliyotozwa. Jaribu tena.",
        ),
        (_, Some(2001)) => ("Wrong M-Pesa PIN. Nothing was charged. Try again.", "PIN ya M-Pesa si sahihi. Hakuna pesa iliyotozwa. Jaribu tena."),
        // No answer from M-Pesa in time: it is asked again for a day (payments::recheck).
        (PaymentState::Timeout, None) => (
            "M-Pesa has not confirmed your payment yet. If you approved it, you go online as soon as M-Pesa confirms it: we keep asking for 24 hours. Open this page again later.",
            "M-Pesa bado haijathibitisha malipo yako. Kama uliyakubali, utaunganishwa mara M-Pesa itakapoyathibitisha: tunaendelea kuuliza kwa saa 24. Fungua ukurasa huu tena baadaye.",
        ),
        (PaymentState::Timeout, _) | (_, Some(1019)) => (
            "The payment request expired. Nothing was charged. Try again.",
            "Ombi la malipo limepitwa na muda. Hakuna pesa iliyotozwa. Jaribu tena.",
        ),
        (_, Some(2028)) => (
            "This hotspot's M-Pesa account is not set up correctly. Please tell the owner.",
            "Akaunti ya M-Pesa ya hotspot hii haijawekwa vizuri. Tafadhali mwambie mwenye hotspot.",
        ),
        _ => ("The payment did not go through. Nothing was charged. Try again.", "Malipo hayakufanikiwa. Hakuna pesa iliyotozwa. Jaribu tena."),
    };
    match lang {
        Lang::En => en,
        Lang::Sw => sw,
    }
}

/// What the customer reads about a payment: as `for_customer`, but a payment M-Pesa confirmed
/// after it had ended unpaid says so.
pub fn for_payment(p: &Payment, lang: Lang) -> &'static str {
    if p.paid_late_at.is_some() && p.state == PaymentState::Paid {
        return paid_late(lang);
    }
    for_customer(p.state, p.result_code, lang)
}

/// A payment confirmed late (`paid_late`): its time was added when M-Pesa confirmed it.
pub fn paid_late(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "M-Pesa confirmed your payment late. Its time has been added: you are online.",
        Lang::Sw => {
            "M-Pesa imethibitisha malipo yako kwa kuchelewa. Muda wake umeongezwa: uko mtandaoni."
        }
    }
}

/// The owner-facing reason for a ResultCode.
pub fn for_owner(code: i64) -> &'static str {
    match code {
        0 => "paid",
        1 => "insufficient balance",
        2 => "below M-Pesa minimum",
        3 => "above M-Pesa maximum",
        4 => "customer's daily limit reached",
        8 => "customer's balance limit reached",
        17 => "duplicate within 2 minutes",
        1001 => "customer had another transaction open",
        1019 => "request expired",
        1025 | 9999 => "push could not be delivered",
        1032 => "cancelled by customer",
        1037 => "phone unreachable or no answer",
        2001 => "wrong PIN",
        2028 => "SETUP ERROR: shortcode type / PartyB mismatch — check Daraja settings",
        4999 => "still processing",
        _ => "other M-Pesa failure",
    }
}

/// STK Push Query's "still processing": not an outcome (the poller asks again).
pub const STILL_PROCESSING: i64 = 4999;

/// Codes that mean the owner's Daraja settings are wrong.
pub fn is_misconfiguration(code: i64) -> bool {
    code == 2028
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_has_words() {
        // docs/daraja.md's ResultCode table, every row.
        let generic = for_customer(PaymentState::Failed, Some(123_456), Lang::En);
        for code in [
            1, 2, 3, 4, 8, 17, 1001, 1019, 1025, 1032, 1037, 2001, 2028, 9999,
        ] {
            let state = state_for(code);
            assert_ne!(state, PaymentState::Paid);
            let en = for_customer(state, Some(code), Lang::En);
            assert_ne!(en, generic, "{code} has its own words");
            assert_ne!(en, for_customer(state, Some(code), Lang::Sw), "{code}");
            assert_ne!(for_owner(code), "other M-Pesa failure", "{code}");
        }
        assert_eq!(for_owner(STILL_PROCESSING), "still processing");
        assert!(is_misconfiguration(2028));
        assert!(!is_misconfiguration(1032));
        assert_eq!(state_for(0), PaymentState::Paid);
        assert_eq!(state_for(1032), PaymentState::Cancelled);
        assert_eq!(state_for(1037), PaymentState::Timeout);
    }
}
