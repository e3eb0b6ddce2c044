//! A store whose chosen operations fail as a full disk would, delegating everything else to a real SQLite
//! store: the way to prove that a failing write is reported, and that it loses nothing.

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pregen_core::exam::ExamType;
use pregen_core::policy::Policy;
use pregen_core::queue::{Decision, Job, JobId, JobKey, QueueOptions, QueueStatus, Retention};
use pregen_core::store::sqlite::SqliteStore;
use pregen_core::store::{
    ActivityStore, BatchRecord, BatchStore, CheckpointItem, CheckpointStore, ClaimedExam, CleanupReport, Enqueued,
    ExamAnalytics, ExamStore, GenerationSummary, JobStore, MissingExams, NewExam, StoreError, UserExamStats,
    UserId,
};

/// The message of every injected failure.
pub(crate) const DISK_FULL: &str = "database or disk is full (injected)";

/// A [`SqliteStore`] whose named operations (the trait method names) fail with [`StoreError::Database`].
pub(crate) struct FailingStore {
    inner: SqliteStore,
    failing: Mutex<HashSet<&'static str>>,
}

impl FailingStore {
    /// Wraps `inner`; nothing fails until [`FailingStore::fail`].
    pub(crate) fn new(inner: SqliteStore) -> Self {
        Self { inner, failing: Mutex::new(HashSet::new()) }
    }

