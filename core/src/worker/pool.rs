//! A pool of tokio workers: each claims one due job at a time, runs it, and sleeps until woken by an in-process
//! enqueue, the next job falling due, or a modest poll interval (for jobs enqueued by other processes).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::runner::{RunOutcome, Runner};

/// How a pool runs.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// How many jobs run at once.
    pub workers: usize,
    /// The longest an idle worker sleeps before looking again, for jobs other processes enqueue.
    pub poll_interval: Duration,
    /// Prefix of the lease holder names; the process id and a random suffix make each unique.
    pub holder_prefix: String,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            workers: 2,
            poll_interval: Duration::from_secs(1),
            holder_prefix: "pregen".into(),
        }
    }
}

/// What the pool's workers did, reported at shutdown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

    fn merge(&mut self, other: ShutdownReport) {
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.released += other.released;
        self.lease_lost += other.lease_lost;
        self.store_failed += other.store_failed;
    }
}

/// A running pool. Dropping it without [`WorkerPool::shutdown`] aborts its workers; their leases then expire.
#[derive(Debug)]
pub struct WorkerPool {
    stop: watch::Sender<bool>,
    hard_stop: watch::Sender<bool>,
    notify: Arc<Notify>,
    workers: JoinSet<ShutdownReport>,
}

/// A lease holder name unique to this process and call: `prefix:pid:random`.
pub(crate) fn holder_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}:{}:{}", std::process::id(), &id[..8])
}

impl WorkerPool {
    /// Starts `options.workers` workers on the current tokio runtime.
    pub fn start(runner: Runner, options: PoolOptions) -> Self {
        let (stop, stop_rx) = watch::channel(false);
        let (hard_stop, hard_rx) = watch::channel(false);
        let notify = Arc::new(Notify::new());
        let mut workers = JoinSet::new();
        let base = holder_name(&options.holder_prefix);
        for i in 0..options.workers.max(1) {
            let worker = Worker {
                runner: runner.clone(),
                holder: format!("{base}:w{i}"),
                notify: Arc::clone(&notify),
                poll_interval: options.poll_interval,
            };
            workers.spawn(worker.work(stop_rx.clone(), hard_rx.clone()));
        }
        tracing::info!(
            "[BGJob] worker pool started: {} workers as {base}",
            options.workers.max(1)
        );
        Self {
            stop,
            hard_stop,
            notify,
            workers,
        }
    }

    /// Wakes idle workers at once; call after enqueueing in this process.
    pub fn notify(&self) {
        self.notify.notify_waiters();
    }

    /// The notifier idle workers wait on, for enqueuers that do not hold the pool.
    pub fn notifier(&self) -> Arc<Notify> {
        Arc::clone(&self.notify)
    }

    /// Stops claiming, waits up to `grace` for running attempts to finish, then stops the rest and releases their
    /// leases so another process can take them at once.
    pub async fn shutdown(mut self, grace: Duration) -> ShutdownReport {
        let _ = self.stop.send(true);
        let mut report = ShutdownReport::default();
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            match tokio::time::timeout_at(deadline, self.workers.join_next()).await {
                Ok(Some(Ok(worker))) => report.merge(worker),
                Ok(Some(Err(e))) => tracing::error!("[BGJob] a worker task failed: {e}"),
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!("[BGJob] shutdown grace spent; releasing running jobs");
                    let _ = self.hard_stop.send(true);
                    while let Some(joined) = self.workers.join_next().await {
                        match joined {
                            Ok(worker) => report.merge(worker),
                            Err(e) => tracing::error!("[BGJob] a worker task failed: {e}"),
                        }
                    }
                    break;
                }
            }
        }
        tracing::info!("[BGJob] worker pool stopped: {report:?}");
        report
    }
}

struct Worker {
    runner: Runner,
    holder: String,
    notify: Arc<Notify>,
    poll_interval: Duration,
}

impl Worker {
    async fn work(self, mut stop: watch::Receiver<bool>, hard_stop: watch::Receiver<bool>) -> ShutdownReport {
        let mut report = ShutdownReport::default();
        loop {
            if *stop.borrow() {
                return report;
            }
            // Registered before looking, so an enqueue between the look and the wait still wakes this worker.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.runner.claim(&self.holder, 1).await {
                Ok(jobs) if !jobs.is_empty() => {
                    for job in jobs {
                        report.record(&self.runner.run(job, None, hard_stop.clone()).await);
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("[BGJob] claiming failed, will look again: {e}"),
            }
            let wait = self.idle_wait().await;
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Until the next job falls due, at most the poll interval.
    async fn idle_wait(&self) -> Duration {
        match self.runner.store.next_due_at().await {
            Ok(Some(due)) => {
                let until = (due - self.runner.clock.now()).to_std().unwrap_or(Duration::ZERO);
                until.clamp(Duration::from_millis(1), self.poll_interval)
            }
            _ => self.poll_interval,
        }
    }
}
