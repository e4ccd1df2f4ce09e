//! `/etc/config/lango` (UCI syntax) -> a typed, validated `Config`. What each option is, how it
//! is read and written, lives in one table (`options`); this module holds the types, the
//! defaults, the rules that span options (a till needs its number, a callback listener its
//! secret URL, a RADIUS server its secret) and the file's atomic replacement.
//! Touches: the config file only. Errors name the file, the line and the option; every wrong
//! option is named, not only the first. Unknown options and sections are warned about and
//! ignored, so a newer file still loads.

pub mod options;

use crate::limits::Window;
use crate::mac::Mac;
use crate::uci;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where Lango's config lives on a router.
pub const DEFAULT_PATH: &str = "/etc/config/lango";
/// The last segment of `callback_url` is the only thing keeping strangers from posting fake
/// results: at least this many characters (16 random letters and digits are ~95 bits).
const MIN_CALLBACK_SECRET: usize = 16;
/// The portal's welcome line fits a phone screen.
pub const MAX_WELCOME: usize = 200;

/// Everything Lango reads from its config file.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file this came from (`None`: built in code, e.g. the demo); the owner's page saves here.
    pub path: Option<PathBuf>,
    /// Captive interfaces: phones on these are gated.
    pub interfaces: Vec<String>,
    pub portal_port: u16,
    /// The owner's page, over HTTPS.
    pub admin_listen: SocketAddr,
    /// Plain HTTP that only redirects to the owner's HTTPS page (`None`: not served).
    pub admin_http_listen: Option<SocketAddr>,
    /// The owner's page certificate and key (PEM); made self-signed at first start if neither exists.
    pub admin_cert: PathBuf,
    pub admin_key: PathBuf,
    /// Names (or addresses) the owner's page answers to besides the router's own address,
    /// `localhost` and the router's hostname (DNS rebinding: any other Host is refused).
    pub admin_hosts: Vec<String>,
    pub database: PathBuf,
    pub control_socket: PathBuf,
    /// Shown on the portal and voucher sheets.
    pub site_name: String,
    /// Portal language when the phone does not choose one.
    pub language: Lang,
    /// An optional line of welcome on the portal (empty: none).
    pub welcome: String,
    /// dnsmasq's lease file, for the hostnames on the owner's page.
    pub dhcp_leases: PathBuf,
    /// Owner devices: never captive, may reach the admin page.
    pub trusted: Vec<Mac>,
    /// Destinations reachable without paying (e.g. an M-Pesa help page): networks, and host
    /// names whose addresses `garden` keeps current.
    pub walled_garden: Vec<Cidr>,
    pub walled_garden_hosts: Vec<String>,
    pub daraja: DarajaConfig,
    pub shaping: ShapingConfig,
    pub limits: LimitsConfig,
    pub retention: RetentionConfig,
    pub backup: BackupConfig,
    /// A central RADIUS server (`config radius`); `None`: Lango works alone.
    pub radius: Option<RadiusConfig>,
}

/// Which typed codes go to the RADIUS server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RadiusMode {
    /// Codes that are not local vouchers (the default): local vouchers keep working offline.
    Unknown,
    /// Every code; local vouchers are not looked at.
    All,
}

/// A central RADIUS server (`config radius`): authentication, accounting, Disconnect and CoA.
#[derive(Clone, Debug, PartialEq)]
pub struct RadiusConfig {
    pub server: IpAddr,
    pub auth_port: u16,
    pub acct_port: u16,
    pub secret: Secret,
    /// NAS-Identifier: names this router to the server.
    pub nas_identifier: String,
    /// NAS-IP-Address, if set (servers that key clients on it).
    pub nas_ip: Option<std::net::Ipv4Addr>,
    pub mode: RadiusMode,
    /// Interim-Update interval when the server's Acct-Interim-Interval does not set one.
    pub interim: Duration,
    /// Where Disconnect and CoA requests are taken (`None`: not at all).
    pub coa_listen: Option<SocketAddr>,
    /// How long one try waits for an answer, and how many tries after the first.
    pub timeout: Duration,
    pub retries: u32,
}

/// A `config radius` section that names no server: RADIUS stays off.
const NO_SERVER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

