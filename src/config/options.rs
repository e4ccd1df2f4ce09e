//! The table of every option Lango reads: its section, whether it is a list, whether it takes
//! effect only when the services restart, whether it is a secret, how its text becomes the
//! typed `Config` value and how that value is written back. Parsing, writing (`to_uci`), the
//! Settings page, the restart check and the README's option table (checked by a test) all read
//! this one table, in the spirit of odhcpd's `blobmsg_policy` tables.
//! Touches: nothing (values in, values out).

use super::{Cidr, Config, Environment, Lang, RadiusConfig, RadiusMode, Secret, ShortcodeKind};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// How an option's text reaches the config and comes back out.
#[derive(Clone, Copy)]
enum Slot {
    One {
        set: fn(&mut Config, &str) -> Result<(), String>,
        get: fn(&Config) -> String,
    },
    /// `list NAME 'item'`, once per item; the items given replace the default.
    List {
        add: fn(&mut Config, &str) -> Result<(), String>,
        clear: fn(&mut Config),
        get: fn(&Config) -> Vec<String>,
    },
}

/// One option of the config file.
#[derive(Clone, Copy)]
pub struct Opt {
    /// The section type: `lango`, `daraja`, `shaping`, `limits`, `retention`, `backup`, `radius`.
    pub section: &'static str,
    pub name: &'static str,
    /// The running daemon applies it only when its services restart (listeners, the gate).
    pub restart: bool,
    /// Never shown: write-only on the Settings page.
    pub secret: bool,
    slot: Slot,
}

impl Opt {
    const fn one(
        section: &'static str,
        name: &'static str,
        set: fn(&mut Config, &str) -> Result<(), String>,
        get: fn(&Config) -> String,
    ) -> Opt {
        Opt {
            section,
            name,
            restart: false,
            secret: false,
            slot: Slot::One { set, get },
        }
    }

    const fn list(
        section: &'static str,
        name: &'static str,
        add: fn(&mut Config, &str) -> Result<(), String>,
        clear: fn(&mut Config),
        get: fn(&Config) -> Vec<String>,
    ) -> Opt {
        Opt {
            section,
            name,
            restart: false,
            secret: false,
            slot: Slot::List { add, clear, get },
        }
    }

    const fn restart(self) -> Opt {
        Opt {
            restart: true,
            ..self
        }
    }

    const fn secret(self) -> Opt {
        Opt {
            secret: true,
            ..self
        }
    }

    pub fn is_list(&self) -> bool {
        matches!(self.slot, Slot::List { .. })
    }

    /// How the owner names it: `walled_garden` in the main section, `shaping.ifb` elsewhere.
    pub fn key(&self) -> String {
        if self.section == "lango" {
            self.name.into()
        } else {
            format!("{}.{}", self.section, self.name)
        }
    }

    /// The value(s) as written in the file (empty for an unset optional value).
    pub fn get(&self, c: &Config) -> Vec<String> {
        match self.slot {
            Slot::One { get, .. } => vec![get(c)],
            Slot::List { get, .. } => get(c),
        }
    }

    /// Applies the values given in one section (every item of a list, or each occurrence of an
    /// option, the last winning). Returns why a value is refused, with its line.
    pub(super) fn apply(&self, c: &mut Config, values: &[(&str, usize)]) -> Vec<(usize, String)> {
        let mut refused = vec![];
        match self.slot {
            Slot::One { set, .. } => {
                for &(v, line) in values {
                    if let Err(why) = set(c, v) {
                        refused.push((line, why));
                    }
                }
            }
            Slot::List { add, clear, .. } => {
                clear(c);
                for &(v, line) in values {
                    if let Err(why) = add(c, v) {
                        refused.push((line, why));
                    }
                }
            }
        }
        refused
    }
}

/// Section types in the order `to_uci` writes them, with the name each is given.
pub const SECTIONS: &[(&str, &str)] = &[
    ("lango", "main"),
    ("daraja", "daraja"),
    ("limits", "limits"),
    ("retention", "retention"),
    ("backup", "backup"),
    ("radius", "radius"),
    ("shaping", "shaping"),
];

