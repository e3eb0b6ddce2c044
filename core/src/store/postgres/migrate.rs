//! The schema: the files of `supabase/migrations/`, embedded at build time and applied in order. One source for
//! the Supabase CLI and for this backend; the applied versions are recorded in `pregen.schema_migrations`.

use chrono::{DateTime, Utc};

use super::{Conn, at, get, query, query_one, sql};
use crate::store::StoreError;

/// One migration file: its version (the file name's timestamp), its name, and its SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The leading timestamp of the file name, `YYYYMMDDHHMMSS`, as the Supabase CLI records it.
    pub version: &'static str,
    /// The rest of the file name, without `.sql`.
    pub name: &'static str,
    /// The statements.
    pub sql: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../../../supabase/migrations/", $version, "_", $name, ".sql")),
        }
    };
}

/// Every migration in order. Never edit one that has shipped; add a file and a line here (a test checks that
/// this list and the directory agree).
pub const MIGRATIONS: &[Migration] = &[
    migration!("20260601000000", "supabase_compat"),
    migration!("20260601000100", "pregen_schema"),
    migration!("20260601000200", "row_level_security"),
    migration!("20260601000300", "job_wakeups"),
    migration!("20260601000400", "job_releases_and_checkpoints"),
    migration!("20260601000500", "job_end_wakeups"),
    migration!("20260601000600", "legacy_imports"),
    migration!("20260601000700", "exam_bank"),
    migration!("20260601000800", "awaited_job_ends"),
    migration!("20260601000900", "queue_functions"),
];

/// The advisory lock key every migrating process takes (`pregen` in ASCII), so two processes migrating at once
/// apply each file once.
const LOCK_KEY: i64 = 0x7072_6567_656e;

/// Brings the database to the latest schema in one transaction under a transaction-scoped advisory lock (which
/// a transaction pooler allows): a second process waits, then finds everything applied. A version the Supabase
/// CLI already applied counts as applied. A database with a version this build does not know is refused
/// untouched. `now` stamps the record of each applied file.
pub(crate) async fn migrate(conn: &mut Conn, now: DateTime<Utc>) -> Result<(), StoreError> {
    let tx = conn.transaction().await?;
    query(&tx, &sql::MIGRATION_LOCK, &[&LOCK_KEY]).await?;
    tx.batch_execute(sql::BOOTSTRAP).await.map_err(|e| StoreError::Migration(format!("bootstrap: {e}")))?;
    let mut applied: Vec<String> =
        query(&tx, &sql::APPLIED_VERSIONS, &[]).await?.iter().map(|r| get(r, 0)).collect::<Result<_, _>>()?;
    if let Some(unknown) = applied.iter().find(|v| !MIGRATIONS.iter().any(|m| m.version == v.as_str())) {
        return Err(StoreError::Migration(format!(
            "the database has schema version {unknown}, which this build does not know (a newer build migrated it)"
        )));
    }
    if get(&query_one(&tx, &sql::SUPABASE_CLI_TABLE_EXISTS, &[]).await?, 0)? {
        for row in query(&tx, &sql::SUPABASE_CLI_VERSIONS, &[]).await? {
            applied.push(get(&row, 0)?);
        }
    }
    let now = at(now);
    for migration in MIGRATIONS.iter().filter(|m| !applied.iter().any(|v| v == m.version)) {
        tx.batch_execute(migration.sql).await.map_err(|e| {
            let detail = e.as_db_error().map_or_else(|| e.to_string(), |db| db.message().to_owned());
            StoreError::Migration(format!("{}_{} failed: {detail}", migration.version, migration.name))
        })?;
        query(&tx, &sql::RECORD_MIGRATION, &[&migration.version, &migration.name, &now]).await?;
        tracing::info!("[Pre-Gen] applied migration {}_{}", migration.version, migration.name);
    }
    tx.commit().await
}
