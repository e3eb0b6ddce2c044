//! [`PreGen`]: the service's calls, over a store, an optional generator (none without an API key), a clock and
//! the tokio runtime it was opened on.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::runtime::Handle;
use tokio::sync::watch;

use super::ServiceError;
use super::job_failure::{JobFailure, Recorded};
use crate::api::GetExamBody;
use crate::clock::Clock;
use crate::config::PreGenConfig;
use crate::error::ErrorCode;
use crate::exam::ExamType;
use crate::generate::{GenerateHandler, Generator};
use crate::policy::Policy;
use crate::queue::{JobId, JobKey};
use crate::store::{Store, UserId};
use crate::worker::{HandlerError, JobHandler, RunOutcome, Runner, WorkerPool};

/// The result of a synchronous pre-generate. Serializes as the pre-generate route's 200 body:
/// `{success: true, message: "Valid pre-gen already exists"}` or `{success: true, examId, questionCount}`.
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

/// The message of [`PreGenerated::AlreadyExists`], as the old route said it.
pub const ALREADY_EXISTS: &str = "Valid pre-gen already exists";

impl Serialize for PreGenerated {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        match self {
            PreGenerated::AlreadyExists => {
                let mut body = serializer.serialize_struct("PreGenerated", 2)?;
                body.serialize_field("success", &true)?;
                body.serialize_field("message", ALREADY_EXISTS)?;
                body.end()
            }
            PreGenerated::Generated { exam_id, question_count } => {
                let mut body = serializer.serialize_struct("PreGenerated", 3)?;
                body.serialize_field("success", &true)?;
                body.serialize_field("examId", exam_id)?;
                body.serialize_field("questionCount", question_count)?;
                body.end()
            }
        }
    }
}

/// The pre-generation service. Cheap to share behind an `Arc`; every call is safe to run concurrently, and any
/// number of processes may share one store.
///
/// It keeps the handle of the tokio runtime it was created on, so its synchronous calls that start tasks
/// ([`PreGen::start_workers`]) work from any thread, a JavaScript thread included. Dropping it stops its workers
/// (running jobs are handed back); [`PreGen::shutdown`] does the same and waits for them.
pub struct PreGen {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) generator: Option<Arc<Generator>>,
    pub(crate) config: PreGenConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) runtime: Option<Handle>,
    pub(crate) pool: Mutex<Option<Workers>>,
}

