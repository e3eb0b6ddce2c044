//! Wake-ups on Postgres: a job that becomes claimable in one process wakes a subscriber in another through
//! LISTEN/NOTIFY; a lost listening session reconnects and catches up; with listening off, callers poll.
#![cfg(feature = "postgres")]

mod pg_support;
mod store_contract;

use std::sync::Arc;
use std::time::Duration;

use pg_support::TestDb;
use pregen_core::exam::ExamType;
use pregen_core::queue::{JobError, Outcome, QueueOptions, decide};
use pregen_core::store::postgres::{LISTENER_APPLICATION, PgOptions, PgStore};
use pregen_core::store::{JobStore, JobWakeups, Wakeups};
use store_contract::{key, t0, tiny_exam_for};
use tokio::sync::Notify;

/// Waits for a signal, bounded so a missing one fails the test instead of hanging it.
async fn woken(notify: &Notify, what: &str) {
    tokio::time::timeout(Duration::from_secs(20), notify.notified())
        .await
        .unwrap_or_else(|_| panic!("no wake-up for {what}"));
}

/// Whether a signal arrives within a short look (used to show that one does not).
async fn signalled_soon(notify: &Notify) -> bool {
    tokio::time::timeout(Duration::from_millis(300), notify.notified()).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_made_claimable_elsewhere_wakes_the_subscriber() {
    let db = TestDb::create().await;
    let (worker, enqueuer) = (db.store(2).await, db.store(2).await);
    let notify = Arc::new(Notify::new());
    let wakeups = worker.subscribe_wakeups(Arc::clone(&notify)).await.unwrap();
    assert!(matches!(wakeups, Wakeups::Push(_)));
    woken(&notify, "the catch-up after listening").await;

    let options = QueueOptions::default();
    enqueuer.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap();
    woken(&notify, "an enqueue").await;

    let running = enqueuer.claim_jobs("w", 1, t0(), &options).await.unwrap().remove(0);
    assert!(!signalled_soon(&notify).await, "a claim makes nothing claimable");

    let failed = Outcome::Failed { error: JobError::new("x.y", "z"), retryable: true, retry_after: None };
    let decision = decide(&running, &failed, t0(), &options, 0.5).unwrap();
    enqueuer.finish_job(&running, &decision).await.unwrap();
    woken(&notify, "a retry wait").await;

    let keys: Vec<_> = (0..50).map(|i| key(&format!("user-{i}"), ExamType::Diagnostic)).collect();
    enqueuer.enqueue_many(&keys, t0(), &options).await.unwrap();
    woken(&notify, "a batch of enqueues").await;

    drop(wakeups);
    enqueuer.enqueue(&key("u2", ExamType::Practice), t0(), &options).await.unwrap();
    assert!(!signalled_soon(&notify).await, "a dropped subscription delivers nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listening_session_reconnects_and_catches_up() {
    let db = TestDb::create().await;
    let (worker, enqueuer) = (db.store(1).await, db.store(1).await);
    let notify = Arc::new(Notify::new());
    let _wakeups = worker.subscribe_wakeups(Arc::clone(&notify)).await.unwrap();
    woken(&notify, "the catch-up after listening").await;

    let admin = db.client().await;
    let killed = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            &[&db.name(), &LISTENER_APPLICATION],
        )
        .await
        .unwrap();
    assert_eq!(killed, 1, "one listening session");
    woken(&notify, "the catch-up after reconnecting").await;
    // Listening again: a new session exists, and an enqueue reaches it.
    let mut listening = 0;
    for _ in 0..2_000 {
        let row = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
                &[&db.name(), &LISTENER_APPLICATION],
            )
            .await
            .unwrap();
        listening = row.get::<_, i64>(0);
        if listening == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(listening, 1);
    enqueuer.enqueue(&key("u1", ExamType::Practice), t0(), &QueueOptions::default()).await.unwrap();
    woken(&notify, "an enqueue after the reconnect").await;
}

#[tokio::test]
async fn without_listening_the_subscriber_polls() {
    let db = TestDb::create().await;
    let store = PgStore::connect(db.url(), PgOptions { listen: false, ..PgOptions::default() }).await.unwrap();
    let wakeups = store.subscribe_wakeups(Arc::new(Notify::new())).await.unwrap();
    assert!(matches!(wakeups, Wakeups::Polling));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_end_signals_only_the_subscribers_of_that_job_over_one_shared_session() {
    let db = TestDb::create().await;
    let (waiter, worker) = (db.store(1).await, db.store(2).await);
    let options = QueueOptions::default();
    worker.enqueue(&key("u1", ExamType::Practice), t0(), &options).await.unwrap();
    worker.enqueue(&key("u2", ExamType::Practice), t0(), &options).await.unwrap();
    let mut held = worker.claim_jobs("w", 2, t0(), &options).await.unwrap();
    let (first, second) = (held.remove(0), held.remove(0));

    let (ends_first, ends_second, claimable) =
        (Arc::new(Notify::new()), Arc::new(Notify::new()), Arc::new(Notify::new()));
    let a = waiter.subscribe_job_end(&first.id, Arc::clone(&ends_first)).await.unwrap();
    let b = waiter.clone().subscribe_job_end(&second.id, Arc::clone(&ends_second)).await.unwrap();
    let c = waiter.subscribe_wakeups(Arc::clone(&claimable)).await.unwrap();
    assert!(a.is_push() && b.is_push() && c.is_push());
    woken(&ends_first, "the first subscription's catch-up").await;
    woken(&ends_second, "the second subscription's catch-up").await;
    woken(&claimable, "the third subscription's catch-up").await;
    assert_eq!(listeners(&db).await, 1, "one session for every subscription of a store and its clones");

    let failed = Outcome::Failed { error: JobError::new("x.y", "z"), retryable: false, retry_after: None };
    let decision = decide(&second, &failed, t0(), &options, 0.5).unwrap();
    worker.finish_job(&second, &decision).await.unwrap();
    woken(&ends_second, "the second job's end").await;
    assert!(!signalled_soon(&ends_first).await, "another job's end is not this one's");
    assert!(!signalled_soon(&claimable).await, "a job's end makes nothing claimable");

    worker.complete_job_with_exam(&first, tiny_exam_for(&first, t0()), t0()).await.unwrap();
    woken(&ends_first, "the first job's end").await;

    drop((a, b, c));
    for _ in 0..2_000 {
        if listeners(&db).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(listeners(&db).await, 0, "the last subscription out closes the session");
}

/// How many listening sessions are connected to `db`.
async fn listeners(db: &TestDb) -> i64 {
    let admin = db.client().await;
    let row = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            &[&db.name(), &LISTENER_APPLICATION],
        )
        .await
        .unwrap();
    row.get(0)
}

/// Job ends reach `pregen_job_ends` only for jobs a waiter marked: an unwatched job's end takes no notify lock at
/// its commit. Notifications arrive in commit order, so the first one seen is the awaited job's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_awaited_job_notifies_its_end() {
    use futures::StreamExt;
    use pregen_core::store::postgres::tokio_postgres::{self, AsyncMessage, NoTls};

    let db = TestDb::create().await;
    let (waiter, worker) = (db.store(1).await, db.store(2).await);
    let (raw, mut connection) = tokio_postgres::connect(db.url(), NoTls).await.unwrap();
    let (tx, mut ends) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(n) = message {
                let _ = tx.send(n.payload().to_owned());
            }
        }
    });
    raw.batch_execute("LISTEN pregen_job_ends").await.unwrap();

    let options = QueueOptions::default();
    worker.enqueue(&key("unwatched", ExamType::Practice), t0(), &options).await.unwrap();
    worker.enqueue(&key("watched", ExamType::Practice), t0(), &options).await.unwrap();
    let mut held = worker.claim_jobs("w", 2, t0(), &options).await.unwrap();
    held.sort_by(|a, b| a.key.user_id.cmp(&b.key.user_id));
    let (unwatched, watched) = (held.remove(0), held.remove(0));
    assert_eq!(unwatched.key.user_id, "unwatched");

    let ended = Arc::new(Notify::new());
    let _subscription = waiter.subscribe_job_end(&watched.id, Arc::clone(&ended)).await.unwrap();
    worker.complete_job_with_exam(&unwatched, tiny_exam_for(&unwatched, t0()), t0()).await.unwrap();
    worker.complete_job_with_exam(&watched, tiny_exam_for(&watched, t0()), t0()).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(20), ends.recv()).await.expect("a job-end notification");
    assert_eq!(first.as_deref(), Some(watched.id.as_str()), "the unwatched job's end sent nothing");
    woken(&ended, "the watched job's end").await;
}
