//! SQLite: opening, migrations and the one connection; one module per table below.
//! This room is the only place SQL lives. Touches: the database file. Never: HTTP, the kernel.

pub mod admin;
pub mod backup;
pub mod events;
pub mod packages;
pub mod payments;
pub mod radius;
pub mod rechecks;
pub mod reports;
pub mod retention;
mod schema;
pub mod sessions;
pub mod usage;
pub mod vouchers;

use crate::mac::Mac;
use crate::phone::Msisdn;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Why the database could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("database {path}: making it readable by root only: {source}")]
    Private {
        path: String,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database schema version {found} is newer than this Lango understands ({known}); upgrade Lango")]
    TooNew { found: i64, known: i64 },
    #[error("database task failed: {0}")]
    Task(String),
    /// A backup could not be written, or a file is not one that may be restored.
    #[error("backup {path}: {why}")]
    Backup { path: String, why: String },
}

pub type Result<T> = std::result::Result<T, Error>;

/// The database. Clones share one connection; calls are serialised.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let open_err = |source| Error::Open {
            path: path.display().to_string(),
            source,
        };
        // Full phone numbers and the owner's password hash live here: owner-only from the
        // first byte (SQLite gives its -wal and -shm files the database's mode), and an older
        // database left readable by all is closed up.
        private_file(path).map_err(|source| Error::Private {
            path: path.display().to_string(),
            source,
        })?;
        let conn = Connection::open(path).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        Self::setup(conn)
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Store> {
        // Money is recorded here: a power cut must not lose a committed payment.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the connection, blocking. Use `call` from async code.
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` inside one write transaction, blocking: all of it commits or none of it.
    pub fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T>) -> Result<T> {
        let mut c = self.lock();
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// A consistent copy of the database at `dest` (see `backup::copy`), blocking.
    pub fn backup_to(&self, dest: &Path) -> Result<backup::Checked> {
        backup::copy(&self.lock(), dest)
    }

    /// Replaces the whole database with the backup at `src` (see `backup::restore`), blocking.
    pub fn restore(&self, src: &Path) -> Result<backup::Checked> {
        backup::restore(&mut self.lock(), src)
    }

    /// Runs `f` on the connection off the event loop.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let s = self.clone();
        tokio::task::spawn_blocking(move || s.with(f))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    /// Runs a short read `f` at once if the connection is free, else as `call` does: a page's
    /// indexed look costs less than the trip to the blocking pool and back.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        if let Ok(c) = self.conn.try_lock() {
            return f(&c);
        }
        self.call(f).await
    }

    /// Runs `f` in one write transaction off the event loop.
    pub async fn transact<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let s = self.clone();
        tokio::task::spawn_blocking(move || s.write(f))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }
}

/// An address as stored: text, so a person reading the database sees `192.168.1.23`.
pub(crate) struct Ip(pub std::net::IpAddr);

/// Text columns holding Lango's parsed types: written in canonical form, parsed on the way out
/// (a corrupt value is a conversion error, never a panic).
macro_rules! text_column {
    ($t:ty, $to:expr, $from:expr) => {
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(($to)(self)))
            }
        }
        impl FromSql for $t {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                let s = v.as_str()?;
                ($from)(s).map_err(|_| {
                    FromSqlError::Other(format!("{s:?} is not a {}", stringify!($t)).into())
                })
            }
        }
    };
}

text_column!(Mac, |m: &Mac| m.to_string(), |s: &str| s
    .parse::<Mac>()
    .map_err(|_| ()));
text_column!(Msisdn, |m: &Msisdn| m.as_str().to_string(), |s: &str| s
    .parse::<Msisdn>()
    .map_err(|_| ()));
text_column!(
    rechecks::RecheckState,
    |r: &rechecks::RecheckState| r.as_str(),
    |s: &str| rechecks::RecheckState::parse(s).ok_or(())
);
text_column!(
    vouchers::VoucherState,
    |v: &vouchers::VoucherState| v.as_str(),
    |s: &str| vouchers::VoucherState::parse(s).ok_or(())
);
text_column!(Ip, |i: &Ip| i.0.to_string(), |s: &str| s
    .parse()
    .map(Ip)
    .map_err(|_| ()));

/// Creates `path` with mode 0600 if it does not exist, or makes an existing file 0600.
fn private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::rechecks::RecheckState;
    use super::vouchers::VoucherState;
    use super::Store;

    /// A read runs at once on a free connection, and waits its turn (off the event loop) on a
    /// busy one instead of failing or blocking the caller's thread.
    #[tokio::test]
    // Holding the connection across an await is the busy connection this test is about.
    #[allow(clippy::await_holding_lock)]
    async fn a_read_runs_at_once_or_waits_its_turn() {
        let s = Store::open_in_memory().unwrap();
        let seven = |c: &rusqlite::Connection| -> super::Result<i64> {
            Ok(c.query_row("SELECT 7", [], |r| r.get(0))?)
        };
        assert_eq!(s.read(seven).await.unwrap(), 7i64);
        let held = s.conn.lock().unwrap();
        let s2 = s.clone();
        let waiting = tokio::spawn(async move { s2.read(seven).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "it waits while the connection is in use"
        );
        drop(held);
        assert_eq!(waiting.await.unwrap().unwrap(), 7i64);
    }

    #[test]
    fn state_columns_read_back_what_they_wrote_and_refuse_the_rest() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        for v in [
            VoucherState::Unused,
            VoucherState::Used,
            VoucherState::Revoked,
        ] {
            let got: VoucherState = c.query_row("SELECT ?1", [v], |r| r.get(0)).unwrap();
            assert_eq!(got, v);
        }
        for r in [
            RecheckState::Open,
            RecheckState::PaidLate,
            RecheckState::NotPaid,
            RecheckState::Settled,
            RecheckState::Expired,
        ] {
            let got: RecheckState = c.query_row("SELECT ?1", [r], |row| row.get(0)).unwrap();
            assert_eq!(got, r);
        }
        let bad = c.query_row("SELECT 'spent'", [], |r| r.get::<_, VoucherState>(0));
        assert!(bad.unwrap_err().to_string().contains("\"spent\" is not a"));
    }
}
