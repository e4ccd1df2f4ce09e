//! The `admin` table: the owner's password hash (one row; none until the first password is set).

use super::Result;
use crate::clock::Unix;
use rusqlite::{params, Connection, OptionalExtension};

/// The stored password hash, or `None` before the first password is set.
pub fn password_hash(c: &Connection) -> Result<Option<String>> {
    Ok(
        c.query_row("SELECT password_hash FROM admin WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

/// Sets (or replaces) the password hash.
pub fn set_password_hash(c: &Connection, hash: &str, now: Unix) -> Result<()> {
    c.execute(
        "INSERT INTO admin (id, password_hash, updated_at) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET password_hash = ?1, updated_at = ?2",
        params![hash, now],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn one_password_replaced_in_place() {
        let s = Store::open_in_memory().unwrap();
        s.with(|c| {
            assert_eq!(password_hash(c)?, None);
            set_password_hash(c, "$scrypt$a", 1)?;
            set_password_hash(c, "$scrypt$b", 2)?;
            assert_eq!(password_hash(c)?.as_deref(), Some("$scrypt$b"));
            let n: i64 = c.query_row("SELECT count(*) FROM admin", [], |r| r.get(0))?;
            assert_eq!(n, 1);
            Ok(())
        })
        .unwrap();
    }
}
