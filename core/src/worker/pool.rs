//! A pool of workers: a fetcher claims due jobs for its free slots, runs each in a task, and claims again while
//! claims come back full. Once a claim finds fewer due jobs than free slots it sleeps until woken by an in-process
//! enqueue, the store's wake-ups (a job made claimable by any process, where the store pushes them: Postgres with
//! LISTEN), an attempt ending (where wake-ups are pushed, only other than in success: a retry wait, a release),
//! the next job falling due, or a modest poll interval (the fallback, and with finished attempts the way jobs
//! other processes enqueue are found where nothing is pushed: SQLite). When claiming fails (a
//! full disk, a locked or read-only database) it backs off, capped, and logs the failure once per change.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::runner::{RunOutcome, Runner};
use super::signal::{StoreFailures, stop_asked, stopped};
use crate::error::ErrorCode;
use crate::store::{StoreError, Wakeups};

/// How a pool runs.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// How many jobs run at once (the pool's slots).
    pub workers: usize,
    /// The longest an idle worker sleeps before looking again, for jobs other processes enqueue.
    pub poll_interval: Duration,
    /// Prefix of the lease holder names; the process id and a random suffix make each unique.
    pub holder_prefix: String,
    /// The wait after a first failed claim (100 ms, jittered down to half); it doubles per failure in a row.
    pub error_backoff_min: Duration,
    /// The longest wait between failed claims (30 s): a store that fails every write (a full disk) costs a try
    /// every half minute or so, not hundreds a second. Also how often a pool whose subscription to the store's
    /// wake-ups failed (its database down at start) tries to subscribe again, polling meanwhile.
    pub error_backoff_max: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            workers: 2,
            poll_interval: Duration::from_secs(1),
            holder_prefix: "pregen".into(),
            error_backoff_min: Duration::from_millis(100),
            error_backoff_max: Duration::from_secs(30),
        }
    }
}

/// What the pool's workers did, reported at shutdown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShutdownReport {
    /// Attempts that succeeded.
    pub succeeded: u64,
    /// Attempts that failed (the job went to retry wait or dead).
    pub failed: u64,
    /// Attempts stopped by the shutdown and handed back at once.
    pub released: u64,
    /// Attempts whose lease was lost to another holder.
    pub lease_lost: u64,
    /// Attempts whose outcome could not be written.
    pub store_failed: u64,
}

/// `3 succeeded, 1 failed, 0 released, 0 lease lost, 0 store failed`: the log line's form.
impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} succeeded, {} failed, {} released, {} lease lost, {} store failed",
            self.succeeded, self.failed, self.released, self.lease_lost, self.store_failed
        )
    }
}

impl ShutdownReport {
    /// Counts one run's outcome.
    pub fn record(&mut self, outcome: &RunOutcome) {
        match outcome {
            RunOutcome::Succeeded(_) => self.succeeded += 1,
            RunOutcome::Failed(_) => self.failed += 1,
            RunOutcome::Released => self.released += 1,
            RunOutcome::LeaseLost => self.lease_lost += 1,
            RunOutcome::StoreFailed(_) => self.store_failed += 1,
        }
    }
}

/// A running pool: one fetcher claims as many due jobs as there are free slots in one statement and runs each
/// in its own task. Dropping it without [`WorkerPool::shutdown`] stops it too, without waiting: the fetcher claims
/// nothing more, and running attempts are stopped and released in the background (while the runtime runs).
#[derive(Debug)]
pub struct WorkerPool {
    stop: watch::Sender<bool>,
    hard_stop: watch::Sender<bool>,
    notify: Arc<Notify>,
    /// `None` once [`WorkerPool::shutdown`] took it.
    fetcher: Option<JoinHandle<ShutdownReport>>,
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        // Closing the channels would say the same; sending says it even to a receiver that looks before they close.
        let _ = self.stop.send(true);
        let _ = self.hard_stop.send(true);
    }
}

/// A lease holder name unique to this process and call: `prefix:pid:random`.
pub(crate) fn holder_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}:{}:{}", std::process::id(), &id[..8])
}

impl WorkerPool {
    /// Starts a pool running up to `options.workers` jobs at once, on the current tokio runtime.
    pub fn start(runner: Runner, options: PoolOptions) -> Self {
        let (stop, stop_rx) = watch::channel(false);
        let (hard_stop, hard_rx) = watch::channel(false);
        let notify = Arc::new(Notify::new());
        let holder = holder_name(&options.holder_prefix);
        let workers = options.workers.max(1);
        tracing::info!("[BGJob] worker pool started: {workers} slots as {holder}");
        let fetcher = Fetcher {
            runner,
            holder,
            slots: Arc::new(Semaphore::new(workers)),
            notify: Arc::clone(&notify),
            poll_interval: options.poll_interval,
            failures: StoreFailures::new(options.error_backoff_min, options.error_backoff_max),
            lookup_failures: StoreFailures::new(options.poll_interval, options.poll_interval),
            subscribe_failures: StoreFailures::new(options.error_backoff_max, options.error_backoff_max),
        };
        let fetcher = Some(tokio::spawn(fetcher.work(stop_rx, hard_rx)));
        Self { stop, hard_stop, notify, fetcher }
    }

