//! The JavaScript class `PreGen`: opened with `PreGen.open(options)`, each method a promise over the core call of
//! the same meaning (named as the old JavaScript functions), plus the worker pool's start and shutdown.

use std::sync::Arc;
use std::time::Duration;

use napi::Env;
use napi::bindgen_prelude::{PromiseRaw, Unknown};
use napi_derive::napi;
use pregen_core::config::PreGenOptions;
use pregen_core::exam::ExamType;
use pregen_core::service::{PreGen as Service, ServiceError, Trigger};
use pregen_core::store::UserId;

use crate::error::Coded;
use crate::settle::{settle, settle_with};

/// The pre-generation service (`pregen_core::service::PreGen`). Create one with `PreGen.open()`; share it for
/// the life of the process (every call is safe to run concurrently).
#[napi]
pub struct PreGen {
    pub(crate) inner: Arc<Service>,
}

/// `userId` and `examType` as the core reads them.
fn user_and_type(user: &str, exam_type: &str) -> Result<(UserId, ExamType), Coded> {
    let user = UserId::parse(user).map_err(ServiceError::from)?;
    let exam_type = exam_type.parse::<ExamType>().map_err(ServiceError::from)?;
    Ok((user, exam_type))
}

/// Milliseconds from JavaScript as a duration; a negative, infinite or NaN number is refused.
fn millis(name: &str, ms: f64) -> Result<Duration, Coded> {
    Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| {
        Coded::of(&ServiceError::BadRequest(format!("{name} must be a finite number >= 0, not {ms}")))
    })
}

#[napi]
impl PreGen {
    /// Opens the service: the store at `database` (a SQLite path or a `postgres://` URL), Claude with
    /// `anthropicApiKey`, and the other settings; each option left unset is read from its environment variable
    /// (`PREGEN_DB`/`DATABASE_URL`, `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, `CRON_SECRET`, `PREGEN_*`), then
    /// defaulted. Rejects with `config.invalid` for an unusable option (a misspelt key included), or the store's
    /// code when it cannot be opened.
    #[napi(ts_args_type = "options?: PreGenOptions | null", ts_return_type = "Promise<PreGen>")]
    pub fn open(env: &Env, options: Option<serde_json::Value>) -> napi::Result<PromiseRaw<'_, PreGen>> {
        crate::logging::init();
        let opened = async move {
            let options = PreGenOptions::from_json(options.unwrap_or_default())?;
            Ok::<_, Coded>(Service::open(options).await?)
        };
        settle_with(env, opened, |_, service| Ok(PreGen { inner: Arc::new(service) }))
    }

    /// Generates an exam of `examType` for `userId` now, unless an unused one exists (the old POST route's work).
    /// Resolves `{success: true, message}` or `{success: true, examId, questionCount}`.
    #[napi(ts_return_type = "Promise<PreGenerated>")]
    pub fn pre_generate_exam<'env>(
        &self,
        env: &'env Env,
        user_id: String,
        exam_type: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move {
            let (user, exam_type) = user_and_type(&user_id, &exam_type)?;
            Ok(service.pre_generate(&user, exam_type).await?)
        })
    }

    /// Claims the newest unused exam of `examType` for `userId` (atomic: never served twice), or says none is
    /// ready; either way the type is queued for the background. Resolves the get route's 200 body.
    #[napi(ts_return_type = "Promise<GetExamBody>")]
    pub fn get_pre_generated_exam<'env>(
        &self,
        env: &'env Env,
        user_id: String,
        exam_type: String,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move {
            let (user, exam_type) = user_and_type(&user_id, &exam_type)?;
            Ok(service.get_exam(&user, exam_type).await?)
        })
    }

    /// Queues background pre-generation for `userId`: both types on a page load, or, given `lastExamType` (the
    /// exam just finished), the type that follows it. Answers without waiting for generation.
    #[napi(ts_return_type = "Promise<TriggerReport>")]
    pub fn trigger_background_pre_generation<'env>(
        &self,
        env: &'env Env,
        user_id: String,
        last_exam_type: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move {
            let user = UserId::parse(&user_id).map_err(ServiceError::from)?;
            let trigger = match last_exam_type {
                Some(done) => Trigger::After(done.parse::<ExamType>().map_err(ServiceError::from)?),
                None => Trigger::Types(ExamType::ALL.to_vec()),
            };
            Ok(service.trigger(&user, trigger).await?)
        })
    }

    /// Deletes expired exams, used exams past their retention and finished jobs past theirs.
    #[napi(ts_return_type = "Promise<CleanupResult>")]
    pub fn cleanup_expired_exams<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move { Ok(service.cleanup().await?) })
    }

    /// The analytics route's figures, without its bearer check.
    #[napi(ts_return_type = "Promise<ServiceAnalytics>")]
    pub fn get_pre_gen_analytics<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move { Ok(service.analytics().await?) })
    }

    /// The queue in the old status shape, with counts per state.
    #[napi(ts_return_type = "Promise<QueueStatus>")]
    pub fn get_job_queue_status<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move { Ok(service.queue_status().await?) })
    }

    /// Cancels every job that is not running.
    #[napi(ts_return_type = "Promise<QueueCleared>")]
    pub fn clear_job_queue<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move { Ok(service.clear_queue().await?) })
    }

    /// Works due jobs for up to `budgetMs` milliseconds (serverless: call it in Next.js `after()`); jobs still
    /// running then are handed back. Rejects with `service.api_key_missing` without a key, or the store's code
    /// when the store refused a claim or an outcome.
    #[napi(ts_return_type = "Promise<DrainReport>")]
    pub fn drain<'env>(&self, env: &'env Env, budget_ms: f64) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move { Ok(service.drain(millis("budgetMs", budget_ms)?).await?) })
    }

    /// Starts the in-process worker pool (long-running servers); again while running does nothing. Throws
    /// `service.api_key_missing` without a key.
    #[napi]
    pub fn start_workers(&self, env: &Env) -> napi::Result<()> {
        self.inner.start_workers().map_err(|e| Coded::of(&e).into_js(env))
    }

    /// Whether the worker pool is running.
    #[napi(getter)]
    pub fn workers_running(&self) -> bool {
        self.inner.workers_running()
    }

    /// Stops the worker pool: no new claims, running attempts get `graceMs` to finish, the rest are handed back
    /// at once for another process. Resolves what the workers did. Call it before the process exits.
    #[napi(ts_return_type = "Promise<ShutdownReport>")]
    pub fn shutdown<'env>(&self, env: &'env Env, grace_ms: f64) -> napi::Result<PromiseRaw<'env, Unknown<'env>>> {
        let service = Arc::clone(&self.inner);
        settle(env, async move { Ok(service.shutdown(millis("graceMs", grace_ms)?).await) })
    }
}
