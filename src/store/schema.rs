//! The schema and its migrations. Each migration runs once, in order, in one transaction;
//! `schema_version` records how far a database has come.

use super::{Error, Result};
use rusqlite::Connection;

/// Migrations in order; index + 1 is the version they bring the database to.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "
    CREATE TABLE packages (
        id          INTEGER PRIMARY KEY,
        name        TEXT    NOT NULL,
        duration_s  INTEGER NOT NULL CHECK (duration_s > 0),
        down_kbps   INTEGER NOT NULL CHECK (down_kbps > 0),
        up_kbps     INTEGER NOT NULL CHECK (up_kbps > 0),
        price_kes   INTEGER NOT NULL CHECK (price_kes > 0),
        active      INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE payments (
        id                  INTEGER PRIMARY KEY,
        mac                 TEXT    NOT NULL,
        ip                  TEXT,
        phone               TEXT    NOT NULL,
        package_id          INTEGER NOT NULL REFERENCES packages(id),
        package_name        TEXT    NOT NULL,
        amount_kes          INTEGER NOT NULL,
        duration_s          INTEGER NOT NULL,
        down_kbps           INTEGER NOT NULL,
        up_kbps             INTEGER NOT NULL,
        state               TEXT    NOT NULL,
        checkout_request_id TEXT    UNIQUE,
        merchant_request_id TEXT,
        result_code         INTEGER,
        result_desc         TEXT,
        receipt             TEXT,
        created_at          INTEGER NOT NULL,
        updated_at          INTEGER NOT NULL
    );
    CREATE INDEX payments_state ON payments(state);
    CREATE INDEX payments_mac ON payments(mac, created_at);
    CREATE INDEX payments_phone ON payments(phone, created_at);
    CREATE TABLE sessions (
        id          INTEGER PRIMARY KEY,
        mac         TEXT    NOT NULL,
        ip          TEXT,
        source      TEXT    NOT NULL,
        source_ref  TEXT,
        package_id  INTEGER,
        down_kbps   INTEGER NOT NULL,
        up_kbps     INTEGER NOT NULL,
        started_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        ended_at    INTEGER,
        end_reason  TEXT
    );
    CREATE UNIQUE INDEX sessions_one_open_per_mac ON sessions(mac) WHERE ended_at IS NULL;
    CREATE TABLE vouchers (
        code        TEXT    PRIMARY KEY,
        package_id  INTEGER NOT NULL REFERENCES packages(id),
        batch       TEXT    NOT NULL,
        state       TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER,
        used_by_mac TEXT,
        used_at     INTEGER
    );
    CREATE TABLE admin (
        id            INTEGER PRIMARY KEY CHECK (id = 1),
        password_hash TEXT NOT NULL,
        updated_at    INTEGER NOT NULL
    );
    CREATE TABLE events (
        id         INTEGER PRIMARY KEY,
        at         INTEGER NOT NULL,
        kind       TEXT    NOT NULL,
        mac        TEXT,
        payment_id INTEGER,
        detail     TEXT    NOT NULL
    );
    CREATE INDEX events_at ON events(at);
    INSERT INTO packages (name, duration_s, down_kbps, up_kbps, price_kes) VALUES
        ('Basic',    3600,  2000,  1000, 20),
        ('Standard', 10800, 5000,  2000, 50),
        ('Premium',  21600, 10000, 4000, 100),
        ('Ultra',    86400, 20000, 8000, 300);
    ",
    // 2: late confirmations. A payment that ended `timeout` is asked about again for a while;
    // `paid_late_at` marks one that was confirmed after it had ended.
    "
    ALTER TABLE payments ADD COLUMN paid_late_at INTEGER;
    CREATE TABLE rechecks (
        payment_id  INTEGER PRIMARY KEY REFERENCES payments(id),
        since       INTEGER NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        next_at     INTEGER NOT NULL,
        state       TEXT    NOT NULL,
        last_answer TEXT    NOT NULL DEFAULT '',
        updated_at  INTEGER NOT NULL
    );
    CREATE INDEX rechecks_open ON rechecks(next_at) WHERE state = 'open';
    ",
    // 3: reconnect codes. Each session has one; a moved session keeps it, so it stays unique
    // among open sessions. Receipts are looked up when a customer types one.
    "
    ALTER TABLE sessions ADD COLUMN code TEXT;
    CREATE UNIQUE INDEX sessions_open_code ON sessions(code) WHERE ended_at IS NULL;
    CREATE INDEX payments_receipt ON payments(receipt) WHERE receipt IS NOT NULL;
    ",
    // 4: retention. Money of pruned payments, per EAT day of confirmation and package, forever.
    "
    CREATE TABLE daily_totals (
        day          INTEGER NOT NULL,
        package_id   INTEGER NOT NULL,
        package_name TEXT    NOT NULL,
        paid         INTEGER NOT NULL,
        revenue_kes  INTEGER NOT NULL,
        PRIMARY KEY (day, package_id)
    ) WITHOUT ROWID;
    ",
    // 5: smaller rows. Daraja's result texts are stored once and referred to; the merchant
    // request id is not kept; only unfinished payments are indexed by state.
    "
    CREATE TABLE texts (
        id   INTEGER PRIMARY KEY,
        text TEXT NOT NULL UNIQUE
    );
    ALTER TABLE payments ADD COLUMN result_text INTEGER REFERENCES texts(id);
    INSERT OR IGNORE INTO texts (text) SELECT DISTINCT result_desc FROM payments WHERE result_desc IS NOT NULL;
    UPDATE payments SET result_text = (SELECT id FROM texts WHERE text = payments.result_desc), result_desc = NULL,
                        merchant_request_id = NULL;
    DROP INDEX payments_state;
    CREATE INDEX payments_open ON payments(state) WHERE state IN ('created', 'pushed');
    ",
    // 6: a push that left Lango without its answer being recorded (only such a payment may
    // adopt a success callback's CheckoutRequestID).
    "ALTER TABLE payments ADD COLUMN answer_lost INTEGER NOT NULL DEFAULT 0;",
    // 7: bytes each session moved (whole Ethernet frames, as the kernel counts them), and the
    // router's traffic per EAT day.
    "
    ALTER TABLE sessions ADD COLUMN bytes_down INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN bytes_up INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE traffic_days (
        day        INTEGER PRIMARY KEY,
        bytes_down INTEGER NOT NULL,
        bytes_up   INTEGER NOT NULL
    );
    ",
    // 8: data packages. A package may carry a data allowance in MB (NULL: unlimited data); a
    // payment keeps it as bought, and a session holds its allowance in bytes (NULL: unlimited),
    // so editing a package never changes what was bought.
    "
    ALTER TABLE packages ADD COLUMN data_mb INTEGER CHECK (data_mb IS NULL OR data_mb BETWEEN 1 AND 1000000);
    ALTER TABLE payments ADD COLUMN data_mb INTEGER;
    ALTER TABLE sessions ADD COLUMN data_limit INTEGER;
    ",
    // 9: RADIUS accounting.
    RADIUS,
    // 10: a device's latest session is found by index (the portal asks it for every captive
    // phone's page: was its bundle's data used up?).
    "CREATE INDEX sessions_mac ON sessions(mac, id);",
];