impl Default for RadiusConfig {
    /// The defaults of `config radius`, before it names a server.
    fn default() -> RadiusConfig {
        RadiusConfig {
            server: NO_SERVER,
            auth_port: 1812,
            acct_port: 1813,
            secret: Secret::default(),
            nas_identifier: "lango".into(),
            nas_ip: None,
            mode: RadiusMode::Unknown,
            interim: Duration::from_secs(300),
            coa_listen: Some(SocketAddr::from(([0, 0, 0, 0], 3799))),
            timeout: Duration::from_secs(3),
            retries: 2,
        }
    }
}

/// How long details are kept on the router's flash (`config retention`); daily totals per
/// package are kept forever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionConfig {
    pub payments_days: u32,
    pub events_days: u32,
    /// Ended sessions.
    pub sessions_days: u32,
}

/// The nightly copy of the database (`config backup`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupConfig {
    /// Where the copies go (a USB stick); `None`: no nightly copy.
    pub dir: Option<PathBuf>,
    /// Copies kept; older ones are deleted.
    pub keep: u32,
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

impl Environment {
    pub fn code(self) -> &'static str {
        match self {
            Environment::Sandbox => "sandbox",
            Environment::Production => "production",
        }
    }

    /// Safaricom's host for this environment (`base_url` when the file names none).
    pub fn host(self) -> &'static str {
        match self {
            Environment::Sandbox => "https://sandbox.safaricom.co.ke",
            Environment::Production => "https://api.safaricom.co.ke",
        }
    }
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

impl Secret {
    /// The secret as the config file holds it.
    pub fn written(&self) -> String {
        self.0.clone()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "<empty>"
        } else {
            "<secret>"
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
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
    /// Where Daraja's callbacks are received (its own listener, never a captive interface's
    /// port); `None`: no listener, payments are confirmed by polling only.
    pub callback_listen: Option<SocketAddr>,
    /// The path of `callback_url` (ending in the owner's secret): the only path the callback
    /// listener answers.
    pub callback_path: String,
    /// Seconds between the STK Push Queries that re-check a `timeout` payment (the first counts
    /// from the timeout); the last one repeats.
    pub recheck_intervals: Vec<u32>,
    /// How long after its timeout a payment is re-checked.
    pub recheck_for: Duration,
}

impl DarajaConfig {
    /// The settings M-Pesa needs that are still empty (`consumer_key`, `consumer_secret`,
    /// `passkey`); while any is, the portal offers vouchers only.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            ("consumer_key", &self.consumer_key),
            ("consumer_secret", &self.consumer_secret),
            ("passkey", &self.passkey),
        ]
        .into_iter()
        .filter(|(_, v)| v.0.is_empty())
        .map(|(name, _)| name)
        .collect()
    }
}

/// Abuse limits (`config limits`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitsConfig {
    /// STK pushes one device may start.
    pub pushes_per_mac: Window,
    /// STK pushes one phone number may receive.
    pub pushes_per_phone: Window,
    /// Wrong voucher codes one device may type.
    pub voucher_guesses: Window,
}

