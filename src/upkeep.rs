//! The nightly upkeep: first a copy of the database to `config backup`'s directory (a USB stick),
//! keeping the last `keep`, so details leave in a backup before they are pruned; then pruning
//! per `config retention`, in small steps with pauses between them so the portal and payments
//! never wait on a long write lock. Once a day, from 03:00 in Nairobi (or soon after a start).
//! Touches: the store, the backup directory. Never: the kernel, HTTP, Daraja.

use crate::clock::{eat_date, eat_day, Clock, Unix};
use crate::config::Config;
use crate::live::Live;
use crate::store::retention::{self, Pruned};
use crate::store::{self, events, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How often the loop looks at the clock.
const CHECK_EVERY: Duration = Duration::from_secs(600);
/// The first look after a start (the start-up has settled by then).
const FIRST_CHECK: Duration = Duration::from_secs(60);
/// Upkeep runs from this hour (EAT): the quietest time at a hotspot.
const NIGHT_HOUR: i64 = 3;
/// Between two pruning steps: the portal's writes get their turn.
const STEP_PAUSE: Duration = Duration::from_millis(50);
/// Nightly copies are named `lango-YYYY-MM-DD.db`.
const PREFIX: &str = "lango-";

/// What one night did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Night {
    pub backup: Option<std::path::PathBuf>,
    pub pruned: Pruned,
}

/// Runs forever: the nightly upkeep once a day, with the settings in force.
pub async fn run(store: Store, live: Arc<Live>, clock: Arc<dyn Clock>) {
    let mut done_day = None;
    tokio::time::sleep(FIRST_CHECK).await;
    loop {
        let now = clock.now();
        let (day, hour) = (eat_day(now), (now + 3 * 3600).rem_euclid(86_400) / 3600);
        if done_day != Some(day) && (hour >= NIGHT_HOUR || done_day.is_none()) {
            done_day = Some(day);
            let config = live.get().config.clone();
            match nightly(&store, &config, now).await {
                Ok(n) => log::info!(
                    "upkeep: backup {} · pruned {} payments, {} events, {} sessions",
                    n.backup
                        .as_ref()
                        .map_or("not set up".into(), |p| p.display().to_string()),
                    n.pruned.payments,
                    n.pruned.events,
                    n.pruned.sessions
                ),
                Err(e) => log::error!("upkeep: {e}"),
            }
        }
        tokio::time::sleep(CHECK_EVERY).await;
    }
}

/// One night's upkeep at `now`: the copy (if set up), then pruning until nothing is left to do.
/// A failed copy stops the night: nothing is pruned that did not leave in a backup first.
pub async fn nightly(store: &Store, config: &Config, now: Unix) -> Result<Night, store::Error> {
    let mut night = Night::default();
    if let Some(dir) = config.backup.dir.clone() {
        let (s, keep) = (store.clone(), config.backup.keep);
        let dest = dir.join(format!("{PREFIX}{}.db", eat_date(eat_day(now))));
        let written = dest.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| store::Error::Backup {
                path: dir.display().to_string(),
                why: e.to_string(),
            })?;
            s.backup_to(&written)?;
            forget_old(&dir, keep);
            Ok::<_, store::Error>(())
        })
        .await
        .map_err(|e| store::Error::Task(e.to_string()))??;
        night.backup = Some(dest);
    }
    let r = config.retention.clone();
    loop {
        let r = r.clone();
        let p = store
            .transact(move |tx| retention::step(tx, now, &r))
            .await?;
        if !p.any() {
            break;
        }
        night.pruned.add(p);
        tokio::time::sleep(STEP_PAUSE).await;
    }
    if night.pruned.any() {
        let p = &night.pruned;
        let detail = format!(
            "{} payments, {} events, {} sessions, {} vouchers",
            p.payments, p.events, p.sessions, p.vouchers
        );
        store
            .transact(move |tx| events::record(tx, now, "retention.pruned", None, None, &detail))
            .await?;
    }
    Ok(night)
}

/// Deletes all but the newest `keep` nightly copies in `dir` (their names sort by date).
fn forget_old(dir: &Path, keep: u32) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut copies: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(".db"))
        })
        .collect();
    copies.sort();
    let extra = copies.len().saturating_sub(keep as usize);
    for old in &copies[..extra] {
        if let Err(e) = std::fs::remove_file(old) {
            log::warn!("upkeep: cannot remove {}: {e}", old.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_night_copies_first_keeps_the_last_copies_and_prunes() {
        let dir = std::env::temp_dir().join(format!(
            "lango-upkeep-{}-{}",
            std::process::id(),
            crate::random::hex::<4>()
        ));
        let store = Store::open(&dir.join("lango.db")).unwrap();
        let mut config = Config::parse("", "t").unwrap();
        config.backup.dir = Some(dir.join("usb"));
        config.backup.keep = 2;
        config.retention.events_days = 1;
        let day0: Unix = 1_795_294_800; // 2026-11-22 00:00 EAT
        store
            .with(|c| events::record(c, day0, "old", None, None, "x"))
            .unwrap();
        // Night 0 prunes the old event; night 2 the record night 0 left (older than a day).
        for (d, pruned) in [(0, 1), (1, 0), (2, 1)] {
            let n = nightly(&store, &config, day0 + (5 + d) * 86_400 + 3 * 3600)
                .await
                .unwrap();
            assert!(n.backup.as_ref().unwrap().exists());
            assert_eq!(n.pruned.events, pruned, "night {d}");
        }
        let mut left: Vec<String> = std::fs::read_dir(dir.join("usb"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["lango-2026-11-28.db", "lango-2026-11-29.db"]);
        let newest = dir.join("usb").join("lango-2026-11-29.db");
        assert!(store::backup::check(&newest).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
