//! The pool against a store whose claims can be made to fail, on tokio's paused clock: a dropped pool stops
//! claiming, and a failing store is retried with a capped backoff and logged once per change.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::SystemClock;
use crate::queue::{Decision, Job, JobId, JobKey, QueueOptions, QueueStatus, Retention};
use crate::store::{Enqueued, JobStore, JobWakeups, NewExam, StoreError};
use crate::worker::{HandlerError, HandlerOutput, JobContext, JobHandler};

/// Claims nothing, or fails every claim with the message set; reports a job due (so an idle pool looks again
/// after a millisecond) unless told otherwise.
#[derive(Default)]
struct FakeStore {
    claims: AtomicUsize,
    failure: Mutex<Option<String>>,
    nothing_due: AtomicBool,
    lookup_fails: AtomicBool,
    /// Subscriptions to wake-ups asked for, and whether they fail (else they push).
    subscribes: AtomicUsize,
    subscribe_fails: AtomicBool,
}

impl FakeStore {
    fn claims(&self) -> usize {
        self.claims.load(Ordering::SeqCst)
    }

    fn fail_with(&self, message: Option<&str>) {
        *self.failure.lock().unwrap() = message.map(str::to_owned);
    }
}

fn unused<T>() -> Result<T, StoreError> {
    Err(StoreError::Database("not used by the pool tests".into()))
}

#[async_trait]
impl JobStore for FakeStore {
    async fn enqueue(&self, _: &JobKey, _: DateTime<Utc>, _: &QueueOptions) -> Result<Enqueued, StoreError> {
        unused()
    }

    async fn enqueue_many(
        &self,
        _: &[JobKey],
        _: DateTime<Utc>,
        _: &QueueOptions,
    ) -> Result<Vec<Enqueued>, StoreError> {
        unused()
    }

    async fn claim_job(
        &self,
        _: &JobId,
        _: &str,
        _: DateTime<Utc>,
        _: &QueueOptions,
    ) -> Result<Option<Job>, StoreError> {
        unused()
    }

    async fn claim_jobs(
        &self,
        _: &str,
        _: u32,
        _: DateTime<Utc>,
        _: &QueueOptions,
    ) -> Result<Vec<Job>, StoreError> {
        self.claims.fetch_add(1, Ordering::SeqCst);
        match self.failure.lock().unwrap().clone() {
            Some(message) => Err(StoreError::Database(message)),
            None => Ok(Vec::new()),
        }
    }

    async fn heartbeat_job(&self, _: &Job, _: DateTime<Utc>, _: &QueueOptions) -> Result<Job, StoreError> {
        unused()
    }

    async fn finish_job(&self, _: &Job, _: &Decision) -> Result<Job, StoreError> {
        unused()
    }

    async fn complete_job_with_exam(
        &self,
        _: &Job,
        _: NewExam,
        _: DateTime<Utc>,
    ) -> Result<(Job, String), StoreError> {
        unused()
    }

    async fn release_job(&self, _: &Job, _: DateTime<Utc>) -> Result<Job, StoreError> {
        unused()
    }

    async fn get_job(&self, _: &JobId) -> Result<Option<Job>, StoreError> {
        unused()
    }

    async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        if self.lookup_fails.load(Ordering::SeqCst) {
            return Err(StoreError::Busy("database is locked".into()));
        }
        Ok((!self.nothing_due.load(Ordering::SeqCst)).then(|| Utc::now() - TimeDelta::seconds(1)))
    }

    async fn queue_status(&self, _: DateTime<Utc>, _: u32) -> Result<QueueStatus, StoreError> {
        unused()
    }

    async fn clear_queue(&self, _: DateTime<Utc>) -> Result<u64, StoreError> {
        unused()
    }

    async fn cleanup_jobs(&self, _: DateTime<Utc>, _: &Retention, _: u32) -> Result<u64, StoreError> {
        unused()
    }

    fn wakeups(&self) -> &dyn JobWakeups {
        self
    }
}

#[async_trait]
impl JobWakeups for FakeStore {
    async fn subscribe_wakeups(&self, _: Arc<tokio::sync::Notify>) -> Result<Wakeups, StoreError> {
        self.subscribes.fetch_add(1, Ordering::SeqCst);
        if self.subscribe_fails.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("connection refused".into()));
        }
        Ok(Wakeups::Push(crate::store::WakeHandle::new(())))
    }
}

/// Never called: the fake store claims no job.
struct NoWork;

#[async_trait]
impl JobHandler for NoWork {
    async fn handle(&self, _: Job, _: JobContext) -> Result<HandlerOutput, HandlerError> {
        Ok(HandlerOutput::Nothing)
    }
}

fn pool_on(store: &Arc<FakeStore>) -> WorkerPool {
    let jobs: Arc<dyn JobStore> = Arc::clone(store) as Arc<dyn JobStore>;
    let runner = Runner::new(jobs, Arc::new(NoWork), QueueOptions::default(), Arc::new(SystemClock));
    WorkerPool::start(runner, PoolOptions::default())
}

