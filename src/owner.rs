//! What the owner may do — give time, add time, disconnect, generate and revoke vouchers, set the
//! password — with one rule per action, whichever door it comes through: the owner's page
//! (`admin` shows the answers as HTML, an error next to its field) or the control socket (`ctl`
//! answers in JSON, an error naming its flag). Values are typed before they get here.
//! Touches: sessions, the store (through its modules). Never: HTTP, the socket, SQL.

use crate::clock::{eat_day, eat_day_start, Unix};
use crate::mac::Mac;
use crate::sessions::{self, Sessions};
use crate::store::sessions::{Grant, Session, Source};
use crate::store::{self, packages, vouchers, Store};
use crate::units::Kbps;
use crate::voucher::VoucherCode;
use std::net::IpAddr;

/// "No limit" for the owner's gifts: 10 Gbit/s.
pub const UNSHAPED_KBPS: u32 = 10_000_000;
/// A gift or an addition of time: 1 minute to a year.
pub const MAX_MINUTES: u32 = 366 * 24 * 60;
/// A speed the owner sets by hand, in kbit/s.
pub const RATES_KBPS: std::ops::RangeInclusive<u32> = 100..=UNSHAPED_KBPS;
/// At most this many vouchers in one batch (a printable sheet run, not a flood).
pub const MAX_VOUCHERS: u32 = 1000;
/// Vouchers work through the last of at most this many days.
pub const MAX_VALID_DAYS: u32 = 3660;

/// Which value an error is about. Each door names it its own way: a form field, a CLI flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    Minutes,
    DownKbps,
    UpKbps,
    Package,
    Count,
    ValidDays,
    Code,
    PasswordHash,
}

/// Why an action was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The owner gave a value the rule refuses; `why` is a sentence about the value itself.
    #[error("{why}")]
    Refused { input: Input, why: String },
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Sessions(#[from] sessions::Error),
}

fn refused(input: Input, why: impl Into<String>) -> Error {
    Error::Refused {
        input,
        why: why.into(),
    }
}

/// The speed of a gift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speed {
    /// Unshaped: the owner's gift at full speed.
    Unlimited,
    /// A package's speed.
    Package(i64),
    /// Set by hand (each side `None`: unshaped).
    Kbps { down: Option<u32>, up: Option<u32> },
}

/// A minute count within the rule.
pub fn minutes(m: u32) -> Result<u32, Error> {
    if (1..=MAX_MINUTES).contains(&m) {
        Ok(m)
    } else {
        Err(refused(
            Input::Minutes,
            format!("{m} minutes: must be 1 to {MAX_MINUTES} (a year)"),
        ))
    }
}

/// Gives `mac` `minutes` of time at `speed` (added to the time it has, if online).
pub async fn give(
    sessions: &Sessions,
    store: &Store,
    mac: Mac,
    ip: Option<IpAddr>,
    minutes: u32,
    speed: Speed,
) -> Result<Session, Error> {
    let minutes = self::minutes(minutes)?;
    let rate = |input, v: Option<u32>| match v {
        None => Ok(Kbps(UNSHAPED_KBPS)),
        Some(k) if RATES_KBPS.contains(&k) => Ok(Kbps(k)),
        Some(k) => Err(refused(
            input,
            format!(
                "{k} kbit/s: must be {} to {}",
                RATES_KBPS.start(),
                RATES_KBPS.end()
            ),
        )),
    };
    let (down, up, package_id) = match speed {
        Speed::Unlimited => (Kbps(UNSHAPED_KBPS), Kbps(UNSHAPED_KBPS), None),
        Speed::Kbps { down, up } => (rate(Input::DownKbps, down)?, rate(Input::UpKbps, up)?, None),
        Speed::Package(id) => {
            let p = store
                .call(move |c| packages::get(c, id))
                .await?
                .ok_or_else(|| no_such_package(id))?;
            (p.down, p.up, Some(p.id))
        }
    };
    Ok(sessions
        .grant(Grant {
            mac,
            ip,
            source: Source::Admin,
            source_ref: None,
            package_id,
            duration_s: minutes * 60,
            down,
            up,
            // The owner's gift is time; its data is unlimited.
            data: None,
        })
        .await?)
}

/// Adds `minutes` to a device online now, at its current speed; `None` if it is not online.
pub async fn add_time(
    sessions: &Sessions,
    mac: Mac,
    minutes: u32,
) -> Result<Option<Session>, Error> {
    let minutes = self::minutes(minutes)?;
    let Some(s) = sessions.active(mac).await? else {
        return Ok(None);
    };
    let g = Grant {
        mac,
        ip: s.ip,
        source: Source::Admin,
        source_ref: None,
        package_id: s.package_id,
        duration_s: minutes * 60,
        down: s.down,
        up: s.up,
        // Time only: a data allowance stays what it was.
        data: s.data_limit.map(|_| 0),
    };
    Ok(Some(sessions.grant(g).await?))
}

