//! Wake-ups used for real on Postgres: an idle worker pool claims a job another store (another process's pool of
//! connections) enqueued, and the synchronous pre-generate route learns that another worker's job ended, both
//! by the store's signals. Every poll interval here is an hour, so only a wake-up explains a prompt result; the
//! tests bound their waits (far below an hour) only so that a missing wake-up fails instead of hanging.
#![cfg(all(feature = "postgres", feature = "simulator", feature = "claude"))]

mod pg_support;
mod store_contract;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use pg_support::TestDb;
use pregen_core::SystemClock;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig};
use pregen_core::config::PreGenConfig;
use pregen_core::error::ErrorCode;
use pregen_core::exam::ExamType;
use pregen_core::generate::{Generator, GeneratorConfig};
use pregen_core::queue::{Job, JobError, Outcome, QueueOptions, decide};
use pregen_core::service::{PreGen, PreGenerated, ServiceError};
use pregen_core::simulator::{DEFAULT_API_KEY, Simulator, SimulatorConfig};
use pregen_core::store::postgres::{LISTENER_APPLICATION, PgOptions, PgStore};
use pregen_core::store::{JobStore, Store};
use pregen_core::worker::{HandlerError, HandlerOutput, JobContext, JobHandler, PoolOptions, Runner, WorkerPool};
use store_contract::{key, tiny_exam_for, tiny_spec, user};
use tokio::sync::mpsc;

const HOUR: Duration = Duration::from_secs(3_600);
/// The bound on a wait that a wake-up ends; far below the hour-long poll interval.
const BOUND: Duration = Duration::from_secs(60);

/// Reports each job it runs, and stores nothing.
struct Recording(mpsc::UnboundedSender<String>);

#[async_trait]
impl JobHandler for Recording {
    async fn handle(&self, job: Job, _ctx: JobContext) -> Result<HandlerOutput, HandlerError> {
        let _ = self.0.send(job.key.user_id.clone());
        Ok(HandlerOutput::Nothing)
    }
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

/// Waits until a listening session on `db` exists (a subscriber is listening).
async fn listening(db: &TestDb) {
    for _ in 0..12_000 {
        if listeners(db).await > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no listening session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_pool_claims_what_another_store_enqueues_on_a_wake_up() {
    let db = TestDb::create().await;
    let (worker, enqueuer) = (db.store(2).await, db.store(2).await);
    let (tx, mut ran) = mpsc::unbounded_channel();
    let runner = Runner::new(
        Arc::new(worker) as Arc<dyn JobStore>,
        Arc::new(Recording(tx)),
        QueueOptions::default(),
        Arc::new(SystemClock),
    );
    let pool =
        WorkerPool::start(runner, PoolOptions { workers: 1, poll_interval: HOUR, ..PoolOptions::default() });
    listening(&db).await;
    // Let the pool find nothing and go idle for its hour.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let options = QueueOptions::default();
    for who in ["u1", "u2"] {
        enqueuer.enqueue(&key(who, ExamType::Practice), Utc::now(), &options).await.unwrap();
        let got = tokio::time::timeout(BOUND, ran.recv()).await.expect("claimed on a wake-up").unwrap();
        assert_eq!(got, who);
    }
    let report = pool.shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.succeeded, 2);
    assert_eq!(enqueuer.queue_status(Utc::now(), 0).await.unwrap().counts.succeeded, 2);
}

/// A service over its own store on `db` whose poll interval and wait are an hour long.
async fn service(db: &TestDb) -> (PreGen, pregen_core::simulator::SimulatorHandle) {
    let store = Arc::new(db.store(2).await) as Arc<dyn Store>;
    service_over(store, HOUR).await
}

/// A service over `store` with a tiny-exam generator, waiting up to `wait` for another worker's job, and
/// polling every hour where the store pushes wake-ups.
async fn service_over(store: Arc<dyn Store>, wait: Duration) -> (PreGen, pregen_core::simulator::SimulatorHandle) {
    let sim = Simulator::start(SimulatorConfig::builder().seed(4).build().unwrap()).await.unwrap();
    let client =
        ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url())).unwrap();
    let config =
        GeneratorConfig { diagnostic_spec: tiny_spec(), practice_spec: tiny_spec(), ..Default::default() };
    let generator = Arc::new(Generator::new(client, config).unwrap());
    let mut config = PreGenConfig { wait_for_running: wait, ..PreGenConfig::default() };
    config.pool.poll_interval = HOUR;
    (PreGen::new(store, Some(generator), config, Arc::new(SystemClock)).unwrap(), sim)
}