/// An option that is one field of `Config`: `parse` reads its text, `show` writes it back.
/// `radius.FIELD` is a field of the RADIUS settings (their defaults while none are read).
macro_rules! field {
    ($section:literal, $name:literal, radius.$f:ident, $parse:expr, $show:expr $(,)?) => {
        Opt::one(
            $section,
            $name,
            |c, v| {
                radius(c).$f = $parse(v)?;
                Ok(())
            },
            |c| $show(&radius_or_default(c).$f),
        )
    };
    ($section:literal, $name:literal, $($f:ident).+, $parse:expr, $show:expr $(,)?) => {
        Opt::one(
            $section,
            $name,
            |c, v| {
                c.$($f).+ = $parse(v)?;
                Ok(())
            },
            |c| $show(&c.$($f).+),
        )
    };
}

/// Every option, by section. Within a section options are applied in this order, so a value
/// that depends on another (`till` on `type`, `base_url` on `environment`, `enabled` on the
/// RADIUS options) comes after it.
pub static OPTIONS: &[Opt] = &[
    // config lango 'main'
    Opt::list(
        "lango",
        "interface",
        |c, v| {
            ifname(v)?;
            c.interfaces.push(v.into());
            Ok(())
        },
        |c| c.interfaces.clear(),
        |c| c.interfaces.clone(),
    )
    .restart(),
    field!("lango", "portal_port", portal_port, port, ToString::to_string).restart(),
    field!(
        "lango",
        "admin_listen",
        admin_listen,
        |v| address(v, "0.0.0.0:8443"),
        ToString::to_string,
    )
    .restart(),
    field!(
        "lango",
        "admin_http_listen",
        admin_http_listen,
        |v| address_or_none(v, "0.0.0.0:8080"),
        shown,
    )
    .restart(),
    field!("lango", "admin_cert", admin_cert, path, path_text),
    field!("lango", "admin_key", admin_key, path, path_text),
    Opt::list(
        "lango",
        "admin_host",
        |c, v| {
            if !(v.parse::<IpAddr>().is_ok() || crate::dns::is_dns_name(v)) {
                return Err(format!(
                    "{v:?} is not a host name such as router.lan or an IP address"
                ));
            }
            c.admin_hosts.push(v.to_ascii_lowercase());
            Ok(())
        },
        |c| c.admin_hosts.clear(),
        |c| c.admin_hosts.clone(),
    ),
    field!("lango", "database", database, path, path_text).restart(),
    field!("lango", "control_socket", control_socket, path, path_text).restart(),
    field!("lango", "site_name", site_name, site_name, String::clone),
    field!(
        "lango",
        "language",
        language,
        |v| Lang::parse(v).ok_or(format!("{v:?} is not a language (en or sw)")),
        |l: &Lang| l.code().into(),
    ),
    Opt::list(
        "lango",
        "trusted",
        |c, v| {
            c.trusted
                .push(v.parse().map_err(|e: crate::mac::BadMac| e.to_string())?);
            Ok(())
        },
        |c| c.trusted.clear(),
        |c| c.trusted.iter().map(ToString::to_string).collect(),
    )
    .restart(),
    Opt::list(
        "lango",
        "walled_garden",
        |c, v| {
            match v.parse::<Cidr>() {
                Ok(net) => c.walled_garden.push(net),
                Err(()) if crate::dns::is_host_name(v) => c
                    .walled_garden_hosts
                    .push(v.trim_end_matches('.').to_ascii_lowercase()),
                Err(()) => return Err(format!(
                    "{v:?} is neither an IP network such as 196.201.214.0/24 nor a host name such as safaricom.co.ke"
                )),
            }
            Ok(())
        },
        |c| {
            c.walled_garden.clear();
            c.walled_garden_hosts.clear();
        },
        |c| {
            c.walled_garden
                .iter()
                .map(ToString::to_string)
                .chain(c.walled_garden_hosts.iter().cloned())
                .collect()
        },
    )
    .restart(),
    field!("lango", "welcome", welcome, welcome, String::clone),
    field!("lango", "dhcp_leases", dhcp_leases, path, path_text),
    // config daraja 'daraja'
    Opt::one(
        "daraja",
        "environment",
        |c, v| {
            let was = Environment::host(c.daraja.environment);
            c.daraja.environment = match v {
                "sandbox" => Environment::Sandbox,
                "production" => Environment::Production,
                _ => return Err(format!("{v:?} is not sandbox or production")),
            };
            // Safaricom's host follows the environment unless `base_url` names another.
            if c.daraja.base_url == was {
                c.daraja.base_url = Environment::host(c.daraja.environment).into();
            }
            Ok(())
        },
        |c| c.daraja.environment.code().into(),
    ),
    Opt::one(
        "daraja",
        "base_url",
        |c, v| {
            if v.is_empty() {
                c.daraja.base_url = Environment::host(c.daraja.environment).into();
                return Ok(());
            }
            if v.contains(char::is_whitespace) || !crate::https::is_base_url(v) {
                return Err(format!(
                    "{v:?} is not an http(s) URL such as https://127.0.0.1:8443"
                ));
            }
            c.daraja.base_url = v.trim_end_matches('/').into();
            Ok(())
        },
        // Empty when it is the environment's own host, so a change of environment follows.
        |c| {
            let d = &c.daraja;
            if d.base_url == Environment::host(d.environment) {
                String::new()
            } else {
                d.base_url.clone()
            }
        },
    ),
    field!("daraja", "ca_file", daraja.ca_file, path_or_none, shown_path),
    field!("daraja", "consumer_key", daraja.consumer_key, secret, Secret::written).secret(),
    field!("daraja", "consumer_secret", daraja.consumer_secret, secret, Secret::written).secret(),
    field!("daraja", "shortcode", daraja.shortcode, |v| digits(v, "a shortcode"), String::clone),
    field!("daraja", "passkey", daraja.passkey, secret, Secret::written).secret(),
    Opt::one(
        "daraja",
        "type",
        |c, v| {
            c.daraja.kind = match v {
                "paybill" => ShortcodeKind::Paybill,
                "till" => ShortcodeKind::Till(String::new()),
                _ => return Err(format!("{v:?} is not paybill or till")),
            };
            Ok(())
        },
        |c| match c.daraja.kind {
            ShortcodeKind::Paybill => "paybill".into(),
            ShortcodeKind::Till(_) => "till".into(),
        },
    ),
    // After `type`: a till number means something only for a till.
    Opt::one(
        "daraja",
        "till",
        |c, v| {
            if !v.is_empty() {
                let till = digits(v, "a till number")?;
                if let ShortcodeKind::Till(t) = &mut c.daraja.kind {
                    *t = till;
                }
            }
            Ok(())
        },
        |c| match &c.daraja.kind {
            ShortcodeKind::Till(t) => t.clone(),
            ShortcodeKind::Paybill => String::new(),
        },
    ),
    field!("daraja", "callback_url", daraja.callback_url, callback_url, String::clone),
    field!(
        "daraja",
        "callback_listen",
        daraja.callback_listen,
        |v| address_or_none(v, "0.0.0.0:8099"),
        shown,
    )
    .restart(),
    field!("daraja", "poll_first", daraja.poll_first, |v| seconds(v, 86_400.0), secs),
    field!("daraja", "poll_interval", daraja.poll_interval, |v| seconds(v, 86_400.0), secs),
    field!("daraja", "poll_timeout", daraja.poll_timeout, |v| seconds(v, 86_400.0), secs),
    field!("daraja", "recheck_intervals", daraja.recheck_intervals, intervals, intervals_text),
    field!("daraja", "recheck_for", daraja.recheck_for, whole_seconds, secs),
    // config limits 'limits'
    field!("limits", "pushes_per_mac", limits.pushes_per_mac.max, count, ToString::to_string),
    field!("limits", "pushes_per_phone", limits.pushes_per_phone.max, count, ToString::to_string),
    Opt::one(
        "limits",
        "push_window",
        |c, v| {
            let per = whole_seconds(v)?;
            c.limits.pushes_per_mac.per = per;
            c.limits.pushes_per_phone.per = per;
            Ok(())
        },
        |c| secs(&c.limits.pushes_per_mac.per),
    ),
    field!(
        "limits",
        "voucher_guesses",
        limits.voucher_guesses.max,
        count,
        ToString::to_string,
    )
    .restart(),
    field!("limits", "voucher_window", limits.voucher_guesses.per, whole_seconds, secs).restart(),
    // config retention 'retention'
    field!("retention", "payments_days", retention.payments_days, days, ToString::to_string),
    field!("retention", "events_days", retention.events_days, days, ToString::to_string),
    field!("retention", "sessions_days", retention.sessions_days, days, ToString::to_string),
    // config backup 'backup'
    field!("backup", "dir", backup.dir, path_or_none, shown_path),
    field!("backup", "keep", backup.keep, count, ToString::to_string),
    // config radius 'radius': in use once it names a server (and then it needs the secret).
    Opt::one(
        "radius",
        "server",
        |c, v| {
            radius(c).server = match v.parse::<IpAddr>() {
                _ if v.is_empty() => super::NO_SERVER,
                Ok(ip) if !ip.is_unspecified() => ip,
                _ => return Err(format!("{v:?} is not an IP address such as 192.0.2.10")),
            };
            Ok(())
        },
        |c| {
            c.radius
                .as_ref()
                .map_or(String::new(), |r| r.server.to_string())
        },
    )
    .restart(),
    field!(
        "radius",
        "secret",
        radius.secret,
        |v: &str| Ok::<_, String>(Secret(v.into())),
        Secret::written,
    )
    .restart()
    .secret(),
    field!("radius", "auth_port", radius.auth_port, port, ToString::to_string).restart(),
    field!("radius", "acct_port", radius.acct_port, port, ToString::to_string).restart(),
    field!("radius", "nas_identifier", radius.nas_identifier, nas_identifier, String::clone)
        .restart(),
    field!("radius", "nas_ip", radius.nas_ip, nas_ip, shown).restart(),
    field!("radius", "mode", radius.mode, radius_mode, mode_text).restart(),
    field!("radius", "interim_interval", radius.interim, interim, secs).restart(),
    field!(
        "radius",
        "coa_listen",
        radius.coa_listen,
        |v| address_or_none(v, "192.0.2.1:3799"),
        shown,
    )
    .restart(),
    field!("radius", "timeout", radius.timeout, |v| seconds(v, 30.0), secs).restart(),
    field!("radius", "retries", radius.retries, retries, ToString::to_string).restart(),
    // Last: `0` sets everything above aside.
    Opt::one(
        "radius",
        "enabled",
        |c, v| {
            if !flag(v)? {
                c.radius = None;
            }
            Ok(())
        },
        // A section that is read is on: `0` drops it.
        |_| "1".into(),
    )
    .restart(),
    // config shaping 'shaping'
    field!(
        "shaping",
        "enabled",
        shaping.enabled,
        flag,
        |on: &bool| u8::from(*on).to_string(),
    )
    .restart(),
    field!(
        "shaping",
        "ifb",
        shaping.ifb,
        |v: &str| ifname(v).map(|()| v.to_string()),
        String::clone,
    )
    .restart(),
];

