//! Opening a SQLite store: reading never waits for another connection's write lock; only a file that needs a
//! migration takes it, and two openers of one new file migrate it once.
#![cfg(feature = "sqlite")]

use std::time::Duration;

use chrono::{DateTime, Utc};
use pregen_core::ErrorCode;
use pregen_core::exam::ExamType;
use pregen_core::policy::Policy;
use pregen_core::queue::{JobKey, QueueOptions};
use pregen_core::store::sqlite::rusqlite::Connection;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{ActivityStore, ExamStore, JobStore, UserId};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-05-01T08:00:00Z").unwrap().with_timezone(&Utc)
}

/// A busy timeout short enough that a store which waits for the lock fails fast with `store.busy`.
fn impatient() -> SqliteOptions {
    SqliteOptions { connections: 2, busy_timeout: Duration::from_millis(200) }
}

/// Another connection, as another process would hold it: a write transaction left open.
fn hold_write_lock(path: &std::path::Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         INSERT INTO user_activity (user_id, first_seen_at, last_seen_at) VALUES ('writer', 0, 0);",
    )
    .unwrap();
    conn
}

#[tokio::test]
async fn a_store_opens_and_reads_while_another_connection_holds_a_write_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pregen.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).await.unwrap();
    let key = JobKey::new("u1", ExamType::Practice);
    let job = store.enqueue(&key, t0(), &QueueOptions::default()).await.unwrap().job;
    store.record_activity(&UserId::parse("u1").unwrap(), t0()).await.unwrap();
    drop(store);

    let writer = hold_write_lock(&path);
    // Before the fix, opening took the write lock to check the schema version and failed with store.busy.
    let reader = SqliteStore::open(&path, impatient()).await.unwrap_or_else(|e| panic!("{}: {e}", e.code()));
    let policy = Policy::default();
    assert_eq!(reader.analytics(t0(), &policy).await.unwrap().total_generated, 0);
    assert_eq!(reader.queue_status(t0(), 10).await.unwrap().counts.pending, 1);
    assert_eq!(reader.get_job(&job.id).await.unwrap().unwrap(), job);
    assert_eq!(reader.count_active_users(t0()).await.unwrap(), 1, "the open transaction's row is not seen");
    let stats = reader.user_stats(&UserId::parse("u1").unwrap(), t0(), &policy).await.unwrap();
    assert!(stats.active);
    assert_eq!(reader.next_due_at().await.unwrap(), Some(t0()));
    // Writes still meet the lock, as they must.
    let err = reader.enqueue(&JobKey::new("u2", ExamType::Practice), t0(), &QueueOptions::default()).await;
    assert_eq!(err.unwrap_err().code(), "store.busy");
    writer.execute_batch("COMMIT").unwrap();
    assert!(reader.enqueue(&JobKey::new("u2", ExamType::Practice), t0(), &QueueOptions::default()).await.is_ok());
}

#[tokio::test]
async fn a_file_that_needs_a_migration_waits_for_the_lock_and_says_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).await.unwrap();
    drop(store);
    // Take the file back to schema version 7, as the build before release counts and job checkpoints left it:
    // opening it must migrate.
    let old = Connection::open(&path).unwrap();
    old.execute_batch(
        "DROP TRIGGER job_items_end_with_their_job; DROP TABLE job_items; ALTER TABLE jobs DROP COLUMN max_releases; ALTER TABLE jobs DROP COLUMN releases; \
         DROP TABLE assignments; DROP TABLE bank_payloads; DROP TABLE bank_exams; DELETE FROM counters WHERE name LIKE 'bank_%';",
    )
    .unwrap();
    old.pragma_update(None, "user_version", 7).unwrap();
    drop(old);
    let writer = hold_write_lock(&path);
    let err = SqliteStore::open(&path, impatient()).await.unwrap_err();
    assert_eq!(err.code(), "store.busy");
    writer.execute_batch("COMMIT").unwrap();
    let store = SqliteStore::open(&path, impatient()).await.unwrap();
    let job = store.enqueue(&JobKey::new("u1", ExamType::Practice), t0(), &QueueOptions::default()).await.unwrap();
    assert_eq!((job.job.releases, job.job.max_releases), (0, 5), "the migration ran once the lock was free");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_openers_of_a_new_file_migrate_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let openers: Vec<_> = (0..6)
        .map(|_| {
            let path = path.clone();
            tokio::spawn(async move { SqliteStore::open(&path, SqliteOptions::default()).await })
        })
        .collect();
    for opener in openers {
        let store = opener.await.unwrap().unwrap_or_else(|e| panic!("{}: {e}", e.code()));
        store.enqueue(&JobKey::new("u1", ExamType::Practice), t0(), &QueueOptions::default()).await.unwrap();
    }
    let store = SqliteStore::open(&path, SqliteOptions::default()).await.unwrap();
    assert_eq!(store.queue_status(t0(), 10).await.unwrap().counts.pending, 1);
}
