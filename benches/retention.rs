//! A simulated year on the router's flash: 300 payments and 600 sessions a day (half paid, half
//! by voucher), written the way Lango writes them (rows and events), with the nightly pruning of
//! `config retention`'s defaults. Prints the database's size at the end, its largest size during
//! the year, and whether the revenue per day (what the totals and the chart read) is the same as
//! what was paid. Run with `cargo bench --bench retention`. Nothing here asserts: budgets live in
//! docs/design.md (under 8 MB), figures here.

use lango::clock::{eat_day, eat_timestamp, Unix};
use lango::config::Config;
use lango::mac::Mac;
use lango::phone::Msisdn;
use lango::store::payments::{self, NewPayment, PaymentState, Settlement};
use lango::store::sessions::{self, EndReason, Grant, Source};
use lango::store::{events, packages, reports, retention, vouchers, Store};
use std::collections::BTreeMap;
use std::time::Instant;

const DAYS: i64 = 365;
const PAYMENTS_A_DAY: i64 = 300;
const VOUCHER_SESSIONS_A_DAY: i64 = 300;
/// 2026-01-01 00:00 EAT.
const START: Unix = 1_767_214_800;

/// Marsaglia's xorshift64: the same year every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn main() {
    let dir = std::env::temp_dir().join(format!("lango-bench-year-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("year.db");
    let store = Store::open(&path).unwrap();
    let retain = Config::parse("", "defaults").unwrap().retention;
    let pkgs = store.with(packages::all).unwrap();
    let mut rng = Rng(0x5eed_0365);
    let mut paid_per_day: BTreeMap<i64, u64> = BTreeMap::new();
    let (mut largest, mut n) = (0u64, 0u64);
    let began = Instant::now();
    for day in 0..DAYS {
        let day0 = START + day * 86_400;
        store
            .write(|tx| {
                for i in 0..PAYMENTS_A_DAY {
                    n += 1;
                    let at = day0 + 6 * 3600 + i * 160 + rng.below(100) as i64;
                    let p = &pkgs[rng.below(pkgs.len() as u64) as usize];
                    let mac = Mac([2, 0x11, 0, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
                    let phone: Msisdn = format!("07{:08}", rng.below(100_000_000)).parse().unwrap();
                    let id = payments::insert(
                        tx,
                        &NewPayment {
                            mac,
                            ip: Some([192, 168, 1, (n % 250) as u8 + 2].into()),
                            phone: &phone,
                            package: p,
                        },
                        at,
                    )?;
                    let detail = format!("{} {} {}", p.name, p.price, phone.masked());
                    events::record(tx, at, "payment.created", Some(mac), Some(id), &detail)?;
                    let checkout = format!("ws_CO_{}{:06}", eat_timestamp(at), n % 1_000_000);
                    payments::mark_pushed(tx, id, &checkout, at + 1)?;
                    events::record(tx, at + 1, "payment.pushed", None, Some(id), &checkout)?;
                    let (state, code, desc) = match rng.below(100) {
                        0..=79 => (
                            PaymentState::Paid,
                            0,
                            "The service request is processed successfully.",
                        ),
                        80..=89 => (PaymentState::Cancelled, 1032, "Request cancelled by user"),
                        90..=96 => (
                            PaymentState::Timeout,
                            1037,
                            "DS timeout user cannot be reached",
                        ),
                        _ => (
                            PaymentState::Failed,
                            1,
                            "The balance is insufficient for the transaction.",
                        ),
                    };
                    let done = at + 15 + rng.below(30) as i64;
                    let receipt = format!("SIM{:07}", n);
                    payments::settle(
                        tx,
                        id,
                        &Settlement {
                            state,
                            result_code: Some(code),
                            result_desc: desc,
                            receipt: (code == 0).then_some(receipt.as_str()),
                        },
                        done,
                    )?;
                    let detail = format!("{} code={code} {desc}", state.as_str());
                    events::record(tx, done, "payment.settled", Some(mac), Some(id), &detail)?;
                    if code == 0 {
                        *paid_per_day.entry(eat_day(done)).or_default() += u64::from(p.price.0);
                        session(tx, mac, Source::Payment, Some(id.to_string()), p, done)?;
                        let detail = format!("{}s paid", p.duration_s);
                        events::record(tx, done, "session.grant", Some(mac), Some(id), &detail)?;
                    }
                }
                for i in 0..VOUCHER_SESSIONS_A_DAY {
                    n += 1;
                    let at = day0 + 7 * 3600 + i * 150;
                    let p = &pkgs[rng.below(2) as usize];
                    let code = lango::voucher::VoucherCode::random();
                    vouchers::insert(tx, code.as_str(), p.id, "bench", None, at - 86_400)?;
                    let mac = Mac([2, 0x22, 0, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
                    vouchers::mark_used(tx, code.as_str(), mac, at)?;
                    session(tx, mac, Source::Voucher, Some(code.as_str().into()), p, at)?;
                    let detail = format!("{code} {}", p.name);
                    events::record(tx, at, "voucher.redeemed", Some(mac), None, &detail)?;
                }
                // Everything granted today has run out by the next night (Ultra: 24 h).
                for s in sessions::due(tx, day0 + 2 * 86_400)? {
                    sessions::end(tx, s.mac, EndReason::Expired, s.expires_at)?;
                    events::record(
                        tx,
                        s.expires_at,
                        "session.expire",
                        Some(s.mac),
                        None,
                        "time up",
                    )?;
                }
                Ok(())
            })
            .unwrap();
        // The night after: upkeep at 03:00 EAT, in small steps as the daemon does.
        let night = day0 + 86_400 + 3 * 3600;
        while store
            .write(|tx| retention::step(tx, night, &retain))
            .unwrap()
            .any()
        {}
        largest = largest.max(store.with(retention::size).unwrap());
    }
    let secs = began.elapsed().as_secs_f64();
    let end = store.with(retention::size).unwrap();
    let (first, last) = (eat_day(START), eat_day(START + DAYS * 86_400));
    let per_day = store
        .with(|c| reports::revenue_per_day(c, first, last))
        .unwrap();
    let same = per_day
        .iter()
        .all(|(d, kes)| u64::from(kes.0) == paid_per_day.get(d).copied().unwrap_or(0));
    let total: u64 = per_day.iter().map(|(_, k)| u64::from(k.0)).sum();
    let counts = store
        .with(|c| {
            let q = |t: &str| -> lango::store::Result<i64> {
                Ok(c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?)
            };
            Ok(format!(
                "{} payments, {} sessions, {} events, {} vouchers, {} daily totals",
                q("payments")?,
                q("sessions")?,
                q("events")?,
                q("vouchers")?,
                q("daily_totals")?
            ))
        })
        .unwrap();
    println!(
        "\nfigure                                                    measured            budget"
    );
    println!("{}", "-".repeat(100));
    println!(
        "store: DB after a simulated year (300 payments + 600 sessions a day, retention {}/{}/{} days)  {:.2} MB (largest {:.2} MB)  < 8 MB",
        retain.payments_days,
        retain.events_days,
        retain.sessions_days,
        end as f64 / 1e6,
        largest as f64 / 1e6
    );
    println!(
        "store: revenue per day after pruning equals what was paid   {}  (KES {total} over the year)  the same",
        if same { "yes" } else { "NO" }
    );
    println!("store: rows kept at the end: {counts}; simulated in {secs:.1} s");
    if std::env::var_os("LANGO_BENCH_KEEP").is_some() {
        println!("kept: {}", path.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Grants a package's time as Lango does (a new session with its reconnect code).
fn session(
    tx: &rusqlite::Connection,
    mac: Mac,
    source: Source,
    source_ref: Option<String>,
    p: &packages::Package,
    at: Unix,
) -> lango::store::Result<sessions::Session> {
    sessions::grant(
        tx,
        &Grant {
            mac,
            ip: None,
            source,
            source_ref,
            package_id: Some(p.id),
            duration_s: p.duration_s,
            down: p.down,
            up: p.up,
            data: p.data_bytes(),
        },
        at,
    )
}