/// Cuts `mac` off now; the session it had, if it was online.
pub async fn disconnect(sessions: &Sessions, mac: Mac) -> Result<Option<Session>, Error> {
    Ok(sessions.revoke(mac).await?)
}

fn no_such_package(id: i64) -> Error {
    refused(Input::Package, format!("package {id}: no such package"))
}

/// When vouchers valid for `days` (today counts) stop working: the end of the last day, EAT.
pub fn valid_through(days: u32, now: Unix) -> Result<Unix, Error> {
    if (1..=MAX_VALID_DAYS).contains(&days) {
        Ok(eat_day_start(eat_day(now) + i64::from(days)))
    } else {
        Err(refused(
            Input::ValidDays,
            format!("{days} days: must be 1 to {MAX_VALID_DAYS}"),
        ))
    }
}

/// A batch of fresh vouchers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub id: String,
    /// Formatted for print (`XXXXX-XXXXX`).
    pub codes: Vec<String>,
    pub expires_at: Option<Unix>,
}

/// Draws `count` fresh codes for `package` in one batch that stops working at `expires_at`.
pub async fn generate_vouchers(
    store: &Store,
    package: i64,
    count: u32,
    expires_at: Option<Unix>,
    now: Unix,
) -> Result<Batch, Error> {
    if !(1..=MAX_VOUCHERS).contains(&count) {
        return Err(refused(
            Input::Count,
            format!("{count} vouchers: must be 1 to {MAX_VOUCHERS}"),
        ));
    }
    if expires_at.is_some_and(|e| e <= now) {
        return Err(refused(Input::ValidDays, "That day is already past."));
    }
    let made = store
        .transact(move |tx| {
            if packages::get(tx, package)?.is_none() {
                return Ok(None);
            }
            let batch = format!("{now}-{}", crate::random::hex::<3>());
            let mut codes = Vec::with_capacity(count as usize);
            while codes.len() < count as usize {
                let code = VoucherCode::random();
                if vouchers::insert(tx, code.as_str(), package, &batch, expires_at, now)? {
                    codes.push(code.to_string());
                }
            }
            store::events::record(
                tx,
                now,
                "vouchers.generated",
                None,
                None,
                &format!("{count} for package {package} batch {batch}"),
            )?;
            Ok(Some((batch, codes)))
        })
        .await?;
    let (id, codes) = made.ok_or_else(|| no_such_package(package))?;
    Ok(Batch {
        id,
        codes,
        expires_at,
    })
}

/// Revokes an unused voucher; the code as printed.
pub async fn revoke_voucher(store: &Store, code: &str, now: Unix) -> Result<VoucherCode, Error> {
    let parsed =
        VoucherCode::parse(code).map_err(|e| refused(Input::Code, format!("{code:?}: {e}")))?;
    let c = parsed.as_str().to_string();
    let revoked = store
        .transact(move |tx| {
            let done = vouchers::revoke(tx, &c)?;
            if done {
                store::events::record(tx, now, "vouchers.revoked", None, None, &c)?;
            }
            Ok(done)
        })
        .await?;
    if !revoked {
        return Err(refused(
            Input::Code,
            format!("{parsed}: no such unused voucher"),
        ));
    }
    Ok(parsed)
}

/// Revokes every unused voucher of `batch`; how many.
pub async fn revoke_batch(store: &Store, batch: &str, now: Unix) -> Result<usize, Error> {
    let b = batch.to_string();
    Ok(store
        .transact(move |tx| {
            let n = vouchers::revoke_batch(tx, &b)?;
            store::events::record(
                tx,
                now,
                "vouchers.revoked",
                None,
                None,
                &format!("{n} of batch {b}"),
            )?;
            Ok(n)
        })
        .await?)
}

/// How a password came to be set, for the event log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordBy {
    /// The first-run form: only when there is none yet.
    FirstRun,
    OwnersPage,
    Cli,
}

/// Stores the owner's password hash and records it. `FirstRun` sets it only if none is set
/// (two first-run forms racing: the second is told no). Returns whether it was set. Whoever
/// calls this ends the owner's other sessions.
pub async fn set_password(
    store: &Store,
    hash: String,
    by: PasswordBy,
    now: Unix,
) -> Result<bool, Error> {
    if !crate::password::is_hash(&hash) {
        return Err(refused(
            Input::PasswordHash,
            "not a password hash this Lango understands",
        ));
    }
    let how = match by {
        PasswordBy::FirstRun => "first password set",
        PasswordBy::OwnersPage => "changed on the owner's page",
        PasswordBy::Cli => "set with lango passwd",
    };
    Ok(store
        .transact(move |tx| {
            if by == PasswordBy::FirstRun && store::admin::password_hash(tx)?.is_some() {
                return Ok(false);
            }
            store::admin::set_password_hash(tx, &hash, now)?;
            store::events::record(tx, now, "admin.password", None, None, how)?;
            Ok(true)
        })
        .await?)
}
