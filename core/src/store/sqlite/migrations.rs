//! Versioned schema migrations, applied in order on open and recorded in `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

use super::{db_error, sql, sql_bank};
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
    sql::SCHEMA_JOB_RELEASES,
    sql::SCHEMA_JOB_ITEMS,
    sql_bank::SCHEMA_BANK,
    sql_bank::SCHEMA_BANK_SEEN,
];

/// The schema version this build writes.
pub(crate) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`CURRENT_VERSION`]. The version is read first with a plain read, which in WAL mode
/// never waits for another process's write lock, so opening an up-to-date file to read works while another
/// process writes. Only an older file takes the write lock, in one immediate transaction that reads the version
/// again (another process may have migrated meanwhile) and applies what is missing, so two processes opening
/// the same new file cannot both apply a migration. A file from a newer build is refused untouched.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    if refuse_newer(schema_version(conn)?)? == CURRENT_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
    let version = refuse_newer(schema_version(&tx)?)?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(migration)
            .map_err(|e| StoreError::Migration(format!("migration {} failed: {e}", index + 1)))?;
    }
    tx.pragma_update(None, "user_version", CURRENT_VERSION).map_err(db_error)?;
    tx.commit().map_err(db_error)
}

/// The schema version recorded in the file (0 for a new one).
fn schema_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(db_error)
}

/// `version`, unless it is newer than this build's.
fn refuse_newer(version: i64) -> Result<i64, StoreError> {
    if version > CURRENT_VERSION {
        return Err(StoreError::Migration(format!(
            "database schema version {version} is newer than this build's {CURRENT_VERSION}"
        )));
    }
    Ok(version)
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

    /// A bank with assignments from before assignments kept their content: the rows keep their exam and gain its
    /// content key, and deleting the exam no longer deletes them.
    #[test]
    fn assignments_gain_their_content_key_and_outlive_their_exam() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        let before = MIGRATIONS.iter().position(|m| *m == sql_bank::SCHEMA_BANK_SEEN).unwrap();
        for migration in &MIGRATIONS[..before] {
            conn.execute_batch(migration).unwrap();
        }
        conn.pragma_update(None, "user_version", before as i64).unwrap();
        conn.execute_batch(
            "INSERT INTO bank_exams (id, exam_type, content_hash, source, question_count, created_at, expires_at)
                 VALUES ('e1', 'practice', 'h1', 'generated', 8, 0, 10);
             INSERT INTO assignments (user_id, exam_id, exam_type, assigned_at) VALUES ('u1', 'e1', 'practice', 5);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let row: (String, String, i64) = conn
            .query_row(
                "SELECT exam_id, content_hash, assigned_at FROM assignments WHERE user_id = 'u1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(row, ("e1".to_owned(), "h1".to_owned(), 5));
        conn.execute("DELETE FROM bank_exams WHERE id = 'e1'", []).unwrap();
        let kept: i64 = conn.query_row("SELECT COUNT(*) FROM assignments", [], |r| r.get(0)).unwrap();
        assert_eq!(kept, 1, "the assignment outlives its exam");
        let again = conn.execute(
            "INSERT INTO assignments (user_id, exam_id, exam_type, content_hash, assigned_at)
             VALUES ('u1', 'e2', 'practice', 'h1', 6)",
            [],
        );
        assert!(again.is_err(), "the same content again for the same user is refused");
    }

    #[test]
    fn an_up_to_date_file_is_checked_without_the_write_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut setup = Connection::open(&path).unwrap();
        setup.pragma_update(None, "journal_mode", "WAL").unwrap();
        migrate(&mut setup).unwrap();
        // Another connection holds the write lock for as long as this test runs.
        let writer = Connection::open(&path).unwrap();
        writer.execute_batch("BEGIN IMMEDIATE; INSERT INTO counters (name, value) VALUES ('held', 1);").unwrap();
        let mut reader = Connection::open(&path).unwrap();
        reader.busy_timeout(std::time::Duration::ZERO).unwrap();
        migrate(&mut reader).unwrap();
        // An older file does need the lock, and says so instead of migrating behind the writer's back.
        reader.pragma_update(None, "user_version", CURRENT_VERSION - 1).unwrap_err();
        writer.execute_batch("ROLLBACK").unwrap();
        reader.pragma_update(None, "user_version", CURRENT_VERSION - 1).unwrap();
        let blocker = Connection::open(&path).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE;").unwrap();
        assert!(matches!(migrate(&mut reader), Err(StoreError::Busy(_))));
    }
}