    /// From now on, these operations fail.
    pub(crate) fn fail(&self, operations: &[&'static str]) {
        self.failing.lock().unwrap().extend(operations);
    }

    fn check(&self, operation: &'static str) -> Result<(), StoreError> {
        if self.failing.lock().unwrap().contains(operation) {
            return Err(StoreError::Database(DISK_FULL.into()));
        }
        Ok(())
    }
}

#[async_trait]
impl ExamStore for FailingStore {
    async fn insert_exams(&self, exams: Vec<NewExam>) -> Result<Vec<String>, StoreError> {
        self.check("insert_exams")?;
        self.inner.insert_exams(exams).await
    }
    async fn claim_exam(
        &self,
        user: &UserId,
        exam_type: ExamType,
        now: DateTime<Utc>,
    ) -> Result<Option<ClaimedExam>, StoreError> {
        self.check("claim_exam")?;
        self.inner.claim_exam(user, exam_type, now).await
    }
    async fn stock(
        &self,
        user: &UserId,
        exam_type: ExamType,
        now: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<u32, StoreError> {
        self.check("stock")?;
        self.inner.stock(user, exam_type, now, policy).await
    }
    async fn plan_missing(&self, now: DateTime<Utc>, policy: &Policy) -> Result<Vec<MissingExams>, StoreError> {
        self.check("plan_missing")?;
        self.inner.plan_missing(now, policy).await
    }
    async fn cleanup(&self, now: DateTime<Utc>, policy: &Policy, batch: u32) -> Result<CleanupReport, StoreError> {
        self.check("cleanup")?;
        self.inner.cleanup(now, policy, batch).await
    }
    async fn analytics(&self, now: DateTime<Utc>, policy: &Policy) -> Result<ExamAnalytics, StoreError> {
        self.check("analytics")?;
        self.inner.analytics(now, policy).await
    }
    async fn record_get_outcome(&self, served: bool) -> Result<(), StoreError> {
        self.check("record_get_outcome")?;
        self.inner.record_get_outcome(served).await
    }
    async fn generation_summary(&self) -> Result<GenerationSummary, StoreError> {
        self.check("generation_summary")?;
        self.inner.generation_summary().await
    }
    async fn user_stats(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<UserExamStats, StoreError> {
        self.check("user_stats")?;
        self.inner.user_stats(user, now, policy).await
    }
}

#[async_trait]
impl ActivityStore for FailingStore {
    async fn record_activity(&self, user: &UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.check("record_activity")?;
        self.inner.record_activity(user, at).await
    }
    async fn count_active_users(&self, since: DateTime<Utc>) -> Result<u64, StoreError> {
        self.check("count_active_users")?;
        self.inner.count_active_users(since).await
    }
}

#[async_trait]
impl JobStore for FailingStore {
    async fn enqueue(
        &self,
        key: &JobKey,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Enqueued, StoreError> {
        self.check("enqueue")?;
        self.inner.enqueue(key, now, options).await
    }
    async fn enqueue_many(
        &self,
        keys: &[JobKey],
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Vec<Enqueued>, StoreError> {
        self.check("enqueue_many")?;
        self.inner.enqueue_many(keys, now, options).await
    }
    async fn claim_job(
        &self,
        id: &JobId,
        holder: &str,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Option<Job>, StoreError> {
        self.check("claim_job")?;
        self.inner.claim_job(id, holder, now, options).await
    }
    async fn claim_jobs(
        &self,
        holder: &str,
        limit: u32,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Vec<Job>, StoreError> {
        self.check("claim_jobs")?;
        self.inner.claim_jobs(holder, limit, now, options).await
    }
    async fn heartbeat_job(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Job, StoreError> {
        self.check("heartbeat_job")?;
        self.inner.heartbeat_job(job, now, options).await
    }
    async fn finish_job(&self, job: &Job, decision: &Decision) -> Result<Job, StoreError> {
        self.check("finish_job")?;
        self.inner.finish_job(job, decision).await
    }
    async fn complete_job_with_exam(
        &self,
        job: &Job,
        exam: NewExam,
        now: DateTime<Utc>,
    ) -> Result<(Job, String), StoreError> {
        self.check("complete_job_with_exam")?;
        self.inner.complete_job_with_exam(job, exam, now).await
    }
    async fn release_job(&self, job: &Job, now: DateTime<Utc>) -> Result<Job, StoreError> {
        self.check("release_job")?;
        self.inner.release_job(job, now).await
    }
    async fn get_job(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        self.check("get_job")?;
        self.inner.get_job(id).await
    }
    async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.check("next_due_at")?;
        self.inner.next_due_at().await
    }
    async fn queue_status(&self, now: DateTime<Utc>, limit: u32) -> Result<QueueStatus, StoreError> {
        self.check("queue_status")?;
        self.inner.queue_status(now, limit).await
    }
    async fn clear_queue(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.check("clear_queue")?;
        self.inner.clear_queue(now).await
    }
    async fn cleanup_jobs(
        &self,
        now: DateTime<Utc>,
        retention: &Retention,
        batch: u32,
    ) -> Result<u64, StoreError> {
        self.check("cleanup_jobs")?;
        self.inner.cleanup_jobs(now, retention, batch).await
    }
}

#[async_trait]
impl BatchStore for FailingStore {
    async fn record_batch(&self, batch: &BatchRecord) -> Result<(), StoreError> {
        self.check("record_batch")?;
        self.inner.record_batch(batch).await
    }
    async fn claim_open_batches(
        &self,
        collector: &str,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
    ) -> Result<Vec<BatchRecord>, StoreError> {
        self.check("claim_open_batches")?;
        self.inner.claim_open_batches(collector, now, hold_until).await
    }
    async fn release_batch(
        &self,
        id: &str,
        collector: &str,
        collected: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.check("release_batch")?;
        self.inner.release_batch(id, collector, collected, now).await
    }
    async fn count_open_batches(&self) -> Result<u64, StoreError> {
        self.check("count_open_batches")?;
        self.inner.count_open_batches().await
    }
}

#[async_trait]
impl CheckpointStore for FailingStore {
    async fn save_checkpoint(
        &self,
        job: &Job,
        items: &[CheckpointItem],
        dropped: &[u32],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.check("save_checkpoint")?;
        self.inner.save_checkpoint(job, items, dropped, now).await
    }
    async fn load_checkpoint(&self, id: &JobId) -> Result<Vec<CheckpointItem>, StoreError> {
        self.check("load_checkpoint")?;
        self.inner.load_checkpoint(id).await
    }
}