/// The option `name` of section type `section`.
pub fn find(section: &str, name: &str) -> Option<&'static Opt> {
    OPTIONS
        .iter()
        .find(|o| o.section == section && o.name == name)
}

/// The options of `section`, in the order they are applied and written.
pub fn of(section: &str) -> impl Iterator<Item = &'static Opt> + '_ {
    OPTIONS.iter().filter(move |o| o.section == section)
}

/// The options whose value differs between `a` and `b` and that take effect only when the
/// services restart, as the owner names them.
pub fn needing_restart(a: &Config, b: &Config) -> Vec<String> {
    OPTIONS
        .iter()
        .filter(|o| o.restart && o.get(a) != o.get(b))
        .map(Opt::key)
        .collect()
}

/// The RADIUS settings being read (a `config radius` section was met).
fn radius(c: &mut Config) -> &mut RadiusConfig {
    c.radius.get_or_insert_with(RadiusConfig::default)
}

/// What the RADIUS options say, their defaults while there is no server.
fn radius_or_default(c: &Config) -> RadiusConfig {
    c.radius.clone().unwrap_or_default()
}

/// An optional value as written: empty for none.
fn shown<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or(String::new(), ToString::to_string)
}

/// Seconds as written: `10`, `0.5`.
fn secs(d: &Duration) -> String {
    d.as_secs_f64().to_string()
}

