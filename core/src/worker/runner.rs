//! Running one claimed job: the handler in its own task, raced against the attempt's deadline, lease renewal,
//! and an optional hard stop; then the outcome written back through the store, fenced on the lease.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::time::Instant;

use super::handler::{HandlerOutput, JobContext, JobHandler};
use super::signal::{StoreFailures, stopped};
use crate::clock::Clock;
use crate::error::ErrorCode;
use crate::queue::{Job, JobError, JobId, JobState, Outcome, QueueOptions, decide};
use crate::store::{JobStore, StoreError};

/// The error code of an attempt whose handler panicked.
pub const PANIC_CODE: &str = "worker.panic";

/// How one run of a claimed job ended, from the runner's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The job succeeded (with its exam id when one was stored).
    Succeeded(Option<String>),
    /// The attempt failed; the job now waits for a retry or is dead. Carries the error code.
    Failed(String),
    /// The attempt was stopped from outside (shutdown, a spent budget) and the job handed back, attempt unspent.
    Released,
    /// The lease was lost to another holder; nothing was written.
    LeaseLost,
    /// Writing the outcome failed; the lease will expire and the job be retried.
    StoreFailed(String),
}

/// A short readable form for log lines: `succeeded (exam <id>)`, `failed (claude.overloaded)`, `released`,
/// `lease lost`, `store failed: <error>`.
impl std::fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunOutcome::Succeeded(Some(exam_id)) => write!(f, "succeeded (exam {exam_id})"),
            RunOutcome::Succeeded(None) => f.write_str("succeeded (nothing to store)"),
            RunOutcome::Failed(code) => write!(f, "failed ({code})"),
            RunOutcome::Released => f.write_str("released"),
            RunOutcome::LeaseLost => f.write_str("lease lost"),
            RunOutcome::StoreFailed(error) => write!(f, "store failed: {error}"),
        }
    }
}

/// Everything needed to run claimed jobs: the store, the handler, the queue options and the clock. Shared by the
/// pool's workers and by [`super::drain`].
#[derive(Clone)]
pub struct Runner {
    pub(crate) store: Arc<dyn JobStore>,
    pub(crate) handler: Arc<dyn JobHandler>,
    pub(crate) options: QueueOptions,
    pub(crate) clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").field("options", &self.options).finish_non_exhaustive()
    }
}

/// Converts a wall-clock instant to a tokio instant, measured from the clock's `now`.
fn instant_at(at: DateTime<Utc>, now: DateTime<Utc>) -> Instant {
    Instant::now() + (at - now).to_std().unwrap_or(Duration::ZERO)
}

impl Runner {
    /// A runner over `store` and `handler`.
    pub fn new(
        store: Arc<dyn JobStore>,
        handler: Arc<dyn JobHandler>,
        options: QueueOptions,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { store, handler, options, clock }
    }

    /// The store jobs are claimed from.
    pub fn store(&self) -> &Arc<dyn JobStore> {
        &self.store
    }

