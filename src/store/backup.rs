//! Backups of the database: a consistent copy taken while Lango runs (SQLite's online backup API,
//! all pages in one step, so the copy is one moment's state however busy the daemon is), the
//! checks a file must pass before it may replace the database (integrity, a schema this Lango
//! knows), and the restore itself (one step into the live connection: all or nothing).
//! Touches: the database file and the backup files. Never: the kernel, HTTP.

use super::{schema, Error, Result};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// What a checked backup holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checked {
    pub schema_version: i64,
    pub payments: i64,
    pub sessions: i64,
}

/// The tables a Lango database must have.
const TABLES: &[&str] = &[
    "packages",
    "payments",
    "sessions",
    "vouchers",
    "events",
    "schema_version",
];

fn bad(path: &Path, why: impl Into<String>) -> Error {
    Error::Backup {
        path: path.display().to_string(),
        why: why.into(),
    }
}

/// Copies the database `from` is connected to into a new file `dest` (written beside it and
/// renamed, so `dest` is never half a file). The copy is a single file (no WAL) and is synced.
pub fn copy(from: &Connection, dest: &Path) -> Result<Checked> {
    let tmp = dest.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    let mut to = Connection::open(&tmp).map_err(|e| bad(&tmp, e.to_string()))?;
    one_step(from, &mut to).map_err(|e| bad(dest, e))?;
    // The copy carries the source's WAL mode; a backup is one self-contained file.
    to.pragma_update(None, "journal_mode", "DELETE")
        .map_err(|e| bad(dest, e.to_string()))?;
    drop(to);
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, dest))
        .map_err(|e| bad(dest, e.to_string()))?;
    let checked = check(dest);
    if checked.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    checked
}

/// Copies the database file `db` (the daemon may be running: SQLite's locking makes the copy one
/// moment's state) into `dest`. No migration runs on `db`.
pub fn copy_file(db: &Path, dest: &Path) -> Result<Checked> {
    if !db.is_file() {
        return Err(bad(db, "no such database"));
    }
    let c = Connection::open(db).map_err(|e| bad(db, e.to_string()))?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    copy(&c, dest)
}

/// Copies every page in one step: one read transaction on the source, so one moment's state.
fn one_step(from: &Connection, to: &mut Connection) -> std::result::Result<(), String> {
    let b = Backup::new(from, to).map_err(|e| e.to_string())?;
    match b.step(-1).map_err(|e| e.to_string())? {
        StepResult::Done => Ok(()),
        other => Err(format!("the copy did not finish in one step ({other:?})")),
    }
}

/// Whether `path` is a whole Lango database this Lango can use: SQLite's integrity check passes,
/// the tables are there and the schema version is one this Lango knows (older ones are brought
/// up to date after a restore).
pub fn check(path: &Path) -> Result<Checked> {
    if !path.is_file() {
        return Err(bad(path, "no such file"));
    }
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| bad(path, e.to_string()))?;
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| bad(path, format!("not a readable SQLite database ({e})")))?;
    if integrity != "ok" {
        return Err(bad(path, format!("integrity check failed: {integrity}")));
    }
    for t in TABLES {
        let found: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [t],
                |r| r.get(0),
            )
            .map_err(|e| bad(path, e.to_string()))?;
        if found == 0 {
            return Err(bad(path, format!("not a Lango database (no table {t})")));
        }
    }
    let count = |sql: &str| -> Result<i64> {
        c.query_row(sql, [], |r| r.get(0))
            .map_err(|e| bad(path, e.to_string()))
    };
    let version = count("SELECT version FROM schema_version")?;
    let known = schema::known();
    if version < 1 || version > known {
        return Err(bad(
            path,
            format!("schema version {version}; this Lango knows 1 to {known}"),
        ));
    }
    Ok(Checked {
        schema_version: version,
        payments: count("SELECT count(*) FROM payments")?,
        sessions: count("SELECT count(*) FROM sessions")?,
    })
}

/// Replaces the database `live` is connected to with the backup at `src`, after `check`: one
/// step (all or nothing), then the migrations an older backup needs.
pub fn restore(live: &mut Connection, src: &Path) -> Result<Checked> {
    check(src)?;
    let from = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| bad(src, e.to_string()))?;
    one_step(&from, live).map_err(|e| bad(src, e))?;
    drop(from);
    // The copy brought its own journal mode: the live database stays in WAL.
    live.pragma_update(None, "journal_mode", "WAL")?;
    schema::migrate(live)?;
    let count = |sql: &str| -> Result<i64> { Ok(live.query_row(sql, [], |r| r.get(0))?) };
    Ok(Checked {
        schema_version: count("SELECT version FROM schema_version")?,
        payments: count("SELECT count(*) FROM payments")?,
        sessions: count("SELECT count(*) FROM sessions")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "lango-backup-{name}-{}-{}",
            std::process::id(),
            crate::random::hex::<4>()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_copy_restores_and_bad_files_are_refused_by_name() {
        let d = dir("unit");
        let s = Store::open(&d.join("lango.db")).unwrap();
        s.with(|c| {
            c.execute("UPDATE packages SET name = 'Saved' WHERE id = 1", [])?;
            Ok(())
        })
        .unwrap();
        let b = d.join("copy.db");
        let got = s.with(|c| copy(c, &b)).unwrap();
        assert_eq!(got.schema_version, schema::known());
        assert!(!d.join("copy.partial").exists());

        s.with(|c| {
            c.execute("UPDATE packages SET name = 'Changed' WHERE id = 1", [])?;
            Ok(())
        })
        .unwrap();
        s.restore(&b).unwrap();
        let name: String = s
            .with(|c| Ok(c.query_row("SELECT name FROM packages WHERE id = 1", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(name, "Saved");

        std::fs::write(d.join("junk.db"), b"not a database at all, just text").unwrap();
        let e = check(&d.join("junk.db")).unwrap_err().to_string();
        assert!(
            e.contains("junk.db") && e.contains("not a readable SQLite database"),
            "{e}"
        );
        let e = check(&d.join("missing.db")).unwrap_err().to_string();
        assert!(e.ends_with("missing.db: no such file"), "{e}");
        let newer = d.join("newer.db");
        std::fs::copy(&b, &newer).unwrap();
        Connection::open(&newer)
            .unwrap()
            .execute("UPDATE schema_version SET version = 99", [])
            .unwrap();
        let e = s.restore(&newer).unwrap_err().to_string();
        assert!(e.contains("schema version 99"), "{e}");
        let other = d.join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        assert!(check(&other)
            .unwrap_err()
            .to_string()
            .contains("not a Lango database"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