fn path_text(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// An optional path as written: empty for none.
fn shown_path(p: &Option<PathBuf>) -> String {
    p.as_deref().map_or(String::new(), path_text)
}

/// A secret as read: spaces around it are copying mistakes.
fn secret(v: &str) -> Result<Secret, String> {
    Ok(Secret(v.trim().into()))
}

fn port(v: &str) -> Result<u16, String> {
    match v.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("{v:?} is not a port number (1-65535)")),
    }
}

fn address(v: &str, example: &str) -> Result<SocketAddr, String> {
    v.parse()
        .map_err(|_| format!("{v:?} is not an address:port such as {example}"))
}

/// An address:port, or empty for none.
fn address_or_none(v: &str, example: &str) -> Result<Option<SocketAddr>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    v.parse()
        .map(Some)
        .map_err(|_| format!("{v:?} is not an address:port such as {example} (or empty: none)"))
}

fn path(v: &str) -> Result<PathBuf, String> {
    if !v.starts_with('/') {
        return Err(format!("{v:?} is not an absolute path"));
    }
    Ok(v.into())
}

/// An absolute path, or empty for none.
fn path_or_none(v: &str) -> Result<Option<PathBuf>, String> {
    (!v.is_empty()).then(|| path(v)).transpose()
}

fn ifname(v: &str) -> Result<(), String> {
    let ok = (1..=15).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("{v:?} is not an interface name"))
    }
}

