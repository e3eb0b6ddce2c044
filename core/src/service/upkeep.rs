//! The queue's status, clearing it, and cleanup outside a sweep: the old `getJobQueueStatus`, `clearJobQueue`
//! and `cleanupExpiredExams`.

use serde::Serialize;

use super::{PreGen, ServiceError};
use crate::queue::QueueStatus;
use crate::store::{CleanupReport, STATUS_JOB_LIMIT};

/// What clearing the queue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueCleared {
    /// Always true when returned.
    pub success: bool,
    /// Jobs cancelled (every job that was not running).
    pub cancelled: u64,
}

/// What a cleanup deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupResult {
    /// Always true when returned.
    pub success: bool,
    /// Exams deleted (expired, and used past their retention).
    pub deleted: u64,
    /// The exams deleted, by reason, and the statements run.
    pub cleanup: CleanupReport,
    /// Finished jobs deleted past their retention.
    pub jobs_deleted: u64,
    /// Retired bank exams deleted once no recent assignment needed them.
    pub bank: crate::store::BankCleanupReport,
}

impl PreGen {
    /// The queue in the old status shape, with counts per state.
    pub async fn queue_status(&self) -> Result<QueueStatus, ServiceError> {
        Ok(self.store.queue_status(self.clock.now(), STATUS_JOB_LIMIT).await?)
    }

    /// Cancels every job not running (the old `clearJobQueue`).
    pub async fn clear_queue(&self) -> Result<QueueCleared, ServiceError> {
        let cancelled = self.store.clear_queue(self.clock.now()).await?;
        tracing::info!("[BGJob] cleared the queue: {cancelled} jobs cancelled");
        Ok(QueueCleared { success: true, cancelled })
    }

    /// Deletes expired exams, used exams past their retention and finished jobs past theirs, in statements of at
    /// most `sweep.cleanup_batch` rows (the old `cleanupExpiredExams`; a sweep does the same as its last step).
    pub async fn cleanup(&self) -> Result<CleanupResult, ServiceError> {
        let now = self.clock.now();
        let batch = self.config.sweep.cleanup_batch;
        let exams = self.store.cleanup(now, &self.config.policy, batch).await?;
        let jobs_deleted = self.store.cleanup_jobs(now, &self.config.queue.retention, batch).await?;
        let bank = self.cleanup_bank(now).await?;
        tracing::info!(
            "[Cron] cleanup deleted {} exams and {jobs_deleted} jobs in {} batches",
            exams.total(),
            exams.batches
        );
        Ok(CleanupResult { success: true, deleted: exams.total(), cleanup: exams, jobs_deleted, bank })
    }
}