/// Another worker (`other`, on its own store) holds the user's job while pre-generate waits for it.
async fn held_elsewhere(other: &PgStore, who: &str) -> Job {
    let options = QueueOptions::default();
    other.enqueue(&key(who, ExamType::Practice), Utc::now(), &options).await.unwrap();
    let mut held = other.claim_jobs("other-worker", 1, Utc::now(), &options).await.unwrap();
    assert_eq!(held.len(), 1);
    held.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_generate_learns_that_another_workers_job_ended_by_its_signal() {
    let db = TestDb::create().await;
    let (service, _sim) = service(&db).await;
    let service = Arc::new(service);
    let other = db.store(2).await;

    // Succeeded elsewhere: the exam is in stock, nothing is generated here.
    let job = held_elsewhere(&other, "u1").await;
    let waiting = tokio::spawn({
        let service = Arc::clone(&service);
        async move { service.pre_generate(&user("u1"), ExamType::Practice).await }
    });
    listening(&db).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    other.complete_job_with_exam(&job, tiny_exam_for(&job, Utc::now()), Utc::now()).await.unwrap();
    let answer = tokio::time::timeout(BOUND, waiting).await.expect("woken by the job's end").unwrap();
    assert_eq!(answer.unwrap(), PreGenerated::AlreadyExists);

    // Dead elsewhere: the waiter reports the job's own error.
    let job = held_elsewhere(&other, "u2").await;
    let waiting = tokio::spawn({
        let service = Arc::clone(&service);
        async move { service.pre_generate(&user("u2"), ExamType::Practice).await }
    });
    listening(&db).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let failed = Outcome::Failed {
        error: JobError::new("claude.authentication", "bad key"),
        retryable: false,
        retry_after: None,
    };
    let decision = decide(&job, &failed, Utc::now(), &QueueOptions::default(), 0.5).unwrap();
    other.finish_job(&job, &decision).await.unwrap();
    let answer = tokio::time::timeout(BOUND, waiting).await.expect("woken by the job's end").unwrap();
    match answer {
        Err(e @ ServiceError::JobFailed(_)) => assert_eq!(e.code(), "claude.authentication"),
        other => panic!("expected the job's failure, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_listening_pre_generate_polls_and_gives_up_after_its_wait() {
    let db = TestDb::create().await;
    let polling = PgStore::connect(db.url(), PgOptions { listen: false, ..PgOptions::default() }).await.unwrap();
    let (service, _sim) = service_over(Arc::new(polling) as Arc<dyn Store>, Duration::from_millis(600)).await;
    let other = db.store(2).await;

    let job = held_elsewhere(&other, "u1").await;
    let url = db.url().to_owned();
    match service.pre_generate(&user("u1"), ExamType::Practice).await {
        Err(e @ ServiceError::JobStillRunning(_)) => assert_eq!(e.code(), "service.job_running"),
        answer => panic!("expected the job to be still running elsewhere, got {answer:?}"),
    }
    assert_eq!(listeners(&db).await, 0, "nothing listened");

    // Polled, not pushed: a job that ends while the caller waits is still seen.
    let waiting = tokio::spawn(async move {
        let (service, _sim) = service_over(
            Arc::new(PgStore::connect(&url, PgOptions { listen: false, ..PgOptions::default() }).await.unwrap())
                as Arc<dyn Store>,
            HOUR,
        )
        .await;
        service.pre_generate(&user("u1"), ExamType::Practice).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    other.complete_job_with_exam(&job, tiny_exam_for(&job, Utc::now()), Utc::now()).await.unwrap();
    let answer = tokio::time::timeout(BOUND, waiting).await.expect("seen by polling").unwrap();
    assert_eq!(answer.unwrap(), PreGenerated::AlreadyExists);
}
