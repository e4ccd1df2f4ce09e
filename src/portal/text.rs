//! The portal's words in English and Swahili. Every sentence a customer reads lives here
//! (payment outcomes live in `payments::messages`).

use crate::config::Lang;
use crate::limits::{Limit, Limited};
use crate::sessions::VoucherProblem;
use crate::store::packages::Package;
use crate::units::ByteCount;

/// Kenya keeps East Africa Time all year: no daylight saving to look up.
const NAIROBI_OFFSET_S: i64 = 3 * 3600;

pub struct Text {
    pub lang: Lang,
    pub choose: &'static str,
    pub at: &'static str,
    pub phone_label: &'static str,
    pub pay: &'static str,
    pub pay_hint: &'static str,
    pub voucher_q: &'static str,
    pub voucher_label: &'static str,
    pub redeem: &'static str,
    pub voucher_ok: &'static str,
    pub online: &'static str,
    pub left: &'static str,
    pub speed: &'static str,
    pub buy_more: &'static str,
    pub waiting: &'static str,
    pub try_again: &'static str,
    pub continue_: &'static str,
    pub unknown_device: &'static str,
    pub not_found: &'static str,
    /// A form another web site sent on the phone's behalf.
    pub cross_site: &'static str,
    pub unknown_package: &'static str,
    pub already_pending: &'static str,
    pub bad_voucher: &'static str,
    pub busy: &'static str,
    pub mpesa_not_set_up: &'static str,
    pub mpesa_unavailable: &'static str,
    pub other_lang: &'static str,
    pub hours: &'static str,
    pub minutes: &'static str,
    pub reconnect_q: &'static str,
    pub reconnect_label: &'static str,
    pub reconnect_button: &'static str,
    pub reconnect_code: &'static str,
    pub reconnect_hint: &'static str,
    pub moved_ok: &'static str,
    pub reconnect_unknown: &'static str,
    pub reconnect_used_up: &'static str,
    pub reconnect_data_used_up: &'static str,
    pub bad_reconnect: &'static str,
    /// The link in "your previous payment is still waiting".
    pub see_pending: &'static str,
    /// "The PIN prompt went to 2547****149".
    pub prompt_to: &'static str,
    pub waited: &'static str,
    pub change_number: &'static str,
    pub start_browsing: &'static str,
    pub paid: &'static str,
    pub voucher_used: &'static str,
    /// "Data left: 340 MB of 1 GB".
    pub data_left: &'static str,
    pub of: &'static str,
    pub data_used_up: &'static str,
}

pub const EN: Text = Text {
    lang: Lang::En,
    choose: "Choose a package",
    at: "at",
    phone_label: "M-Pesa number",
    pay: "Pay with M-Pesa",
    pay_hint: "You will get a PIN prompt on your phone.",
    voucher_q: "Have a voucher?",
    voucher_label: "Voucher code",
    redeem: "Use voucher",
    voucher_ok: "Voucher accepted.",
    online: "You are online",
    left: "left",
    speed: "Speed",
    buy_more: "Buy more time",
    waiting: "Waiting for M-Pesa…",
    try_again: "Try again",
    continue_: "Continue",
    unknown_device:
        "We could not identify your device. Turn Wi-Fi off and on again, then reload this page.",
    not_found: "Page not found.",
    cross_site: "This form did not come from this Wi-Fi's page. Open the page again and pay there.",
    unknown_package: "Choose one of the packages.",
    already_pending: "Your previous payment is still waiting for its PIN.",
    bad_voucher: "A voucher code is 10 letters and digits, like ABCDE-FGH23.",
    busy: "Something went wrong on the hotspot. Please try again.",
    mpesa_unavailable: "M-Pesa cannot be reached right now. Nothing was charged. Use a voucher, or try again in a few minutes.",
    mpesa_not_set_up:
        "M-Pesa payments are not set up on this hotspot yet. Use a voucher, or ask the owner.",
    other_lang: "Kiswahili",
    hours: "h",
    minutes: "min",
    reconnect_q: "Already paid?",
    reconnect_label: "Your reconnect code or M-Pesa code",
    reconnect_button: "Move my time here",
    reconnect_code: "Your reconnect code",
    reconnect_hint: "On another device, or if you get disconnected, enter it under “Already paid?” to move your time there.",
    moved_ok: "Your time was moved to this device.",
    reconnect_unknown: "That code is not known. Check it on your other device or in the M-Pesa SMS.",
    reconnect_used_up: "The time paid with that code has run out.",
    reconnect_data_used_up: "The data paid with that code is used up. Buy a package to continue.",
    bad_reconnect: "A reconnect code looks like K7Q-3MP, an M-Pesa code like NLJ7RT61SV.",
    see_pending: "See that payment",
    prompt_to: "PIN prompt sent to",
    waited: "Waiting for",
    change_number: "No prompt? Change number",
    start_browsing: "Start browsing",
    paid: "Paid",
    voucher_used: "Voucher",
    data_left: "Data left",
    of: "of",
    data_used_up: "Your data is used up. Buy a package to continue.",
};

