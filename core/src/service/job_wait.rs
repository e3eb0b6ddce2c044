//! Waiting for another worker's job (the synchronous pre-generate route, when the user's job runs elsewhere):
//! woken by the store's job-end signal where it pushes one (Postgres with LISTEN), looking again every poll
//! interval only as a fallback; polled in short steps where nothing is pushed (SQLite, a transaction pooler).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::job_failure::JobFailure;
use super::{PreGen, PreGenerated, ServiceError};
use crate::error::ErrorCode;
use crate::queue::{JobId, JobState};
use crate::store::Wakeups;

/// How often a waiter looks at the job when the store pushes no job-end signal.
pub(crate) const POLL_STEP: Duration = Duration::from_millis(250);

impl PreGen {
    /// Waits, up to `wait_for_running`, for job `id` to end: [`PreGenerated::AlreadyExists`] when it succeeded
    /// (its exam is in stock), its failure when it died or was cancelled.
    ///
    /// Errors: [`ServiceError::JobFailed`]; [`ServiceError::JobStillRunning`] when the wait runs out;
    /// [`ServiceError::Store`] when the job cannot be read.
    pub(crate) async fn wait_for_job_end(&self, id: &JobId) -> Result<PreGenerated, ServiceError> {
        let ended = Arc::new(Notify::new());
        // Subscribed before the first look, so an end between the look and the wait still wakes the waiter.
        let subscription = match self.store.wakeups().subscribe_job_end(id, Arc::clone(&ended)).await {
            Ok(subscription) => subscription,
            Err(e) => {
                tracing::warn!("[Pre-Gen] job-end signals unavailable ({}), polling job {id}: {e}", e.code());
                Wakeups::Polling
            }
        };
        let step = if subscription.is_push() { self.config.pool.poll_interval.max(POLL_STEP) } else { POLL_STEP };
        let deadline = Instant::now() + self.config.wait_for_running;
        loop {
            match self.store.get_job(id).await? {
                Some(job) if job.state == JobState::Succeeded => return Ok(PreGenerated::AlreadyExists),
                Some(job) if job.is_finished() => return Err(ServiceError::JobFailed(JobFailure::of(&job, None))),
                _ => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ServiceError::JobStillRunning(id.0.clone()));
            }
            tokio::select! {
                () = ended.notified() => {}
                () = tokio::time::sleep(step.min(deadline - now)) => {}
            }
        }
    }
}