/// The log lines written while the test runs, as text.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Lines {
    fn matching(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap()).lines().filter(|l| l.contains(needle)).count()
    }
}

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_dropped_pool_stops_claiming() {
    let store = Arc::new(FakeStore::default());
    let pool = pool_on(&store);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(store.claims() > 10, "the live pool looked for work: {}", store.claims());
    drop(pool);
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    let after_drop = store.claims();
    for _ in 0..10_000 {
        tokio::task::yield_now().await;
    }
    assert_eq!(store.claims(), after_drop, "no claims after the drop");
    assert_eq!(Arc::strong_count(&store), 1, "the fetcher ended and let go of its runner");
}

fn capture() -> (Lines, tracing::subscriber::DefaultGuard) {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    (lines, tracing::subscriber::set_default(subscriber))
}

#[tokio::test(start_paused = true)]
async fn a_failing_look_up_of_the_next_due_job_is_logged_once_and_polled() {
    let (lines, _guard) = capture();
    let store = Arc::new(FakeStore::default());
    store.lookup_fails.store(true, Ordering::SeqCst);
    let pool = pool_on(&store);
    tokio::time::sleep(Duration::from_secs(30)).await;
    let claims = store.claims();
    assert!((25..=35).contains(&claims), "{claims} claims in 30 s at the 1 s poll");
    assert_eq!(lines.matching("looking up the next due job failed (store.busy)"), 1);
    store.lookup_fails.store(false, Ordering::SeqCst);
    store.nothing_due.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(lines.matching("looking up the next due job works again"), 1);
    assert_eq!(lines.matching("looking up the next due job failed"), 1);
    drop(pool);
}

#[tokio::test(start_paused = true)]
async fn a_failing_store_is_retried_with_a_capped_backoff_and_logged_once_per_change() {
    let (lines, _guard) = capture();
    let store = Arc::new(FakeStore::default());
    store.fail_with(Some("database or disk is full"));
    let pool = pool_on(&store);

    // A minute of a full disk: waits of about 0.1, 0.2, 0.4 ... s up to 30 s, not a try every millisecond.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let full_disk = store.claims();
    assert!((5..=15).contains(&full_disk), "{full_disk} claims in a minute");
    assert_eq!(lines.matching("claiming failed"), 1, "one line for one unchanged failure");
    assert_eq!(lines.matching("disk is full"), 1);

    // Another failure is news once; then the backoff stays at its cap.
    store.fail_with(Some("attempt to write a readonly database"));
    tokio::time::sleep(Duration::from_secs(120)).await;
    let read_only = store.claims() - full_disk;
    assert!((3..=9).contains(&read_only), "{read_only} claims in two capped minutes");
    assert_eq!(lines.matching("claiming failed"), 2);
    assert_eq!(lines.matching("readonly database"), 1);

    // Recovery is logged once, and the pool polls at its interval again.
    store.fail_with(None);
    store.nothing_due.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let recovered = store.claims() - full_disk - read_only;
    assert!(recovered >= 25, "{recovered} claims in a minute after recovery");
    assert_eq!(lines.matching("claiming works again after"), 1);
    assert_eq!(lines.matching("claiming failed"), 2);
    drop(pool);
}

#[test]
fn reports_and_outcomes_read_as_text() {
    let report = ShutdownReport { succeeded: 3, failed: 1, released: 2, lease_lost: 0, store_failed: 12 };
    assert_eq!(report.to_string(), "3 succeeded, 1 failed, 2 released, 0 lease lost, 12 store failed");
    let outcomes = [
        (RunOutcome::Succeeded(Some("e-1".into())), "succeeded (exam e-1)"),
        (RunOutcome::Succeeded(None), "succeeded (nothing to store)"),
        (RunOutcome::Failed("claude.overloaded".into()), "failed (claude.overloaded)"),
        (RunOutcome::Released, "released"),
        (RunOutcome::LeaseLost, "lease lost"),
        (RunOutcome::StoreFailed("database: disk full".into()), "store failed: database: disk full"),
    ];
    for (outcome, text) in outcomes {
        assert_eq!(outcome.to_string(), text);
    }
}

/// A pool whose subscription to the store's wake-ups failed at start (its database down) polls, and subscribes
/// again every `error_backoff_max` until it works; then it stops trying. Before, it polled for life.
#[tokio::test(start_paused = true)]
async fn a_pool_whose_wake_up_subscription_failed_subscribes_again_until_it_works() {
    let store = Arc::new(FakeStore::default());
    store.nothing_due.store(true, Ordering::SeqCst);
    store.subscribe_fails.store(true, Ordering::SeqCst);
    let pool = pool_on(&store);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(store.subscribes.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(store.subscribes.load(Ordering::SeqCst), 2, "tried again after error_backoff_max");
    store.subscribe_fails.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(35)).await;
    assert_eq!(store.subscribes.load(Ordering::SeqCst), 3);
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!(store.subscribes.load(Ordering::SeqCst), 3, "subscribed once it worked");
    drop(pool);
}