pub const SW: Text = Text {
    lang: Lang::Sw,
    choose: "Chagua kifurushi",
    at: "kwa",
    phone_label: "Namba ya M-Pesa",
    pay: "Lipa kwa M-Pesa",
    pay_hint: "Utapokea ombi la PIN kwenye simu yako.",
    voucher_q: "Una vocha?",
    voucher_label: "Namba ya vocha",
    redeem: "Tumia vocha",
    voucher_ok: "Vocha imekubaliwa.",
    online: "Uko mtandaoni",
    left: "zimebaki",
    speed: "Kasi",
    buy_more: "Ongeza muda",
    waiting: "Tunasubiri M-Pesa…",
    try_again: "Jaribu tena",
    continue_: "Endelea",
    unknown_device:
        "Hatukuweza kutambua kifaa chako. Zima Wi-Fi na uwashe tena, kisha pakia ukurasa upya.",
    not_found: "Ukurasa haupatikani.",
    cross_site: "Fomu hii haikutoka kwenye ukurasa wa Wi-Fi hii. Fungua ukurasa tena ulipie hapo.",
    unknown_package: "Chagua mojawapo ya vifurushi.",
    already_pending: "Malipo yako ya awali bado yanasubiri PIN.",
    bad_voucher: "Namba ya vocha ina herufi na tarakimu 10, kama ABCDE-FGH23.",
    busy: "Hitilafu imetokea kwenye hotspot. Tafadhali jaribu tena.",
    mpesa_unavailable: "M-Pesa haipatikani kwa sasa. Hakuna pesa iliyotozwa. Tumia vocha, au jaribu tena baada ya dakika chache.",
    mpesa_not_set_up:
        "Malipo ya M-Pesa bado hayajawekwa kwenye hotspot hii. Tumia vocha, au muulize mwenye hotspot.",
    other_lang: "English",
    hours: "saa",
    minutes: "dakika",
    reconnect_q: "Umeshalipa?",
    reconnect_label: "Namba yako ya kuunganisha au namba ya M-Pesa",
    reconnect_button: "Hamishia muda wangu hapa",
    reconnect_code: "Namba yako ya kuunganisha",
    reconnect_hint: "Kwenye kifaa kingine, au ukikatika, iweke chini ya “Umeshalipa?” kuhamishia muda wako huko.",
    moved_ok: "Muda wako umehamishiwa kifaa hiki.",
    reconnect_unknown: "Namba hiyo haijulikani. Iangalie kwenye kifaa chako kingine au kwenye SMS ya M-Pesa.",
    reconnect_used_up: "Muda uliolipiwa kwa namba hiyo umekwisha.",
    reconnect_data_used_up: "Data iliyolipiwa kwa namba hiyo imekwisha. Nunua kifurushi ili uendelee.",
    bad_reconnect: "Namba ya kuunganisha inafanana na K7Q-3MP, namba ya M-Pesa inafanana na NLJ7RT61SV.",
    see_pending: "Angalia malipo hayo",
    prompt_to: "Ombi la PIN limetumwa kwa",
    waited: "Tumesubiri",
    change_number: "Hukupata ombi? Badilisha namba",
    start_browsing: "Anza kuvinjari",
    paid: "Umelipa",
    voucher_used: "Vocha",
    data_left: "Data iliyobaki",
    of: "kati ya",
    data_used_up: "Data yako imekwisha. Nunua kifurushi ili uendelee.",
};

pub fn text(lang: Lang) -> &'static Text {
    match lang {
        Lang::En => &EN,
        Lang::Sw => &SW,
    }
}

impl Text {
    /// What a package gives: `1 GB · 24 h · 5 Mbps` with a data allowance, `3 h at 5 Mbps`
    /// without (Swahili: `GB 1 · saa 24 · 5 Mbps`, `saa 3 kwa 5 Mbps`).
    pub fn package_line(&self, p: &Package) -> String {
        let time = self.duration(u64::from(p.duration_s));
        match p.data_bytes() {
            Some(b) => format!("{} · {time} · {}", self.data(b), p.down),
            None => format!("{time} {} {}", self.at, p.down),
        }
    }

