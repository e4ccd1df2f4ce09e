//! `/etc/config/lango` (UCI syntax) -> a typed, validated `Config`.
//! Touches: the config file only. Errors name the file, the line and the option.
//! Unknown options and sections are warned about and ignored, so a newer file still loads.

use crate::mac::Mac;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where Lango's config lives on a router.
pub const DEFAULT_PATH: &str = "/etc/config/lango";

/// Everything Lango reads from its config file.
#[derive(Clone, Debug)]
pub struct Config {
    /// Captive interfaces: phones on these are gated.
    pub interfaces: Vec<String>,
    pub portal_port: u16,
    pub admin_listen: SocketAddr,
    pub database: PathBuf,
    pub control_socket: PathBuf,
    /// Shown on the portal and voucher sheets.
    pub site_name: String,
    /// Portal language when the phone does not choose one.
    pub language: Lang,
    /// Owner devices: never captive, may reach the admin page.
    pub trusted: Vec<Mac>,
    /// Destinations reachable without paying (e.g. an M-Pesa help page).
    pub walled_garden: Vec<Cidr>,
    pub daraja: DarajaConfig,
    pub shaping: ShapingConfig,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Sw,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Sw => "sw",
        }
    }
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "sw" => Some(Lang::Sw),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Sandbox,
    Production,
}

/// Which kind of M-Pesa shortcode receives the money.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShortcodeKind {
    /// `CustomerPayBillOnline`: PartyB is the paybill itself.
    Paybill,
    /// `CustomerBuyGoodsOnline`: PartyB is this till number; the shortcode is the store number.
    Till(String),
}

/// A string that must never reach a log or a page.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "<empty>"
        } else {
            "<secret>"
        })
    }
}

#[derive(Clone, Debug)]
pub struct DarajaConfig {
    pub environment: Environment,
    /// Scheme + host Lango talks to, without a trailing slash.
    pub base_url: String,
    pub ca_file: Option<PathBuf>,
    pub consumer_key: Secret,
    pub consumer_secret: Secret,
    pub shortcode: String,
    pub passkey: Secret,
    pub kind: ShortcodeKind,
    /// Public https URL Daraja posts results to; Daraja insists on one even when Lango polls.
    pub callback_url: String,
    /// First STK Push Query this long after the push.
    pub poll_first: Duration,
    /// Then every this long.
    pub poll_interval: Duration,
    /// Then give up: the payment becomes `timeout`.
    pub poll_timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct ShapingConfig {
    pub enabled: bool,
    pub ifb: String,
}

/// An IPv4 or IPv6 network in CIDR notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl std::str::FromStr for Cidr {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a.parse().map_err(|_| ())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            max
        } else {
            p.parse::<u8>().map_err(|_| ())?
        };
        if prefix > max {
            return Err(());
        }
        Ok(Cidr { addr, prefix })
    }
}

/// A config file that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {msg}")]
    Syntax {
        path: String,
        line: usize,
        msg: String,
    },
    #[error("{path}:{line}: option {option}: {msg}")]
    Value {
        path: String,
        line: usize,
        option: String,
        msg: String,
    },
    #[error("{path}: {msg}")]
    Missing { path: String, msg: String },
}

/// One `config TYPE 'name'` block as written.
#[derive(Debug, Clone)]
pub struct Section {
    pub kind: String,
    pub name: Option<String>,
    pub line: usize,
    /// (option name, value, line); `list` entries repeat the name.
    pub options: Vec<(String, String, usize)>,
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Validates UCI text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, Error> {
        let sections = parse_uci(text, origin)?;
        let mut b = Builder::new(origin);
        for s in &sections {
            match s.kind.as_str() {
                "lango" => b.main(s)?,
                "daraja" => b.daraja(s)?,
                "shaping" => b.shaping(s)?,
                other => log::warn!(
                    "{origin}:{}: unknown section type {other:?} ignored",
                    s.line
                ),
            }
        }
        b.finish()
    }

