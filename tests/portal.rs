//! The customer's journey over real HTTP on loopback: captive detection, paying with the
//! simulator, every failure, extending, vouchers, expiry, restarts and bad input.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;

const FAST: Duration = Duration::from_millis(150);

/// A page's words as read: "M-Pesa" is wrapped to keep it on one line.
fn plain(page: &str) -> String {
    page.replace("<span class=\"nw\">M-Pesa</span>", "M-Pesa")
}

#[tokio::test]
async fn every_captive_probe_is_sent_to_the_portal() {
    let lab = Lab::start("probes", FAST).await;
    let phone = lab.phone(1);
    let want = format!("http://{}/", lab.portal);
    for (host, path) in [
        ("connectivitycheck.gstatic.com", "/generate_204"),
        ("clients3.google.com", "/generate_204"),
        ("captive.apple.com", "/hotspot-detect.html"),
        ("www.msftconnecttest.com", "/connecttest.txt"),
        ("www.msftncsi.com", "/ncsi.txt"),
        ("detectportal.firefox.com", "/success.txt"),
        ("example.com", "/any/page?x=1"),
    ] {
        let r = phone
            .http
            .get(format!("{}{path}", phone.base))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302, "{host}{path}");
        assert_eq!(r.headers()["location"], want.as_str(), "{host}{path}");
    }
    // Following the redirect lands on the portal with the packages.
    let page = phone.get("/").await.text().await.unwrap();
    for name in [
        "Basic",
        "Standard",
        "Premium",
        "Ultra",
        "KES 50",
        "name=\"phone\"",
        "action=\"/voucher?lang=en\"",
    ] {
        assert!(page.contains(name), "portal lacks {name}");
    }
}

#[tokio::test]
async fn first_page_is_small_and_needs_no_other_request() {
    let lab = Lab::start("small", FAST).await;
    let page = lab.phone(1).get("/").await.text().await.unwrap();
    assert!(page.len() < 30 * 1024, "first page is {} bytes", page.len());
    assert!(
        !page.contains("<script"),
        "the portal must work without JavaScript"
    );
    assert!(!page.contains("<link"), "styles are inline: one request");
}

#[tokio::test]
async fn a_purchase_puts_the_phone_online_at_the_package_speed() {
    let lab = Lab::start("buy", FAST).await;
    let phone = lab.phone(2);
    let (_, before) = phone.get_json("/api/status").await;
    assert_eq!(before["online"], false);

    let id = phone.pay(2, "0708374149").await;
    let (_, pending) = phone.get_json(&format!("/api/pay/{id}")).await;
    assert_eq!(pending["state"], "pushed");
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(done["state"], "paid", "{done}");
    assert_eq!(done["amount_kes"], 50);

    let (_, status) = phone.get_json("/api/status").await;
    assert_eq!(status["online"], true);
    assert_eq!(status["mac"], phone_mac(2).to_string());
    assert_eq!(status["seconds_remaining"], 10800);
    let c = lab.admitted(phone_mac(2)).await;
    assert_eq!((c.down.0, c.up.0, c.seconds), (5000, 2000, 10800));
    // Daraja got exactly what the package costs, from the normalised number.
    let pushes = lab.sim.pushes();
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].amount, 50);
    assert_eq!(pushes[0].phone, "254708374149");

    let page = phone.get("/").await.text().await.unwrap();
    assert!(
        page.contains("You are online") && page.contains("3 h left"),
        "{page}"
    );
}

#[tokio::test]
async fn each_failure_is_explained_and_grants_nothing() {
    let lab = Lab::start("fail", FAST).await;
    for (n, number, state, words) in [
        (3u8, "0712341032", "cancelled", "You cancelled"),
        (4, "0712341037", "timeout", "could not be reached"),
        (5, "0712340001", "failed", "Not enough M-Pesa balance"),
        (6, "0712342001", "failed", "Wrong M-Pesa PIN"),
        (7, "0712342028", "failed", "not set up correctly"),
    ] {
        let phone = lab.phone(n);
        let id = phone.pay(1, number).await;
        let done = lab.wait_final(&phone, id).await;
        assert_eq!(done["state"], state, "{number}: {done}");
        assert!(
            done["message"].as_str().unwrap().contains(words),
            "{number}: {done}"
        );
        let (_, status) = phone.get_json("/api/status").await;
        assert_eq!(status["online"], false, "{number}");
        // The HTML page says it in words too, and offers to try again.
        let page = plain(&phone.get(&format!("/pay/{id}")).await.text().await.unwrap());
        assert!(page.contains(words) && page.contains("Try again"), "{page}");
    }
    assert!(lab.gate.admitted().is_empty());
}