    /// Wakes the pool at once if it is idle; call after enqueueing in this process.
    pub fn notify(&self) {
        self.notify.notify_one();
    }

    /// The notifier an idle pool waits on, for enqueuers that do not hold the pool.
    pub fn notifier(&self) -> Arc<Notify> {
        Arc::clone(&self.notify)
    }

    /// Stops claiming, waits up to `grace` for running attempts to finish, then stops the rest and releases their
    /// leases so another process can take them at once.
    pub async fn shutdown(mut self, grace: Duration) -> ShutdownReport {
        let _ = self.stop.send(true);
        let Some(mut fetcher) = self.fetcher.take() else { return ShutdownReport::default() };
        let joined = match tokio::time::timeout(grace, &mut fetcher).await {
            Ok(joined) => joined,
            Err(_) => {
                tracing::warn!("[BGJob] shutdown grace spent; releasing running jobs");
                let _ = self.hard_stop.send(true);
                fetcher.await
            }
        };
        let report = joined.unwrap_or_else(|e| {
            tracing::error!("[BGJob] the worker pool's fetcher failed: {e}");
            ShutdownReport::default()
        });
        tracing::info!("[BGJob] worker pool stopped: {report}");
        report
    }
}

struct Fetcher {
    runner: Runner,
    holder: String,
    slots: Arc<Semaphore>,
    notify: Arc<Notify>,
    poll_interval: Duration,
    /// Failed claims in a row: their backoff, and which to log.
    failures: StoreFailures,
    /// Failed look-ups of the next due job in a row, only for which to log (the poll interval is the wait).
    lookup_failures: StoreFailures,
    /// Failed subscriptions to the store's wake-ups in a row: which to log, and when to try again.
    subscribe_failures: StoreFailures,
}

impl Fetcher {
    async fn work(mut self, mut stop: watch::Receiver<bool>, hard_stop: watch::Receiver<bool>) -> ShutdownReport {
        let mut report = ShutdownReport::default();
        let mut running: JoinSet<RunOutcome> = JoinSet::new();
        let notify = Arc::clone(&self.notify);
        let (mut wakeups, mut resubscribe_at) = self.subscribe().await;
        // Where nothing is pushed, a finished attempt is also the pool's cue to look again (jobs other processes
        // enqueued, releases and retries written outside the pool), as often as attempts finish.
        let mut pushed = wakeups.is_push();
        while !stop_asked(&stop) {
            while let Some(done) = running.try_join_next() {
                record(&mut report, done);
            }
            let first = tokio::select! {
                permit = Arc::clone(&self.slots).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                Some(done) = running.join_next(), if !running.is_empty() => {
                    record(&mut report, done);
                    continue;
                }
                () = stopped(&mut stop) => break,
            };
            // Attempts end together (their outcomes share one commit): let the others that just ended hand back
            // their slots before counting the free ones, so one claim fills them all.
            tokio::task::yield_now().await;
            // Registered before looking, so an enqueue between the look and the wait still wakes the pool.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let free = 1 + self.slots.available_permits();
            let jobs = match self.runner.claim(&self.holder, u32::try_from(free).unwrap_or(u32::MAX)).await {
                Ok(jobs) => {
                    if let Some(tries) = self.failures.succeeded() {
                        tracing::info!("[BGJob] claiming works again after {tries} failed tries");
                    }
                    jobs
                }
                Err(e) => {
                    drop(first);
                    self.back_off(&e, &mut stop, &mut running, &mut report).await;
                    continue;
                }
            };
            // Fewer jobs than free slots: nothing else was due, so the pool goes idle at once rather than asking
            // again (a new job wakes it; see the wait below).
            let drained = jobs.len() < free;
            if !jobs.is_empty() {
                let mut permit = Some(first);
                for job in jobs {
                    let slot = match permit.take() {
                        Some(p) => p,
                        None => match Arc::clone(&self.slots).try_acquire_owned() {
                            Ok(p) => p,
                            Err(_) => unreachable!("only the fetcher takes slots, and it asked for this many"),
                        },
                    };
                    let (runner, hard_stop) = (self.runner.clone(), hard_stop.clone());
                    running.spawn(async move {
                        let outcome = runner.run(job, None, hard_stop).await;
                        drop(slot);
                        outcome
                    });
                }
                if !drained {
                    continue;
                }
            } else {
                drop(first);
            }
            if resubscribe_at.is_some_and(|at| Instant::now() >= at) {
                (wakeups, resubscribe_at) = self.subscribe().await;
                pushed = wakeups.is_push();
            }
            let until = Instant::now() + self.idle_wait().await;
            loop {
                tokio::select! {
                    () = &mut notified => break,
                    () = tokio::time::sleep_until(until) => break,
                    () = stopped(&mut stop) => break,
                    Some(done) = running.join_next(), if !running.is_empty() => {
                        // With pushed wake-ups a success makes nothing claimable that the store will not
                        // signal; any other end (a retry wait, a release, a lost lease) may have, so the pool
                        // looks again.
                        if !record(&mut report, done) || !pushed {
                            break;
                        }
                    }
                }
            }
        }
        while let Some(done) = running.join_next().await {
            record(&mut report, done);
        }
        report
    }

