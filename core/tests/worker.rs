//! The worker pool and drain against a real SQLite store, with handlers that succeed, fail, hang, panic and dawdle.
#![cfg(feature = "sqlite")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use pregen_core::SystemClock;
use pregen_core::exam::{Allocation, ExamSpec, ExamType, synthetic_exam};
use pregen_core::policy::Policy;
use pregen_core::queue::{Job, JobError, JobKey, JobState, QueueOptions};
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{ExamStore, JobStore, NewExam, UserId};
use pregen_core::worker::{
    HandlerError, HandlerOutput, JobContext, JobHandler, PANIC_CODE, PoolOptions, Runner, WorkerPool, drain,
};

/// Behaves by the user id's prefix: ok-, fail-, retry-, hang-, panic-, slow-.
#[derive(Default)]
struct Scripted {
    started: AtomicUsize,
    dropped_unfinished: Arc<AtomicUsize>,
}

/// Counts futures dropped before they finished: proof that a stopped attempt really stopped.
struct DropProbe(Arc<AtomicUsize>, bool);

impl Drop for DropProbe {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn exam_for(job: &Job) -> HandlerOutput {
    let spec =
        ExamSpec { name: "tiny".into(), item_count: 8, scored_count: 8, allocation: Allocation::WeightedByDomain };
    let user = UserId::parse(&job.key.user_id).unwrap();
    let exam =
        NewExam::new(user, job.key.exam_type, synthetic_exam(&spec, 3), &spec, Utc::now(), &Policy::default());
    HandlerOutput::Exam(Box::new(exam.unwrap()))
}

#[async_trait]
impl JobHandler for Scripted {
    async fn handle(&self, job: Job, _ctx: JobContext) -> Result<HandlerOutput, HandlerError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let mut probe = DropProbe(Arc::clone(&self.dropped_unfinished), false);
        let user = job.key.user_id.clone();
        let result = if user.starts_with("ok-") {
            Ok(exam_for(&job))
        } else if user.starts_with("fail-") {
            Err(HandlerError { error: JobError::new("test.fatal", "no"), retryable: false, retry_after: None })
        } else if user.starts_with("retry-") {
            Err(HandlerError {
                error: JobError::new("test.transient", "later"),
                retryable: true,
                retry_after: None,
            })
        } else if user.starts_with("hang-") {
            std::future::pending::<()>().await;
            unreachable!()
        } else if user.starts_with("panic-") {
            panic!("handler bug");
        } else {
            tokio::time::sleep(Duration::from_millis(600)).await;
            Ok(exam_for(&job))
        };
        probe.1 = true;
        result
    }
}

fn fast_options() -> QueueOptions {
    let mut o = QueueOptions::default();
    o.attempt_timeouts.diagnostic = TimeDelta::milliseconds(300);
    o.attempt_timeouts.practice = TimeDelta::milliseconds(300);
    o.lease_duration = TimeDelta::seconds(5);
    o.heartbeat_interval = TimeDelta::milliseconds(100);
    o
}

async fn setup(options: QueueOptions) -> (SqliteStore, Runner, Arc<Scripted>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("w.db"), SqliteOptions::default()).await.unwrap();
    let handler = Arc::new(Scripted::default());
    let runner = Runner::new(Arc::new(store.clone()), handler.clone(), options, Arc::new(SystemClock));
    (store, runner, handler, dir)
}

async fn enqueue(store: &SqliteStore, user: &str, options: &QueueOptions) -> Job {
    enqueue_as(store, user, ExamType::Practice, options).await
}

async fn enqueue_as(store: &SqliteStore, user: &str, exam_type: ExamType, options: &QueueOptions) -> Job {
    store.enqueue(&JobKey::new(user, exam_type), Utc::now(), options).await.unwrap().job
}