#[derive(Clone, Debug, PartialEq)]
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

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut c = Config::parse(&text, &path.display().to_string())?;
        c.path = Some(path.to_path_buf());
        Ok(c)
    }

    /// Validates `text` and, only if it is a good config, replaces the file at `path` with it
    /// atomically (temporary file in the same directory, then rename), keeping the file's mode.
    pub fn write(path: &Path, text: &str) -> Result<Config, Error> {
        let origin = path.display().to_string();
        let mut c = Config::parse(text, &origin)?;
        c.path = Some(path.to_path_buf());
        let io = |source| Error::Read {
            path: origin.clone(),
            source,
        };
        let name = path
            .file_name()
            .map_or("config".into(), |n| n.to_string_lossy().into_owned());
        let tmp = path.with_file_name(format!(".{name}.lango-new"));
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            // The file holds the Daraja secrets: owner-only from its first byte. A file that
            // was there keeps its mode.
            let _ = std::fs::remove_file(&tmp);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            if let Ok(m) = std::fs::metadata(path) {
                std::fs::set_permissions(&tmp, m.permissions())?;
            }
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })?;
        Ok(c)
    }

    /// This config as UCI text (every option written out), e.g. for a test or the demo that
    /// needs a file the owner's page can edit. `Config::parse` of it gives this config back.
    pub fn to_uci(&self) -> String {
        use crate::uci::quote;
        let mut t = String::new();
        for (kind, name) in options::SECTIONS {
            if *kind == "radius" && self.radius.is_none() {
                continue;
            }
            if !t.is_empty() {
                t.push('\n');
            }
            t += &format!("config {kind} '{name}'\n");
            for o in options::of(kind) {
                let word = if o.is_list() { "list" } else { "option" };
                for v in o.get(self) {
                    t += &format!("\t{word} {} {}\n", o.name, quote(&v));
                }
            }
        }
        t
    }

    /// Validates UCI text; `origin` names it in errors. The first error by line.
    pub fn parse(text: &str, origin: &str) -> Result<Config, Error> {
        Config::parse_all(text, origin).map_err(|mut e| e.swap_remove(0))
    }

    /// Validates UCI text, naming every option that is wrong (in line order), not only the
    /// first: the Settings page marks each field at once.
    pub fn parse_all(text: &str, origin: &str) -> Result<Config, Vec<Error>> {
        let sections = uci::sections(text).map_err(|u| {
            vec![match u.option {
                Some(option) => Error::Value {
                    path: origin.into(),
                    line: u.line,
                    option,
                    msg: u.msg,
                },
                None => Error::Syntax {
                    path: origin.into(),
                    line: u.line,
                    msg: u.msg,
                },
            }]
        })?;
        let mut c = Config::default();
        let mut errors = vec![];
        let bad = |line, option: &str, msg: String| Error::Value {
            path: origin.into(),
            line,
            option: option.into(),
            msg,
        };
        let mut type_line = 0;
        for s in &sections {
            if !options::SECTIONS.iter().any(|(kind, _)| *kind == s.kind) {
                log::warn!(
                    "{origin}:{}: unknown section type {:?} ignored",
                    s.line,
                    s.kind
                );
                continue;
            }
            if s.kind == "radius" {
                c.radius.get_or_insert_with(RadiusConfig::default);
            }
            for (k, _, line) in &s.options {
                if options::find(&s.kind, k).is_none() {
                    log::warn!(
                        "{origin}:{line}: unknown option {k:?} in section {:?} ignored",
                        s.kind
                    );
                }
            }
            for o in options::of(&s.kind) {
                let given: Vec<(&str, usize)> = s
                    .options
                    .iter()
                    .filter(|(k, _, _)| k == o.name)
                    .map(|(_, v, line)| (v.as_str(), *line))
                    .collect();
                if given.is_empty() {
                    continue;
                }
                if (o.section, o.name) == ("daraja", "type") {
                    type_line = given[given.len() - 1].1;
                }
                for (line, why) in o.apply(&mut c, &given) {
                    errors.push(bad(line, o.name, why));
                }
            }
        }
        // What one option alone cannot say.
        if c.daraja.kind == ShortcodeKind::Till(String::new()) {
            errors.push(bad(
                type_line,
                "till",
                "option type 'till' needs option till (the till number)".into(),
            ));
        }
        if let Some(r) = &c.radius {
            let line = sections
                .iter()
                .find(|s| s.kind == "radius")
                .map_or(0, |s| s.line);
            if r.server != NO_SERVER && r.secret.0.is_empty() {
                errors.push(bad(
                    line,
                    "secret",
                    "a RADIUS server needs its shared secret".into(),
                ));
            }
            if r.server == NO_SERVER {
                c.radius = None;
            }
        }
        let line_of = |option: &str| {
            sections
                .iter()
                .filter(|s| s.kind == "daraja")
                .flat_map(|s| &s.options)
                .rfind(|(k, _, _)| k == option)
                .map_or(0, |(_, _, line)| *line)
        };
        match callback_path(&c.daraja) {
            Ok(path) => c.daraja.callback_path = path,
            Err((option, msg)) => errors.push(bad(line_of(option), option, msg)),
        }
        if errors.is_empty() {
            return Ok(c);
        }
        errors.sort_by_key(|e| match e {
            Error::Value { line, .. } => *line,
            _ => 0,
        });
        Err(errors)
    }
}