/// What RADIUS keeps: per open session, the server's words (User-Name, Class, interim interval)
/// and how far its accounting got (the row goes when its Stop is queued); and the queue of
/// Accounting-Requests not yet answered, each fixed when made (Acct-Delay-Time is added when sent).
const RADIUS: &str = "
    CREATE TABLE radius_sessions (
        session_id   INTEGER PRIMARY KEY,
        user_name    TEXT,
        class        BLOB,
        interim_s    INTEGER,
        started      INTEGER NOT NULL DEFAULT 0,
        next_interim INTEGER
    );
    CREATE TABLE radius_queue (
        id         INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL,
        status     INTEGER NOT NULL,
        made_at    INTEGER NOT NULL,
        attrs      BLOB NOT NULL,
        tries      INTEGER NOT NULL DEFAULT 0
    );
";

/// The newest schema version this Lango knows.
pub fn known() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database to the newest schema.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let found: i64 = conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(0),
            e => Err(e),
        })?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(Error::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute("DELETE FROM schema_version", [])?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [i as i64 + 1],
        )?;
        tx.commit()?;
        log::info!("database migrated to schema version {}", i + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_seeds_four_packages() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        migrate(&mut c).unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM packages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 4);
        let v: i64 = c
            .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
    }

    #[test]
    fn migration_8_keeps_old_rows_unlimited_and_refuses_a_bad_allowance() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (0)")
            .unwrap();
        // Up to 7, with a session and a payment as an older Lango left them.
        for (i, sql) in MIGRATIONS.iter().enumerate().take(7) {
            c.execute_batch(sql).unwrap();
            c.execute("UPDATE schema_version SET version = ?1", [i as i64 + 1])
                .unwrap();
        }
        c.execute_batch(
            "INSERT INTO sessions (mac, source, down_kbps, up_kbps, started_at, expires_at, bytes_down)
                 VALUES ('aa:bb:cc:dd:ee:01', 'payment', 1000, 1000, 1, 100, 5000);
             INSERT INTO payments (mac, phone, package_id, package_name, amount_kes, duration_s, down_kbps, up_kbps, state, created_at, updated_at)
                 VALUES ('aa:bb:cc:dd:ee:01', '254708374149', 1, 'Basic', 20, 3600, 2000, 1000, 'paid', 1, 1);",
        )
        .unwrap();
        migrate(&mut c).unwrap();
        let (limit, bytes): (Option<i64>, i64) = c
            .query_row("SELECT data_limit, bytes_down FROM sessions", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((limit, bytes), (None, 5000), "unlimited data, usage kept");
        let paid: Option<i64> = c
            .query_row("SELECT data_mb FROM payments", [], |r| r.get(0))
            .unwrap();
        assert_eq!(paid, None);
        let set = |mb: i64| c.execute("UPDATE packages SET data_mb = ?1 WHERE id = 1", [mb]);
        assert!(set(1).is_ok() && set(1_000_000).is_ok());
        assert!(set(0).is_err() && set(1_000_001).is_err(), "1 MB to 1 TB");
    }

    #[test]
    fn refuses_a_newer_database() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        c.execute("UPDATE schema_version SET version = 99", [])
            .unwrap();
        assert!(matches!(
            migrate(&mut c),
            Err(Error::TooNew { found: 99, .. })
        ));
    }
}
