//! Nobody gets what they should not: Daraja secrets, access tokens and whole phone numbers never
//! reach the log or a page, and the control socket is root's alone. The daemon's log is captured
//! at trace level through a payment, a refused-credentials spell and a failed push.

mod common;

use common::*;
use lango::sim::Faults;
use std::os::unix::fs::PermissionsExt;
use std::sync::Mutex;
use std::time::Duration;

static LOG: Mutex<String> = Mutex::new(String::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, r: &log::Record) {
        let mut l = LOG.lock().unwrap_or_else(|p| p.into_inner());
        l.push_str(&format!("{} {}\n", r.level(), r.args()));
    }
    fn flush(&self) {}
}

#[tokio::test]
async fn secrets_and_phone_numbers_stay_out_of_logs_and_pages() {
    log::set_boxed_logger(Box::new(Capture)).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let lab = Lab::start("secrets", Duration::from_millis(100)).await;
    let mode = std::fs::metadata(lab.config().control_socket)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "control socket is root's alone");

    let phone = lab.phone(3);
    let id = phone.pay(2, "0708374149").await;
    assert_eq!(lab.wait_final(&phone, id).await["state"], "paid");
    let mut pages = vec![phone.get(&format!("/pay/{id}")).await.text().await.unwrap()];

    // Daraja refuses the credentials: the failure is explained without them.
    lab.sim.set_faults(Faults {
        refuse_credentials: true,
        ..Faults::default()
    });
    let other = lab.phone(4);
    let (_, v) = other
        .post_json("/api/pay", r#"{"package_id":1,"phone":"0712345678"}"#)
        .await;
    pages.push(v.to_string());
    if let Some(id) = v["id"].as_i64() {
        let done = lab.wait_final(&other, id).await;
        pages.push(done.to_string());
        pages.push(other.get(&format!("/pay/{id}")).await.text().await.unwrap());
    }
    let status = lab.ctl(lango::ctl::Request::Status).await;
    pages.push(status.to_string());

    let log = LOG.lock().unwrap().clone();
    assert!(
        log.contains("2547****149"),
        "phones are logged masked:\n{log}"
    );
    let config = lab.config();
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            config.daraja.consumer_key.0, config.daraja.consumer_secret.0
        ))
    };
    for secret in [
        config.daraja.consumer_secret.0.as_str(),
        config.daraja.passkey.0.as_str(),
        basic.as_str(),
        "Bearer ",
        "254708374149",
        "0708374149",
        "254712345678",
    ] {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
        for p in &pages {
            assert!(!p.contains(secret), "{secret:?} on a page:\n{p}");
        }
    }
}
