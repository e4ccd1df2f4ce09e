//! Lango: a pay-per-time Wi-Fi hotspot for OpenWrt routers, paid with M-Pesa. The design (rooms,
//! arrows, the payment state machine, budgets) is in `docs/design.md`; Daraja's behaviour in
//! `docs/daraja.md`; RADIUS in `docs/radius.md`.
//!
//! - `config`   — `/etc/config/lango` (UCI) into a typed, validated `Config`; `config::options`
//!   is the one table of options (parsing, writing, the Settings page, what needs a restart)
//! - `store`    — SQLite: schema, migrations, one module per table; the only place SQL lives
//! - `gate`     — the kernel: nftables client set, tc shaping, IP -> MAC lookup
//! - `sessions` — grant / extend / revoke / expire / restore: keeps the database and kernel agreeing
//! - `payments` — Daraja client, payment state machine, poller and callback listener
//! - `limits`   — abuse limits: STK pushes per device and per number, voucher guesses
//! - `reconnect` — reconnect codes: what a customer types to move paid time to another device
//! - `portal`   — HTTP for phones: captive detection, pages, JSON API, RFC 8908
//! - `certs`    — the owner's page certificate: PEM files, or a self-signed one made at first start
//! - `admin`    — HTTP for the owner: login, overview, clients, packages, payments, vouchers, settings
//! - `live`     — the settings a reload swaps while Lango runs (SIGHUP, the Settings page)
//! - `owner`    — what the owner may do (time, vouchers, password): one rule each, typed errors
//! - `radius`   — a RADIUS NAS: codes checked by a central server, accounting, Disconnect/CoA
//! - `ctl`      — the unix-socket control protocol behind the CLI; `ctl::answer` types each answer
//! - `daemon`   — wires the rooms together for `lango run` and `lango demo`
//! - `sim`      — the Daraja simulator
//! - `alloc`    — the daemon's allocator: big blocks are pages of their own, returned when freed
//! - `html`     — `Html`: text safe to put in a page (escaped, or markup from the binary)
//! - `server`   — the accept loop and response helpers shared by the HTTP listeners
//! - `connections` — a listener's connections counted per client and in all; the oldest idle make room
//! - `listen`   — listening sockets with a backlog sized for a crowd (somaxconn, not 128)
//! - `uci`      — UCI syntax: words, sections, and in-place editing of the config file (comments kept)
//! - `upkeep`   — the nightly copy of the database and pruning per `config retention`
//! - `garden`   — the walled garden's host names: looked up, their addresses kept in the gate
//! - `dns`      — a minimal DNS stub for `garden`: A/AAAA questions to the router's resolver
//! - `usage`    — bytes per device from the gate's counters, read each second, persisted each minute
//! - `password`, `scrypt` — the owner's password: rules and stored form; the KDF (RFC 7914)
//! - `tty`      — the CLI's password prompt (echo off)
//! - `mac`, `phone`, `units`, `clock` — value types parsed once at the edge

// First: its `html!` macro is used by the modules below.
#[macro_use]
pub mod html;

pub mod admin;
pub mod alloc;
pub mod certs;
pub mod clock;
pub mod config;
pub mod connections;
pub mod ctl;
pub mod daemon;
pub mod demo;
pub mod dns;
pub mod garden;
pub mod gate;
pub mod https;
pub mod limits;
pub mod listen;
pub mod live;
pub mod logger;
pub mod mac;
pub mod owner;
pub mod password;
pub mod payments;
pub mod phone;
pub mod portal;
pub mod radius;
pub mod random;
pub mod reconnect;
pub mod scrypt;
pub mod server;
pub mod sessions;
pub mod sim;
pub mod spoofing;
pub mod store;
pub mod tty;
pub mod uci;
pub mod units;
pub mod upkeep;
pub mod usage;
pub mod voucher;
