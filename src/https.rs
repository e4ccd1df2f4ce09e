//! A small HTTP/1.1 client for the few calls Lango makes (Daraja, and the simulator's callbacks):
//! one connection per request over hyper's client connection and rustls. It replaces a general
//! client whose URL and IDNA stack (Unicode tables) would cost the router more flash than all of
//! this. Also the rules every HTTPS client here shares: which CAs are trusted, what a public
//! https URL is (Daraja's rule for CallBackURL). Touches: the network, the CA files. Never:
//! SQLite, the kernel.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue, HOST, USER_AGENT};
use hyper::Method;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// TCP connect plus TLS handshake must be done by then.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole request, connect included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a request got no answer. Messages name the host and what failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0:?} is not an http(s) URL")]
    BadUrl(String),
    #[error("{host}: {msg}")]
    Connect { host: String, msg: String },
    #[error("{host}: TLS: {msg}")]
    Tls { host: String, msg: String },
    #[error("{host}: no answer within {secs} s")]
    Timeout { host: String, secs: u64 },
    #[error("{host}: {msg}")]
    Http { host: String, msg: String },
}

impl Error {
    /// Whether the request may have reached the server: it was being sent or answered when
    /// the exchange broke or timed out (a connection or TLS failure means it never left).
    pub fn may_have_arrived(&self) -> bool {
        matches!(self, Error::Timeout { .. } | Error::Http { .. })
    }
}

/// An answer: status and (size-limited) body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// Where a URL points.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    tls: bool,
    host: String,
    port: u16,
    /// Path and query, starting with `/`.
    path: String,
}

/// Parses `http(s)://host[:port][/path][?query]` (no user info, no fragments).
fn target(url: &str) -> Option<Target> {
    let (tls, rest) = match url.split_once("://")? {
        ("https", r) => (true, r),
        ("http", r) => (false, r),
        _ => return None,
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.contains(['@', ' ', '#']) || path.contains([' ', '#']) {
        return None;
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (h, after) = v6.split_once(']')?;
            (
                h,
                if after.is_empty() {
                    None
                } else {
                    Some(after.strip_prefix(':')?)
                },
            )
        }
        None => match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None if tls => 443,
        None => 80,
    };
    if host.is_empty() {
        return None;
    }
    let path = match path.strip_prefix('?') {
        Some(q) => format!("/?{q}"),
        None if path.is_empty() => "/".into(),
        None => path.into(),
    };
    Some(Target {
        tls,
        host: host.into(),
        port,
        path,
    })
}

/// Whether `url` is `http(s)://HOST[:PORT][/PATH]` with no query or fragment: a base that
/// paths can be appended to.
pub fn is_base_url(url: &str) -> bool {
    !url.contains('?') && target(url).is_some()
}

/// Sends requests; cheap to share.
#[derive(Clone)]
pub struct Client {
    tls: TlsConnector,
}

impl Client {
    pub fn new(tls: rustls::ClientConfig) -> Client {
        Client {
            tls: TlsConnector::from(Arc::new(tls)),
        }
    }

