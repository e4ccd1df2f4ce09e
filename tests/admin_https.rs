//! The owner's page over HTTPS: a self-signed certificate made at first start (or the owner's),
//! its fingerprint shown where the owner can check it, plain HTTP that only redirects, cookies
//! that never travel in clear, and a bad certificate refused at start and at reload.

mod common;

use common::*;
use std::net::IpAddr;
use std::time::Duration;

const FAST: Duration = Duration::from_millis(150);

fn fingerprint_of(pem_file: &std::path::Path) -> String {
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::CertificateDer::from_pem_file(pem_file).unwrap();
    lango::certs::fingerprint(&der)
}

#[tokio::test]
async fn plain_http_only_redirects_and_never_sets_a_cookie() {
    let lab = Lab::start("https-redirect", FAST).await;
    let http = lab.daemon().admin_http_addr.expect("redirect listener");
    let https_port = lab.daemon().admin_addr.port();
    let from: IpAddr = "127.0.0.50".parse().unwrap();
    let body = "password=mama+mboga+2025&csrf=x";
    for (request, location) in [
        (
            format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n", http.port()),
            format!("https://127.0.0.1:{https_port}/"),
        ),
        (
            "GET /payments?state=paid HTTP/1.1\r\nHost: localhost\r\nCookie: lango_admin=abc\r\nConnection: close\r\n\r\n".to_string(),
            format!("https://localhost:{https_port}/payments?state=paid"),
        ),
        (
            format!(
                "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: lango_pre=x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
            format!("https://127.0.0.1:{https_port}/login"),
        ),
        // Another site's name is not repeated: the router's own address is used instead.
        (
            "GET /setup HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n".to_string(),
            format!("https://127.0.0.1:{https_port}/setup"),
        ),
    ] {
        let (status, text) = raw_http(http, from, &request).await;
        assert_eq!(status, 301, "{request}: {text}");
        assert!(
            text.to_ascii_lowercase().contains(&format!("location: {location}\r\n").to_ascii_lowercase()),
            "{request}: {text}"
        );
        assert!(!text.to_ascii_lowercase().contains("set-cookie"), "{text}");
    }
    let hash = lab
        .daemon()
        .store
        .with(lango::store::admin::password_hash)
        .unwrap();
    assert_eq!(hash, None, "nothing was acted on over plain HTTP");
}

#[tokio::test]
async fn every_cookie_is_secure_and_the_fingerprint_is_shown() {
    let lab = Lab::start("https-cookies", FAST).await;
    let fp = fingerprint_of(&lab.config().admin_cert);
    let mut o = lab.owner("127.0.0.50");
    let mut cookies = vec![];
    let page = o.get("/setup").await;
    cookies.extend(
        page.headers
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap().to_string()),
    );
    assert!(
        page.body.contains(&fp),
        "the footer shows the certificate's SHA-256"
    );
    let p = o
        .post(
            "/setup",
            &[
                ("password", common::owner::PASSWORD),
                ("repeat", common::owner::PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    cookies.extend(
        p.headers
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap().to_string()),
    );
    let p = o.post("/logout", &[]).await;
    cookies.extend(
        p.headers
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap().to_string()),
    );
    assert!(cookies.len() >= 3, "{cookies:?}");
    for c in &cookies {
        assert!(c.split("; ").any(|a| a == "Secure"), "{c}");
    }
    let v = lab.ctl(lango::ctl::Request::Status).await;
    assert_eq!(v["admin_certificate_sha256"], fp.as_str());
}

#[tokio::test]
async fn a_bad_certificate_is_refused_at_start_and_at_reload() {
    let mut lab = Lab::start("https-bad", FAST).await;
    let config = lab.config();
    let running = fingerprint_of(&config.admin_cert);

    // Reload with a certificate file that is not one: refused, naming the option; the running
    // certificate is still served.
    let garbage = lab.dir.join("garbage.crt");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let mut bad = config.clone();
    bad.admin_cert = garbage.clone();
    let e = lab.daemon().live.reload(bad).await.unwrap_err();
    assert!(format!("{e:#}").contains("option admin_cert"), "{e:#}");
    assert_eq!(lab.daemon().certs.fingerprint(), running);
    assert_eq!(lab.owner("127.0.0.50").get("/setup").await.status, 200);

    // A good new certificate and key are served from the next connection on.
    let (cert, key) = (lab.dir.join("new.crt"), lab.dir.join("new.key"));
    let names = vec!["localhost".to_string()];
    let ips: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap()];
    lango::certs::load_or_create(&cert, &key, &names, &ips, lab.now()).unwrap();
    let mut good = config.clone();
    good.admin_cert = cert.clone();
    good.admin_key = key.clone();
    lab.daemon().live.reload(good).await.unwrap();
    let new = fingerprint_of(&cert);
    assert_ne!(new, running);
    assert_eq!(lab.daemon().certs.fingerprint(), new);
    let pem = std::fs::read(&cert).unwrap();
    let o = common::owner::Owner::new(&lab.admin_url(), "127.0.0.50".parse().unwrap(), &pem);
    let r = o
        .http
        .get(format!("{}/setup", lab.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the new certificate is served");

    // At start, a key that is not there (with its certificate present) stops Lango, naming it.
    lab.crash().await;
    let mut text = std::fs::read_to_string(lab.config_path()).unwrap();
    text += &format!(
        "config lango 'main'\n\toption admin_key '{}'\n",
        lab.dir.join("missing.key").display()
    );
    std::fs::write(lab.config_path(), text).unwrap();
    let e = lab.try_boot().await.unwrap_err();
    assert!(format!("{e:#}").contains("option admin_key"), "{e:#}");
}