/// Polls the job until `done` holds, at most ~20 s, so a broken pool fails the test instead of hanging it.
async fn wait_for(store: &SqliteStore, job: &Job, done: impl Fn(&Job) -> bool) -> Job {
    for _ in 0..2_000 {
        let now = store.get_job(&job.id).await.unwrap().unwrap();
        if done(&now) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("job {} never reached the expected state", job.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_runs_jobs_and_survives_panics_failures_and_timeouts() {
    // Only the hanging (practice) job should time out: the others get a deadline no busy machine reaches, since
    // an attempt whose runner starts after its deadline is (rightly) timed out before its handler runs.
    let mut options = fast_options();
    options.attempt_timeouts.diagnostic = TimeDelta::seconds(60);
    let (store, runner, handler, _dir) = setup(options).await;
    let pool = WorkerPool::start(runner, PoolOptions { workers: 3, ..PoolOptions::default() });
    let ok = enqueue_as(&store, "ok-1", ExamType::Diagnostic, &options).await;
    let panics = enqueue_as(&store, "panic-1", ExamType::Diagnostic, &options).await;
    let fails = enqueue_as(&store, "fail-1", ExamType::Diagnostic, &options).await;
    let hangs = enqueue(&store, "hang-1", &options).await;
    pool.notify();

    let ok = wait_for(&store, &ok, |j| j.state == JobState::Succeeded).await;
    assert_eq!(ok.attempt, 1);
    let panicked =
        wait_for(&store, &panics, |j| j.state != JobState::Pending && j.state != JobState::Running).await;
    assert_eq!(panicked.state, JobState::RetryWait, "a panic is a failed attempt, retried");
    assert_eq!(panicked.last_error.unwrap().code, PANIC_CODE);
    let failed = wait_for(&store, &fails, |j| j.is_finished()).await;
    assert_eq!((failed.state, failed.attempt), (JobState::Dead, 1));
    assert_eq!(failed.last_error.unwrap().code, "test.fatal");
    let timed_out = wait_for(&store, &hangs, |j| j.state == JobState::RetryWait).await;
    assert_eq!(timed_out.last_error.unwrap().code, "queue.timeout");
    assert!(handler.dropped_unfinished.load(Ordering::SeqCst) >= 1, "the hanging attempt was really stopped");

    // The workers are still alive after the panic: a new job still gets done.
    let later = enqueue_as(&store, "ok-2", ExamType::Diagnostic, &options).await;
    pool.notify();
    wait_for(&store, &later, |j| j.state == JobState::Succeeded).await;
    let report = pool.shutdown(Duration::from_secs(5)).await;
    assert!(report.succeeded >= 2 && report.failed >= 3, "{report:?}");
    let stock = store.analytics(Utc::now(), &Policy::default()).await.unwrap();
    assert_eq!(stock.total_generated, 2, "one exam per succeeded job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_a_long_attempt_from_being_taken_over() {
    let mut options = fast_options();
    options.attempt_timeouts.practice = TimeDelta::seconds(5);
    options.lease_duration = TimeDelta::milliseconds(250);
    options.heartbeat_interval = TimeDelta::milliseconds(50);
    let (store, runner, _handler, _dir) = setup(options).await;
    let job = enqueue(&store, "slow-1", &options).await;
    let pool = WorkerPool::start(runner, PoolOptions { workers: 1, ..PoolOptions::default() });
    pool.notify();
    wait_for(&store, &job, |j| j.state == JobState::Running).await;
    // A rival claims over and over while the slow attempt (600 ms, more than two leases) runs.
    let rival = tokio::spawn({
        let store = store.clone();
        async move {
            let mut stolen = 0;
            for _ in 0..40 {
                stolen += store.claim_jobs("rival", 1, Utc::now(), &options).await.unwrap().len();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            stolen
        }
    });
    let done = wait_for(&store, &job, |j| j.is_finished()).await;
    assert_eq!((done.state, done.attempt), (JobState::Succeeded, 1), "renewed leases kept the attempt its own");
    assert_eq!(rival.await.unwrap(), 0);
    pool.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_releases_what_still_runs() {
    let mut options = fast_options();
    options.attempt_timeouts.practice = TimeDelta::seconds(60);
    let (store, runner, handler, _dir) = setup(options).await;
    let job = enqueue(&store, "hang-2", &options).await;
    let pool = WorkerPool::start(runner, PoolOptions { workers: 1, ..PoolOptions::default() });
    pool.notify();
    wait_for(&store, &job, |j| j.state == JobState::Running).await;
    let report = pool.shutdown(Duration::from_millis(100)).await;
    assert_eq!(report.released, 1);
    let released = store.get_job(&job.id).await.unwrap().unwrap();
    assert_eq!((released.state, released.attempt), (JobState::Pending, 0), "handed back, attempt unspent");
    assert!(released.lease.is_none());
    assert_eq!(handler.dropped_unfinished.load(Ordering::SeqCst), 1);
    // Another process could take it at once.
    assert_eq!(store.claim_jobs("next-process", 1, Utc::now(), &options).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enqueue_wakes_an_idle_pool_without_waiting_for_the_poll() {
    let options = fast_options();
    let (store, runner, _handler, _dir) = setup(options).await;
    let pool = WorkerPool::start(
        runner,
        PoolOptions { workers: 1, poll_interval: Duration::from_secs(3_600), ..PoolOptions::default() },
    );
    // Let the worker find nothing and go to sleep on the hour-long poll.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let job = enqueue(&store, "ok-wake", &options).await;
    pool.notify();
    wait_for(&store, &job, |j| j.state == JobState::Succeeded).await;
    pool.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_works_until_nothing_is_due_or_the_budget_is_spent() {
    let options = fast_options();
    let (store, runner, _handler, _dir) = setup(options).await;
    for i in 0..4 {
        enqueue(&store, &format!("ok-{i}"), &options).await;
    }
    let report = drain(&runner, Duration::from_secs(30), 2, "drain").await;
    assert_eq!((report.claimed, report.succeeded, report.budget_spent), (4, 4, false));

    let mut long = options;
    long.attempt_timeouts.practice = TimeDelta::seconds(60);
    let (store, runner, _handler, _dir) = setup(long).await;
    let job = enqueue(&store, "hang-3", &long).await;
    let report = drain(&runner, Duration::from_millis(200), 1, "drain").await;
    assert_eq!((report.claimed, report.released, report.budget_spent), (1, 1, true));
    let job = store.get_job(&job.id).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Pending, 0), "the next call picks it up at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_pool_stops_it_and_releases_what_still_runs() {
    let mut options = fast_options();
    options.attempt_timeouts.practice = TimeDelta::seconds(60);
    let (store, runner, handler, _dir) = setup(options).await;
    let job = enqueue(&store, "hang-drop", &options).await;
    let pool = WorkerPool::start(runner, PoolOptions { workers: 1, ..PoolOptions::default() });
    pool.notify();
    wait_for(&store, &job, |j| j.state == JobState::Running).await;
    drop(pool);
    let released = wait_for(&store, &job, |j| j.state != JobState::Running).await;
    assert_eq!((released.state, released.attempt, released.releases), (JobState::Pending, 0, 1));
    assert_eq!(handler.dropped_unfinished.load(Ordering::SeqCst), 1, "the attempt was stopped");
    // Nobody claims it again in this process: the dropped pool is gone.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.get_job(&job.id).await.unwrap().unwrap().state, JobState::Pending);
    assert_eq!(handler.started.load(Ordering::SeqCst), 1);
}

/// Where wake-ups are polled (SQLite), a finished attempt makes an idle pool look again: a job another process
/// enqueued while the pool's one job ran is claimed when that job ends, not after the poll interval (an hour).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_polled_store_a_finished_attempt_makes_the_pool_look_again() {
    let options = QueueOptions::default();
    let (store, runner, _handler, dir) = setup(options).await;
    let other = SqliteStore::open(dir.path().join("w.db"), SqliteOptions::default()).await.unwrap();
    let slow = enqueue(&store, "slow-1", &options).await;
    let hour = Duration::from_secs(3_600);
    let pool =
        WorkerPool::start(runner, PoolOptions { workers: 2, poll_interval: hour, ..PoolOptions::default() });
    wait_for(&store, &slow, |j| j.state == JobState::Running).await;
    let elsewhere = enqueue(&other, "ok-elsewhere", &options).await;
    wait_for(&store, &elsewhere, |j| j.state == JobState::Succeeded).await;
    assert_eq!(pool.shutdown(Duration::from_secs(5)).await.succeeded, 2);
}
