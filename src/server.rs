//! The accept loop shared by Lango's HTTP listeners (portal, admin, callback, simulator):
//! connection caps per client and in all (`connections`), header and body timeouts, body size
//! limit, and response helpers.
//! Touches: sockets. Never: SQLite, the kernel, Daraja.

use crate::connections::{Caps, Client, Conn, Table};
use crate::mac::Mac;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use hyper::StatusCode;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

pub type Request = hyper::Request<Incoming>;
pub type Response = hyper::Response<Full<Bytes>>;

/// A router has 64 MiB: cap open connections per listener.
pub const MAX_CONNECTIONS: usize = 1024;
/// A phone's browser opens a handful of connections; a script opening hundreds from one device
/// (or one address, or one IPv6 /64) must not crowd out the other phones.
pub const MAX_PER_CLIENT: usize = 32;
/// Near the cap, the connection idle longest (no complete request) makes room for a new one,
/// so half-sent requests from many addresses cannot fill the listener.
const HEADROOM: usize = 64;
/// A phone that has not sent its headers by then is dropped (slowloris).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole bodies must arrive within this.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Who is asking and on which of our addresses.
#[derive(Clone, Copy, Debug)]
pub struct Peer {
    pub remote: SocketAddr,
    pub local: SocketAddr,
}

/// Tells the device (MAC) behind a client address, where the listener can (the portal, from
/// the neighbour tables).
pub trait DeviceOf: Send + Sync {
    /// The answer if it is at hand (a cache), without blocking; `None`: ask [`DeviceOf::lookup`].
    fn cached(&self, ip: IpAddr) -> Option<Option<Mac>>;
    /// Blocking: called off the event loop.
    fn lookup(&self, ip: IpAddr) -> Option<Mac>;
}

/// Serves `handler` on `listener` until the task is dropped (its connections end with it);
/// connections count per address
/// (IPv6: per /64).
pub async fn serve<H, F>(listener: TcpListener, handler: H)
where
    H: Fn(Request, Peer) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    accept_loop(listener, None, None, handler).await
}

/// Like [`serve`], counting each connection against its device where `device_of` knows it.
pub async fn serve_devices<H, F>(listener: TcpListener, device_of: Arc<dyn DeviceOf>, handler: H)
where
    H: Fn(Request, Peer) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    accept_loop(listener, None, Some(device_of), handler).await
}

/// Like [`serve`], over TLS: the handshake runs in the connection's task, bounded by `HEADER_TIMEOUT`.
pub async fn serve_tls<H, F>(listener: TcpListener, tls: tokio_rustls::TlsAcceptor, handler: H)
where
    H: Fn(Request, Peer) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    accept_loop(listener, Some(tls), None, handler).await
}

async fn accept_loop<H, F>(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    device_of: Option<Arc<dyn DeviceOf>>,
    handler: H,
) where
    H: Fn(Request, Peer) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let table = Table::new(Caps {
        total: MAX_CONNECTIONS,
        per_client: MAX_PER_CLIENT,
        headroom: HEADROOM,
    });
    let started = Instant::now();
    // Connections live no longer than their listener's task: when a restart stops it, nobody is
    // left talking to the services it replaced.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // A finished connection's task is let go at once: its memory returns when it ends,
        // not at the next accept.
        let accepted = tokio::select! {
            biased;
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                log::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let local = stream.local_addr().unwrap_or(remote);
        let peer = Peer { remote, local };
        let _ = stream.set_nodelay(true);
        let (handler, tls, table, device_of) = (
            handler.clone(),
            tls.clone(),
            table.clone(),
            device_of.clone(),
        );
        connections.spawn(async move {
            // Most phones are in the neighbour cache already (their first request put them
            // there): only a miss costs a trip to the blocking pool.
            let mac = match device_of {
                Some(d) => match d.cached(remote.ip()) {
                    Some(known) => known,
                    None => tokio::task::spawn_blocking(move || d.lookup(remote.ip()))
                        .await
                        .ok()
                        .flatten(),
                },
                None => None,
            };
            let client = Client::of(remote.ip(), mac);
            let now_ms = || started.elapsed().as_millis() as u64;
            let conn = match Table::admit(&table, client, now_ms()) {
                Ok(c) => c,
                Err(why) => {
                    log::debug!("refused a connection from {}: {why:?}", remote.ip());
                    return;
                }
            };
            let serving = async {
                match tls {
                    None => serve_connection(stream, peer, &conn, started, handler).await,
                    // Boxed: TLS state is large, and inline it would make every plain
                    // connection's task as large (4.7 KiB instead of 1.1 KiB).
                    Some(tls) => {
                        Box::pin(async {
                            match tokio::time::timeout(HEADER_TIMEOUT, tls.accept(stream)).await {
                                Ok(Ok(stream)) => {
                                    serve_connection(stream, peer, &conn, started, handler).await
                                }
                                Ok(Err(e)) => log::debug!("TLS handshake with {remote}: {e}"),
                                Err(_) => log::debug!("TLS handshake with {remote}: timed out"),
                            }
                        })
                        .await
                    }
                }
            };
            tokio::select! {
                _ = serving => {}
                _ = conn.evicted() => {
                    log::debug!("dropped an idle connection from {} to make room", remote.ip());
                }
            }
        });
    }
}