    /// A config for `lango demo` and tests: loopback, temp files, sandbox credentials.
    pub fn for_demo(dir: &Path, daraja_base_url: &str) -> Config {
        let mut c = Config::parse("", "<demo>").expect("defaults are valid");
        c.interfaces = vec![];
        c.database = dir.join("lango.db");
        c.control_socket = dir.join("lango.sock");
        c.admin_listen = "127.0.0.1:8080".parse().expect("literal");
        c.site_name = "Lango Demo".into();
        let d = &mut c.daraja;
        d.base_url = daraja_base_url.trim_end_matches('/').to_string();
        d.consumer_key = Secret(crate::sim::DEMO_CONSUMER_KEY.into());
        d.consumer_secret = Secret(crate::sim::DEMO_CONSUMER_SECRET.into());
        d.passkey = Secret(crate::sim::SANDBOX_PASSKEY.into());
        d.poll_first = Duration::from_secs(2);
        d.poll_interval = Duration::from_secs(2);
        c
    }
}

/// Collects options section by section, keeping where each came from.
struct Builder<'a> {
    origin: &'a str,
    interfaces: Vec<String>,
    portal_port: u16,
    admin_listen: SocketAddr,
    database: PathBuf,
    control_socket: PathBuf,
    site_name: String,
    language: Lang,
    trusted: Vec<Mac>,
    walled_garden: Vec<Cidr>,
    environment: Environment,
    base_url: Option<String>,
    ca_file: Option<PathBuf>,
    consumer_key: Secret,
    consumer_secret: Secret,
    shortcode: String,
    passkey: Secret,
    kind: String,
    till: String,
    kind_line: usize,
    callback_url: String,
    poll_first: Duration,
    poll_interval: Duration,
    poll_timeout: Duration,
    shaping: ShapingConfig,
}

impl<'a> Builder<'a> {
    fn new(origin: &'a str) -> Self {
        Builder {
            origin,
            interfaces: vec!["br-lan".into()],
            portal_port: 2050,
            admin_listen: "0.0.0.0:8080".parse().expect("literal"),
            database: "/etc/lango/lango.db".into(),
            control_socket: "/var/run/lango.sock".into(),
            site_name: "Lango Wi-Fi".into(),
            language: Lang::En,
            trusted: vec![],
            walled_garden: vec![],
            environment: Environment::Sandbox,
            base_url: None,
            ca_file: None,
            consumer_key: Secret::default(),
            consumer_secret: Secret::default(),
            shortcode: "174379".into(),
            passkey: Secret::default(),
            kind: "paybill".into(),
            till: String::new(),
            kind_line: 0,
            callback_url: String::new(),
            poll_first: Duration::from_secs(10),
            poll_interval: Duration::from_secs(10),
            poll_timeout: Duration::from_secs(180),
            shaping: ShapingConfig {
                enabled: true,
                ifb: "ifb-lango".into(),
            },
        }
    }

    fn bad(&self, line: usize, option: &str, msg: impl Into<String>) -> Error {
        Error::Value {
            path: self.origin.into(),
            line,
            option: option.into(),
            msg: msg.into(),
        }
    }