impl Default for Config {
    /// The documented defaults: what an empty file gives.
    fn default() -> Config {
        let window = |max, secs| Window {
            max,
            per: Duration::from_secs(secs),
        };
        Config {
            path: None,
            interfaces: vec!["br-lan".into()],
            portal_port: 2050,
            admin_listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            admin_http_listen: Some(SocketAddr::from(([0, 0, 0, 0], 8080))),
            admin_cert: "/etc/lango/admin.crt".into(),
            admin_key: "/etc/lango/admin.key".into(),
            admin_hosts: vec![],
            database: "/etc/lango/lango.db".into(),
            control_socket: "/var/run/lango.sock".into(),
            site_name: "Lango Wi-Fi".into(),
            language: Lang::En,
            welcome: String::new(),
            dhcp_leases: "/tmp/dhcp.leases".into(),
            trusted: vec![],
            walled_garden: vec![],
            walled_garden_hosts: vec![],
            daraja: DarajaConfig {
                environment: Environment::Sandbox,
                base_url: Environment::Sandbox.host().into(),
                ca_file: None,
                consumer_key: Secret::default(),
                consumer_secret: Secret::default(),
                shortcode: "174379".into(),
                passkey: Secret::default(),
                kind: ShortcodeKind::Paybill,
                callback_url: String::new(),
                poll_first: Duration::from_secs(10),
                poll_interval: Duration::from_secs(10),
                poll_timeout: Duration::from_secs(180),
                callback_listen: None,
                callback_path: String::new(),
                recheck_intervals: vec![120, 300, 900, 3600],
                recheck_for: Duration::from_secs(86_400),
            },
            shaping: ShapingConfig {
                enabled: true,
                ifb: "ifb-lango".into(),
            },
            limits: LimitsConfig {
                pushes_per_mac: window(3, 300),
                pushes_per_phone: window(3, 300),
                voucher_guesses: window(5, 600),
            },
            // Sized so a year at 300 payments and 600 sessions a day stays under 8 MB (the
            // retention benchmark prints the figure).
            retention: RetentionConfig {
                payments_days: 60,
                events_days: 10,
                sessions_days: 10,
            },
            backup: BackupConfig { dir: None, keep: 7 },
            radius: None,
        }
    }
}

