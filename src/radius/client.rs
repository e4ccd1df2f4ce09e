//! One request to the RADIUS server and its verified answer: sent from a fresh UDP socket,
//! sent again after each timeout, answers that do not verify ignored (a forger's packet cannot
//! end the wait early). Touches: a UDP socket. Never: the store.

use super::packet::{encode_request, verify_response, Attrs, Code, Packet};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Why no answer came.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot talk to RADIUS server {server}: {source}")]
    Io {
        server: SocketAddr,
        source: std::io::Error,
    },
    #[error("RADIUS server {server} did not answer {tries} tries")]
    Unanswered { server: SocketAddr, tries: u32 },
}

/// Where and how to ask.
#[derive(Clone, Debug)]
pub struct Server {
    pub addr: SocketAddr,
    pub secret: Vec<u8>,
    pub timeout: Duration,
    pub retries: u32,
}

/// Sends `attrs` as a `code` request and returns the first answer that verifies. Access
/// answers must carry a Message-Authenticator (CVE-2024-3596). `prepare` may change the
/// attributes once the request authenticator is known (PAP hiding needs it). The exchange runs
/// on a blocking thread: plain sockets cost less flash than async ones.
pub async fn ask(
    server: &Server,
    code: Code,
    attrs: &Attrs,
    prepare: impl Fn(&[u8; 16], &mut Attrs),
) -> Result<Packet, Error> {
    let [id, ..] = crate::random::bytes::<1>();
    let random = crate::random::bytes::<16>();
    let mut a = attrs.clone();
    prepare(&random, &mut a);
    let wire = encode_request(code, id, random, &a, &server.secret);
    let server = server.clone();
    let addr = server.addr;
    tokio::task::spawn_blocking(move || exchange(&server, &wire, code == Code::AccessRequest))
        .await
        .map_err(|e| Error::Io {
            server: addr,
            source: std::io::Error::other(e.to_string()),
        })?
}

/// Sends `wire` and waits for a verified answer, `retries` more times after a timeout.
fn exchange(server: &Server, wire: &[u8], require_ma: bool) -> Result<Packet, Error> {
    let io = |source| Error::Io {
        server: server.addr,
        source,
    };
    let local: SocketAddr = if server.addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(local).map_err(io)?;
    // The authenticator answers are checked against: random, or the signed one.
    let mut sent_auth = [0u8; 16];
    sent_auth.copy_from_slice(&wire[4..20]);
    let tries = server.retries + 1;
    let mut buf = vec![0u8; super::packet::MAX_LEN];
    for _ in 0..tries {
        sock.send_to(wire, server.addr).map_err(io)?;
        let deadline = Instant::now() + server.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            sock.set_read_timeout(Some(left)).map_err(io)?;
            let n = match sock.recv_from(&mut buf) {
                Ok((_, from)) if from != server.addr => continue,
                Ok((n, _)) => n,
                Err(_) => break,
            };
            match verify_response(&buf[..n], wire[1], &sent_auth, &server.secret, require_ma) {
                Ok(p) => return Ok(p),
                Err(e) => log::warn!("RADIUS answer from {} ignored: {e}", server.addr),
            }
        }
    }
    Err(Error::Unanswered {
        server: server.addr,
        tries,
    })
}