    fn main(&mut self, s: &Section) -> Result<(), Error> {
        let mut interfaces = vec![];
        for (k, v, line) in &s.options {
            let line = *line;
            match k.as_str() {
                "interface" => {
                    if !is_ifname(v) {
                        return Err(self.bad(line, k, format!("{v:?} is not an interface name")));
                    }
                    interfaces.push(v.clone());
                }
                "portal_port" => {
                    self.portal_port = match v.parse::<u16>() {
                        Ok(p) if p > 0 => p,
                        _ => {
                            return Err(self.bad(
                                line,
                                k,
                                format!("{v:?} is not a port number (1-65535)"),
                            ))
                        }
                    }
                }
                "admin_listen" => {
                    self.admin_listen = v.parse().map_err(|_| {
                        self.bad(
                            line,
                            k,
                            format!("{v:?} is not an address:port such as 0.0.0.0:8080"),
                        )
                    })?
                }
                "database" => self.database = self.path(line, k, v)?,
                "control_socket" => self.control_socket = self.path(line, k, v)?,
                "site_name" => {
                    let n = v.trim();
                    if n.is_empty() || n.chars().count() > 40 {
                        return Err(self.bad(line, k, "must be 1 to 40 characters"));
                    }
                    self.site_name = n.into();
                }
                "language" => {
                    self.language = Lang::parse(v).ok_or_else(|| {
                        self.bad(line, k, format!("{v:?} is not a language (en or sw)"))
                    })?
                }
                "trusted" => self.trusted.push(
                    v.parse()
                        .map_err(|e: crate::mac::BadMac| self.bad(line, k, e.to_string()))?,
                ),
                "walled_garden" => self.walled_garden.push(v.parse().map_err(|_| {
                    self.bad(
                        line,
                        k,
                        format!("{v:?} is not an IP network such as 203.0.113.0/24"),
                    )
                })?),
                _ => self.unknown(s, k, line),
            }
        }
        if !interfaces.is_empty() {
            self.interfaces = interfaces;
        }
        Ok(())
    }