#[tokio::test]
async fn a_payment_that_never_resolves_times_out() {
    let lab = Lab::start("pending", FAST).await;
    let phone = lab.phone(8);
    let id = phone.pay(1, "0712344999").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, v) = phone.get_json(&format!("/api/pay/{id}")).await;
    assert_eq!(v["state"], "pushed", "still waiting: {v}");
    lab.clock.advance(121);
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(done["state"], "timeout");
    assert!(lab.gate.admitted().is_empty());
}

#[tokio::test]
async fn buying_again_extends_the_time() {
    let lab = Lab::start("extend", FAST).await;
    let phone = lab.phone(9);
    let a = phone.pay(1, "0708374149").await;
    assert_eq!(lab.wait_final(&phone, a).await["state"], "paid");
    lab.clock.advance(600);
    let b = phone.pay(2, "0708374149").await;
    assert_eq!(lab.wait_final(&phone, b).await["state"], "paid");
    let (_, status) = phone.get_json("/api/status").await;
    assert_eq!(status["seconds_remaining"], 3600 - 600 + 10800);
    let c = lab.admitted_with(phone_mac(9), |c| c.down.0 == 5000).await;
    assert_eq!(c.seconds, 3600 - 600 + 10800);
}

#[tokio::test]
async fn a_voucher_works_once() {
    let lab = Lab::start("voucher", FAST).await;
    let codes = lango::owner::generate_vouchers(&lab.daemon().store, 3, 2, None, lab.now())
        .await
        .map(|b| b.codes)
        .unwrap();
    let phone = lab.phone(10);
    let (s, v) = phone
        .post_json(
            "/api/voucher",
            &format!(r#"{{"code":"{}"}}"#, codes[0].to_lowercase()),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["online"].clone(), v["seconds_remaining"].clone()),
        (Value::Bool(true), 21600.into())
    );
    assert_eq!(lab.gate.admitted()[&phone_mac(10)].down.0, 10000);

    let other = lab.phone(11);
    let (s, v) = other
        .post_json("/api/voucher", &format!(r#"{{"code":"{}"}}"#, codes[0]))
        .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("voucher_refused")));
    assert_eq!(v["message"], "That voucher has already been used.");
    let (s, v) = other
        .post_json("/api/voucher", r#"{"code":"ZZZZZ-ZZZZZ"}"#)
        .await;
    assert_eq!(
        (s, v["message"].as_str()),
        (400, Some("That voucher code is not valid."))
    );
    let (s, v) = other.post_json("/api/voucher", r#"{"code":"hello"}"#).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("bad_voucher")));

    // The HTML form: 303 back to the portal, which now says online.
    let r = other
        .post_form("/voucher?lang=en", &format!("code={}", codes[1]))
        .await;
    assert_eq!(r.status(), 303);
    let page = other
        .get(r.headers()["location"].to_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Voucher accepted") && page.contains("6 h left"),
        "{page}"
    );
}

#[tokio::test]
async fn time_runs_out_and_the_gate_closes() {
    let lab = Lab::start("expiry", FAST).await;
    let phone = lab.phone(12);
    let id = phone.pay(1, "0708374149").await;
    assert_eq!(lab.wait_final(&phone, id).await["state"], "paid");
    lab.admitted(phone_mac(12)).await;
    lab.clock.advance(3599);
    lab.daemon().sessions.expire_due().await.unwrap();
    assert!(lab.gate.admitted().contains_key(&phone_mac(12)));
    lab.clock.advance(1);
    assert_eq!(lab.daemon().sessions.expire_due().await.unwrap(), 1);
    assert!(!lab.gate.admitted().contains_key(&phone_mac(12)));
    let (_, status) = phone.get_json("/api/status").await;
    assert_eq!(status["online"], false);
    let (_, captive) = phone.get_json("/captive-portal/api").await;
    assert_eq!(captive["captive"], true);
}

#[tokio::test]
async fn a_restart_mid_payment_completes_it_and_grants_once() {
    let mut lab = Lab::start("restart", Duration::from_millis(1500)).await;
    let phone = lab.phone(13);
    let id = phone.pay(2, "0708374149").await;
    lab.crash().await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    lab.boot().await;
    let phone = lab.phone(13);
    let done = lab.wait_final(&phone, id).await;
    assert_eq!(done["state"], "paid");
    // Settling again (a late duplicate answer) changes nothing.
    let again = lab
        .daemon()
        .sessions
        .settle(
            id,
            lango::store::payments::PaymentState::Paid,
            Some(0),
            "dup".into(),
            None,
        )
        .await
        .unwrap();
    assert!(again.is_none());
    let (_, status) = phone.get_json("/api/status").await;
    assert_eq!(status["seconds_remaining"], 10800, "granted exactly once");
    let grants: i64 = lab
        .daemon()
        .store
        .with(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM events WHERE kind = 'session.grant'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(grants, 1);
}

#[tokio::test]
async fn bad_input_gets_a_clear_answer() {
    let lab = Lab::start("bad", FAST).await;
    let phone = lab.phone(14);
    for number in ["0808374149", "12345", "", "07083741490", "+1 555 0100"] {
        let (s, v) = phone
            .post_json(
                "/api/pay",
                &format!(r#"{{"package_id":1,"phone":"{number}"}}"#),
            )
            .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (400, Some("bad_phone")),
            "{number}"
        );
        assert!(v["message"].as_str().unwrap().contains("0712 345 678"));
    }
    for body in [
        r#"{"package_id":77,"phone":"0708374149"}"#,
        r#"{"phone":"0708374149"}"#,
        r#"{"package_id":"x","phone":"0708374149"}"#,
    ] {
        let (s, v) = phone.post_json("/api/pay", body).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (400, Some("unknown_package")),
            "{body}"
        );
    }
    for body in ["{", "[1,2]", "not json", ""] {
        let (s, v) = phone.post_json("/api/pay", body).await;
        assert_eq!((s, v["error"].as_str()), (400, Some("bad_json")), "{body}");
    }
    let (s, v) = phone
        .post_json(
            "/api/pay",
            &format!(r#"{{"package_id":1,"phone":"{}"}}"#, "0".repeat(10_000)),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("bad_request")),
        "oversized body"
    );
    let (s, _) = phone.get_json("/api/pay/abc").await;
    assert_eq!(s, 404);
    let (s, _) = phone.get_json("/api/nope").await;
    assert_eq!(s, 404);
    assert!(lab.sim.pushes().is_empty(), "nothing bad reached Daraja");

    // The HTML form keeps what was typed and says what is wrong.
    let r = phone
        .post_form("/pay", "package_id=1&phone=0808+374+149")
        .await;
    assert_eq!(r.status(), 400);
    let page = plain(&r.text().await.unwrap());
    assert!(
        page.contains("not an M-Pesa number") && page.contains("value=\"0808 374 149\""),
        "{page}"
    );
}

#[tokio::test]
async fn a_phone_without_a_neighbour_entry_gets_a_page_not_an_error() {
    let lab = Lab::start("nomac", FAST).await;
    let phone = lab.phone(UNKNOWN_PHONE);
    let (s, v) = phone
        .post_json("/api/pay", r#"{"package_id":1,"phone":"0708374149"}"#)
        .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("unknown_device")));
    let (s, v) = phone.get_json("/api/status").await;
    assert_eq!((s, v["error"].as_str()), (400, Some("unknown_device")));
    let r = phone.get("/").await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("could not identify your device"));
}

#[tokio::test]
async fn another_phone_cannot_see_my_payment() {
    let lab = Lab::start("privacy", FAST).await;
    let id = lab.phone(15).pay(1, "0708374149").await;
    let (s, _) = lab.phone(16).get_json(&format!("/api/pay/{id}")).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn one_pending_push_per_phone() {
    let lab = Lab::start("onepending", Duration::from_secs(5)).await;
    let phone = lab.phone(17);
    phone.pay(1, "0708374149").await;
    let (s, v) = phone
        .post_json("/api/pay", r#"{"package_id":1,"phone":"0708374149"}"#)
        .await;
    assert_eq!((s, v["error"].as_str()), (409, Some("already_pending")));
    assert_eq!(lab.sim.pushes().len(), 1);
}

#[tokio::test]
async fn the_html_journey_works_without_javascript_in_swahili() {
    let lab = Lab::start("html", FAST).await;
    let phone = lab.phone(18);
    let page = phone.get("/?lang=sw").await.text().await.unwrap();
    assert!(
        page.contains("Chagua kifurushi")
            && page.contains("Lipa kwa <span class=\"nw\">M-Pesa</span>")
            && page.contains("lang=\"sw\"")
    );
    assert!(
        page.contains("action=\"/pay?lang=sw\""),
        "the form keeps the language"
    );
    let r = phone
        .post_form("/pay?lang=sw", "package_id=2&phone=0708+374+149")
        .await;
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        loc.starts_with("/pay/") && loc.ends_with("lang=sw"),
        "{loc}"
    );
    let waiting = plain(&phone.get(&loc).await.text().await.unwrap());
    assert!(
        waiting.contains("http-equiv=\"refresh\""),
        "pending page refreshes itself"
    );
    assert!(waiting.contains("Tunasubiri M-Pesa"));
    let id: i64 = loc["/pay/".len()..loc.find('?').unwrap()].parse().unwrap();
    lab.wait_final(&phone, id).await;
    let home = phone.get("/?lang=sw").await.text().await.unwrap();
    assert!(
        home.contains("Uko mtandaoni") && home.contains("zimebaki saa 3"),
        "{home}"
    );
}

#[tokio::test]
async fn rfc8908_api_tells_captive_state() {
    let lab = Lab::start("rfc8908", FAST).await;
    let phone = lab.phone(19);
    let r = phone.get("/captive-portal/api").await;
    assert_eq!(r.headers()["content-type"], "application/captive+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["captive"], true);
    assert_eq!(v["user-portal-url"], format!("http://{}/", lab.portal));
    let id = phone.pay(1, "0708374149").await;
    lab.wait_final(&phone, id).await;
    let (_, v) = phone.get_json("/captive-portal/api").await;
    assert_eq!(
        (v["captive"].clone(), v["seconds-remaining"].clone()),
        (Value::Bool(false), 3600.into())
    );
}

#[tokio::test]
async fn the_shop_page_follows_package_and_settings_changes() {
    // The page is rendered once and shared; a change must still show at once.
    let lab = Lab::start("shopcache", FAST).await;
    let phone = lab.phone(19);
    let first = phone.get("/").await.text().await.unwrap();
    assert_eq!(phone.get("/").await.text().await.unwrap(), first);
    assert!(first.contains("Standard"), "{first}");
    let daemon = lab.daemon();
    daemon
        .store
        .write(|tx| {
            let mut p = lango::store::packages::get(tx, 2)?.expect("seeded");
            p.name = "Jioni".into();
            lango::store::packages::update(tx, &p)
        })
        .unwrap();
    let renamed = phone.get("/").await.text().await.unwrap();
    assert!(renamed.contains("Jioni") && !renamed.contains("Standard"));
    let mut config = daemon.live.get().config.clone();
    config.site_name = "Mama Mboga Wi-Fi".into();
    daemon.live.reload(config).await.unwrap();
    let page = phone.get("/").await.text().await.unwrap();
    assert!(page.contains("Mama Mboga Wi-Fi") && page.contains("Jioni"));
    let sw = phone.get("/?lang=sw").await.text().await.unwrap();
    assert!(sw.contains("Mama Mboga Wi-Fi") && sw.contains("Chagua kifurushi"));
}

#[tokio::test]
async fn the_chosen_package_and_number_survive_an_error_and_try_again() {
    let lab = Lab::start("chosen", FAST).await;
    let phone = lab.phone(11);
    // A bad number: Premium (3) stays chosen, the number stays typed, the error is at the field.
    let r = phone
        .post_form("/pay", "package_id=3&phone=0808+374+149")
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("value=\"3\" checked"), "{page}");
    assert!(!page.contains("value=\"1\" checked"), "{page}");
    assert!(
        page.contains(
            "value=\"0808 374 149\" aria-invalid=\"true\" aria-describedby=\"phone-err\""
        ),
        "{page}"
    );
    let err = page
        .find("id=\"phone-err\"")
        .expect("error next to the phone field");
    let label = page.find("for=\"phone\"").unwrap();
    let input = page.find("id=\"phone\"").unwrap();
    assert!(label < err && err < input, "{page}");

    // A payment that fails: "Try again" comes back with the same package and number.
    let id = phone.pay(3, "0712341032").await;
    assert_eq!(lab.wait_final(&phone, id).await["state"], "cancelled");
    let failed = phone.get(&format!("/pay/{id}")).await.text().await.unwrap();
    let again = "/?lang=en&amp;package=3&amp;phone=254712341032";
    assert!(failed.contains(again), "{failed}");
    let page = phone
        .get(&again.replace("&amp;", "&"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("value=\"3\" checked"), "{page}");
    assert!(page.contains("value=\"254712341032\""), "{page}");
    assert!(
        !page.contains("aria-invalid=\"true\""),
        "no error after Try again: {page}"
    );
}

#[tokio::test]
async fn the_waiting_page_shows_where_the_prompt_went_and_lets_the_number_change() {
    let lab = Lab::start("waiting", FAST).await;
    let phone = lab.phone(12);
    // 0712341037 never answers: the payment waits.
    let id = phone.pay(2, "0712341037").await;
    let page = phone.get(&format!("/pay/{id}")).await.text().await.unwrap();
    assert!(
        page.contains("PIN prompt sent to <b>2547****037</b>"),
        "{page}"
    );
    assert!(
        page.contains("Waiting for ") && page.contains(" s</p>"),
        "{page}"
    );
    assert!(page.contains("<span class=\"nw\">M-Pesa</span>"), "{page}");
    assert_eq!(page.matches("role=\"status\"").count(), 1, "{page}");
    assert!(!page.contains("aria-live=\"assertive\""), "{page}");
    assert!(
        page.contains("class=\"btn alt\""),
        "Continue looks secondary: {page}"
    );

    // Paying again while it waits: the error links to the waiting payment, package kept.
    let r = phone
        .post_form("/pay", "package_id=4&phone=0708374149")
        .await;
    assert_eq!(r.status(), 409);
    let busy = r.text().await.unwrap();
    assert!(
        busy.contains(&format!(
            "<a href=\"/pay/{id}?lang=en\">See that payment</a>"
        )),
        "{busy}"
    );
    assert!(
        busy.contains("value=\"4\" checked") && busy.contains("value=\"0708374149\""),
        "{busy}"
    );

    // "No prompt? Change number" ends the attempt in Lango and keeps the package.
    assert!(
        page.contains(&format!("action=\"/pay/{id}/cancel?lang=en\"")),
        "{page}"
    );
    assert!(page.contains("No prompt? Change number"), "{page}");
    let r = phone
        .post_form(&format!("/pay/{id}/cancel?lang=en"), "")
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/?lang=en&package=2");
    assert_eq!(lab.payment(id).state.as_str(), "cancelled");
    let shop = phone.get("/?lang=en&package=2").await.text().await.unwrap();
    assert!(shop.contains("value=\"2\" checked"), "{shop}");
    // Another phone cannot cancel it; a new payment may start now.
    let other = lab.phone(13);
    let r = other.post_form(&format!("/pay/{id}/cancel"), "").await;
    assert_eq!(r.status(), 404);
    let again = phone.pay(2, "0708374149").await;
    assert!(again > id);
}

#[tokio::test]
async fn the_online_page_says_until_when_and_what_paid() {
    let lab = Lab::start("until", FAST).await;
    let phone = lab.phone(14);
    let id = phone.pay(2, "0708374149").await;
    assert_eq!(lab.wait_final(&phone, id).await["state"], "paid");
    let page = phone.get("/").await.text().await.unwrap();
    let ends = lab.payment(id).updated_at + 3 * 3600 + 3 * 3600;
    let local = ends.rem_euclid(86_400);
    let until = format!("until {:02}:{:02}", local / 3600, local % 3600 / 60);
    let minute_later = {
        let l = (ends + 60).rem_euclid(86_400);
        format!("until {:02}:{:02}", l / 3600, l % 3600 / 60)
    };
    assert!(
        page.contains(&until) || page.contains(&minute_later),
        "{until}: {page}"
    );
    assert!(page.contains("Paid KES 50 (Standard)"), "{page}");
    assert!(page.contains(">Start browsing</a>"), "{page}");
    assert_eq!(page.matches("You are online").count(), 1, "{page}");
}

#[tokio::test]
async fn a_data_bundle_shows_its_data_left_is_cut_off_when_used_up_and_grows_when_bought_again() {
    let lab = Lab::start("bundle", FAST).await;
    let daemon = lab.daemon();
    lab.set_data(1, Some(20));
    let phone = lab.phone(17);
    let mac = phone_mac(17);
    let shop = phone.get("/").await.text().await.unwrap();
    assert!(shop.contains("20 MB · 1 h · 2 Mbps"), "{shop}");
    let sw = phone.get("/?lang=sw").await.text().await.unwrap();
    assert!(sw.contains("MB 20 · saa 1 · 2 Mbps"), "{sw}");

    let id = phone.pay(1, "0708374149").await;
    assert_eq!(lab.wait_final(&phone, id).await["state"], "paid");
    assert_eq!(lab.payment(id).data_mb, Some(20), "the allowance as bought");
    lab.gate.count(mac, 4_000_000, 1_000_000);
    daemon.usage.read().await;
    let online = phone.get("/").await.text().await.unwrap();
    assert!(online.contains("Data left: 15 MB of 20 MB"), "{online}");
    let (_, v) = phone.get_json("/captive-portal/api").await;
    assert_eq!(
        (v["captive"].clone(), v["bytes-remaining"].clone()),
        (Value::Bool(false), 15_000_000.into())
    );
    let (_, status) = phone.get_json("/api/status").await;
    assert_eq!(status["bytes_remaining"], 15_000_000);

    // Bought again: the allowance grows by the package's 20 MB.
    let again = phone.pay(1, "0708374149").await;
    assert_eq!(lab.wait_final(&phone, again).await["state"], "paid");
    let (_, v) = phone.get_json("/captive-portal/api").await;
    assert_eq!(v["bytes-remaining"], 35_000_000);

    // 40 MB of 40 MB: cut off at the next read, and the portal says why, in both languages.
    lab.gate.count(mac, 38_000_000, 2_000_000);
    daemon.usage.read().await;
    assert!(!lab.gate.admitted().contains_key(&mac), "evicted");
    assert_eq!(lab.events("session.data_used_up", None), 1);
    let (_, v) = phone.get_json("/captive-portal/api").await;
    assert_eq!(v["captive"], true);
    assert!(v.get("bytes-remaining").is_none(), "{v}");
    let page = plain(&phone.get("/").await.text().await.unwrap());
    assert!(page.contains("Your data is used up."), "{page}");
    assert!(
        page.contains("Pay with M-Pesa"),
        "the packages to buy more: {page}"
    );
    let sw = phone.get("/?lang=sw").await.text().await.unwrap();
    assert!(sw.contains("Data yako imekwisha."), "{sw}");
    // A device that never had a bundle is not told so, and the cut session's reconnect code
    // moves nothing to it: its data is used up.
    let other = lab.phone(18);
    assert!(!other
        .get("/")
        .await
        .text()
        .await
        .unwrap()
        .contains("Your data is used up."));
    let cut = daemon.sessions.latest(mac).await.unwrap().unwrap();
    let (s, v) = other
        .post_json(
            "/api/reconnect",
            &format!(r#"{{"code":"{}"}}"#, cut.code.unwrap()),
        )
        .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("reconnect_refused")));
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("data paid with that code is used up"),
        "{v}"
    );
}