/// 5 to 7 digits: a shortcode or a till number.
fn digits(v: &str, what: &str) -> Result<String, String> {
    if (5..=7).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(v.into())
    } else {
        Err(format!("{v:?} is not {what} (5 to 7 digits)"))
    }
}

fn flag(v: &str) -> Result<bool, String> {
    match v {
        "1" | "on" | "true" | "yes" | "enabled" => Ok(true),
        "0" | "off" | "false" | "no" | "disabled" => Ok(false),
        _ => Err(format!("{v:?} is not 0 or 1")),
    }
}

/// Seconds, fractions allowed: 0.01 to `max`.
fn seconds(v: &str, max: f64) -> Result<Duration, String> {
    match v.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.01..=max).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("{v:?} is not a number of seconds (0.01 to {max})")),
    }
}

/// A whole number in `range`: `what` it is names it in the error ("a count (1 to 1000)").
fn whole<T>(v: &str, range: std::ops::RangeInclusive<T>, what: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    match v.parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "{v:?} is not {what} ({} to {})",
            range.start(),
            range.end()
        )),
    }
}

/// Whole seconds, 1 to 86400.
fn whole_seconds(v: &str) -> Result<Duration, String> {
    whole(v, 1..=86_400, "a whole number of seconds").map(Duration::from_secs)
}

/// The Interim-Update interval: whole seconds, 60 to 86400.
fn interim(v: &str) -> Result<Duration, String> {
    whole(v, 60..=86_400, "a whole number of seconds").map(Duration::from_secs)
}

/// A limit's count, or copies kept: 1 to 1000.
fn count(v: &str) -> Result<u32, String> {
    whole(v, 1..=1000, "a count")
}

fn days(v: &str) -> Result<u32, String> {
    whole(v, 1..=3650, "a number of days")
}

fn retries(v: &str) -> Result<u32, String> {
    whole(v, 0..=10, "a number of tries")
}

fn site_name(v: &str) -> Result<String, String> {
    let n = v.trim();
    if n.is_empty() || n.chars().count() > 40 {
        return Err("must be 1 to 40 characters".into());
    }
    Ok(n.into())
}

fn welcome(v: &str) -> Result<String, String> {
    if v.chars().count() > super::MAX_WELCOME || v.chars().any(char::is_control) {
        return Err(format!(
            "must be at most {} characters on one line",
            super::MAX_WELCOME
        ));
    }
    Ok(v.trim().into())
}

/// Empty, or a public https URL (the listener's secret path is checked with `callback_listen`).
fn callback_url(v: &str) -> Result<String, String> {
    if !v.is_empty() && !crate::https::is_public_https(v) {
        return Err(format!(
            "{v:?} is not a public https URL (Daraja refuses IP addresses, localhost and spaces)"
        ));
    }
    Ok(v.into())
}

fn nas_identifier(v: &str) -> Result<String, String> {
    if v.is_empty() || v.len() > 64 {
        return Err("must be 1 to 64 characters".into());
    }
    Ok(v.into())
}

fn nas_ip(v: &str) -> Result<Option<Ipv4Addr>, String> {
    match v.parse() {
        _ if v.is_empty() => Ok(None),
        Ok(ip) => Ok(Some(ip)),
        Err(_) => Err(format!("{v:?} is not an IPv4 address")),
    }
}

fn radius_mode(v: &str) -> Result<RadiusMode, String> {
    match v {
        "unknown" => Ok(RadiusMode::Unknown),
        "all" => Ok(RadiusMode::All),
        _ => Err(format!(
            "{v:?} is not unknown (codes that are not local vouchers) or all"
        )),
    }
}