    fn daraja(&mut self, s: &Section) -> Result<(), Error> {
        for (k, v, line) in &s.options {
            let line = *line;
            match k.as_str() {
                "environment" => {
                    self.environment = match v.as_str() {
                        "sandbox" => Environment::Sandbox,
                        "production" => Environment::Production,
                        _ => {
                            return Err(self.bad(
                                line,
                                k,
                                format!("{v:?} is not sandbox or production"),
                            ))
                        }
                    }
                }
                "base_url" if v.is_empty() => self.base_url = None,
                "base_url" => {
                    if !is_base_url(v) {
                        return Err(self.bad(
                            line,
                            k,
                            format!("{v:?} is not an http(s) URL such as https://127.0.0.1:8443"),
                        ));
                    }
                    self.base_url = Some(v.trim_end_matches('/').into());
                }
                "ca_file" if v.is_empty() => self.ca_file = None,
                "ca_file" => self.ca_file = Some(self.path(line, k, v)?),
                "consumer_key" => self.consumer_key = Secret(v.trim().into()),
                "consumer_secret" => self.consumer_secret = Secret(v.trim().into()),
                "passkey" => self.passkey = Secret(v.trim().into()),
                "shortcode" => {
                    if !(5..=7).contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(self.bad(
                            line,
                            k,
                            format!("{v:?} is not a shortcode (5 to 7 digits)"),
                        ));
                    }
                    self.shortcode = v.clone();
                }
                "type" => {
                    if v != "paybill" && v != "till" {
                        return Err(self.bad(line, k, format!("{v:?} is not paybill or till")));
                    }
                    self.kind = v.clone();
                    self.kind_line = line;
                }
                "till" => {
                    if !v.is_empty()
                        && (!(5..=7).contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_digit()))
                    {
                        return Err(self.bad(
                            line,
                            k,
                            format!("{v:?} is not a till number (5 to 7 digits)"),
                        ));
                    }
                    self.till = v.clone();
                }
                "callback_url" => {
                    if !v.is_empty() && !crate::sim::is_public_https(v) {
                        return Err(self.bad(
                            line,
                            k,
                            format!("{v:?} is not a public https URL (Daraja refuses IP addresses, localhost and spaces)"),
                        ));
                    }
                    self.callback_url = v.clone();
                }
                "poll_first" => self.poll_first = self.seconds(line, k, v)?,
                "poll_interval" => self.poll_interval = self.seconds(line, k, v)?,
                "poll_timeout" => self.poll_timeout = self.seconds(line, k, v)?,
                _ => self.unknown(s, k, line),
            }
        }
        Ok(())
    }

    fn shaping(&mut self, s: &Section) -> Result<(), Error> {
        for (k, v, line) in &s.options {
            let line = *line;
            match k.as_str() {
                "enabled" => {
                    self.shaping.enabled = match v.as_str() {
                        "1" | "on" | "true" | "yes" | "enabled" => true,
                        "0" | "off" | "false" | "no" | "disabled" => false,
                        _ => return Err(self.bad(line, k, format!("{v:?} is not 0 or 1"))),
                    }
                }
                "ifb" => {
                    if !is_ifname(v) {
                        return Err(self.bad(line, k, format!("{v:?} is not an interface name")));
                    }
                    self.shaping.ifb = v.clone();
                }
                _ => self.unknown(s, k, line),
            }
        }
        Ok(())
    }

    fn unknown(&self, s: &Section, k: &str, line: usize) {
        log::warn!(
            "{}:{line}: unknown option {k:?} in section {:?} ignored",
            self.origin,
            s.kind
        );
    }

    fn path(&self, line: usize, k: &str, v: &str) -> Result<PathBuf, Error> {
        if !v.starts_with('/') {
            return Err(self.bad(line, k, format!("{v:?} is not an absolute path")));
        }
        Ok(v.into())
    }

    fn seconds(&self, line: usize, k: &str, v: &str) -> Result<Duration, Error> {
        match v.parse::<f64>() {
            Ok(s) if s.is_finite() && (0.01..=86_400.0).contains(&s) => {
                Ok(Duration::from_secs_f64(s))
            }
            _ => Err(self.bad(
                line,
                k,
                format!("{v:?} is not a number of seconds (0.01 to 86400)"),
            )),
        }
    }

    fn finish(self) -> Result<Config, Error> {
        let kind = if self.kind == "till" {
            if self.till.is_empty() {
                return Err(Error::Missing {
                    path: self.origin.into(),
                    msg: format!(
                        "line {}: option type 'till' needs option till (the till number)",
                        self.kind_line
                    ),
                });
            }
            ShortcodeKind::Till(self.till)
        } else {
            ShortcodeKind::Paybill
        };
        let base_url = self.base_url.unwrap_or_else(|| {
            match self.environment {
                Environment::Sandbox => "https://sandbox.safaricom.co.ke",
                Environment::Production => "https://api.safaricom.co.ke",
            }
            .into()
        });
        Ok(Config {
            interfaces: self.interfaces,
            portal_port: self.portal_port,
            admin_listen: self.admin_listen,
            database: self.database,
            control_socket: self.control_socket,
            site_name: self.site_name,
            language: self.language,
            trusted: self.trusted,
            walled_garden: self.walled_garden,
            daraja: DarajaConfig {
                environment: self.environment,
                base_url,
                ca_file: self.ca_file,
                consumer_key: self.consumer_key,
                consumer_secret: self.consumer_secret,
                shortcode: self.shortcode,
                passkey: self.passkey,
                kind,
                callback_url: self.callback_url,
                poll_first: self.poll_first,
                poll_interval: self.poll_interval,
                poll_timeout: self.poll_timeout,
            },
            shaping: self.shaping,
        })
    }
}

/// `http(s)://HOST[:PORT][/PATH]`: Lango appends Daraja's paths to it, so no query or fragment.
fn is_base_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && !s.contains(char::is_whitespace)
        && reqwest::Url::parse(s).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some_and(|h| !h.is_empty())
                && u.query().is_none()
                && u.fragment().is_none()
        })
}

fn is_ifname(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
}