    /// An amount of data: `340 MB` (Swahili puts the unit first: `MB 340`).
    pub fn data(&self, bytes: u64) -> String {
        let s = ByteCount(bytes).to_string();
        match (self.lang, s.split_once(' ')) {
            (Lang::Sw, Some((n, unit))) => format!("{unit} {n}"),
            _ => s,
        }
    }

    /// `Data left: 340 MB of 1 GB`.
    pub fn data_left_of(&self, left: u64, limit: u64) -> String {
        format!(
            "{}: {} {} {}",
            self.data_left,
            self.data(left),
            self.of,
            self.data(limit)
        )
    }

    /// `3 h`, `1 h 30 min`, `45 min` (Swahili puts the unit first: `saa 3`, `dakika 45`).
    pub fn duration(&self, secs: u64) -> String {
        let (h, m) = (secs / 3600, secs % 3600 / 60);
        let m = if h == 0 && m == 0 && secs > 0 { 1 } else { m };
        let part = |n: u64, unit: &str| match self.lang {
            Lang::En => format!("{n} {unit}"),
            Lang::Sw => format!("{unit} {n}"),
        };
        match (h, m) {
            (0, m) => part(m, self.minutes),
            (h, 0) => part(h, self.hours),
            (h, m) => format!("{} {}", part(h, self.hours), part(m, self.minutes)),
        }
    }

    /// `2 h 59 min left` / `zimebaki saa 2 dakika 59`.
    pub fn time_left(&self, secs: u64) -> String {
        match self.lang {
            Lang::En => format!("{} {}", self.duration(secs), self.left),
            Lang::Sw => format!("{} {}", self.left, self.duration(secs)),
        }
    }

    /// `until 21:40` / `hadi 21:40`, in Nairobi time (EAT, UTC+3 all year).
    pub fn until(&self, at: i64) -> String {
        let local = (at + NAIROBI_OFFSET_S).rem_euclid(86_400);
        let clock = format!("{:02}:{:02}", local / 3600, local % 3600 / 60);
        match self.lang {
            Lang::En => format!("until {clock}"),
            Lang::Sw => format!("hadi {clock}"),
        }
    }

    /// How long a payment has waited: `12 s`, `1 min 5 s` (`sekunde 12`, `dakika 1 sekunde 5`).
    pub fn seconds(&self, secs: u64) -> String {
        let (m, s) = (secs / 60, secs % 60);
        let (min, sec) = match self.lang {
            Lang::En => (format!("{m} {}", self.minutes), format!("{s} s")),
            Lang::Sw => (format!("{} {m}", self.minutes), format!("sekunde {s}")),
        };
        if m == 0 {
            sec
        } else {
            format!("{min} {sec}")
        }
    }