fn mode_text(m: &RadiusMode) -> String {
    match m {
        RadiusMode::Unknown => "unknown".into(),
        RadiusMode::All => "all".into(),
    }
}

fn intervals_text(l: &[u32]) -> String {
    let all: Vec<String> = l.iter().map(u32::to_string).collect();
    all.join(" ")
}

/// Whole seconds separated by spaces, e.g. `120 300 900 3600`: 1 to 10 of them, each 1 to 86400.
fn intervals(v: &str) -> Result<Vec<u32>, String> {
    let list: Option<Vec<u32>> = v
        .split_whitespace()
        .map(|n| n.parse().ok().filter(|n| (1..=86_400).contains(n)))
        .collect();
    match list {
        Some(l) if (1..=10).contains(&l.len()) => Ok(l),
        _ => Err(format!(
            "{v:?} is not 1 to 10 whole numbers of seconds (1 to 86400) separated by spaces"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option once, in a section `to_uci` writes.
    #[test]
    fn every_option_is_named_once_in_a_known_section() {
        for (i, o) in OPTIONS.iter().enumerate() {
            assert!(SECTIONS.iter().any(|(k, _)| *k == o.section), "{}", o.key());
            assert!(
                OPTIONS[..i].iter().all(|p| p.key() != o.key()),
                "{} twice",
                o.key()
            );
        }
    }

    /// The README's option table is this table: the same options, lists and defaults.
    #[test]
    fn the_readme_lists_every_option_with_its_default() {
        let readme = include_str!("../../README.md");
        let defaults = Config::default();
        let mut seen = vec![];
        for row in readme.lines().filter(|l| l.starts_with("| ")) {
            let cells: Vec<&str> = row
                .split(" | ")
                .map(|c| c.trim_matches(['|', ' ']))
                .collect();
            if cells.len() < 4 || !SECTIONS.iter().any(|(k, _)| *k == cells[0]) {
                continue;
            }
            let names: Vec<&str> = cells[1].split(", ").collect();
            let shown: Vec<&str> = match cells[2] {
                "—" => vec![""; names.len()],
                d => d.split(", ").map(|v| v.trim_matches('`')).collect(),
            };
            assert_eq!(names.len(), shown.len(), "{row}");
            for (name, default) in names.iter().zip(shown) {
                let list = name.ends_with(" (list)");
                let name = name.trim_end_matches(" (list)").trim_matches('`');
                let o = find(cells[0], name)
                    .unwrap_or_else(|| panic!("README names {}.{name}, not an option", cells[0]));
                assert_eq!(o.is_list(), list, "README: {} (list)?", o.key());
                assert_eq!(
                    o.get(&defaults).join(" "),
                    default,
                    "README default of {}",
                    o.key()
                );
                seen.push(o.key());
            }
        }
        for o in OPTIONS {
            assert!(
                seen.contains(&o.key()),
                "README's option table lacks {}",
                o.key()
            );
        }
    }

    /// The config file the package installs shows every option in its section (commented out
    /// where the default stands).
    #[test]
    fn the_packaged_config_documents_every_option() {
        let file = include_str!("../../openwrt-package/lango/files/lango.config");
        let mut section = "";
        let mut documented = vec![];
        for line in file.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("config ") {
                section = rest.split_whitespace().next().unwrap_or("");
                continue;
            }
            let words: Vec<&str> = line.trim_start_matches('#').split_whitespace().collect();
            if let ["option" | "list", name, ..] = words[..] {
                documented.push(format!("{section}.{name}"));
            }
        }
        for o in OPTIONS {
            let key = format!("{}.{}", o.section, o.name);
            assert!(documented.contains(&key), "lango.config lacks {key}");
        }
    }

    #[test]
    fn only_what_listeners_and_the_gate_hold_needs_a_restart() {
        let a = Config::default();
        let mut b = a.clone();
        b.site_name = "New".into();
        b.daraja.shortcode = "600000".into();
        b.limits.pushes_per_mac.max = 9;
        assert!(needing_restart(&a, &b).is_empty());
        b.shaping.ifb = "ifb1".into();
        b.radius = Some(RadiusConfig::default());
        b.radius.as_mut().unwrap().server = "192.0.2.1".parse().unwrap();
        assert_eq!(needing_restart(&a, &b), ["radius.server", "shaping.ifb"]);
    }
}
