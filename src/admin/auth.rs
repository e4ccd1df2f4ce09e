//! Who is logged in to the owner's page: server-side sessions held in memory (a restart logs
//! everyone out), each with its CSRF token and one pending notice; and the login throttle per
//! client address. Pure state with the time passed in. Touches: nothing else.

use crate::clock::Unix;
use crate::limits::{Attempts, Window};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// The session cookie's name.
pub const COOKIE: &str = "lango_admin";
/// Before login: the double-submit CSRF cookie of the login and first-run forms.
pub const PRE_COOKIE: &str = "lango_pre";
/// A session unused this long ends.
pub const IDLE: i64 = 60 * 60;
/// And every session ends this long after login, used or not.
pub const LIFETIME: i64 = 12 * 60 * 60;
/// A router's memory is small: beyond this many sessions, the least recently used ends.
const MAX_SESSIONS: usize = 32;
/// Passwords tried from one address within `FAILURE_WINDOW` before it must wait (a right one
/// clears the count).
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW: i64 = 5 * 60;

/// A notice shown once, on the next page (after a POST and its redirect).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    Done(String),
    Warning(String),
}

#[derive(Debug)]
struct Session {
    csrf: String,
    created: Unix,
    seen: Unix,
    notice: Option<Notice>,
}

/// A logged-in request's view of its session.
#[derive(Clone, Debug)]
pub struct Current {
    pub token: String,
    pub csrf: String,
}

pub struct Auth {
    sessions: Mutex<HashMap<String, Session>>,
    /// Password attempts per address.
    logins: Attempts<IpAddr>,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            sessions: Mutex::default(),
            logins: Attempts::new(Window {
                max: MAX_FAILURES as u32,
                per: std::time::Duration::from_secs(FAILURE_WINDOW as u64),
            }),
        }
    }
}

impl Auth {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a session; returns its cookie token.
    pub fn start(&self, now: Unix) -> String {
        let token = crate::random::hex::<32>();
        let mut s = lock(&self.sessions);
        s.retain(|_, v| alive(v, now));
        if s.len() >= MAX_SESSIONS {
            if let Some(oldest) = s.iter().min_by_key(|(_, v)| v.seen).map(|(k, _)| k.clone()) {
                s.remove(&oldest);
            }
        }
        s.insert(
            token.clone(),
            Session {
                csrf: crate::random::hex::<32>(),
                created: now,
                seen: now,
                notice: None,
            },
        );
        token
    }

    /// The live session behind `token`, marked as used now.
    pub fn find(&self, token: &str, now: Unix) -> Option<Current> {
        let mut s = lock(&self.sessions);
        let v = s.get_mut(token)?;
        if !alive(v, now) {
            s.remove(token);
            return None;
        }
        v.seen = now;
        Some(Current {
            token: token.to_string(),
            csrf: v.csrf.clone(),
        })
    }

    pub fn end(&self, token: &str) {
        lock(&self.sessions).remove(token);
    }

    /// Logs everyone out (a new password).
    pub fn end_all(&self) {
        lock(&self.sessions).clear();
    }

    pub fn notify(&self, token: &str, notice: Notice) {
        if let Some(v) = lock(&self.sessions).get_mut(token) {
            v.notice = Some(notice);
        }
    }

    pub fn take_notice(&self, token: &str) -> Option<Notice> {
        lock(&self.sessions).get_mut(token)?.notice.take()
    }

    /// Counts a password attempt from `ip` before it is checked (so attempts sent at once cannot
    /// all be tried), or says how many seconds `ip` must still wait.
    pub fn attempt(&self, ip: IpAddr, now: Unix) -> Result<(), u64> {
        self.logins.begin(ip, now)
    }

    /// A right password clears the address's record.
    pub fn succeeded(&self, ip: IpAddr) {
        self.logins.clear(ip);
    }
}

fn alive(s: &Session, now: Unix) -> bool {
    now - s.seen < IDLE && now - s.created < LIFETIME
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Compares secrets without revealing through timing how much of them matched.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// `Set-Cookie` for a session (or pre-login) token: never readable by scripts, never sent by
/// another site's page.
pub fn set_cookie(name: &str, token: &str) -> String {
    // Secure: the owner's page is HTTPS, and the cookie must never travel over the open Wi-Fi.
    format!("{name}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={LIFETIME}; Secure")
}

pub fn clear_cookie(name: &str) -> String {
    format!("{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure")
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 1, 10));

    #[test]
    fn sessions_end_when_idle_too_long_or_too_old() {
        let a = Auth::new();
        let t = a.start(1000);
        assert_eq!(t.len(), 64);
        let c = a.find(&t, 1000 + IDLE - 1).unwrap();
        assert_eq!(c.csrf.len(), 64);
        assert!(
            a.find(&t, 1000 + 2 * IDLE - 2).is_some(),
            "use keeps it alive"
        );
        assert!(a.find(&t, 1000 + 3 * IDLE).is_none(), "idle");
        assert!(a.find(&t, 1000 + 3 * IDLE - 10).is_none(), "ended for good");
        let t = a.start(0);
        let mut now = 0;
        while now < LIFETIME - 60 {
            now += IDLE / 2;
            a.find(&t, now);
        }
        assert!(a.find(&t, LIFETIME).is_none(), "lifetime");
        assert!(a.find("nonsense", 0).is_none());
    }

    #[test]
    fn sessions_are_capped_oldest_out() {
        let a = Auth::new();
        let first = a.start(0);
        let rest: Vec<_> = (1..=MAX_SESSIONS as i64).map(|i| a.start(i)).collect();
        assert!(a.find(&first, 100).is_none());
        assert!(rest.iter().all(|t| a.find(t, 100).is_some()));
    }

    #[test]
    fn notices_show_once() {
        let a = Auth::new();
        let t = a.start(0);
        a.notify(&t, Notice::Done("Saved".into()));
        assert_eq!(a.take_notice(&t), Some(Notice::Done("Saved".into())));
        assert_eq!(a.take_notice(&t), None);
    }

    #[test]
    fn five_failures_in_five_minutes_throttle_until_the_first_ages_out() {
        let a = Auth::new();
        for i in 0..5 {
            assert_eq!(a.attempt(IP, 100 + i * 10), Ok(()));
        }
        assert_eq!(a.attempt(IP, 141), Err(259), "100 + 300 - 141");
        assert_eq!(a.attempt(IP, 399), Err(1));
        assert_eq!(a.attempt(IP, 400), Ok(()), "the first failure aged out");
        let other: IpAddr = "192.168.1.11".parse().unwrap();
        assert_eq!(a.attempt(other, 141), Ok(()), "per address");
        a.succeeded(IP);
        assert_eq!(a.attempt(IP, 401), Ok(()));
    }

    #[test]
    fn cookies_and_secrets() {
        let h = "theme=dark; lango_admin=abc123; lango_pre=x";
        assert_eq!(cookie(h, COOKIE), Some("abc123"));
        assert_eq!(cookie(h, PRE_COOKIE), Some("x"));
        assert_eq!(cookie(h, "none"), None);
        assert!(set_cookie(COOKIE, "t").contains("HttpOnly; SameSite=Strict; Path=/"));
        assert!(set_cookie(COOKIE, "t").ends_with("; Secure"));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("", ""));
        assert!(!same_secret("abc", "abcd"));
    }
}