    /// Sends one request and reads at most `max_body` bytes of the answer's body.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Vec<u8>,
        max_body: usize,
    ) -> Result<Reply, Error> {
        let t = target(url).ok_or_else(|| Error::BadUrl(url.chars().take(200).collect()))?;
        let host = t.host.clone();
        match tokio::time::timeout(
            REQUEST_TIMEOUT,
            self.exchange(method, t, headers, body, max_body),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                host,
                secs: REQUEST_TIMEOUT.as_secs(),
            }),
        }
    }

    async fn exchange(
        &self,
        method: Method,
        t: Target,
        headers: &[(HeaderName, HeaderValue)],
        body: Vec<u8>,
        max_body: usize,
    ) -> Result<Reply, Error> {
        let host = t.host.clone();
        let connect = async {
            let tcp = TcpStream::connect((t.host.as_str(), t.port))
                .await
                .map_err(|e| Error::Connect {
                    host: host.clone(),
                    msg: e.to_string(),
                })?;
            let _ = tcp.set_nodelay(true);
            if !t.tls {
                return Ok(Stream::Plain(tcp));
            }
            let name = ServerName::try_from(t.host.clone()).map_err(|e| Error::Tls {
                host: host.clone(),
                msg: e.to_string(),
            })?;
            let tls = self.tls.connect(name, tcp).await.map_err(|e| Error::Tls {
                host: host.clone(),
                msg: tls_reason(&e),
            })?;
            Ok(Stream::Tls(Box::new(tls)))
        };
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| Error::Connect {
                host: host.clone(),
                msg: format!("no connection within {} s", CONNECT_TIMEOUT.as_secs()),
            })??;
        let http = |msg: String| Error::Http {
            host: host.clone(),
            msg,
        };
        let (mut sender, driver) = match stream {
            Stream::Plain(s) => open(s).await,
            Stream::Tls(s) => open(*s).await,
        }
        .map_err(|e| http(e.to_string()))?;
        let authority = match (t.tls, t.port) {
            (true, 443) | (false, 80) => bracket(&t.host),
            _ => format!("{}:{}", bracket(&t.host), t.port),
        };
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(t.path.as_str());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let req = req
            .header(HOST, authority)
            .header(USER_AGENT, concat!("lango/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| http(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| http(e.to_string()))?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), max_body)
            .collect()
            .await
            .map_err(|e| http(format!("reading the answer: {e}")))?
            .to_bytes();
        driver.abort();
        Ok(Reply { status, body })
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// HTTP/1.1 over `s`; the connection is driven by its own task until the request is done.
async fn open<S>(s: S) -> hyper::Result<(Sender, tokio::task::JoinHandle<()>)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(s)).await?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok((sender, driver))
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// The useful part of a TLS failure ("invalid peer certificate: UnknownIssuer").
fn tls_reason(e: &std::io::Error) -> String {
    match e.get_ref() {
        Some(inner) => format!("certificate or handshake refused: {inner}"),
        None => e.to_string(),
    }
}

/// Where OpenWrt's `ca-bundle` (and Debian) keep the system's trusted CAs.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// rustls on ring, trusting the system CA bundle (if present) and `ca_file` (if set); errors
/// name the file.
pub fn client_tls(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    if Path::new(SYSTEM_CA_BUNDLE).exists() {
        match CertificateDer::pem_file_iter(SYSTEM_CA_BUNDLE) {
            Ok(certs) => {
                let (added, ignored) =
                    roots.add_parsable_certificates(certs.filter_map(Result::ok));
                log::debug!(
                    "{SYSTEM_CA_BUNDLE}: {added} CA certificates trusted, {ignored} ignored"
                );
            }
            Err(e) => log::warn!("{SYSTEM_CA_BUNDLE}: {e}"),
        }
    }
    if let Some(path) = ca_file {
        let bad = |msg: String| format!("ca_file {}: {msg}", path.display());
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no PEM certificate in it".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
    }
    if roots.is_empty() {
        log::warn!("no trusted CA certificates (install ca-bundle or set ca_file): HTTPS to Daraja will fail");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// `https://` and a public DNS name (not localhost, not an IP literal), no spaces or credentials:
/// Daraja's rule for `CallBackURL`, also applied to the owner's `callback_url` setting.
pub fn is_public_https(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') || authority.starts_with('[') {
        return false;
    }
    let (host, port) = authority.split_once(':').unwrap_or((authority, "443"));
    if port.parse::<u16>().map_or(true, |p| p == 0) || host.parse::<IpAddr>().is_ok() {
        return false;
    }
    let host = host.to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_alphabetic()))
        && host != "localhost"
        && !host.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_ca_file_names_the_file() {
        let e = client_tls(Some(Path::new("/nonexistent/lango-ca.pem"))).unwrap_err();
        assert!(e.starts_with("ca_file /nonexistent/lango-ca.pem: "), "{e}");

        let path = std::env::temp_dir().join(format!("lango-not-a-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "hello\n").unwrap();
        let e = client_tls(Some(&path)).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            e,
            format!("ca_file {}: no PEM certificate in it", path.display())
        );
    }

    #[test]
    fn urls_parse_into_targets() {
        let t = target(
            "https://sandbox.safaricom.co.ke/oauth/v1/generate?grant_type=client_credentials",
        )
        .unwrap();
        assert_eq!(
            t,
            Target {
                tls: true,
                host: "sandbox.safaricom.co.ke".into(),
                port: 443,
                path: "/oauth/v1/generate?grant_type=client_credentials".into()
            }
        );
        let t = target("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (t.tls, t.host.as_str(), t.port, t.path.as_str()),
            (false, "127.0.0.1", 8080, "/")
        );
        let t = target("https://[::1]:8443/x").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 8443, "/x")
        );
        assert_eq!(target("http://h?q=1").unwrap().path, "/?q=1");
        for bad in [
            "",
            "ftp://x/",
            "https://",
            "https://user@host/",
            "https://host:99999/",
            "https://ho st/",
            "https://[::1/",
        ] {
            assert!(target(bad).is_none(), "{bad}");
        }
    }
}