/// Splits UCI text into sections. Syntax errors name the line.
pub fn parse_uci(text: &str, origin: &str) -> Result<Vec<Section>, Error> {
    let mut sections: Vec<Section> = vec![];
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |msg: String| Error::Syntax {
            path: origin.into(),
            line,
            msg,
        };
        let words = split_words(raw).map_err(err)?;
        let Some(first) = words.first() else { continue };
        match first.as_str() {
            "config" => {
                if words.len() < 2 || words.len() > 3 {
                    return Err(err("expected: config TYPE ['NAME']".into()));
                }
                sections.push(Section {
                    kind: words[1].clone(),
                    name: words.get(2).cloned(),
                    line,
                    options: vec![],
                });
            }
            "option" | "list" => {
                let Some(section) = sections.last_mut() else {
                    return Err(err(format!("{first} before any config section")));
                };
                if words.len() != 3 {
                    return Err(err(format!("expected: {first} NAME 'VALUE'")));
                }
                let name = &words[1];
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(err(format!("{name:?} is not an option name")));
                }
                section.options.push((name.clone(), words[2].clone(), line));
            }
            "package" => {}
            other => {
                return Err(err(format!(
                    "unexpected {other:?} (expected config, option or list)"
                )))
            }
        }
    }
    Ok(sections)
}