    /// The queue options.
    pub fn options(&self) -> &QueueOptions {
        &self.options
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Claims up to `limit` due jobs for `holder`.
    pub async fn claim(&self, holder: &str, limit: u32) -> Result<Vec<Job>, StoreError> {
        self.store.claim_jobs(holder, limit, self.clock.now(), &self.options).await
    }

    /// Runs a claimed job to an outcome. `stop_at` ends the attempt early (a drain budget); `hard_stop` turning
    /// true or closing does too (shutdown past grace, a dropped pool). Either way the job is released: its attempt
    /// unspent, unless the job used up its `max_releases` (see [`crate::queue::release`]).
    pub async fn run(
        &self,
        job: Job,
        stop_at: Option<Instant>,
        mut hard_stop: watch::Receiver<bool>,
    ) -> RunOutcome {
        let holder = job.lease.as_ref().map(|l| l.holder.clone()).unwrap_or_default();
        let now = self.clock.now();
        let deadline = job.deadline.map_or_else(Instant::now, |d| instant_at(d, now));
        let heartbeat = self.options.heartbeat_interval.to_std().unwrap_or(Duration::from_secs(15));
        tracing::debug!("[BGJob] start {} {} (attempt {}/{})", job.id, job.key, job.attempt, job.max_attempts);
        let handler = Arc::clone(&self.handler);
        let ctx = JobContext { holder };
        let mut task = tokio::spawn({
            let job = job.clone();
            async move { handler.handle(job, ctx).await }
        });
        let mut current = job;
        let mut beat = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        // Only for its news: a failing heartbeat is tried again at the next beat, and logged once per change.
        let mut beat_failures = StoreFailures::new(heartbeat, heartbeat);
        let stop_at = stop_at.unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
        let outcome = loop {
            // Biased, in this order: a finished handler wins over its deadline, and the deadline over a heartbeat
            // (which the store refuses once the deadline has passed).
            tokio::select! {
                biased;
                joined = &mut task => break match joined {
                    Ok(Ok(output)) => Ok(output),
                    Ok(Err(failure)) => Err(failure.into_outcome()),
                    Err(e) => {
                        let message = if e.is_panic() { "the job handler panicked" } else { "the job task was cancelled" };
                        tracing::error!("[BGJob] {} {message}", current.id);
                        Err(Outcome::Failed { error: JobError::new(PANIC_CODE, message), retryable: true, retry_after: None })
                    }
                },
                _ = tokio::time::sleep_until(deadline) => {
                    stop_attempt(&mut task, &current.id).await;
                    tracing::warn!("[BGJob] {} timed out on attempt {}", current.id, current.attempt);
                    break Err(Outcome::TimedOut);
                }
                _ = tokio::time::sleep_until(stop_at) => {
                    stop_attempt(&mut task, &current.id).await;
                    return self.release(&current).await;
                }
                // A closed channel (its pool dropped) is a stop too.
                () = stopped(&mut hard_stop) => {
                    stop_attempt(&mut task, &current.id).await;
                    return self.release(&current).await;
                }
                _ = beat.tick() => {
                    match self.store.heartbeat_job(&current, self.clock.now(), &self.options).await {
                        Ok(renewed) => {
                            current = renewed;
                            if let Some(tries) = beat_failures.succeeded() {
                                tracing::info!("[BGJob] heartbeat for {} works again after {tries} failed tries", current.id);
                            }
                        }
                        Err(StoreError::LeaseLost(_)) if Instant::now() >= deadline => {
                            stop_attempt(&mut task, &current.id).await;
                            tracing::warn!("[BGJob] {} timed out on attempt {}", current.id, current.attempt);
                            break Err(Outcome::TimedOut);
                        }
                        Err(StoreError::LeaseLost(why)) => {
                            stop_attempt(&mut task, &current.id).await;
                            tracing::warn!("[BGJob] {} lost its lease, stopping: {why}", current.id);
                            return RunOutcome::LeaseLost;
                        }
                        Err(e) => {
                            if beat_failures.failed(e.code(), &e.to_string(), 0.0).news {
                                tracing::warn!("[BGJob] heartbeat for {} failed ({}), will retry each beat: {e}", current.id, e.code());
                            }
                        }
                    }
                }
            }
        };
        self.record(&current, outcome).await
    }

    async fn release(&self, job: &Job) -> RunOutcome {
        match self.store.release_job(job, self.clock.now()).await {
            Ok(after) if after.state == JobState::Pending => {
                tracing::debug!("[BGJob] released {} ({}) for another worker", job.id, job.key);
                RunOutcome::Released
            }
            Ok(after) => {
                let why = after.last_error.as_ref().map_or_else(String::new, ToString::to_string);
                tracing::warn!(
                    "[BGJob] released {} ({}) once too often, now {}: {why}",
                    job.id,
                    job.key,
                    after.state
                );
                RunOutcome::Released
            }
            Err(StoreError::LeaseLost(_)) => RunOutcome::LeaseLost,
            Err(e) => {
                tracing::error!("[BGJob] could not release {}; its lease will expire instead: {e}", job.id);
                RunOutcome::StoreFailed(e.to_string())
            }
        }
    }

    async fn record(&self, job: &Job, outcome: Result<HandlerOutput, Outcome>) -> RunOutcome {
        let now = self.clock.now();
        let written = match outcome {
            Ok(HandlerOutput::Exam(exam)) => self
                .store
                .complete_job_with_exam(job, *exam, now)
                .await
                .map(|(_, exam_id)| RunOutcome::Succeeded(Some(exam_id))),
            Ok(HandlerOutput::BankExam(exam)) => self
                .store
                .complete_job_with_bank_exam(job, *exam, now)
                .await
                .map(|(_, exam_id)| RunOutcome::Succeeded(Some(exam_id))),
            Ok(HandlerOutput::Nothing) => self.write(job, &Outcome::Succeeded, now).await,
            Err(failure) => self.write(job, &failure, now).await,
        };
        match written {
            Ok(outcome) => {
                tracing::debug!("[BGJob] {} ({}) attempt {}: {outcome}", job.id, job.key, job.attempt);
                outcome
            }
            Err(StoreError::LeaseLost(why)) => {
                tracing::warn!("[BGJob] {} finished after losing its lease; discarded: {why}", job.id);
                RunOutcome::LeaseLost
            }
            Err(e) => {
                tracing::error!("[BGJob] could not record the outcome of {}: {e}", job.id);
                RunOutcome::StoreFailed(e.to_string())
            }
        }
    }

    async fn write(&self, job: &Job, outcome: &Outcome, now: DateTime<Utc>) -> Result<RunOutcome, StoreError> {
        let decision = decide(job, outcome, now, &self.options, rand::random::<f64>())
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        let after = self.store.finish_job(job, &decision).await?;
        Ok(match &after.last_error {
            None => RunOutcome::Succeeded(None),
            Some(e) => RunOutcome::Failed(e.code.clone()),
        })
    }
}

/// How long a stopped attempt's task is waited for after it is cancelled: it ends at its next `.await`, which a
/// well-behaved handler reaches at once; one stuck in blocking code is left behind (and logged).
const STOP_WAIT: Duration = Duration::from_secs(5);

/// Cancels an attempt and waits, up to [`STOP_WAIT`], until its handler future is gone, so a job is written back
/// (released, timed out, lost) once its attempt stopped, and another worker never starts it beside a live one.
async fn stop_attempt<T>(task: &mut tokio::task::JoinHandle<T>, job: &JobId) {
    task.abort();
    if tokio::time::timeout(STOP_WAIT, task).await.is_err() {
        tracing::warn!(
            "[BGJob] {job}: the stopped attempt did not end within {} s (its handler blocks without yielding)",
            STOP_WAIT.as_secs()
        );
    }
}