async fn serve_connection<S, H, F>(
    stream: S,
    peer: Peer,
    conn: &Arc<Conn>,
    started: Instant,
    handler: H,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request, Peer) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let conn = conn.clone();
    let service = hyper::service::service_fn(move |req| {
        // Headers are in: this connection is busy, not idle, until it has answered.
        conn.busy();
        // Boxed on its own: awaited inside the block below, it would be stored twice there (the
        // captured future and the one being awaited: 1,936 bytes for the portal's 952).
        let fut = Box::pin(handler(req, peer));
        let conn = conn.clone();
        // Boxed: hyper keeps a slot for the request's future as long as the connection lives,
        // as large as the future; boxed, an idle keep-alive connection holds a pointer, not the
        // future's 1.4 KiB (0.7 MB for 512 phones).
        let answer: Answer = Box::pin(async move {
            let r = fut.await;
            conn.idle(started.elapsed().as_millis() as u64);
            Ok(r)
        });
        answer
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(16 * 1024)
        // While a request is answered, hyper would otherwise keep reading to notice the phone
        // hanging up, into a second 8 KiB read buffer (the first is held by the request's
        // headers): one more buffer and an mmap/munmap pair per request in flight. The answer
        // is written anyway; a phone gone by then is noticed when writing it fails.
        .half_close(true)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    if let Err(e) = conn.await {
        log::debug!("connection from {}: {e}", peer.remote);
    }
}

/// A request's answer on its way, as hyper's service future.
type Answer = std::pin::Pin<
    Box<dyn Future<Output = Result<Response, std::convert::Infallible>> + Send + 'static>,
>;

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    #[error("request body not received in time")]
    Timeout,
    #[error("request body broken: {0}")]
    Broken(String),
}

/// Reads a whole body of at most `limit` bytes.
pub async fn read_body(req: Request, limit: usize) -> Result<Bytes, BodyError> {
    read_incoming(req.into_body(), limit).await
}

/// Like [`read_body`], the request's head already let go.
pub async fn read_incoming(body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    let collect = Limited::new(body, limit).collect();
    match tokio::time::timeout(BODY_TIMEOUT, collect).await {
        Err(_) => Err(BodyError::Timeout),
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge(limit)),
        Ok(Err(e)) => Err(BodyError::Broken(e.to_string())),
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response {
    let mut r = hyper::Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A page: only [`Html`](crate::html::Html) goes in, so nothing unescaped reaches it.
pub fn html(status: StatusCode, body: crate::html::Html) -> Response {
    respond(status, "text/html; charset=utf-8", body)
}

/// A page rendered once and shared (the portal's shop page): bytes made from [`Html`].
///
/// [`Html`]: crate::html::Html
pub fn html_shared(status: StatusCode, body: crate::html::Shared) -> Response {
    respond(status, "text/html; charset=utf-8", body.into_bytes())
}

pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Response {
    respond(status, "text/plain; charset=utf-8", body)
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    respond(status, "application/json", value.to_string())
}

/// Pages link assets by versioned URLs (`?v=` and a fingerprint of the file): a URL's bytes never
/// change, so browsers keep them a year.
const ASSET_CACHE: &str = "public, max-age=31536000, immutable";

/// A static asset that may be cached by the browser.
pub fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    let mut r = respond(StatusCode::OK, content_type, Bytes::from_static(body));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(ASSET_CACHE));
    r
}

/// `302 Found` to `location` (what captive-portal detection expects).
pub fn redirect(location: &str) -> Response {
    let mut r = respond(StatusCode::FOUND, "text/html; charset=utf-8", Bytes::new());
    match HeaderValue::from_str(location) {
        Ok(v) => {
            r.headers_mut().insert(LOCATION, v);
        }
        Err(_) => *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR,
    }
    r
}

/// `303 See Other`: after a form POST, go and GET this.
pub fn see_other(location: &str) -> Response {
    let mut r = redirect(location);
    if r.status() == StatusCode::FOUND {
        *r.status_mut() = StatusCode::SEE_OTHER;
    }
    r
}

/// Decodes `application/x-www-form-urlencoded` (also query strings).
pub fn form_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The first value of `key` in a form or query string.
pub fn form_value(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_forms() {
        let p = form_pairs("phone=%2B254+708&package_id=2&x&bad=%zz%4");
        assert_eq!(form_value(&p, "phone").as_deref(), Some("+254 708"));
        assert_eq!(form_value(&p, "package_id").as_deref(), Some("2"));
        assert_eq!(form_value(&p, "x").as_deref(), Some(""));
        assert_eq!(form_value(&p, "bad").as_deref(), Some("%zz%4"));
        assert_eq!(form_value(&p, "none"), None);
    }
}
