//! Faults on Postgres: a connection lost in the middle of a transaction loses nothing and leaves no half-written
//! exam; serialization failures and deadlocks from the server map to retryable errors with their own codes.
#![cfg(feature = "postgres")]

mod pg_support;
mod store_contract;

use std::time::Duration;

use chrono::TimeDelta;
use pg_support::TestDb;
use pregen_core::ErrorCode;
use pregen_core::exam::ExamType;
use pregen_core::policy::Policy;
use pregen_core::queue::{JobState, QueueOptions};
use pregen_core::store::postgres::tokio_postgres::Client;
use pregen_core::store::postgres::{PgStore, db_error};
use pregen_core::store::{ExamStore, JobStore, StoreError};
use store_contract::{key, new_exam, t0, tiny_exam_for, user};

/// Waits until a backend of `db` is blocked on a lock while running a statement that contains `needle`, and
/// returns its pid. Bounded: a statement that never arrives fails the test.
async fn blocked_backend(admin: &Client, db: &str, needle: &str) -> i32 {
    for _ in 0..2_000 {
        let rows = admin
            .query(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' \
                 AND position($2 in query) > 0",
                &[&db, &needle],
            )
            .await
            .unwrap();
        if let Some(row) = rows.first() {
            return row.get(0);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no backend blocked on `{needle}`");
}

/// Holds a lock that stops every insert into the exams table until the returned client rolls back.
async fn block_exam_inserts(db: &TestDb) -> Client {
    let blocker = db.client().await;
    blocker.batch_execute("BEGIN; LOCK TABLE pregen.pre_generated_exams IN SHARE MODE").await.unwrap();
    blocker
}

async fn exam_rows(db: &TestDb) -> i64 {
    db.client().await.query_one("SELECT count(*) FROM pregen.pre_generated_exams", &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_between_the_job_update_and_the_exam_insert_changes_nothing() {
    let db = TestDb::create().await;
    let store = db.store(1).await;
    let options = QueueOptions::default();
    store.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap();
    let running = store.claim_jobs("w1", 1, t0(), &options).await.unwrap().remove(0);

    // The completion's transaction marks the job succeeded, then blocks on its exam insert: the backend is
    // terminated right there, mid-transaction.
    let blocker = block_exam_inserts(&db).await;
    let completing = {
        let (store, job) = (store.clone(), running.clone());
        tokio::spawn(async move { store.complete_job_with_exam(&job, tiny_exam_for(&job, t0()), t0()).await })
    };
    let admin = db.client().await;
    let pid = blocked_backend(&admin, db.name(), "INSERT INTO pregen.pre_generated_exams").await;
    let held: String = admin
        .query_one("SELECT state FROM pregen.jobs WHERE id = $1::text::uuid", &[&running.id.as_str()])
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, "running", "the job update is not visible outside its transaction");
    admin.execute("SELECT pg_terminate_backend($1)", &[&pid]).await.unwrap();
    let err = completing.await.unwrap().unwrap_err();
    assert_eq!(err.code(), "store.unavailable", "{err}");
    assert!(err.is_retryable());
    blocker.batch_execute("ROLLBACK").await.unwrap();

    // Nothing of the transaction remains: the job is still held by this worker at this attempt, no exam.
    assert_eq!(store.get_job(&running.id).await.unwrap().unwrap(), running);
    assert_eq!(exam_rows(&db).await, 0);

    // The retry (on a fresh pooled connection) completes it once; a further retry is refused.
    let (done, exam_id) =
        store.complete_job_with_exam(&running, tiny_exam_for(&running, t0()), t0()).await.unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(store.claim_exam(&user("u1"), ExamType::Practice, t0()).await.unwrap().unwrap().id, exam_id);
    let again = store.complete_job_with_exam(&running, tiny_exam_for(&running, t0()), t0()).await.unwrap_err();
    assert_eq!(again.code(), "store.lease_lost");
    assert_eq!(exam_rows(&db).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_while_storing_several_exams_stores_none() {
    let db = TestDb::create().await;
    let store = db.store(1).await;
    let blocker = block_exam_inserts(&db).await;
    let inserting = {
        let store = store.clone();
        tokio::spawn(async move {
            let exams = (0..5).map(|i| new_exam("u1", ExamType::Practice, t0(), i)).collect();
            store.insert_exams(exams).await
        })
    };
    let admin = db.client().await;
    let pid = blocked_backend(&admin, db.name(), "INSERT INTO pregen.pre_generated_exams").await;
    admin.execute("SELECT pg_terminate_backend($1)", &[&pid]).await.unwrap();
    assert_eq!(inserting.await.unwrap().unwrap_err().code(), "store.unavailable");
    blocker.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(exam_rows(&db).await, 0, "all or none");
    let exams = (0..5).map(|i| new_exam("u1", ExamType::Practice, t0(), i)).collect();
    assert_eq!(store.insert_exams(exams).await.unwrap().len(), 5);
    assert_eq!(store.analytics(t0(), &Policy::default()).await.unwrap().total_generated, 5);
}

/// A claim whose connection dies mid-statement hands out nothing and leaves the exam servable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_during_a_claim_leaves_the_exam_servable() {
    let db = TestDb::create().await;
    let store = db.store(1).await;
    let id = store.insert_exam(new_exam("u1", ExamType::Practice, t0(), 1)).await.unwrap();
    // Stop every update of the table (the claim's), not the read of its row.
    let blocker = db.client().await;
    blocker.batch_execute("BEGIN; LOCK TABLE pregen.pre_generated_exams IN SHARE MODE").await.unwrap();
    let claiming = {
        let store = store.clone();
        tokio::spawn(async move { store.claim_exam(&user("u1"), ExamType::Practice, t0()).await })
    };
    let admin = db.client().await;
    let pid = blocked_backend(&admin, db.name(), "UPDATE pregen.pre_generated_exams").await;
    admin.execute("SELECT pg_terminate_backend($1)", &[&pid]).await.unwrap();
    assert_eq!(claiming.await.unwrap().unwrap_err().code(), "store.unavailable");
    blocker.batch_execute("ROLLBACK").await.unwrap();
    let later = t0() + TimeDelta::seconds(1);
    assert_eq!(store.claim_exam(&user("u1"), ExamType::Practice, later).await.unwrap().unwrap().id, id);
}

async fn scratch(db: &TestDb) -> (Client, Client) {
    let (a, b) = (db.client().await, db.client().await);
    a.batch_execute("CREATE TABLE scratch (id int PRIMARY KEY, n int); INSERT INTO scratch VALUES (1, 0), (2, 0)")
        .await
        .unwrap();
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_is_a_retryable_store_deadlock() {
    let db = TestDb::create().await;
    let (a, b) = scratch(&db).await;
    a.batch_execute("BEGIN; UPDATE scratch SET n = 1 WHERE id = 1").await.unwrap();
    b.batch_execute("BEGIN; UPDATE scratch SET n = 1 WHERE id = 2").await.unwrap();
    let first = tokio::spawn(async move {
        let r = a.batch_execute("UPDATE scratch SET n = 2 WHERE id = 2").await;
        (a, r)
    });
    let second = b.batch_execute("UPDATE scratch SET n = 2 WHERE id = 1").await;
    let (_a, first) = first.await.unwrap();
    let failed: Vec<StoreError> = [first, second].into_iter().filter_map(Result::err).map(db_error).collect();
    assert_eq!(failed.len(), 1, "the server breaks the deadlock by aborting one side");
    assert_eq!(failed[0].code(), "store.deadlock", "{}", failed[0]);
    assert!(failed[0].is_retryable());
    assert!(failed[0].to_string().contains("40P01"), "{}", failed[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serialization_failure_is_a_retryable_store_error() {
    let db = TestDb::create().await;
    let (a, b) = scratch(&db).await;
    a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT n FROM scratch WHERE id = 1").await.unwrap();
    b.batch_execute("UPDATE scratch SET n = 5 WHERE id = 1").await.unwrap();
    let err = db_error(a.batch_execute("UPDATE scratch SET n = 6 WHERE id = 1").await.unwrap_err());
    assert_eq!(err.code(), "store.serialization_failure", "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("40001"), "{err}");
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_and_the_password_stays_out_of_the_error() {
    let options =
        pregen_core::store::postgres::PgOptions { connect_timeout: Duration::from_secs(2), ..Default::default() };
    // Port 1 on loopback: nothing listens there.
    let err = PgStore::connect("postgres://pregen:s3cret-pw@127.0.0.1:1/pregen", options).await.unwrap_err();
    assert_eq!(err.code(), "store.unavailable", "{err}");
    assert!(!err.to_string().contains("s3cret-pw") && !format!("{err:?}").contains("s3cret-pw"));
    let bad = PgStore::connect("postgres://pregen:s3cret-pw@127.0.0.1:notaport/x", Default::default()).await;
    let bad = bad.unwrap_err();
    assert_eq!(bad.code(), "store.invalid_input");
    assert!(!bad.to_string().contains("s3cret-pw"), "{bad}");
}