/// A running worker pool and the runtime it runs on.
pub(crate) struct Workers {
    pub(crate) pool: WorkerPool,
    pub(crate) runtime: Handle,
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
    /// "API key not configured", while reads, triggers and cleanup still work). Keeps the current tokio runtime's
    /// handle, if called inside one (see [`PreGen::with_runtime`]). [`PreGen::open`] does all of this from options
    /// and the environment.
    ///
    /// Errors: [`ServiceError::BadRequest`] when the policy or queue options cannot work.
    pub fn new(
        store: Arc<dyn Store>,
        generator: Option<Arc<Generator>>,
        config: PreGenConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServiceError> {
        config.policy.check().map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        config.queue.check().map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        config.bank.check().map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let runtime = Handle::try_current().ok();
        let service = Self { store, generator, config, clock, runtime, pool: Mutex::new(None) };
        service.check_stock()?;
        Ok(service)
    }

    /// The same service, spawning its tasks on `runtime` from now on.
    pub fn with_runtime(mut self, runtime: Handle) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// The handle of the runtime the service spawns its tasks on: the one it was created on, unless
    /// [`PreGen::with_runtime`] named another.
    pub fn runtime(&self) -> Option<&Handle> {
        self.runtime.as_ref()
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

    /// The handler that generates a job's exam and stores it.
    fn handler(&self) -> Result<Arc<dyn JobHandler>, ServiceError> {
        let generator = self.generator.clone().ok_or(ServiceError::ApiKeyMissing)?;
        let exams = Arc::clone(&self.store) as Arc<dyn crate::store::ExamStore>;
        let handler = GenerateHandler::new(generator, exams, self.config.policy, Arc::clone(&self.clock))
            .with_bank(self.config.bank)
            .with_checkpoints(Arc::clone(&self.store) as Arc<dyn crate::store::CheckpointStore>);
        Ok(Arc::new(handler))
    }

    fn runner_with(&self, handler: Arc<dyn JobHandler>) -> Runner {
        let jobs = Arc::clone(&self.store) as Arc<dyn crate::store::JobStore>;
        Runner::new(jobs, handler, self.config.queue, Arc::clone(&self.clock))
    }

    /// The runner that works jobs with the generator.
    pub(crate) fn runner(&self) -> Result<Runner, ServiceError> {
        Ok(self.runner_with(self.handler()?))
    }

    /// Servable exams of (user, type) now: unused and unexpired, however close to expiry.
    async fn servable(&self, user: &UserId, exam_type: ExamType) -> Result<u32, ServiceError> {
        if self.is_bank() {
            return Ok(self.unseen_now(user, exam_type).await?);
        }
        let servable = Policy { renew_before: chrono::TimeDelta::zero(), ..self.config.policy };
        Ok(self.store.stock(user, exam_type, self.clock.now(), &servable).await?)
    }

    /// Generates an exam of `exam_type` for `user` now, unless a servable one exists (the old POST route). Runs
    /// through the queue, so it shares dedupe, fencing and retries with background work; if another worker is
    /// already generating for the key, waits for that job instead of starting a second.
    ///
    /// Errors: [`ServiceError::ApiKeyMissing`]; [`ServiceError::JobFailed`] with the job's own last error code and
    /// retry answer (a wrong key is `claude.authentication`, not retryable); [`ServiceError::JobStillRunning`]
    /// when another worker's job outlasts `wait_for_running`; [`ServiceError::Store`].
    pub async fn pre_generate(&self, user: &UserId, exam_type: ExamType) -> Result<PreGenerated, ServiceError> {
        self.store.record_activity(user, self.clock.now()).await?;
        let handler = Arc::new(Recorded::new(self.handler()?));
        if self.servable(user, exam_type).await? > 0 {
            return Ok(PreGenerated::AlreadyExists);
        }
        let key = if self.is_bank() { JobKey::bank(exam_type, 0) } else { JobKey::new(user.as_str(), exam_type) };
        let job = self.store.enqueue(&key, self.clock.now(), &self.config.queue).await?.job;
        let holder = format!("pre-generate:{}", uuid::Uuid::new_v4().simple());
        tracing::info!("[Pre-Gen] generating a {exam_type} exam for {user} now (job {})", job.id);
        if let Some(claimed) = self.store.claim_job(&job.id, &holder, self.clock.now(), &self.config.queue).await?
        {
            let (_keep, never) = watch::channel(false);
            let runner = self.runner_with(Arc::clone(&handler) as Arc<dyn JobHandler>);
            match runner.run(claimed, None, never).await {
                RunOutcome::Succeeded(Some(exam_id)) => {
                    return Ok(PreGenerated::Generated { exam_id, question_count: self.spec_count(exam_type) });
                }
                RunOutcome::Succeeded(None) => return Ok(PreGenerated::AlreadyExists),
                RunOutcome::Failed(_) => return Err(self.job_failed(&job.id, handler.last_error()).await),
                RunOutcome::StoreFailed(message) => {
                    return Err(ServiceError::JobFailed(JobFailure::not_recorded(&job.id, &message)));
                }
                // Another holder has the job now: wait for it below.
                RunOutcome::LeaseLost | RunOutcome::Released => {}
            }
        }
        // Another worker holds the job (or it waits out a backoff): wait, bounded, for it to end.
        self.wait_for_job_end(&job.id).await
    }

    fn spec_count(&self, exam_type: ExamType) -> usize {
        self.generator.as_ref().map_or(0, |g| g.config().spec(exam_type).item_count as usize)
    }

    /// The failure of job `id`, from its record and the attempt this caller ran.
    async fn job_failed(&self, id: &JobId, attempt: Option<HandlerError>) -> ServiceError {
        let failure = match self.store.get_job(id).await {
            Ok(Some(job)) => JobFailure::of(&job, attempt.as_ref()),
            Ok(None) => JobFailure::unreadable(id, &crate::store::StoreError::NotFound(id.to_string())),
            Err(e) => JobFailure::unreadable(id, &e),
        };
        tracing::debug!(
            "[Pre-Gen] job {id} failed ({}, retryable: {}): {}",
            failure.code,
            failure.retryable,
            failure.message
        );
        ServiceError::JobFailed(failure)
    }

    /// Claims the newest servable exam of (user, type) for the caller (the old GET route): atomic, so no exam is
    /// ever served twice. In bank mode it assigns instead the least-assigned servable bank exam the user never
    /// received (atomic as well: no user receives an exam twice), with the same body.
    ///
    /// Either way the call is a sign of demand: the user is recorded as active and the type is queued (deduped,
    /// without waiting for generation), as a refill after a hit or as the first exam after a miss. Once an exam is
    /// claimed it is returned whatever happens next: the refill, the activity and the hit counters are best
    /// effort, and their failures are logged with their code.
    ///
    /// Errors: only a failed claim ([`ServiceError::Store`]); nothing was taken then.
    pub async fn get_exam(&self, user: &UserId, exam_type: ExamType) -> Result<GetExamBody, ServiceError> {
        let claimed = if self.is_bank() {
            self.assign(user, exam_type).await
        } else {
            self.store.claim_exam(user, exam_type, self.clock.now()).await
        };
        let claim = match claimed {
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
            Ok(job) => tracing::debug!("[Get Pre-Gen] {why} of {exam_type} for {user}: {}", job.status.as_str()),
            Err(e) => {
                tracing::warn!(
                    "[Get Pre-Gen] could not queue the {why} of {exam_type} for {user} ({}): {e}",
                    e.code()
                );
            }
        }
        self.wake_workers();
    }
}