    pub fn voucher_problem(&self, p: VoucherProblem) -> &'static str {
        match (self.lang, p) {
            (Lang::En, VoucherProblem::Unknown) => "That voucher code is not valid.",
            (Lang::En, VoucherProblem::Used) => "That voucher has already been used.",
            (Lang::En, VoucherProblem::Revoked | VoucherProblem::Expired) => {
                "That voucher is no longer valid."
            }
            (Lang::Sw, VoucherProblem::Unknown) => "Namba hiyo ya vocha si sahihi.",
            (Lang::Sw, VoucherProblem::Used) => "Vocha hiyo imeshatumika.",
            (Lang::Sw, VoucherProblem::Revoked | VoucherProblem::Expired) => {
                "Vocha hiyo haifai tena."
            }
        }
    }

    /// A code the RADIUS server refused (`said`: its Reply-Message, shown if it gave one).
    pub fn radius_rejected(&self, said: Option<&str>) -> String {
        match (said.filter(|s| !s.trim().is_empty()), self.lang) {
            (Some(s), _) => s.trim().chars().take(200).collect(),
            (None, Lang::En) => "That code is not valid.".into(),
            (None, Lang::Sw) => "Namba hiyo si sahihi.".into(),
        }
    }

    /// The RADIUS server did not answer: local vouchers still work.
    pub fn radius_unreachable(&self) -> &'static str {
        match self.lang {
            Lang::En => "The code server cannot be reached right now. Try again in a minute, or use a voucher from this shop or M-Pesa.",
            Lang::Sw => "Seva ya namba haipatikani sasa hivi. Jaribu tena baada ya dakika moja, au tumia vocha ya duka hili au M-Pesa.",
        }
    }

    /// Why an abuse limit refused, and when to try again.
    pub fn too_many(&self, l: &Limited) -> String {
        let n = l.minutes();
        match (self.lang, l.limit) {
            (Lang::En, Limit::PushesPerDevice) => format!(
                "Too many payment requests from this device. Try again in {n} min."
            ),
            (Lang::En, Limit::PushesPerPhone) => format!(
                "Too many payment requests to this M-Pesa number. Try again in {n} min."
            ),
            (Lang::En, Limit::VoucherGuesses) => {
                format!("Too many wrong voucher codes. Try again in {n} min.")
            }
            (Lang::Sw, Limit::PushesPerDevice) => format!(
                "Maombi mengi mno ya malipo kutoka kifaa hiki. Jaribu tena baada ya dakika {n}."
            ),
            (Lang::Sw, Limit::PushesPerPhone) => format!(
                "Maombi mengi mno ya malipo kwa namba hii ya M-Pesa. Jaribu tena baada ya dakika {n}."
            ),
            (Lang::Sw, Limit::VoucherGuesses) => format!(
                "Namba nyingi mno za vocha zisizo sahihi. Jaribu tena baada ya dakika {n}."
            ),
        }
    }

    /// Too many wrong reconnect codes, and when to try again.
    pub fn too_many_codes(&self, l: &Limited) -> String {
        let n = l.minutes();
        match self.lang {
            Lang::En => format!("Too many wrong codes. Try again in {n} min."),
            Lang::Sw => {
                format!("Namba nyingi mno zisizo sahihi. Jaribu tena baada ya dakika {n}.")
            }
        }
    }

    pub fn bad_phone(&self) -> &'static str {
        match self.lang {
            Lang::En => "That is not an M-Pesa number. Type it like 0712 345 678.",
            Lang::Sw => "Hiyo si namba ya M-Pesa. Iandike hivi: 0712 345 678.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(EN.duration(10800), "3 h");
        assert_eq!(EN.duration(5400), "1 h 30 min");
        assert_eq!(EN.time_left(10740), "2 h 59 min left");
        assert_eq!(EN.duration(20), "1 min");
        assert_eq!(SW.duration(10800), "saa 3");
        assert_eq!(SW.time_left(10740), "zimebaki saa 2 dakika 59");
        // 18:40 UTC is 21:40 in Nairobi.
        assert_eq!(EN.until(1_764_547_200 + 18 * 3600 + 40 * 60), "until 21:40");
        assert_eq!(SW.until(1_764_547_200 + 22 * 3600), "hadi 01:00");
        assert_eq!(EN.seconds(65), "1 min 5 s");
        assert_eq!(SW.seconds(12), "sekunde 12");
    }

    #[test]
    fn a_package_says_its_data_time_and_speed() {
        let mut p = Package {
            id: 1,
            name: "Day".into(),
            duration_s: 86_400,
            down: crate::units::Kbps(5000),
            up: crate::units::Kbps(2000),
            price: crate::units::Kes(50),
            active: true,
            data_mb: Some(1000),
        };
        assert_eq!(EN.package_line(&p), "1 GB · 24 h · 5 Mbps");
        assert_eq!(SW.package_line(&p), "GB 1 · saa 24 · 5 Mbps");
        p.data_mb = Some(1500);
        assert_eq!(EN.package_line(&p), "1.5 GB · 24 h · 5 Mbps");
        p.data_mb = None;
        assert_eq!(EN.package_line(&p), "24 h at 5 Mbps");
        assert_eq!(SW.package_line(&p), "saa 24 kwa 5 Mbps");
        assert_eq!(
            EN.data_left_of(340_000_000, 1_000_000_000),
            "Data left: 340 MB of 1 GB"
        );
        assert_eq!(
            SW.data_left_of(0, 20_000_000),
            "Data iliyobaki: B 0 kati ya MB 20"
        );
    }

    #[test]
    fn limits_say_when_to_try_again() {
        let l = Limited {
            limit: Limit::PushesPerPhone,
            retry_after_s: 61,
        };
        assert_eq!(
            EN.too_many(&l),
            "Too many payment requests to this M-Pesa number. Try again in 2 min."
        );
        assert!(SW.too_many(&l).ends_with("dakika 2."));
    }
}
