//! The store conformance suite on Postgres: every test runs on a database of its own, created and dropped here.
#![cfg(feature = "postgres")]

mod pg_support;
mod store_contract;

use pregen_core::store::postgres::{PgOptions, PgStore};
use store_contract::Backend;

/// A fresh database; each `open` is a new pool on it, as another process would have.
struct Pg {
    db: pg_support::TestDb,
}

impl Backend for Pg {
    type Store = PgStore;

    async fn open(&self) -> PgStore {
        PgStore::connect(self.db.url(), PgOptions { max_connections: 4, ..PgOptions::default() })
            .await
            .expect("connect the store")
    }
}

async fn pg() -> Pg {
    Pg { db: pg_support::TestDb::create().await }
}

store_contract_tests!(pg().await);

/// Enqueues that arrive together share statements and commits: 200 concurrent enqueues of new keys are written
/// by far fewer transactions than 200 (each row's `xmin` is the transaction that inserted it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_enqueues_share_commits() {
    use pregen_core::exam::ExamType;
    use pregen_core::queue::QueueOptions;
    use pregen_core::store::JobStore;

    let db = pg_support::TestDb::create().await;
    let store =
        PgStore::connect(db.url(), PgOptions { max_connections: 4, ..PgOptions::default() }).await.unwrap();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let key = store_contract::key(&format!("u{i}"), ExamType::Practice);
                store.enqueue(&key, store_contract::t0(), &QueueOptions::default()).await.unwrap().created
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap(), "each key is new");
    }
    let client = db.client().await;
    let row = client.query_one("SELECT count(*), count(DISTINCT xmin::text) FROM pregen.jobs", &[]).await.unwrap();
    let (jobs, transactions): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(jobs, 200);
    assert!(transactions <= 50, "200 enqueues took {transactions} transactions");
}

/// Decisions of attempts that finish together share statements and commits, and each stays fenced: 100
/// concurrent finishes (every fourth one by a caller whose attempt is stale) write the 75 held jobs in far fewer
/// than 75 transactions, and answer each stale caller `LeaseLost` without writing its job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_finishes_share_commits_and_stay_fenced() {
    use pregen_core::exam::ExamType;
    use pregen_core::queue::{JobState, Outcome, QueueOptions, decide};
    use pregen_core::store::{JobStore, StoreError};

    let db = pg_support::TestDb::create().await;
    let store =
        PgStore::connect(db.url(), PgOptions { max_connections: 4, ..PgOptions::default() }).await.unwrap();
    let options = QueueOptions::default();
    let keys: Vec<_> = (0..100).map(|i| store_contract::key(&format!("u{i:03}"), ExamType::Practice)).collect();
    store.enqueue_many(&keys, store_contract::t0(), &options).await.unwrap();
    let held = store.claim_jobs("w", 100, store_contract::t0(), &options).await.unwrap();
    assert_eq!(held.len(), 100);
    let tasks: Vec<_> = held
        .into_iter()
        .enumerate()
        .map(|(i, job)| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut seen = job.clone();
                if i % 4 == 0 {
                    seen.attempt += 1; // an attempt this caller does not hold
                }
                let decision = decide(&job, &Outcome::Succeeded, store_contract::t0(), &options, 0.5).unwrap();
                (i, job.id.clone(), store.finish_job(&seen, &decision).await)
            })
        })
        .collect();
    for task in tasks {
        let (i, id, finished) = task.await.unwrap();
        match finished {
            Ok(job) if i % 4 != 0 => assert_eq!((job.id, job.state), (id, JobState::Succeeded)),
            Err(StoreError::LeaseLost(_)) if i % 4 == 0 => {
                assert_eq!(store.get_job(&id).await.unwrap().unwrap().state, JobState::Running, "not written");
            }
            other => panic!("finish {i}: {other:?}"),
        }
    }
    let client = db.client().await;
    let row = client
        .query_one("SELECT count(*), count(DISTINCT xmin::text) FROM pregen.jobs WHERE state = 'succeeded'", &[])
        .await
        .unwrap();
    let (jobs, transactions): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(jobs, 75);
    assert!(transactions <= 40, "75 finishes took {transactions} transactions");
}
