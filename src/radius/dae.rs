//! Dynamic authorization (RFC 5176): Disconnect-Request and CoA-Request from the configured
//! server, on their own UDP socket. A request from any other address, or one that does not
//! verify under the shared secret, is dropped unanswered; a verified one gets an ACK, or a NAK
//! with Error-Cause. A disconnect goes the way of the owner's kick; a CoA sets the time left and
//! speeds through sessions, which applies them to the kernel before answering.
//! Touches: a UDP socket, sessions, the store (to find the session). Never: the kernel directly.

use super::accounting::parse_session_id;
use super::packet::{attr, encode_response, verify_request, Attrs, Code, Packet};
use super::{rate, Radius, Reply};
use crate::mac::Mac;
use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Error-Cause values (RFC 5176 §3.6).
const MISSING_ATTRIBUTE: u32 = 402;
const SESSION_NOT_FOUND: u32 = 503;
const RESOURCES_UNAVAILABLE: u32 = 506;
/// How often the listener looks whether Lango stopped (`Radius::stop`, or the `Radius` gone).
const ALIVE_EVERY: Duration = Duration::from_millis(200);
/// Answers kept to repeat to a retransmitted request instead of acting twice.
const REMEMBERED: usize = 32;

/// How a request went.
enum Outcome {
    Done,
    Refused(u32),
}

/// Takes Disconnect and CoA requests on `sock` on a thread of its own (a plain socket costs
/// less flash than an async one), acting through the runtime of `rt`, until Lango stops.
pub(super) fn serve(radius: Weak<Radius>, sock: UdpSocket, rt: tokio::runtime::Handle) {
    if let Err(e) = sock.set_read_timeout(Some(ALIVE_EVERY)) {
        log::error!("RADIUS CoA listener: {e}");
        return;
    }
    let mut buf = vec![0u8; super::packet::MAX_LEN];
    let mut answered: VecDeque<(SocketAddr, Vec<u8>, Vec<u8>)> = VecDeque::new();
    loop {
        let got = sock.recv_from(&mut buf);
        let Some(me) = radius.upgrade().filter(|r| !r.stopping()) else {
            return;
        };
        let Ok((n, from)) = got else {
            continue; // the timeout: look again whether Lango still runs
        };
        me.one(&sock, &buf[..n], from, &mut answered, &rt);
    }
}

impl Radius {
    /// Checks and answers one datagram.
    fn one(
        self: &Arc<Self>,
        sock: &UdpSocket,
        raw: &[u8],
        from: SocketAddr,
        answered: &mut VecDeque<(SocketAddr, Vec<u8>, Vec<u8>)>,
        rt: &tokio::runtime::Handle,
    ) {
        let secret = self.config.secret.0.as_bytes();
        if from.ip().to_canonical() != self.config.server {
            log::warn!("RADIUS CoA listener: packet from {from} dropped (not the server)");
            return;
        }
        let p = match verify_request(raw, secret) {
            Ok(p) => p,
            Err(e) => {
                log::warn!("RADIUS CoA listener: request from {from} dropped: {e}");
                return;
            }
        };
        if let Some((_, _, again)) = answered.iter().find(|(f, r, _)| *f == from && r == raw) {
            let _ = sock.send_to(again, from);
            return;
        }
        let (ack, nak) = match p.code {
            Code::DisconnectRequest => (Code::DisconnectAck, Code::DisconnectNak),
            Code::CoaRequest => (Code::CoaAck, Code::CoaNak),
            other => {
                log::warn!("RADIUS CoA listener: {other:?} from {from} dropped");
                return;
            }
        };
        let mut a = Attrs::default();
        let code = match rt.block_on(self.dynamic(&p)) {
            Outcome::Done => ack,
            Outcome::Refused(cause) => {
                a.int(attr::ERROR_CAUSE, cause);
                nak
            }
        };
        let reply = encode_response(code, p.id, &p.authenticator, &a, secret);
        if let Err(e) = sock.send_to(&reply, from) {
            log::warn!("RADIUS CoA listener: answering {from}: {e}");
        }
        answered.push_back((from, raw.to_vec(), reply));
        if answered.len() > REMEMBERED {
            answered.pop_front();
        }
    }

    /// Acts on a verified Disconnect or CoA request.
    async fn dynamic(&self, p: &Packet) -> Outcome {
        let mac: Option<Mac> = p
            .text(attr::CALLING_STATION_ID)
            .and_then(|s| s.parse().ok());
        let sid = p.text(attr::ACCT_SESSION_ID).and_then(parse_session_id);
        let user = p.text(attr::USER_NAME).map(str::to_string);
        if mac.is_none() && sid.is_none() && user.is_none() {
            return Outcome::Refused(MISSING_ATTRIBUTE);
        }
        let found = self
            .db(Box::new(move |tx| {
                crate::store::radius::find_open(tx, mac, sid, user.as_deref()).map(Reply::Found)
            }))
            .await;
        let mac = match found {
            Ok(Reply::Found(Some(m))) => m,
            Ok(_) => return Outcome::Refused(SESSION_NOT_FOUND),
            Err(e) => {
                log::error!("RADIUS CoA listener: {e}");
                return Outcome::Refused(RESOURCES_UNAVAILABLE);
            }
        };
        let done = if p.code == Code::DisconnectRequest {
            log::info!("RADIUS Disconnect-Request: mac={mac} cut off");
            self.sessions.revoke(mac).await.map(|s| s.is_some())
        } else {
            let seconds = p.int(attr::SESSION_TIMEOUT).filter(|s| *s > 0);
            let r = rate::from_reply(p).map(|r| (r.down, r.up));
            if seconds.is_none() && r.is_none() {
                return Outcome::Refused(MISSING_ATTRIBUTE);
            }
            log::info!("RADIUS CoA-Request: mac={mac} seconds={seconds:?} rate={r:?}");
            self.sessions
                .set_limits(mac, seconds, r)
                .await
                .map(|s| s.is_some())
        };
        match done {
            Ok(true) => Outcome::Done,
            Ok(false) => Outcome::Refused(SESSION_NOT_FOUND),
            Err(e) => {
                log::error!("RADIUS CoA listener: {e}");
                Outcome::Refused(RESOURCES_UNAVAILABLE)
            }
        }
    }
}
