//! [`PreGen`]: the service's calls, over a store, an optional generator (none without an API key) and a clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::ServiceError;
use crate::api::GetExamBody;
use crate::clock::Clock;
use crate::config::PreGenConfig;
use crate::error::ErrorCode;
use crate::exam::ExamType;
use crate::generate::{GenerateHandler, Generator};
use crate::policy::Policy;
use crate::queue::{JobKey, JobState, QueueStatus};
use crate::store::{STATUS_JOB_LIMIT, Store, UserId};
use crate::worker::{DrainReport, RunOutcome, Runner, ShutdownReport, WorkerPool, drain};

/// The result of a synchronous pre-generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreGenerated {
    /// A servable exam of that type was already in stock; nothing was generated.
    AlreadyExists,
    /// An exam was generated and stored.
    Generated {
        /// Its id.
        exam_id: String,
        /// How many items it holds.
        question_count: usize,
    },
}

/// What to pre-generate in the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// These types (a page load asks for both).
    Types(Vec<ExamType>),
    /// The type that follows the one just finished: a practice exam after a diagnostic, and the reverse.
    After(ExamType),
}

/// One exam type's fate in a trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggeredJob {
    /// The type.
    pub exam_type: ExamType,
    /// `queued` (a new job), `already_queued` (an unfinished job held the key) or `stocked` (nothing missing).
    pub status: &'static str,
    /// The job, when one is queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// What a trigger did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerReport {
    /// Always true when returned.
    pub success: bool,
    /// Per type.
    pub jobs: Vec<TriggeredJob>,
}

/// The pre-generation service. Cheap to share behind an `Arc`; every call is safe to run concurrently, and any
/// number of processes may share one store.
pub struct PreGen {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) generator: Option<Arc<Generator>>,
    pub(crate) config: PreGenConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pool: Mutex<Option<WorkerPool>>,
}

