//! Versioned schema migrations, applied in order on open and recorded in `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

use super::{db_error, sql};
use crate::store::StoreError;

/// Every migration in order; index + 1 is the schema version it produces. Never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    sql::SCHEMA_V1,
    sql::SCHEMA_V2,
    sql::SCHEMA_V3,
    sql::SCHEMA_V4,
    sql::SCHEMA_V5,
    sql::SCHEMA_V6,
    sql::SCHEMA_V7,
    sql::SCHEMA_JOB_ITEMS,
];

/// The schema version this build writes.
pub(crate) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`CURRENT_VERSION`] in one immediate transaction, so two processes opening the same
/// new file cannot both apply a migration. A file from a newer build is refused untouched.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(db_error)?;
    if version > CURRENT_VERSION {
        return Err(StoreError::Migration(format!(
            "database schema version {version} is newer than this build's {CURRENT_VERSION}"
        )));
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(migration)
            .map_err(|e| StoreError::Migration(format!("migration {} failed: {e}", index + 1)))?;
    }
    tx.pragma_update(None, "user_version", CURRENT_VERSION).map_err(db_error)?;
    tx.commit().map_err(db_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_a_newer_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, CURRENT_VERSION);
        conn.pragma_update(None, "user_version", CURRENT_VERSION + 1).unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(matches!(err, StoreError::Migration(_)), "{err}");
    }
}
