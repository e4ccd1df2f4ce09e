//! Authentication: a typed code as an Access-Request (PAP, with the device's MAC and address),
//! and the server's Accept turned into a grant: Session-Timeout, the rate, Acct-Interim-Interval
//! and Class. Touches: the client, sessions (to grant). Never: the kernel, HTTP.

use super::client::{self, Server};
use super::packet::{attr, hide_password, Attrs, Code, Packet};
use super::{rate, station, Radius};
use crate::mac::Mac;
use crate::sessions;
use crate::store::sessions::{Grant, Session, Source};
use crate::units::Kbps;
use std::net::IpAddr;

/// NAS-Port-Type: Wireless - IEEE 802.11 (RFC 2865 §5.41).
pub const WIRELESS: u32 = 19;
/// Service-Type: Login (RFC 2865 §5.6), as hotspots send.
const LOGIN: u32 = 1;

/// What the server said about a code.
#[derive(Debug)]
pub enum Verdict {
    /// Accepted: the device has this session now.
    Granted(Session),
    /// Access-Reject (or an Accept Lango cannot honour), with the server's Reply-Message.
    Rejected(Option<String>),
    /// No verified answer within the retry budget.
    Unreachable,
}

/// What an Access-Accept grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub seconds: u32,
    pub down: Kbps,
    pub up: Kbps,
    pub interim_s: Option<u32>,
    pub class: Option<Vec<u8>>,
}

/// Reads an Access-Accept. Lango grants timed sessions only: no Session-Timeout is a refusal.
/// No rate means the device is not shaped.
pub fn accepted(p: &Packet) -> Result<Accepted, &'static str> {
    let seconds = p
        .int(attr::SESSION_TIMEOUT)
        .filter(|s| *s > 0)
        .ok_or("the Accept has no Session-Timeout")?;
    let r = rate::from_reply(p).unwrap_or(rate::Rate {
        down: Kbps(0),
        up: Kbps(0),
    });
    Ok(Accepted {
        seconds,
        down: r.down,
        up: r.up,
        interim_s: p.int(attr::ACCT_INTERIM_INTERVAL).filter(|s| *s >= 60),
        class: p.get(attr::CLASS).map(<[u8]>::to_vec),
    })
}

impl Radius {
    /// The attributes that name this router in every request.
    pub(super) fn nas(&self, a: &mut Attrs) {
        a.text(attr::NAS_IDENTIFIER, &self.config.nas_identifier);
        if let Some(ip) = self.config.nas_ip {
            a.ip(attr::NAS_IP_ADDRESS, ip);
        }
    }

    /// Checks `code` for the device `mac` at `ip` and grants what an Accept says, once.
    pub async fn authenticate(
        &self,
        code: &str,
        mac: Mac,
        ip: Option<IpAddr>,
    ) -> Result<Verdict, sessions::Error> {
        let mut a = Attrs::default();
        a.text(attr::USER_NAME, code)
            .bytes(attr::USER_PASSWORD, &[])
            .text(attr::CALLING_STATION_ID, &station(mac))
            .int(attr::SERVICE_TYPE, LOGIN)
            .int(attr::NAS_PORT_TYPE, WIRELESS);
        self.nas(&mut a);
        if let Some(IpAddr::V4(v4)) = ip.map(|i| i.to_canonical()) {
            a.ip(attr::FRAMED_IP_ADDRESS, v4);
        }
        let server = Server {
            addr: (self.config.server, self.config.auth_port).into(),
            secret: self.config.secret.0.as_bytes().to_vec(),
            timeout: self.config.timeout,
            retries: self.config.retries,
        };
        let secret = server.secret.clone();
        let pw = code.as_bytes().to_vec();
        let answer = client::ask(&server, Code::AccessRequest, &a, move |auth, a| {
            for (t, v) in a.0.iter_mut() {
                if *t == attr::USER_PASSWORD {
                    *v = hide_password(&pw, &secret, auth);
                }
            }
        })
        .await;
        let now = self.sessions.now();
        let p = match answer {
            Ok(p) => p,
            Err(e @ client::Error::Unanswered { .. }) | Err(e @ client::Error::Io { .. }) => {
                log::warn!("RADIUS: {e}");
                self.health().unreachable = Some(now);
                return Ok(Verdict::Unreachable);
            }
        };
        let said = p.text(attr::REPLY_MESSAGE).map(str::to_string);
        if p.code != Code::AccessAccept {
            log::info!("RADIUS refused a code for mac={mac} ({:?})", p.code);
            self.health().last_reject = Some(now);
            return Ok(Verdict::Rejected(said));
        }
        let acc = match accepted(&p) {
            Ok(acc) => acc,
            Err(why) => {
                log::warn!("RADIUS accepted a code for mac={mac} but {why}: refused");
                return Ok(Verdict::Rejected(said));
            }
        };
        self.health().last_accept = Some(now);
        let g = Grant {
            mac,
            ip,
            source: Source::Radius,
            source_ref: Some(code.to_string()),
            package_id: None,
            duration_s: acc.seconds,
            down: acc.down,
            up: acc.up,
            data: None,
        };
        let user = code.to_string();
        let s = self
            .sessions
            .grant_with(
                g,
                Box::new(move |tx, s| {
                    crate::store::radius::remember(
                        tx,
                        s.id,
                        &user,
                        acc.class.as_deref(),
                        acc.interim_s,
                    )
                }),
            )
            .await?;
        log::info!(
            "RADIUS granted mac={mac} seconds={} down={} up={}",
            acc.seconds,
            s.down,
            s.up
        );
        self.kick_accounting();
        Ok(Verdict::Granted(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radius::packet::{encode_response, vendor};

    #[test]
    fn an_accept_gives_time_rate_interval_and_class() {
        let mut a = Attrs::default();
        a.int(attr::SESSION_TIMEOUT, 3600)
            .vendor(vendor::MIKROTIK_RATE_LIMIT, b"1M/4M")
            .int(attr::ACCT_INTERIM_INTERVAL, 120)
            .bytes(attr::CLASS, b"plan-7");
        let p =
            Packet::decode(&encode_response(Code::AccessAccept, 1, &[0; 16], &a, b"k")).unwrap();
        assert_eq!(
            accepted(&p),
            Ok(Accepted {
                seconds: 3600,
                down: Kbps(4000),
                up: Kbps(1000),
                interim_s: Some(120),
                class: Some(b"plan-7".to_vec()),
            })
        );
        let p = Packet::decode(&encode_response(
            Code::AccessAccept,
            1,
            &[0; 16],
            &Attrs::default(),
            b"k",
        ))
        .unwrap();
        assert_eq!(accepted(&p), Err("the Accept has no Session-Timeout"));
    }
}
