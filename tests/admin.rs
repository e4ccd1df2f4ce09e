//! The owner's page over real HTTP on loopback (no browser): first run, login, sessions, CSRF,
//! throttling, every tab's forms and validation, CSV exports, and settings written to the file.

mod common;

use common::owner::{settings_form, Owner, PASSWORD};
use common::*;
use lango::clock::Unix;
use lango::phone::Msisdn;
use lango::store::packages;
use lango::store::payments::{self, NewPayment, PaymentState, Settlement};
use std::time::Duration;

const FAST: Duration = Duration::from_millis(150);

async fn lab(name: &str) -> Lab {
    Lab::start(name, FAST).await
}

/// The owner gives `mac` an hour at 2/1 Mbps.
async fn give_an_hour(lab: &Lab, mac: lango::mac::Mac) {
    lab.daemon()
        .sessions
        .grant(lango::store::sessions::Grant {
            mac,
            ip: None,
            source: lango::store::sessions::Source::Admin,
            source_ref: None,
            package_id: None,
            duration_s: 3600,
            down: lango::units::Kbps(2000),
            up: lango::units::Kbps(1000),
            data: None,
        })
        .await
        .unwrap();
}

/// Phone 7 is online with a voucher of package 1.
async fn phone_7_redeems_a_voucher(lab: &Lab) {
    let voucher = lango::owner::generate_vouchers(&lab.daemon().store, 1, 1, None, lab.now())
        .await
        .map(|b| b.codes)
        .unwrap();
    let (s, _) = lab
        .phone(7)
        .post_json("/api/voucher", &format!(r#"{{"code":"{}"}}"#, voucher[0]))
        .await;
    assert_eq!(s, 200);
}

/// An owner at 127.0.0.50 who has set the password and is logged in.
async fn owner(lab: &Lab) -> Owner {
    let mut o = lab.owner("127.0.0.50");
    o.setup().await;
    o
}

/// Records a payment straight in the store (created at `at`, settled 30 s later).
fn seed_payment(
    lab: &Lab,
    phone: &str,
    package: i64,
    at: Unix,
    state: PaymentState,
    receipt: &str,
) {
    let receipt = receipt.to_string();
    let phone: Msisdn = phone.parse().unwrap();
    lab.daemon()
        .store
        .with(move |c| {
            let p = packages::get(c, package)?.unwrap();
            let id = payments::insert(
                c,
                &NewPayment {
                    mac: phone_mac(3),
                    ip: None,
                    phone: &phone,
                    package: &p,
                },
                at,
            )?;
            if state.is_final() {
                let s = Settlement {
                    state,
                    result_code: Some(if state == PaymentState::Paid { 0 } else { 1032 }),
                    result_desc: "from the test",
                    receipt: (state == PaymentState::Paid).then_some(receipt.as_str()),
                };
                payments::settle(c, id, &s, at + 30)?;
            }
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn first_run_sets_the_password_then_login_and_logout() {
    let lab = lab("admin-first").await;
    let mut o = lab.owner("127.0.0.50");
    let p = o.get("/").await;
    assert_eq!((p.status, p.location()), (303, "/setup"));
    assert_eq!(o.get("/login").await.location(), "/setup");
    let p = o.get("/setup").await;
    assert!(p.body.contains("Set the owner&#39;s password"));
    let pre = p.headers["set-cookie"].to_str().unwrap();
    assert!(
        pre.starts_with("lango_pre=") && pre.contains("HttpOnly; SameSite=Strict; Path=/"),
        "{pre}"
    );

    let p = o
        .post("/setup", &[("password", "short"), ("repeat", "short")])
        .await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("at least 8 characters"));
    let p = o
        .post(
            "/setup",
            &[("password", PASSWORD), ("repeat", "something else")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("The two passwords differ."));
    let p = o
        .post("/setup", &[("password", PASSWORD), ("repeat", PASSWORD)])
        .await;
    assert_eq!((p.status, p.location()), (303, "/"));
    let cookie = p
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .find(|c| c.starts_with("lango_admin="))
        .expect("session cookie");
    let token = cookie["lango_admin=".len()..].split(';').next().unwrap();
    assert_eq!(token.len(), 64, "32 random bytes in hex");
    assert!(
        cookie.contains("; HttpOnly; SameSite=Strict; Path=/"),
        "{cookie}"
    );
    let hash = lab
        .daemon()
        .store
        .with(lango::store::admin::password_hash)
        .unwrap()
        .unwrap();
    assert!(hash.starts_with("$scrypt$"), "{hash}");

    let p = o.get("/").await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("Overview"));
    for h in [
        "content-security-policy",
        "x-frame-options",
        "x-content-type-options",
    ] {
        assert!(p.headers.contains_key(h), "{h}");
    }
    // The first-run page is gone for good.
    assert_eq!(o.get("/setup").await.location(), "/login");

    let p = o.post("/logout", &[]).await;
    assert_eq!((p.status, p.location()), (303, "/login"));
    assert_eq!(o.get("/").await.location(), "/login");

    let p = o.login("wrong password").await;
    assert_eq!(p.status, 401);
    assert!(p.body.contains("Wrong password."));
    let p = o.login(PASSWORD).await;
    assert_eq!((p.status, p.location()), (303, "/"));
    assert_eq!(o.get("/clients").await.status, 200);
}

#[tokio::test]
async fn clients_and_overview_show_the_data_counted() {
    let lab = lab("admin-usage").await;
    give_an_hour(&lab, phone_mac(3)).await;
    // The daemon reads the counters each second too: the rate shown depends on which read came
    // last (the rate itself is proven in `usage`'s unit tests), the bytes do not.
    lab.gate.count(phone_mac(3), 12_250_000, 1_500_000);
    lab.daemon().usage.read().await;
    let mut o = owner(&lab).await;
    let p = o.get("/clients").await;
    assert!(p.body.contains("Data used"), "{}", p.body);
    assert!(
        p.body
            .contains("12 MB ↓ / 1.5 MB ↑<br><span class=\"muted\">now "),
        "{}",
        p.body
    );
    assert!(
        !p.body.contains(" left</span>"),
        "an hour with unlimited data"
    );
    // A 50 MB bundle bought with a voucher: what is left of it shows too.
    lab.set_data(1, Some(50));
    lab.online_by_voucher(4, 1).await;
    lab.gate.count(phone_mac(4), 9_000_000, 1_000_000);
    lab.daemon().usage.read().await;
    let p = o.get("/clients").await;
    assert!(
        p.body
            .contains("<span class=\"muted\">40 MB of 50 MB left</span>"),
        "{}",
        p.body
    );
    let p = o.get("/").await;
    assert!(
        p.body.contains("Traffic today")
            && p.body.contains("23 MB")
            && p.body.contains("21 MB down, 2.5 MB up"),
        "{}",
        p.body
    );
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let mut lab = lab("admin-csrf").await;
    give_an_hour(&lab, phone_mac(2)).await;
    let mut o = owner(&lab).await;
    let mac = phone_mac(2).to_string();
    for form in [
        vec![("mac", mac.as_str())],
        vec![("mac", mac.as_str()), ("csrf", "")],
        vec![
            ("mac", mac.as_str()),
            (
                "csrf",
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ),
        ],
    ] {
        let p = o.post_raw("/clients/kick", &form).await;
        assert_eq!(p.status, 403, "{form:?}");
        assert!(p.body.contains("CSRF"), "{}", p.body);
    }
    assert!(
        lab.gate.admitted().contains_key(&phone_mac(2)),
        "nobody was kicked"
    );

    // A form from another site is refused even with a token.
    o.get("/clients").await;
    let r = o
        .http
        .post(format!("{}/clients/kick", o.base))
        .header(
            "cookie",
            format!("lango_admin={}", o.cookies["lango_admin"]),
        )
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("mac={mac}&csrf={}", o.csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Without a session, a POST is refused too (and logging in needs the pre-login token).
    let mut stranger = lab.owner("127.0.0.51");
    assert_eq!(
        stranger
            .post_raw("/clients/kick", &[("mac", &mac)])
            .await
            .status,
        403
    );
    assert_eq!(
        stranger
            .post_raw("/login", &[("password", PASSWORD)])
            .await
            .status,
        403
    );

    let p = o.post("/clients/kick", &[("mac", &mac)]).await;
    assert_eq!((p.status, p.location()), (303, "/clients"));
    assert!(!lab.gate.admitted().contains_key(&phone_mac(2)));
    let p = o.get("/clients").await;
    assert!(p.body.contains(&format!("{mac} was disconnected.")));
    lab.crash().await;
}

#[tokio::test]
async fn wrong_passwords_are_throttled_per_address() {
    let lab = lab("admin-throttle").await;
    let mut o = owner(&lab).await;
    o.post("/logout", &[]).await;
    for i in 1..=5 {
        let p = o.login(&format!("guess {i}")).await;
        assert_eq!(p.status, 401, "try {i}");
    }
    let p = o.login(PASSWORD).await;
    assert_eq!(p.status, 429, "even the right password waits");
    assert!(p.body.contains("Too many wrong passwords"), "{}", p.body);
    assert!(p.body.contains("Wait 5 minutes"), "{}", p.body);

    // Another device is not held back.
    let mut other = lab.owner("127.0.0.52");
    assert_eq!(other.login(PASSWORD).await.status, 303);

    lab.clock.advance(5 * 60);
    assert_eq!(o.login(PASSWORD).await.status, 303);
}

#[tokio::test]
async fn an_idle_session_ends() {
    let lab = lab("admin-idle").await;
    let mut o = owner(&lab).await;
    lab.clock.advance(59 * 60);
    assert_eq!(o.get("/").await.status, 200);
    lab.clock.advance(61 * 60);
    assert_eq!(o.get("/").await.location(), "/login");
}

#[tokio::test]
async fn packages_are_validated_and_show_on_the_portal_at_once() {
    let lab = lab("admin-packages").await;
    let mut o = owner(&lab).await;
    o.get("/packages/new").await;
    let p = o
        .post(
            "/packages/new",
            &[
                ("name", ""),
                ("duration", "31"),
                ("unit", "d"),
                ("down", "0.05"),
                ("up", "2000"),
                ("price", "0"),
                ("active", "1"),
                ("data", "1001"),
                ("data_unit", "GB"),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    for (field, msg) in [
        ("name", "A name is 1 to 32 characters."),
        ("duration", "The time is 1 minute to 30 days."),
        ("down", "A speed is 0.1 to 1000 Mbps."),
        ("up", "A speed is 0.1 to 1000 Mbps."),
        ("price", "A price is KES 1 to 250,000"),
        ("data", "Data is 1 MB to 1 TB"),
    ] {
        let at = p
            .body
            .find(&format!("id=\"{field}-error\""))
            .unwrap_or_else(|| panic!("no error for {field}"));
        assert!(p.body[at..at + 200].contains(msg), "{field}");
    }
    assert!(
        p.body.contains("value=\"31\""),
        "the typed values come back"
    );

    let p = o
        .post(
            "/packages/new",
            &[
                ("name", "Wiki Nzima"),
                ("duration", "7"),
                ("unit", "d"),
                ("down", "8"),
                ("up", "2.5"),
                ("price", "1,000"),
                ("active", "1"),
                ("data", "1,5"),
                ("data_unit", "GB"),
            ],
        )
        .await;
    assert_eq!((p.status, p.location()), (303, "/packages"));
    let list = o.get("/packages").await;
    assert!(list.body.contains("Package “Wiki Nzima” saved."));
    let (_, api) = lab.phone(1).get_json("/api/packages").await;
    let pkg = api["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Wiki Nzima")
        .expect("on the portal")
        .clone();
    assert_eq!(
        (
            pkg["duration_s"].as_u64(),
            pkg["down"].as_u64(),
            pkg["up"].as_u64(),
            pkg["price"].as_u64(),
            pkg["data_mb"].as_u64()
        ),
        (
            Some(7 * 86_400),
            Some(8000),
            Some(2500),
            Some(1000),
            Some(1500)
        )
    );
    assert!(
        list.body.contains("1.5 GB"),
        "the Packages page shows the data"
    );
    let id = pkg["id"].as_i64().unwrap();

    // Edit, then take it off sale: the portal follows.
    o.get(&format!("/packages/{id}")).await;
    let p = o
        .post(
            &format!("/packages/{id}"),
            &[
                ("name", "Wiki"),
                ("duration", "7"),
                ("unit", "d"),
                ("down", "8"),
                ("up", "2.5"),
                ("price", "900"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, 303);
    assert!(lab
        .phone(1)
        .get("/")
        .await
        .text()
        .await
        .unwrap()
        .contains("Wiki"));
    o.get("/packages").await;
    let p = o.post(&format!("/packages/{id}/active"), &[]).await;
    assert_eq!(p.status, 303);
    let (_, api) = lab.phone(1).get_json("/api/packages").await;
    assert!(api["packages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["id"] != id));
    assert!(o.get("/packages").await.body.contains("is off sale"));
    assert_eq!(o.get("/packages/999").await.status, 404);
}

#[tokio::test]
async fn payments_filter_and_export_a_csv_a_spreadsheet_opens_safely() {
    let lab = lab("admin-payments").await;
    let mut o = owner(&lab).await;
    // A package whose name a spreadsheet would run as a formula.
    o.get("/packages/new").await;
    let p = o
        .post(
            "/packages/new",
            &[
                ("name", "=HYPERLINK(\"x\")"),
                ("duration", "1"),
                ("unit", "h"),
                ("down", "1"),
                ("up", "1"),
                ("price", "15"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(p.status, 303);
    let evil = lab
        .daemon()
        .store
        .with(packages::all)
        .unwrap()
        .into_iter()
        .find(|p| p.name.starts_with('='))
        .unwrap()
        .id;
    let now = lab.now();
    seed_payment(
        &lab,
        "0708374149",
        2,
        now - 3600,
        PaymentState::Paid,
        "SIM0000001",
    );
    seed_payment(
        &lab,
        "0712341032",
        1,
        now - 1800,
        PaymentState::Cancelled,
        "",
    );
    seed_payment(
        &lab,
        "0712345678",
        evil,
        now - 60,
        PaymentState::Paid,
        "SIM0000002",
    );

    let p = o.get("/payments").await;
    assert!(p.body.contains("3 payments."), "{}", p.body);
    assert!(p.body.contains("SIM0000001"));
    // Whole numbers here, to match the M-Pesa statement; masked in the Overview's summary.
    assert!(p.body.contains("254708374149"), "whole phone numbers");
    let overview = o.get("/").await;
    assert!(
        overview.body.contains("2547****149"),
        "the summary masks them"
    );
    assert!(!overview.body.contains("254708374149"));
    let p = o.get("/payments?state=paid&phone=0708+374+149").await;
    assert!(p.body.contains(">1 payment."), "{}", p.body);
    let p = o.get("/payments?from=2001-13-01").await;
    assert!(p.body.contains("A date looks like 2025-01-31."));
    // From after To is a mistake to fix, not an empty list.
    let p = o.get("/payments?from=2026-03-02&to=2026-03-01").await;
    assert!(
        p.body.contains("The To date is before the From date.")
            && p.body.contains("Fix the filter above")
            && !p.body.contains("No payments"),
        "{}",
        p.body
    );

    let r = o.get("/payments.csv?state=paid").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    let cd = r.headers["content-disposition"].to_str().unwrap();
    assert!(
        cd.starts_with("attachment; filename=\"lango-payments-") && cd.ends_with(".csv\""),
        "{cd}"
    );
    assert!(r.body.starts_with('\u{feff}'), "a BOM so Excel reads UTF-8");
    let lines: Vec<&str> = r
        .body
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .collect();
    assert_eq!(lines[0], "id,created (EAT),updated (EAT),phone,package,amount_kes,state,result_code,result,receipt,device,checkout_request_id,paid_late (EAT)");
    assert_eq!(
        lines.len(),
        4,
        "header, 2 paid, empty after the last CRLF: {lines:?}"
    );
    assert!(
        lines[1].contains(",\"'=HYPERLINK(\"\"x\"\")\",15,paid,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(",254708374149,Standard,50,paid,0,from the test,SIM0000001,"),
        "{}",
        lines[2]
    );
    // Not logged in: no CSV.
    let mut stranger = lab.owner("127.0.0.51");
    assert_eq!(stranger.get("/payments.csv").await.location(), "/login");
}

#[tokio::test]
async fn overview_adds_up_eat_days_and_masks_phones() {
    let lab = lab("admin-overview").await;
    let mut o = owner(&lab).await;
    let now = lab.now();
    let today_start = lango::clock::eat_day_start(lango::clock::eat_day(now));
    seed_payment(
        &lab,
        "0708374149",
        3,
        today_start + 10,
        PaymentState::Paid,
        "R1",
    ); // 100 today
    seed_payment(
        &lab,
        "0708374149",
        2,
        today_start - 86_400 * 3,
        PaymentState::Paid,
        "R2",
    ); // 50
    seed_payment(
        &lab,
        "0708374149",
        4,
        today_start - 86_400 * 20,
        PaymentState::Paid,
        "R3",
    ); // 300
    seed_payment(
        &lab,
        "0708374149",
        4,
        today_start - 86_400 * 40,
        PaymentState::Paid,
        "R4",
    ); // too old
    seed_payment(
        &lab,
        "0712341032",
        1,
        today_start + 20,
        PaymentState::Cancelled,
        "",
    );
    let p = o.get("/").await;
    let figure = |name: &str| {
        let at = p
            .body
            .find(&format!("<div class=\"name\">{name}</div>"))
            .unwrap();
        p.body[at..]
            .split("<div class=\"num\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(figure("Today"), "KES 100");
    assert_eq!(figure("Last 7 days"), "KES 150");
    assert_eq!(figure("Last 30 days"), "KES 450");
    assert_eq!(figure("Payment success"), "66.7 %");
    assert_eq!(p.body.matches("<rect class=\"bar\"").count(), 30);
    assert!(p.body.contains("2547****149"));
    assert!(!p.body.contains("254708374149"));
}

#[tokio::test]
async fn vouchers_generate_print_revoke_and_export() {
    let lab = lab("admin-vouchers").await;
    lab.set_data(2, Some(1500));
    let mut o = owner(&lab).await;
    let p = o.get("/vouchers").await;
    assert!(
        p.body.contains("Standard — 1.5 GB, 3 h, 5 Mbps"),
        "{}",
        p.body
    );
    let p = o
        .post("/vouchers", &[("package", "2"), ("count", "1001")])
        .await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("How many: 1 to 1000."));
    let p = o
        .post(
            "/vouchers",
            &[("package", "2"), ("count", "5"), ("expires", "2001-01-01")],
        )
        .await;
    assert!(p.body.contains("That day is already past."));

    let last_day = lango::clock::eat_date(lango::clock::eat_day(lab.now()) + 7);
    let p = o
        .post(
            "/vouchers",
            &[("package", "2"), ("count", "30"), ("expires", &last_day)],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let batch_page = p.location().to_string();
    let batch = batch_page.trim_start_matches("/vouchers/").to_string();
    let p = o.get(&batch_page).await;
    assert!(p.body.contains("30 vouchers generated."));
    assert!(
        p.body.contains("(1.5 GB, 3 h, 5 Mbps ↓, KES 50)"),
        "{}",
        p.body
    );
    assert!(p.body.contains(&format!("Valid until {last_day}")));
    let codes: Vec<String> = lab
        .daemon()
        .store
        .with({
            let b = batch.clone();
            move |c| lango::store::vouchers::in_batch(c, &b)
        })
        .unwrap()
        .into_iter()
        .map(|v| v.code)
        .collect();
    assert_eq!(codes.len(), 30);

    let sheet = o.get(&format!("/vouchers/{batch}/print")).await;
    assert_eq!(
        sheet.body.matches("<section class=\"page\">").count(),
        2,
        "24 a page"
    );
    assert_eq!(sheet.body.matches("<div class=\"card\">").count(), 30);
    assert!(sheet.body.contains("Lango Demo") && sheet.body.contains("KES 50"));
    assert!(sheet
        .body
        .contains(&format!("{}-{}", &codes[0][..5], &codes[0][5..])));
    assert_eq!(
        sheet
            .body
            .matches("open any page, enter this code.")
            .count(),
        30,
        "each card says how to use it"
    );
    assert_eq!(sheet.body.matches("fungua ukurasa wowote").count(), 30);
    let css = o.get("/static/print.css").await;
    assert!(css.body.contains("@page{size:A4"));
    // Assets have versioned URLs and are kept: a changed file gets a new URL.
    assert!(
        sheet.body.contains("/static/print.css?v="),
        "{}",
        sheet.body
    );
    let overview = o.get("/").await;
    for asset in ["/static/admin.css?v=", "/static/admin.js?v="] {
        let at = overview.body.find(asset).expect(asset) + asset.len();
        let v = &overview.body[at..at + 10];
        assert!(v.bytes().all(|b| b.is_ascii_hexdigit()), "{v}");
        let r = o.get(&format!("{asset}{v}")).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
    }
    // The batch's page: Print first, then the list; revoking one code asks first.
    let list = o.get(&batch_page).await;
    let print = list.body.find("Print sheet").unwrap();
    let table = list.body.find("<table").unwrap();
    assert!(print < table, "Print is above the codes");
    assert_eq!(
        list.body.matches("Its printed card stops working.").count(),
        30,
        "{}",
        list.body
    );
    assert!(!list.body.contains("cbi-button-negative cbi-button-small"));

    // Revoke one: the portal refuses it; another still works.
    o.get(&batch_page).await;
    let p = o
        .post(
            "/vouchers/revoke",
            &[("code", &codes[0]), ("batch", &batch)],
        )
        .await;
    assert_eq!(p.location(), batch_page);
    assert!(o.get(&batch_page).await.body.contains("1 voucher revoked."));
    let phone = lab.phone(4);
    let (s, v) = phone
        .post_json("/api/voucher", &format!(r#"{{"code":"{}"}}"#, codes[0]))
        .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("voucher_refused")));
    let (s, _) = phone
        .post_json("/api/voucher", &format!(r#"{{"code":"{}"}}"#, codes[1]))
        .await;
    assert_eq!(s, 200);

    let csv = o.get(&format!("/vouchers/{batch}.csv")).await;
    let lines: Vec<&str> = csv
        .body
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .collect();
    assert_eq!(lines.len(), 32);
    assert!(lines.iter().any(|l| l.contains(",revoked,")));
    assert!(lines
        .iter()
        .any(|l| l.contains(&format!(",used,{last_day},{}", phone_mac(4)))));

    o.get(&batch_page).await;
    let p = o.post("/vouchers/revoke", &[("batch", &batch)]).await;
    assert_eq!(p.status, 303);
    assert!(o
        .get(&batch_page)
        .await
        .body
        .contains("28 vouchers revoked."));
    let list = o.get("/vouchers").await;
    assert!(list.body.contains(&batch));
}

#[tokio::test]
async fn clients_are_listed_kicked_extended_and_gifted() {
    let lab = lab("admin-clients").await;
    std::fs::write(
        lab.dir.join("dhcp.leases"),
        format!(
            "1764000000 {} 192.168.1.105 Tecno-Spark-10 *\n",
            phone_mac(5)
        ),
    )
    .unwrap();
    let phone = lab.phone(5);
    let id = phone.pay(2, "0708374149").await;
    assert_eq!(lab.wait_final(&phone, id).await["state"], "paid");
    let mut o = owner(&lab).await;
    let p = o.get("/clients").await;
    assert!(p.body.contains(&phone_mac(5).to_string()));
    assert!(
        p.body.contains("Tecno-Spark-10"),
        "hostname from the leases"
    );
    assert!(p.body.contains("Standard"));
    assert!(p.body.contains("3 h"));
    assert!(p.body.contains("5 Mbps ↓ / 2 Mbps ↑"));

    let mac5 = phone_mac(5).to_string();
    let p = o
        .post("/clients/extend", &[("mac", &mac5), ("minutes", "30")])
        .await;
    assert_eq!(p.status, 303);
    assert!(o.get("/clients").await.body.contains("Added 30 min"));
    assert_eq!(
        lab.gate.admitted()[&phone_mac(5)].seconds,
        3 * 3600 + 30 * 60
    );

    // A gift to a device that is not online, at a package's speed.
    let mac6 = phone_mac(6).to_string();
    let p = o
        .post(
            "/clients/grant",
            &[("mac", "not a mac"), ("minutes", "0"), ("speed", "1")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("is not a MAC address"));
    assert!(p.body.contains("Minutes must be a whole number"));
    o.get("/clients").await;
    let p = o
        .post(
            "/clients/grant",
            &[("mac", &mac6), ("minutes", "45"), ("speed", "1")],
        )
        .await;
    assert_eq!(p.status, 303);
    let c = &lab.gate.admitted()[&phone_mac(6)];
    assert_eq!((c.seconds, c.down.0, c.up.0), (45 * 60, 2000, 1000));
    let (_, status) = lab.phone(6).get_json("/api/status").await;
    assert_eq!(status["online"], true);

    o.get("/clients").await;
    let p = o.post("/clients/kick", &[("mac", &mac5)]).await;
    assert_eq!(p.status, 303);
    assert!(!lab.gate.admitted().contains_key(&phone_mac(5)));
    let (_, status) = phone.get_json("/api/status").await;
    assert_eq!(status["online"], false);
}

#[tokio::test]
async fn settings_are_written_in_place_and_applied_without_dropping_anyone() {
    let lab = lab("admin-settings").await;
    let path = lab.config_path();
    let original = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("# Written by hand\n{original}\tlist frobnicate 'kept'\n"),
    )
    .unwrap();
    phone_7_redeems_a_voucher(&lab).await;
    let mut o = owner(&lab).await;
    let page = o.get("/settings").await;
    assert!(page
        .body
        .contains("placeholder=\"set — leave empty to keep\""));
    assert!(
        !page.body.contains(lango::sim::DEMO_CONSUMER_SECRET),
        "secrets are write-only"
    );

    let form = |trusted: &'static str| settings_form(&[("trusted", trusted)]);
    let before = std::fs::read_to_string(&path).unwrap();
    let p = o.post("/settings", &form("aa:bb:cc:dd:ee:0g")).await;
    assert_eq!(p.status, 400);
    assert!(
        p.body.contains("id=\"trusted-error\""),
        "the error sits next to its field"
    );
    assert!(
        p.body.contains("Mama Mboga Wi-Fi"),
        "the typed values come back"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        before,
        "a bad config is never written"
    );

    // Every bad field is reported at once, not only the first.
    let many = settings_form(&[
        ("trusted", "aa:bb:cc:dd:ee:0g"),
        ("callback_url", "not a url"),
        ("shortcode", "12x"),
    ]);
    let p = o.post("/settings", &many).await;
    assert_eq!(p.status, 400);
    for id in ["trusted-error", "callback_url-error", "shortcode-error"] {
        assert!(p.body.contains(&format!("id=\"{id}\"")), "{id}: {}", p.body);
    }
    assert!(
        p.body.contains("correct the 3 fields marked below"),
        "{}",
        p.body
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    let p = o.post("/settings", &form("AA:BB:CC:DD:EE:01")).await;
    assert_eq!((p.status, p.location()), (303, "/settings"));
    let p = o.get("/settings").await;
    assert!(
        p.body
            .contains("Saved. trusted take effect when you press Apply")
            && p.body.contains("Saved, not yet in force: <b>trusted</b>"),
        "{}",
        p.body
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# Written by hand\n"));
    assert!(text.contains("\tlist frobnicate 'kept'"));
    assert!(text.contains("\toption site_name 'Mama Mboga Wi-Fi'"));
    assert!(text.contains("\tlist trusted 'aa:bb:cc:dd:ee:01'"));
    assert!(
        text.contains(&format!(
            "\toption consumer_secret '{}'",
            lango::sim::DEMO_CONSUMER_SECRET
        )),
        "empty secret kept"
    );

    // The portal shows the new name, welcome and language at once; the voucher customer is still online.
    let page = lab.phone(1).get("/").await.text().await.unwrap();
    assert!(page.contains("Mama Mboga Wi-Fi"));
    assert!(page.contains("<p class=\"welcome\">Karibu! Fast Wi-Fi by the hour.</p>"));
    assert!(page.contains("Chagua kifurushi"));
    assert!(lab.gate.admitted().contains_key(&phone_mac(7)));
    let (_, status) = lab.phone(7).get_json("/api/status").await;
    assert_eq!(status["online"], true);
    assert!(o.get("/clients").await.body.contains("aa:bb:cc:dd:ee:01"));

    // New Daraja credentials are used by the next payment.
    o.get("/settings").await;
    let mut f = form("");
    f.retain(|(k, _)| *k != "consumer_secret");
    f.push(("consumer_secret", "wrong-secret"));
    assert_eq!(o.post("/settings", &f).await.status, 303);
    let (s, v) = lab
        .phone(8)
        .post_json("/api/pay", r#"{"package_id":1,"phone":"0708374149"}"#)
        .await;
    assert_eq!(s, 202);
    assert_eq!(
        v["state"], "failed",
        "the simulator refuses the new secret: {v}"
    );
    // `lango status` reports the new settings' health, not the start-up ones'.
    let mut daraja = serde_json::Value::Null;
    for _ in 0..100 {
        daraja = lab.ctl(lango::ctl::Request::Status).await["daraja"].clone();
        if daraja["state"] == "refused" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(daraja["state"], "refused", "{daraja}");

    // A passkey removed by hand: the overview says M-Pesa is not set up.
    let text = std::fs::read_to_string(&path).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.contains("option passkey"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, text).unwrap();
    o.get("/settings").await;
    assert_eq!(o.post("/settings", &form("")).await.status, 303);
    let p = o.get("/").await;
    assert!(
        p.body.contains("M-Pesa is not set up (passkey empty)"),
        "{}",
        p.body
    );
}

#[tokio::test]
async fn changing_the_password_logs_other_browsers_out() {
    let lab = lab("admin-password").await;
    let mut o = owner(&lab).await;
    let mut other = lab.owner("127.0.0.53");
    assert_eq!(other.login(PASSWORD).await.status, 303);
    o.get("/password").await;
    let p = o
        .post(
            "/password",
            &[
                ("current", "nope"),
                ("password", "new password 1"),
                ("repeat", "new password 1"),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("That is not the current password."));
    let p = o
        .post(
            "/password",
            &[
                ("current", PASSWORD),
                ("password", "new password 1"),
                ("repeat", "new password 1"),
            ],
        )
        .await;
    assert_eq!((p.status, p.location()), (303, "/password"));
    assert!(o.get("/password").await.body.contains("Password changed."));
    assert_eq!(other.get("/").await.location(), "/login");
    assert_eq!(other.login(PASSWORD).await.status, 401);
    assert_eq!(other.login("new password 1").await.status, 303);
}

/// The Settings page once the owner's page answers again and `ready` holds for it, within 5 s;
/// the owner must stay logged in throughout.
async fn settings_once(o: &mut Owner, ready: impl Fn(&str) -> bool) -> String {
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Refused or reset while the services restart: try again.
        let Some(p) = o.try_get("/settings").await else {
            continue;
        };
        assert_eq!(p.status, 200, "still logged in: {}", p.body);
        if ready(&p.body) {
            return p.body;
        }
    }
    panic!(
        "the Settings page never got there: {}",
        o.get("/settings").await.body
    );
}

/// A free loopback port (bound, then let go).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn apply_restarts_the_services_in_place_and_keeps_everyone_on() {
    let mut lab = lab("admin-apply").await;
    phone_7_redeems_a_voucher(&lab).await;
    // The same Lango, now run as `lango run` runs it: by `daemon::serve`, on fixed ports (a
    // restart binds them again).
    lab.crash().await;
    let (admin_port, portal_port) = (free_port(), free_port());
    let path = lab.config_path();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("127.0.0.1:0", "127.0.0.1:1")
        .replacen("127.0.0.1:1", &format!("127.0.0.1:{admin_port}"), 1);
    std::fs::write(&path, text).unwrap();
    // A RADIUS Disconnect/CoA listener on a fixed port too: a restart must free it and bind it
    // again. (Its server is a loopback port nobody answers; nothing is sent unless a session
    // starts or ends.)
    let coa_port = free_port();
    std::fs::write(
        &path,
        std::fs::read_to_string(&path).unwrap()
            + &format!(
                "\nconfig radius 'radius'\n\toption server '127.0.0.1'\n\toption auth_port '9'\n\toption acct_port '9'\n\toption secret 'testing123'\n\toption coa_listen '127.0.0.1:{coa_port}'\n"
            ),
    )
    .unwrap();
    let config = lango::config::Config::load(&path).unwrap();
    assert_eq!(config.admin_listen.port(), admin_port, "{config:?}");
    let portal: std::net::SocketAddr = format!("127.0.0.1:{portal_port}").parse().unwrap();
    let (gate, clock, arp) = (lab.gate.clone(), lab.clock.clone(), lab.dir.join("arp"));
    let serving = tokio::spawn(lango::daemon::serve(
        config,
        move |_: &lango::config::Config| lango::daemon::Parts {
            gate: gate.clone(),
            neighbours: lango::gate::neigh::Neighbours::from_arp_file(arp.clone()),
            clock: std::sync::Arc::new(clock.clone()),
            portal_listen: Some(portal),
        },
        false,
        async |_| Ok(()),
    ));
    let pem = std::fs::read(lab.config().admin_cert).unwrap();
    let base = format!("https://127.0.0.1:{admin_port}");
    let mut o = Owner::new(&base, "127.0.0.50".parse().unwrap(), &pem);
    // Up to 20 s: the machine may be busy with the other tests.
    let mut up = false;
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(("127.0.0.1", admin_port))
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        assert!(!serving.is_finished(), "Lango stopped: {:?}", serving.await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the owner's page listens");
    o.setup().await;

    // Nothing waits: the Settings page offers no Apply.
    let p = o.get("/settings").await;
    assert!(!p.body.contains("/settings/apply"), "{}", p.body);
    let coa = format!("127.0.0.1:{coa_port}");
    let radius = [("server", "127.0.0.1"), ("coa_listen", coa.as_str())];
    let with_radius = |walled: &'static str| {
        let mut f = settings_form(&radius);
        f.retain(|(k, _)| *k != "walled_garden");
        f.push(("walled_garden", walled));
        f
    };
    let p = o.post("/settings", &with_radius("10.9.0.0/24")).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = o.get("/settings").await;
    assert!(
        p.body
            .contains("Saved, not yet in force: <b>walled_garden</b>"),
        "{}",
        p.body
    );
    assert!(p.body.contains("action=\"/settings/apply\""), "{}", p.body);

    let p = o.post("/settings/apply", &[]).await;
    assert_eq!(p.status, 200);
    assert_eq!(p.headers["refresh"], "4; url=/settings");
    assert!(p.body.contains("Applying walled_garden"), "{}", p.body);
    // Back within seconds, the owner still logged in, nothing waiting, the phone still online.
    let p = settings_once(&mut o, |b| !b.contains("not yet in force")).await;
    assert!(
        p.contains("10.9.0.0/24"),
        "the restart put the walled garden in force: {p}"
    );
    assert!(lab.gate.admitted().contains_key(&phone_mac(7)));
    let status = reqwest::Client::builder()
        .local_address(phone_ip(7))
        .build()
        .unwrap()
        .get(format!("http://{portal}/api/status"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status.contains("\"online\":true"), "{status}");

    // Saved settings that cannot start (a port already taken): Lango comes back with the
    // ones it had and says why.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let text = std::fs::read_to_string(&path).unwrap();
    let http_line = text
        .lines()
        .find(|l| l.contains("admin_http_listen"))
        .unwrap()
        .to_string();
    std::fs::write(
        &path,
        text.replace(
            &http_line,
            &format!("\toption admin_http_listen '127.0.0.1:{taken_port}'"),
        ),
    )
    .unwrap();
    o.get("/settings").await;
    let p = o.post("/settings", &with_radius("10.8.0.0/24")).await;
    assert_eq!(p.status, 303);
    o.get("/settings").await;
    assert_eq!(o.post("/settings/apply", &[]).await.status, 200);
    let explained = settings_once(&mut o, |b| b.contains("could not start")).await;
    assert!(
        explained.contains(&format!(
            "admin_http_listen: cannot listen on 127.0.0.1:{taken_port}"
        )),
        "{explained}"
    );
    assert!(explained.contains("10.9.0.0/24") && !explained.contains("10.8.0.0/24"));
    assert!(lab.gate.admitted().contains_key(&phone_mac(7)));
    drop(taken);
    serving.abort();
}

#[tokio::test]
async fn the_owners_page_and_the_cli_follow_one_rule_per_action() {
    use lango::ctl::Request;
    let lab = lab("admin-rules").await;
    let mut o = owner(&lab).await;
    let a_year = (366 * 24 * 60).to_string();
    // A gift of a year is within the rule, through either door.
    o.get("/clients").await;
    fn gift(minutes: &str) -> [(&'static str, &str); 3] {
        [
            ("mac", "02:aa:00:00:00:09"),
            ("minutes", minutes),
            ("speed", "unlimited"),
        ]
    }
    let p = o.post("/clients/grant", &gift(&a_year)).await;
    assert_eq!(p.status, 303, "{}", p.body);
    let auth = |minutes| Request::Auth {
        mac: phone_mac(10),
        minutes,
        down_kbps: None,
        up_kbps: None,
    };
    assert_eq!(lab.ctl(auth(366 * 24 * 60)).await["ok"], true);
    // A minute more is refused by both, each naming its own field or flag.
    let p = o.post("/clients/grant", &gift("527041")).await;
    assert!(
        p.body
            .contains("Minutes must be a whole number from 1 to 527040."),
        "{}",
        p.body
    );
    let socket = lab.config().control_socket;
    let refused = |req| {
        let socket = socket.clone();
        async move { lango::ctl::ask(&socket, &req).await.unwrap_err() }
    };
    assert_eq!(
        refused(auth(527_041)).await,
        "--minutes: 527041 minutes: must be 1 to 527040 (a year)"
    );
    // No such package: the CLI names its flag; the owner's page shows no CLI flag.
    let v = refused(Request::VouchersGenerate {
        package: 99,
        count: 1,
        valid_days: None,
    })
    .await;
    assert_eq!(v, "--package: package 99: no such package");
    o.get("/vouchers").await;
    let p = o
        .post(
            "/vouchers",
            &[("package", "99"), ("count", "1"), ("expires", "")],
        )
        .await;
    assert!(p.body.contains("package 99: no such package"), "{}", p.body);
    assert!(!p.body.contains("--package"), "{}", p.body);
}
