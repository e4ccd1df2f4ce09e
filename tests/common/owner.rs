//! The owner in a test: an HTTPS client for the owner's page that trusts the router's
//! certificate, keeps its cookies, never follows redirects, and reads the CSRF token out of the
//! last page it got.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

pub const PASSWORD: &str = "mama mboga 2025";

pub struct Owner {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: BTreeMap<String, String>,
    /// The CSRF token of the last page that had one.
    pub csrf: String,
}

/// An answer, read whole.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or("")
    }
}

impl Owner {
    /// A browser at `from` (a loopback address) opening `base`, trusting the certificate
    /// `cert_pem` (the router's self-signed one, as an owner accepts it once).
    pub fn new(base: &str, from: IpAddr, cert_pem: &[u8]) -> Owner {
        let cert = reqwest::Certificate::from_pem(cert_pem).expect("the router's certificate");
        Owner {
            http: reqwest::Client::builder()
                .local_address(from)
                .add_root_certificate(cert)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            base: base.to_string(),
            cookies: BTreeMap::new(),
            csrf: String::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, r: reqwest::Response) -> Page {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        for c in headers.get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let body = r.text().await.unwrap_or_default();
        if let Some(t) = csrf_in(&body) {
            self.csrf = t;
        }
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.try_get(path).await.expect("the owner's page answers")
    }

    /// `get`, or `None` when the connection fails (the page is restarting).
    pub async fn try_get(&mut self, path: &str) -> Option<Page> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .ok()?;
        Some(self.read(r).await)
    }

    /// POSTs a form exactly as given (no token added).
    pub async fn post_raw(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.read(r).await
    }

    /// POSTs a form with the CSRF token of the last page.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone();
        let mut f = form.to_vec();
        f.push(("csrf", &csrf));
        self.post_raw(path, &f).await
    }

    /// First run: chooses the password on /setup and is logged in.
    pub async fn setup(&mut self) {
        let p = self.get("/setup").await;
        assert_eq!(p.status, 200, "{}", p.body);
        let p = self
            .post("/setup", &[("password", PASSWORD), ("repeat", PASSWORD)])
            .await;
        assert_eq!(p.status, 303, "{}", p.body);
        assert_eq!(p.location(), "/");
        let p = self.get("/").await;
        assert_eq!(p.status, 200);
    }

    /// Logs in with `password`; returns the answer to the POST.
    pub async fn login(&mut self, password: &str) -> Page {
        let p = self.get("/login").await;
        assert!(p.status == 200 || p.status == 303, "{}", p.status);
        self.post("/login", &[("password", password)]).await
    }
}

/// The Settings form as the page sends it (running values, secrets left empty to keep them),
/// with `over` replacing fields.
pub fn settings_form<'a>(over: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("site_name", "Mama Mboga Wi-Fi"),
        ("welcome", "Karibu! Fast Wi-Fi by the hour."),
        ("language", "sw"),
        ("interface", "br-lan"),
        ("walled_garden", ""),
        ("trusted", ""),
        ("environment", "sandbox"),
        ("type", "paybill"),
        ("shortcode", "174379"),
        ("till", ""),
        ("callback_url", ""),
        ("consumer_key", ""),
        ("consumer_secret", ""),
        ("passkey", ""),
        ("server", ""),
        ("secret", ""),
        ("nas_identifier", "lango"),
        ("mode", "unknown"),
        ("interim_interval", "300"),
        ("coa_listen", "0.0.0.0:3799"),
    ];
    for (k, v) in over {
        f.retain(|(o, _)| o != k);
        f.push((k, v));
    }
    f
}

/// The `csrf` hidden field's value in a page.
pub fn csrf_in(body: &str) -> Option<String> {
    let at = body.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(body[at..].split('"').next()?.to_string())
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            b => format!("%{b:02X}"),
        })
        .collect()
}