impl std::fmt::Debug for PreGen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreGen")
            .field("generator", &self.generator.is_some())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PreGen {
    /// A service over `store`; `generator` is `None` when no API key is configured (generation then fails with
    /// "API key not configured", while reads, triggers and cleanup still work).
    pub fn new(
        store: Arc<dyn Store>,
        generator: Option<Arc<Generator>>,
        config: PreGenConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServiceError> {
        config.policy.check().map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        config.queue.check().map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        Ok(Self { store, generator, config, clock, pool: Mutex::new(None) })
    }

    /// The configuration.
    pub fn config(&self) -> &PreGenConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The generator, if an API key is configured.
    pub fn generator(&self) -> Option<&Arc<Generator>> {
        self.generator.as_ref()
    }

    /// The runner that works jobs with the generator.
    pub(crate) fn runner(&self) -> Result<Runner, ServiceError> {
        let generator = self.generator.clone().ok_or(ServiceError::ApiKeyMissing)?;
        let exams = Arc::clone(&self.store) as Arc<dyn crate::store::ExamStore>;
        let handler = GenerateHandler::new(generator, exams, self.config.policy, Arc::clone(&self.clock))
            .with_checkpoints(Arc::clone(&self.store) as Arc<dyn crate::store::CheckpointStore>);
        let jobs = Arc::clone(&self.store) as Arc<dyn crate::store::JobStore>;
        Ok(Runner::new(jobs, Arc::new(handler), self.config.queue, Arc::clone(&self.clock)))
    }

    /// Servable exams of (user, type) now: unused and unexpired, however close to expiry.
    async fn servable(&self, user: &UserId, exam_type: ExamType) -> Result<u32, ServiceError> {
        let servable = Policy { renew_before: chrono::TimeDelta::zero(), ..self.config.policy };
        Ok(self.store.stock(user, exam_type, self.clock.now(), &servable).await?)
    }

    /// Generates an exam of `exam_type` for `user` now, unless a servable one exists (the old POST route). Runs
    /// through the queue, so it shares dedupe, fencing and retries with background work; if another worker is
    /// already generating for the key, waits for that job instead of starting a second.
    pub async fn pre_generate(&self, user: &UserId, exam_type: ExamType) -> Result<PreGenerated, ServiceError> {
        self.store.record_activity(user, self.clock.now()).await?;
        let runner = self.runner()?;
        if self.servable(user, exam_type).await? > 0 {
            return Ok(PreGenerated::AlreadyExists);
        }
        let key = JobKey::new(user.as_str(), exam_type);
        let job = self.store.enqueue(&key, self.clock.now(), &self.config.queue).await?.job;
        let holder = format!("pre-generate:{}", uuid::Uuid::new_v4().simple());
        tracing::info!("[Pre-Gen] generating a {exam_type} exam for {user} now (job {})", job.id);
        if let Some(claimed) = self.store.claim_job(&job.id, &holder, self.clock.now(), &self.config.queue).await?
        {
            let (_keep, never) = watch::channel(false);
            return match runner.run(claimed, None, never).await {
                RunOutcome::Succeeded(Some(exam_id)) => {
                    Ok(PreGenerated::Generated { exam_id, question_count: self.spec_count(exam_type) })
                }
                RunOutcome::Succeeded(None) => Ok(PreGenerated::AlreadyExists),
                _ => Err(ServiceError::JobFailed(self.last_error(&job.id).await)),
            };
        }
        // Another worker holds the job (or it waits out a backoff): wait, bounded, for it to finish.
        let deadline = tokio::time::Instant::now() + self.config.wait_for_running;
        while tokio::time::Instant::now() < deadline {
            match self.store.get_job(&job.id).await? {
                Some(j) if j.state == JobState::Succeeded => return Ok(PreGenerated::AlreadyExists),
                Some(j) if j.is_finished() => return Err(ServiceError::JobFailed(self.last_error(&job.id).await)),
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
        Err(ServiceError::JobFailed(format!("job {} is still running elsewhere", job.id)))
    }

    fn spec_count(&self, exam_type: ExamType) -> usize {
        self.generator.as_ref().map_or(0, |g| g.config().spec(exam_type).item_count as usize)
    }

    async fn last_error(&self, id: &crate::queue::JobId) -> String {
        match self.store.get_job(id).await {
            Ok(Some(job)) => job.last_error.map_or_else(|| format!("job {id} did not finish"), |e| e.to_string()),
            _ => format!("job {id} did not finish"),
        }
    }

    /// Claims the newest servable exam of (user, type) for the caller (the old GET route): atomic, so no exam is
    /// ever served twice.
    ///
    /// Either way the call is a sign of demand: the user is recorded as active and the type is queued (deduped,
    /// without waiting for generation), as a refill after a hit or as the first exam after a miss. Once an exam is
    /// claimed it is returned whatever happens next: the refill, the activity and the hit counters are best
    /// effort, and their failures are logged with their code.
    ///
    /// Errors: only a failed claim ([`ServiceError::Store`]); nothing was taken then.
    pub async fn get_exam(&self, user: &UserId, exam_type: ExamType) -> Result<GetExamBody, ServiceError> {
        let claim = match self.store.claim_exam(user, exam_type, self.clock.now()).await {
            Ok(claim) => claim,
            Err(e) => {
                tracing::error!("[Get Pre-Gen] claiming a {exam_type} exam for {user} failed ({}): {e}", e.code());
                return Err(e.into());
            }
        };
        match &claim {
            Some(exam) => tracing::info!("[Get Pre-Gen] served {exam_type} exam {} to {user}", exam.id),
            None => tracing::info!("[Get Pre-Gen] no pre-generated {exam_type} exam for {user}; queueing one"),
        }
        self.after_get(user, exam_type, claim.is_some()).await;
        Ok(GetExamBody::from_claim(claim))
    }

    /// What follows a get, each part best effort and all at once (the store's writer commits them together):
    /// count the hit or miss, record the user as active, queue the type.
    async fn after_get(&self, user: &UserId, exam_type: ExamType, served: bool) {
        let now = self.clock.now();
        let why = if served { "refill" } else { "first exam" };
        let (counted, active, queued) = tokio::join!(
            self.store.record_get_outcome(served),
            self.store.record_activity(user, now),
            self.queue_missing(user, exam_type, now),
        );
        if let Err(e) = counted {
            tracing::warn!("[Get Pre-Gen] could not count a get of {exam_type} for {user} ({}): {e}", e.code());
        }
        if let Err(e) = active {
            tracing::warn!("[Get Pre-Gen] could not record {user} as active ({}): {e}", e.code());
        }
        match queued {
            Ok(job) => tracing::debug!("[Get Pre-Gen] {why} of {exam_type} for {user}: {}", job.status),
            Err(e) => {
                tracing::warn!(
                    "[Get Pre-Gen] could not queue the {why} of {exam_type} for {user} ({}): {e}",
                    e.code()
                );
            }
        }
        self.wake_workers();
    }

    /// Records that `user` is active and queues what is missing for `trigger`, without waiting for generation.
    /// Idle in-process workers are woken.
    pub async fn trigger(&self, user: &UserId, trigger: Trigger) -> Result<TriggerReport, ServiceError> {
        let now = self.clock.now();
        self.store.record_activity(user, now).await?;
        let types = match trigger {
            Trigger::Types(types) => types,
            Trigger::After(done) => vec![done.next()],
        };
        let mut jobs = Vec::with_capacity(types.len());
        for exam_type in types {
            jobs.push(self.queue_missing(user, exam_type, now).await?);
        }
        self.wake_workers();
        Ok(TriggerReport { success: true, jobs })
    }

    /// Queues a job for (user, type) unless its stock is full; an unfinished job for the key is reused.
    async fn queue_missing(
        &self,
        user: &UserId,
        exam_type: ExamType,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<TriggeredJob, ServiceError> {
        let stock = self.store.stock(user, exam_type, now, &self.config.policy).await?;
        if self.config.policy.missing(stock) == 0 {
            return Ok(TriggeredJob { exam_type, status: "stocked", job_id: None });
        }
        let enqueued = self.store.enqueue(&JobKey::new(user.as_str(), exam_type), now, &self.config.queue).await?;
        let status = if enqueued.created { "queued" } else { "already_queued" };
        tracing::debug!("[BGJob] {status} {exam_type} for {user} (job {})", enqueued.job.id);
        Ok(TriggeredJob { exam_type, status, job_id: Some(enqueued.job.id.0) })
    }

    /// The queue in the old status shape, with counts per state.
    pub async fn queue_status(&self) -> Result<QueueStatus, ServiceError> {
        Ok(self.store.queue_status(self.clock.now(), STATUS_JOB_LIMIT).await?)
    }

    /// Cancels every job not running (the old `clearJobQueue`); returns how many.
    pub async fn clear_queue(&self) -> Result<u64, ServiceError> {
        let cancelled = self.store.clear_queue(self.clock.now()).await?;
        tracing::info!("[BGJob] cleared the queue: {cancelled} jobs cancelled");
        Ok(cancelled)
    }

    /// Works due jobs for up to `budget` (the serverless path, e.g. in Next.js `after()`).
    ///
    /// Errors: [`ServiceError::ApiKeyMissing`] without a generator; [`ServiceError::DrainFailed`], with the full
    /// report, when the store refused a claim or could not record an outcome.
    pub async fn drain(&self, budget: Duration) -> Result<DrainReport, ServiceError> {
        let runner = self.runner()?;
        let report = drain(&runner, budget, self.config.sweep.concurrency, &self.config.pool.holder_prefix).await;
        if report.is_ok() { Ok(report) } else { Err(ServiceError::DrainFailed(Box::new(report))) }
    }

    /// Starts the in-process worker pool (long-running servers). Calling it again while running does nothing.
    pub fn start_workers(&self) -> Result<(), ServiceError> {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.is_none() {
            *pool = Some(WorkerPool::start(self.runner()?, self.config.pool.clone()));
        }
        Ok(())
    }

    fn wake_workers(&self) {
        if let Some(pool) = self.pool.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            pool.notify();
        }
    }

    /// Stops the worker pool, if running: no new claims, running attempts get `grace` to finish, the rest are
    /// handed back for another process.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownReport {
        let pool = self.pool.lock().unwrap_or_else(|e| e.into_inner()).take();
        match pool {
            Some(pool) => pool.shutdown(grace).await,
            None => ShutdownReport::default(),
        }
    }
}