/// The path the callback listener answers: `callback_url`'s, which must end in a secret.
/// Refused: (the option to fix, why).
fn callback_path(d: &DarajaConfig) -> Result<String, (&'static str, String)> {
    if d.callback_listen.is_none() {
        return Ok(String::new());
    }
    if d.callback_url.is_empty() {
        return Err((
            "callback_listen",
            "needs option callback_url (the public https URL that reaches this listener, ending in a secret)".into(),
        ));
    }
    let rest = &d.callback_url["https://".len()..];
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let secret = path.rsplit('/').next().unwrap_or("");
    if secret.len() < MIN_CALLBACK_SECRET
        || !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err((
            "callback_url",
            format!(
                "must end in a secret of at least {MIN_CALLBACK_SECRET} letters and digits, such as https://my.domain/lango/cb/{}",
                "x".repeat(MIN_CALLBACK_SECRET)
            ),
        ));
    }
    Ok(path.to_string())
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
	list walled_garden 'Safaricom.co.ke.'

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
        assert_eq!(c.walled_garden_hosts, ["safaricom.co.ke"]);
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
        assert_eq!(c.admin_listen.to_string(), "0.0.0.0:8443");
        assert_eq!(c.admin_http_listen, Some("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(c.admin_cert, PathBuf::from("/etc/lango/admin.crt"));
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
    fn every_wrong_option_is_named_in_line_order() {
        let text = "config daraja 'daraja'\n\toption type 'till'\n\toption shortcode '12'\nconfig lango 'main'\n\toption portal_port '0'\n\tlist interface 'a b'\n";
        let errors = Config::parse_all(text, "f").unwrap_err();
        let said: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "f:2: option till: option type 'till' needs option till (the till number)",
                "f:3: option shortcode: \"12\" is not a shortcode (5 to 7 digits)",
                "f:5: option portal_port: \"0\" is not a port number (1-65535)",
                "f:6: option interface: \"a b\" is not an interface name",
            ]
        );
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
            ("admin_http_listen", "8080"),
            ("admin_cert", "admin.crt"),
            ("database", "relative.db"),
            ("language", "fr"),
            ("trusted", "aa:bb"),
            ("admin_host", "evil.example/x"),
            ("admin_host", "a..b"),
            ("walled_garden", "10.0.0.0/33"),
            ("walled_garden", "pay_here.example"),
            ("walled_garden", "localhost"),
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
    fn callback_listener_needs_a_url_ending_in_a_secret() {
        let c = Config::parse(
            "config daraja 'd'\n option callback_listen '0.0.0.0:8099'\n option callback_url 'https://my.example.com/lango/cb/Zq3xW9kP2mT7vR4nY8sB'\n",
            "f",
        )
        .unwrap();
        assert_eq!(
            c.daraja.callback_listen,
            Some("0.0.0.0:8099".parse().unwrap())
        );
        assert_eq!(c.daraja.callback_path, "/lango/cb/Zq3xW9kP2mT7vR4nY8sB");

        let e = Config::parse(
            "config daraja 'd'\n option callback_listen '0.0.0.0:8099'\n",
            "f",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("f:2: option callback_listen: needs option callback_url"),
            "{e}"
        );
        let e = Config::parse(
            "config daraja 'd'\n option callback_url 'https://my.example.com/cb/short'\n option callback_listen '127.0.0.1:8099'\n",
            "f",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("f:2: option callback_url: must end in a secret"),
            "{e}"
        );
        let e = Config::parse("config daraja 'd'\n option callback_listen '8099'\n", "f")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f:2: option callback_listen: "), "{e}");
        // Without a listener a URL is only sent to Daraja (e.g. a proxy elsewhere).
        let c = Config::parse(
            "config daraja 'd'\n option callback_url 'https://x.example.com/cb'\n",
            "f",
        )
        .unwrap();
        assert_eq!(
            (c.daraja.callback_listen, c.daraja.callback_path.as_str()),
            (None, "")
        );
    }

    #[test]
    fn limits_have_defaults_and_are_configurable() {
        let c = Config::parse("", "f").unwrap();
        let five_min = Duration::from_secs(300);
        assert_eq!(
            c.limits.pushes_per_mac,
            Window {
                max: 3,
                per: five_min
            }
        );
        assert_eq!(
            c.limits.pushes_per_phone,
            Window {
                max: 3,
                per: five_min
            }
        );
        assert_eq!(
            c.limits.voucher_guesses,
            Window {
                max: 5,
                per: Duration::from_secs(600)
            }
        );
        let c = Config::parse(
            "config limits 'limits'\n option pushes_per_mac '10'\n option pushes_per_phone '2'\n option push_window '60'\n option voucher_guesses '3'\n option voucher_window '120'\n",
            "f",
        )
        .unwrap();
        let minute = Duration::from_secs(60);
        assert_eq!(
            c.limits.pushes_per_mac,
            Window {
                max: 10,
                per: minute
            }
        );
        assert_eq!(
            c.limits.pushes_per_phone,
            Window {
                max: 2,
                per: minute
            }
        );
        assert_eq!(
            c.limits.voucher_guesses,
            Window {
                max: 3,
                per: Duration::from_secs(120)
            }
        );
        for (opt, val) in [
            ("pushes_per_mac", "0"),
            ("pushes_per_phone", "x"),
            ("push_window", "1.5"),
            ("voucher_window", "0"),
            ("voucher_guesses", "5000"),
        ] {
            let text = format!("config limits 'limits'\n\toption {opt} '{val}'\n");
            let e = Config::parse(&text, "f").unwrap_err().to_string();
            assert!(e.starts_with(&format!("f:2: option {opt}: ")), "{e}");
        }
    }

    #[test]
    fn missing_credentials_are_named() {
        let c = Config::parse("config daraja 'd'\n option consumer_key 'k'\n", "f").unwrap();
        assert_eq!(c.daraja.missing(), ["consumer_secret", "passkey"]);
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
        let s = uci::sections(
            "config a 'b'\n option x \"it's \\\"q\\\"\"\n option y bare#notcomment\n",
        )
        .unwrap();
        assert_eq!(s[0].options[0].1, "it's \"q\"");
        assert_eq!(s[0].options[1].1, "bare#notcomment");
    }

    #[test]
    fn to_uci_gives_the_same_config_back() {
        let mut c = Config::parse(SAMPLE, "x").unwrap();
        c.welcome = "Karibu! It's fast".into();
        c.admin_hosts = vec!["router.lan".into(), "10.0.0.1".into()];
        c.daraja.consumer_secret = Secret("s3'cret".into());
        c.daraja.poll_first = Duration::from_millis(50);
        c.daraja.callback_url = "https://hotspot.example.com/lango/cb/Zq3xW9kP2mT7vR4nY8sB".into();
        c.daraja.callback_path = "/lango/cb/Zq3xW9kP2mT7vR4nY8sB".into();
        c.daraja.callback_listen = Some("0.0.0.0:8099".parse().unwrap());
        c.limits.pushes_per_phone.max = 7;
        c.limits.voucher_guesses.per = Duration::from_secs(120);
        let back = Config::parse(&c.to_uci(), "x").unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn radius_is_off_until_a_server_and_secret_are_named() {
        assert_eq!(Config::parse(SAMPLE, "x").unwrap().radius, None);
        let off = "config radius 'radius'\n\toption server ''\n";
        assert_eq!(Config::parse(off, "x").unwrap().radius, None);
        let text = "config radius 'radius'\n\toption server '192.0.2.10'\n\toption secret 'testing123'\n\toption mode 'all'\n\toption coa_listen '127.0.0.1:3799'\n";
        let mut c = Config::parse(text, "x").unwrap();
        let r = c.radius.clone().unwrap();
        assert_eq!(
            (r.auth_port, r.acct_port, r.mode),
            (1812, 1813, RadiusMode::All)
        );
        assert_eq!(r.interim, Duration::from_secs(300));
        c.radius.as_mut().unwrap().nas_ip = Some("10.0.0.1".parse().unwrap());
        assert_eq!(Config::parse(&c.to_uci(), "x").unwrap(), c);
        for (bad, says) in [
            ("option server '192.0.2.10'\n", "x:1: option secret: a RADIUS server needs its shared secret"),
            ("option server 'radius.lan'\n", "x:2: option server: \"radius.lan\" is not an IP address"),
            ("option auth_port '0'\n", "x:2: option auth_port: \"0\" is not a port number"),
            ("option mode 'some'\n", "x:2: option mode: \"some\" is not unknown"),
            ("option interim_interval '5'\n", "x:2: option interim_interval: \"5\" is not a whole number of seconds (60 to 86400)"),
            ("option coa_listen '3799'\n", "x:2: option coa_listen: \"3799\" is not an address:port"),
            ("option retries '99'\n", "x:2: option retries: \"99\" is not a number of tries (0 to 10)"),
        ] {
            let e = Config::parse(&format!("config radius 'radius'\n\t{bad}"), "x").unwrap_err();
            assert!(e.to_string().starts_with(says), "{e}");
        }
    }

    #[test]
    fn regression_control_characters_in_any_value_are_refused() {
        for (section, option) in [
            ("lango 'main'", "site_name"),
            ("daraja 'daraja'", "consumer_secret"),
            ("daraja 'daraja'", "passkey"),
            ("shaping 'shaping'", "ifb"),
            ("lango 'main'", "frobnicate"),
        ] {
            for c in ['\u{0}', '\t', '\r', '\u{1b}', '\u{7f}'] {
                let text = format!("config {section}\n\toption {option} 'a{c}b'\n");
                match Config::parse(&text, "/etc/config/lango") {
                    Err(Error::Value {
                        option: o,
                        line,
                        msg,
                        ..
                    }) => {
                        assert_eq!((o.as_str(), line), (option, 2), "{c:?}");
                        assert!(msg.contains("control character"), "{msg}");
                    }
                    other => panic!("{option} {c:?}: {other:?}"),
                }
            }
        }
        let e = Config::parse("config lango 'ma\u{0}in'\n", "f").unwrap_err();
        assert!(e.to_string().contains("control character"), "{e}");
    }

    #[test]
    fn welcome_is_one_short_line() {
        let c = Config::parse("config lango 'main'\n\toption welcome ' Karibu '\n", "f").unwrap();
        assert_eq!(c.welcome, "Karibu");
        let long = format!(
            "config lango 'main'\n\toption welcome '{}'\n",
            "x".repeat(201)
        );
        assert!(Config::parse(&long, "f").is_err());
    }

    #[test]
    fn write_refuses_a_bad_config_and_replaces_a_good_one_atomically() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("lango-config-{}", crate::random::hex::<4>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lango");
        std::fs::write(&path, "# mine\nconfig lango 'main'\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let bad = "config lango 'main'\n\toption portal_port 'x'\n";
        let e = Config::write(&path, bad).unwrap_err().to_string();
        assert!(e.contains(":2: option portal_port"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# mine\nconfig lango 'main'\n"
        );
        let good = "# mine\nconfig lango 'main'\n\toption site_name 'New'\n";
        let c = Config::write(&path, good).unwrap();
        assert_eq!(
            (c.site_name.as_str(), c.path.as_deref()),
            ("New", Some(path.as_path()))
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), good);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        // A new file holds secrets: it is owner-only, as is the temporary file it was written to.
        let fresh = dir.join("fresh");
        Config::write(&fresh, good).unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "regression: the secrets were written 0644");
        let _ = std::fs::remove_dir_all(&dir);
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
