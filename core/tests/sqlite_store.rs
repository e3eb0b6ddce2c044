//! What only the SQLite store has: one file shared by several handles and reopened, group-committed writes that
//! stay atomic one by one, its query plans, and raw ids. Every behaviour both backends share is in the store
//! contract suite (`store_contract/`, run on SQLite by `sqlite_contract.rs`).
#![cfg(feature = "sqlite")]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use pregen_core::ErrorCode;
use pregen_core::exam::{Allocation, ExamSpec, ExamType, synthetic_exam};
use pregen_core::policy::Policy;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{ActivityStore, ExamStore, NewExam, StoreError, UserId};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&Utc)
}

/// One item per domain: valid, and small enough to store thousands quickly.
fn tiny_spec() -> ExamSpec {
    ExamSpec { name: "tiny".into(), item_count: 8, scored_count: 8, allocation: Allocation::WeightedByDomain }
}

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

fn new_exam(user_id: &str, exam_type: ExamType, created_at: DateTime<Utc>, seed: u64) -> NewExam {
    let spec = tiny_spec();
    NewExam::new(user(user_id), exam_type, synthetic_exam(&spec, seed), &spec, created_at, &Policy::default())
        .unwrap()
}

async fn open(dir: &tempfile::TempDir, connections: usize) -> SqliteStore {
    SqliteStore::open(dir.path().join("pregen.db"), SqliteOptions { connections, ..SqliteOptions::default() })
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_user_ids_are_refused_before_any_write() {
    for bad in ["", "tab\there", &"x".repeat(200)] {
        let err = UserId::parse(bad).unwrap_err();
        assert_eq!(err.code(), "store.invalid_input", "{bad:?}");
    }
}

#[tokio::test]
async fn the_store_survives_a_reopen_and_shares_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let store = open(&dir, 1).await;
        store.insert_exam(new_exam("u", ExamType::Practice, t0(), 1)).await.unwrap()
    };
    let a = Arc::new(open(&dir, 1).await);
    let b = open(&dir, 1).await;
    assert_eq!(b.claim_exam(&user("u"), ExamType::Practice, t0()).await.unwrap().unwrap().id, id);
    assert!(a.claim_exam(&user("u"), ExamType::Practice, t0()).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_committed_together_stay_atomic_one_by_one() {
    use pregen_core::store::sqlite::{db_error, rusqlite::params};
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 1).await;
    store
        .with_connection(|c| c.execute("CREATE TABLE probe (n INTEGER PRIMARY KEY)", []).map_err(db_error))
        .await
        .unwrap();
    // 200 concurrent writes land in shared transactions; every odd one writes a row, then fails.
    let tasks: Vec<_> = (0..200)
        .map(|n: i64| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .with_connection(move |c| {
                        c.execute("INSERT INTO probe (n) VALUES (?1)", params![n]).map_err(db_error)?;
                        if n % 2 == 1 { Err(StoreError::Conflict(format!("refused {n}"))) } else { Ok(n) }
                    })
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(n) => {
                assert_eq!(n % 2, 0);
                ok += 1;
            }
            Err(StoreError::Conflict(m)) => assert!(m.starts_with("refused")),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 100);
    let rows: Vec<i64> = store
        .with_connection(|c| {
            let mut st = c.prepare("SELECT n FROM probe ORDER BY n").map_err(db_error)?;
            st.query_map([], |r| r.get(0)).and_then(|rows| rows.collect()).map_err(db_error)
        })
        .await
        .unwrap();
    assert_eq!(rows, (0..200).step_by(2).collect::<Vec<i64>>(), "failed calls left nothing behind");
}

/// The planning, stock and claim queries must look up each pair by (user, type); a plan that scanned the used-exam
/// index per pair took minutes for 100,000 users.
#[tokio::test]
async fn planning_stock_and_claim_look_up_each_pair_by_user_and_type() {
    use pregen_core::store::sqlite::db_error;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 1).await;
    let plans: Vec<String> = store
        .with_connection(|c| {
            let mut details = Vec::new();
            for sql in [
                "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM pre_generated_exams e WHERE e.user_id = 'u' \
                 AND e.exam_type = 'practice' AND e.used = 0 AND e.expires_at > 0",
                "EXPLAIN QUERY PLAN SELECT rowid FROM pre_generated_exams WHERE user_id = 'u' \
                 AND exam_type = 'practice' AND used = 0 AND expires_at > 0 ORDER BY created_at DESC, rowid DESC LIMIT 1",
            ] {
                let mut st = c.prepare(sql).map_err(db_error)?;
                let rows = st.query_map([], |r| r.get::<_, String>(3)).map_err(db_error)?;
                details.push(rows.collect::<Result<Vec<_>, _>>().map_err(db_error)?.join("; "));
            }
            Ok(details)
        })
        .await
        .unwrap();
    for plan in plans {
        assert!(plan.contains("user_id=? AND exam_type=?") && !plan.contains("pge_used_at"), "{plan}");
    }
}

#[tokio::test]
async fn ids_with_format_characters_are_stored_and_reported_raw() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 1).await;
    for raw in ["rtl\u{202e}user", "zero\u{200b}width", "line\u{2028}sep", "\u{feff}bom", "山田"] {
        let id = user(raw);
        store.record_activity(&id, t0()).await.unwrap();
        store.insert_exam(new_exam(raw, ExamType::Practice, t0(), 1)).await.unwrap();
        let stats = store.user_stats(&id, t0(), &Policy::default()).await.unwrap();
        assert_eq!(stats.user_id, raw, "the body carries the raw id, not the escaped log form");
        let claimed = store.claim_exam(&id, ExamType::Practice, t0()).await.unwrap().unwrap();
        assert_eq!(claimed.user_id.as_str(), raw);
    }
}

/// The WAL stays bounded though no commit checkpoints it: the store's checkpoint thread does, off the write path,
/// and under writes too steady for it to catch up the writer checkpoints itself past a limit (4,000 pages).
/// 12,000 commits of a few pages each leave a WAL of about 70 MB when nothing checkpoints (SQLite's own automatic
/// checkpoint is off on the store's connections); here it stays near the limit and is reused from its start.
#[tokio::test]
async fn the_wal_is_checkpointed_off_the_write_path_and_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 2).await;
    let user = UserId::parse("wal-user").unwrap();
    let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    for i in 0..6_000 {
        store.record_activity(&user, start + chrono::TimeDelta::seconds(i)).await.unwrap();
        store.record_get_outcome(i % 2 == 0).await.unwrap();
    }
    let autocheckpoint: i64 = store
        .with_connection(|c| {
            c.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
                .map_err(pregen_core::store::sqlite::db_error)
        })
        .await
        .unwrap();
    assert_eq!(autocheckpoint, 0, "no commit checkpoints");
    let wal = std::fs::metadata(store.path().with_extension("db-wal")).map(|m| m.len()).unwrap_or(0);
    assert!(wal < 28 * 1024 * 1024, "the WAL grew to {wal} bytes");
}