/// Shell-like word splitting as UCI does it: quotes, backslashes, `#` comments.
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = vec![];
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => cur.push(c),
                            None => return Err("unterminated \" quote".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unterminated \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
# Lango
config lango 'main'
	list interface 'br-lan'
	list interface "guest"   # the guest network
	option portal_port '2050'
	option admin_listen '192.168.1.1:8080'
	option database '/etc/lango/lango.db'
	option site_name 'Mama Mboga Wi-Fi'
	list trusted 'AA:BB:CC:DD:EE:01'
	list walled_garden '196.201.214.0/24'

config daraja 'daraja'
	option environment 'production'
	option consumer_key 'abc'
	option shortcode '600000'
	option type 'till'
	option till '123456'
	option poll_first '0.5'

config shaping 'shaping'
	option enabled '0'
"#;

    #[test]
    fn parses_a_full_file() {
        let c = Config::parse(SAMPLE, "lango.conf").unwrap();
        assert_eq!(c.interfaces, ["br-lan", "guest"]);
        assert_eq!(c.admin_listen.to_string(), "192.168.1.1:8080");
        assert_eq!(c.site_name, "Mama Mboga Wi-Fi");
        assert_eq!(c.trusted[0].to_string(), "aa:bb:cc:dd:ee:01");
        assert_eq!(c.walled_garden[0].to_string(), "196.201.214.0/24");
        assert_eq!(c.daraja.base_url, "https://api.safaricom.co.ke");
        assert_eq!(c.daraja.kind, ShortcodeKind::Till("123456".into()));
        assert_eq!(c.daraja.poll_first, Duration::from_millis(500));
        assert!(!c.shaping.enabled);
    }

    #[test]
    fn empty_file_gives_documented_defaults() {
        let c = Config::parse("", "x").unwrap();
        assert_eq!(c.interfaces, ["br-lan"]);
        assert_eq!(c.portal_port, 2050);
        assert_eq!(c.admin_listen.to_string(), "0.0.0.0:8080");
        assert_eq!(c.database, PathBuf::from("/etc/lango/lango.db"));
        assert_eq!(c.control_socket, PathBuf::from("/var/run/lango.sock"));
        assert_eq!(c.daraja.base_url, "https://sandbox.safaricom.co.ke");
        assert_eq!(c.daraja.shortcode, "174379");
        assert_eq!(c.daraja.kind, ShortcodeKind::Paybill);
        assert_eq!(c.daraja.poll_timeout, Duration::from_secs(180));
        assert!(c.shaping.enabled);
        assert_eq!(c.shaping.ifb, "ifb-lango");
    }

    #[test]
    fn bad_value_names_file_line_and_option() {
        let text = "config lango 'main'\n\toption portal_port '20x0'\n";
        let e = Config::parse(text, "lango.conf").unwrap_err().to_string();
        assert_eq!(
            e,
            "lango.conf:2: option portal_port: \"20x0\" is not a port number (1-65535)"
        );
    }

    #[test]
    fn bad_values_are_refused() {
        for (opt, val) in [
            ("admin_listen", "8080"),
            ("database", "relative.db"),
            ("language", "fr"),
            ("trusted", "aa:bb"),
            ("walled_garden", "10.0.0.0/33"),
            ("interface", "way-too-long-interface-name"),
        ] {
            let text = format!("config lango 'main'\n\toption {opt} '{val}'\n");
            let e = Config::parse(&text, "f").unwrap_err().to_string();
            assert!(e.starts_with(&format!("f:2: option {opt}: ")), "{e}");
        }
        for (opt, val) in [
            ("environment", "live"),
            ("shortcode", "12ab"),
            ("type", "bank"),
            ("callback_url", "http://x.y/cb"),
            ("poll_interval", "-1"),
        ] {
            let text = format!("config daraja 'daraja'\n\toption {opt} '{val}'\n");
            let e = Config::parse(&text, "f").unwrap_err().to_string();
            assert!(e.starts_with(&format!("f:2: option {opt}: ")), "{e}");
        }
    }

    #[test]
    fn till_without_number_is_refused() {
        let e = Config::parse("config daraja 'd'\n option type 'till'\n", "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs option till"), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        for (text, want) in [
            ("option x 'y'\n", "f:1: option before any config section"),
            (
                "config lango 'main'\n option portal_port '2050\n",
                "f:2: unterminated ' quote",
            ),
            (
                "config lango 'main'\n frobnicate\n",
                "f:2: unexpected \"frobnicate\" (expected config, option or list)",
            ),
        ] {
            assert_eq!(Config::parse(text, "f").unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn quoting_follows_uci() {
        let s = parse_uci(
            "config a 'b'\n option x \"it's \\\"q\\\"\"\n option y bare#notcomment\n",
            "f",
        )
        .unwrap();
        assert_eq!(s[0].options[0].1, "it's \"q\"");
        assert_eq!(s[0].options[1].1, "bare#notcomment");
    }

    #[test]
    fn regression_config_base_url_without_host() {
        // `https://` was accepted and trimmed to `https:`: every Daraja call then failed at run time
        // instead of the config being refused at start with its line.
        for url in [
            "https://",
            "https:///",
            "http://:8443",
            "https://x.y/?a=1",
            "ftp://x.y",
        ] {
            let text = format!("config daraja 'd'\n option base_url '{url}'\n");
            let e = Config::parse(&text, "f").unwrap_err().to_string();
            assert!(e.starts_with("f:2: option base_url: "), "{url}: {e}");
        }
        for (url, kept) in [
            ("https://127.0.0.1:8443/", "https://127.0.0.1:8443"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            (
                "https://sandbox.safaricom.co.ke",
                "https://sandbox.safaricom.co.ke",
            ),
        ] {
            let text = format!("config daraja 'd'\n option base_url '{url}'\n");
            assert_eq!(Config::parse(&text, "f").unwrap().daraja.base_url, kept);
        }
    }

    #[test]
    fn regression_config_callback_url_daraja_refuses() {
        // These were accepted, and then Daraja refused every push with "Invalid CallBackURL".
        for url in [
            "https://localhost/cb",
            "https://192.168.1.1/cb",
            "https://[::1]/cb",
            "https://router/cb",
            "https://user:pw@example.com/cb",
        ] {
            let text = format!("config daraja 'd'\n option callback_url '{url}'\n");
            let e = Config::parse(&text, "f").unwrap_err().to_string();
            assert!(e.starts_with("f:2: option callback_url: "), "{url}: {e}");
        }
        let text = "config daraja 'd'\n option callback_url 'https://hotspot.example.co.ke/cb/x'\n";
        assert_eq!(
            Config::parse(text, "f").unwrap().daraja.callback_url,
            "https://hotspot.example.co.ke/cb/x"
        );
    }
}