    /// Subscribes the pool's notifier to the store's wake-ups. Where the store pushes none the pool polls; where
    /// subscribing fails (logged once per change) it polls too, and the instant to try again comes back with it.
    async fn subscribe(&mut self) -> (Wakeups, Option<Instant>) {
        match self.runner.store.wakeups().subscribe_wakeups(Arc::clone(&self.notify)).await {
            Ok(wakeups) => {
                if let Some(tries) = self.subscribe_failures.succeeded() {
                    tracing::info!("[BGJob] subscribing to job wake-ups works again after {tries} failed tries");
                }
                if wakeups.is_push() {
                    tracing::info!("[BGJob] idle workers wake on the store's job signals");
                }
                (wakeups, None)
            }
            Err(e) => {
                let message = e.to_string();
                let failed = self.subscribe_failures.failed(e.code(), &message, 1.0);
                if failed.news {
                    tracing::warn!(
                        "[BGJob] job wake-ups unavailable ({}), polling every {} ms and subscribing again every {} s: \
                         {message}",
                        e.code(),
                        self.poll_interval.as_millis(),
                        failed.wait.as_secs()
                    );
                }
                (Wakeups::Polling, Some(Instant::now() + failed.wait))
            }
        }
    }

    /// Waits out a failed claim's backoff, logging the failure when it is news. Jobs finishing meanwhile are
    /// recorded, but do not cut the wait short; a stop does.
    async fn back_off(
        &mut self,
        e: &StoreError,
        stop: &mut watch::Receiver<bool>,
        running: &mut JoinSet<RunOutcome>,
        report: &mut ShutdownReport,
    ) {
        let message = e.to_string();
        let failed = self.failures.failed(e.code(), &message, rand::random::<f64>());
        if failed.news {
            tracing::warn!(
                "[BGJob] claiming failed ({}): {message}; backing off up to {} s between tries, logged again when \
                 the error changes or claiming works",
                e.code(),
                self.failures.max_wait().as_secs()
            );
        }
        let until = Instant::now() + failed.wait;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => break,
                () = stopped(stop) => break,
                Some(done) = running.join_next(), if !running.is_empty() => {
                    record(report, done);
                }
            }
        }
    }

    /// Until the next job falls due, at most the poll interval. A failed look-up is logged once per change and
    /// waits the poll interval.
    async fn idle_wait(&mut self) -> Duration {
        let next = self.runner.store.next_due_at().await;
        if let Err(e) = &next {
            if self.lookup_failures.failed(e.code(), &e.to_string(), 0.0).news {
                tracing::warn!("[BGJob] looking up the next due job failed ({}), polling instead: {e}", e.code());
            }
        } else if let Some(tries) = self.lookup_failures.succeeded() {
            tracing::info!("[BGJob] looking up the next due job works again after {tries} failed tries");
        }
        match next {
            Ok(Some(due)) => {
                let until = (due - self.runner.clock.now()).to_std().unwrap_or(Duration::ZERO);
                until.clamp(Duration::from_millis(1), self.poll_interval)
            }
            _ => self.poll_interval,
        }
    }
}

/// Counts a finished attempt; true when it succeeded.
fn record(report: &mut ShutdownReport, done: Result<RunOutcome, tokio::task::JoinError>) -> bool {
    match done {
        Ok(outcome) => {
            report.record(&outcome);
            matches!(outcome, RunOutcome::Succeeded(_))
        }
        Err(e) => {
            tracing::error!("[BGJob] a job task failed: {e}");
            false
        }
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
