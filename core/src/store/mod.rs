//! Storage: async traits for exams and user activity, and their backends. Every backend keeps the same
//! semantics: an atomic claim, set-based planning, bounded cleanup and aggregate analytics (see DESIGN.md).

mod bank;
mod checkpoint;
pub mod conformance;
mod error;
mod open;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod types;
mod wake;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use bank::{
    BankAnalytics, BankCleanupReport, BankInsert, BankSource, BankStore, BankTypeAnalytics, BankTypePlan,
    NewBankExam, content_hash,
};
pub use checkpoint::{CheckpointItem, CheckpointStore};
pub use error::StoreError;
pub use open::{DATABASE_URL_ENV, DEFAULT_LOCATION, OpenOptions, PREGEN_DB_ENV, StoreLocation, open, redact};
pub use types::{
    AnalyticsCounts, ClaimedExam, CleanupReport, ExamAnalytics, GenerationStats, GenerationSummary,
    MAX_USER_ID_CHARS, MissingExams, NewExam, TokenTotals, TypeStock, UserExamStats, UserId, UserStatsSummary,
    iso,
};
pub use wake::{JobWakeups, PollingOnly, WakeHandle, Wakeups};

use crate::exam::ExamType;
use crate::policy::Policy;
use crate::queue::{Decision, Job, JobId, JobKey, QueueOptions, QueueStatus, Retention};

/// How many rows one cleanup statement deletes at most, so a large backlog never holds the write lock for long.
pub const DEFAULT_CLEANUP_BATCH: u32 = 1_000;

/// Stored exams: insert, claim, stock, planning, cleanup and analytics.
#[async_trait]
pub trait ExamStore: Send + Sync {
    /// Stores a validated exam and returns its new id.
    async fn insert_exam(&self, exam: NewExam) -> Result<String, StoreError> {
        let mut ids = self.insert_exams(vec![exam]).await?;
        ids.pop().ok_or_else(|| StoreError::Database("insert returned no id".into()))
    }

    /// Stores validated exams in one transaction, all or none, and returns their ids in order.
    async fn insert_exams(&self, exams: Vec<NewExam>) -> Result<Vec<String>, StoreError>;

    /// Atomically takes the newest unused, unexpired exam of (user, type), marks it used at `now` and returns it.
    /// No two callers, in any connection or process, ever receive the same exam.
    async fn claim_exam(
        &self,
        user: &UserId,
        exam_type: ExamType,
        now: DateTime<Utc>,
    ) -> Result<Option<ClaimedExam>, StoreError>;

    /// How many exams of (user, type) count toward the stock target at `now`, counted up to
    /// [`Policy::stock_count_bound`] (the refill check needs no more, and a user with many exams costs no more).
    async fn stock(
        &self,
        user: &UserId,
        exam_type: ExamType,
        now: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<u32, StoreError>;

    /// Every (active user, type) pair below the stock target at `now`, in one set-based query, ordered by user.
    async fn plan_missing(&self, now: DateTime<Utc>, policy: &Policy) -> Result<Vec<MissingExams>, StoreError>;

    /// Deletes expired unused exams and used exams past their retention, at most `batch` rows per statement.
    async fn cleanup(&self, now: DateTime<Utc>, policy: &Policy, batch: u32) -> Result<CleanupReport, StoreError>;

    /// The old analytics figures, by aggregate SQL.
    async fn analytics(&self, now: DateTime<Utc>, policy: &Policy) -> Result<ExamAnalytics, StoreError>;

    /// Counts one get-route claim: served an exam, or found none.
    async fn record_get_outcome(&self, served: bool) -> Result<(), StoreError>;

    /// Token, cost and latency totals of the stored exams, job outcomes, and the get route's hits and misses.
    async fn generation_summary(&self) -> Result<GenerationSummary, StoreError>;

    /// One user's stock per type and activity.
    async fn user_stats(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<UserExamStats, StoreError>;

    /// The backend's shared bank, if it has one; `None` (the default) for a backend without, which then refuses
    /// the `bank` stock when a service opens.
    fn bank(&self) -> Option<&dyn BankStore> {
        None
    }
}

/// When users were last seen, which decides who is active and so who gets exams pre-generated.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Records that `user` was active at `at`; an earlier instant than the one stored changes nothing.
    async fn record_activity(&self, user: &UserId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// How many users were seen at or after `since`.
    async fn count_active_users(&self, since: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// The result of an enqueue: the job holding the key, and whether this call created it (false: an unfinished job
/// for the key already existed and is returned instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    /// The unfinished job for the key.
    pub job: Job,
    /// Whether it was created by this call.
    pub created: bool,
}

/// How many unfinished jobs a status lists at most (the counts always cover every job).
pub const STATUS_JOB_LIMIT: u32 = 200;

/// The durable job queue. At most one unfinished job per (user, type) is enforced by the database; every change to
/// a running job is fenced on its lease holder and attempt, so a worker whose lease was taken over changes nothing.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Enqueues a job for `key` due at `now`, or returns the unfinished job that already holds the key. A new job
    /// copies `max_attempts` and `max_releases` from `options`.
    async fn enqueue(
        &self,
        key: &JobKey,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Enqueued, StoreError>;

    /// Enqueues every key in one write (a sweep's planned pairs); per key as [`JobStore::enqueue`].
    async fn enqueue_many(
        &self,
        keys: &[JobKey],
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Vec<Enqueued>, StoreError>;

    /// Claims the named job for `holder` if it is due and waiting (the synchronous pre-generate route);
    /// `None` when it is running elsewhere, finished, or not yet due. Like every claim path it first settles
    /// what `queue::overdue` finds for the job it meets: a job whose holder was killed is claimable by name as
    /// soon as its lease expired (its abandoned attempt counted), a job past its deadline waits its backoff.
    async fn claim_job(
        &self,
        id: &JobId,
        holder: &str,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Option<Job>, StoreError>;

    /// Records what a sweeper finds at `now` for running jobs whose lease expired or whose deadline passed
    /// (`queue::overdue`), then claims up to `limit` due jobs for `holder` in one statement, oldest due first.
    async fn claim_jobs(
        &self,
        holder: &str,
        limit: u32,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Vec<Job>, StoreError>;

    /// Extends the lease of a running job held by `job.lease.holder` at `job.attempt`, returning the renewed job:
    /// the rule of `queue::heartbeat`, expiry `max(old expiry, now + lease_duration)` (a heartbeat never
    /// shortens a lease). Refused with [`StoreError::LeaseLost`] when the lease was taken over, expired, or the
    /// deadline passed.
    async fn heartbeat_job(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        options: &QueueOptions,
    ) -> Result<Job, StoreError>;

    /// Writes a decision for the running `job`, fenced on its holder and attempt.
    async fn finish_job(&self, job: &Job, decision: &Decision) -> Result<Job, StoreError>;

    /// Stores the job's exam and marks the job succeeded in one transaction, fenced on holder and attempt: never
    /// an exam whose job still looks unfinished, never a second exam from a retried job.
    async fn complete_job_with_exam(
        &self,
        job: &Job,
        exam: NewExam,
        now: DateTime<Utc>,
    ) -> Result<(Job, String), StoreError>;

    /// The same for a bank job: stores the bank exam (deduplicated by content, see [`BankStore`]) and marks the
    /// job succeeded in one transaction, fenced on holder and attempt; returns the exam's id. The default, for a
    /// backend without a bank, refuses with [`StoreError::Unsupported`] and changes nothing.
    async fn complete_job_with_bank_exam(
        &self,
        job: &Job,
        exam: NewBankExam,
        now: DateTime<Utc>,
    ) -> Result<(Job, String), StoreError> {
        let _ = (exam, now);
        Err(StoreError::Unsupported(format!("job {}: this backend has no exam bank", job.id)))
    }

    /// Gives a running job back (graceful shutdown, a spent drain budget), fenced on holder and attempt, by the
    /// rule of `queue::release`: the release is counted; within the job's `max_releases` it becomes pending, due
    /// at once, attempt returned; beyond them the release spends the attempt (retry wait due at once, or dead on
    /// the last attempt, with error `queue.release_limit`). Refused with [`StoreError::LeaseLost`] when another
    /// holder or attempt owns the job.
    async fn release_job(&self, job: &Job, now: DateTime<Utc>) -> Result<Job, StoreError>;

    /// One job by id.
    async fn get_job(&self, id: &JobId) -> Result<Option<Job>, StoreError>;

    /// When the next waiting job becomes due (`None` when nothing waits), so idle workers sleep until then.
    async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Counts per state, the oldest due job's age, and up to `limit` unfinished jobs, oldest due first.
    async fn queue_status(&self, now: DateTime<Utc>, limit: u32) -> Result<QueueStatus, StoreError>;

    /// Cancels every unfinished job that is not running (the old `clearJobQueue`); running ones finish or time
    /// out. Returns how many were cancelled.
    async fn clear_queue(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Deletes finished jobs past their retention, at most `batch` per statement; returns how many.
    async fn cleanup_jobs(&self, now: DateTime<Utc>, retention: &Retention, batch: u32)
    -> Result<u64, StoreError>;

    /// This store's wake-ups (new claimable jobs, a job's end); by default none are pushed and callers poll.
    fn wakeups(&self) -> &dyn JobWakeups {
        &PollingOnly
    }
}

/// A Message Batch in flight: its id at the API, the lease holder its jobs are held by, and the plan (JSON) that
/// maps each result back to its job and slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    /// The API's batch id, `msgbatch_...`.
    pub id: String,
    /// The lease holder of every job in the batch.
    pub holder: String,
    /// The submission plan, as JSON (see `generate::BatchPlan`).
    pub plan: String,
    /// Requests in the batch.
    pub request_count: u32,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
}

/// Batches submitted and not yet collected, so any process can collect them later.
#[async_trait]
pub trait BatchStore: Send + Sync {
    /// Records a submitted batch as open.
    async fn record_batch(&self, batch: &BatchRecord) -> Result<(), StoreError>;

    /// Takes every open batch no other collector holds (or whose hold lapsed at `now`), holding them until
    /// `hold_until`, so two sweeps never collect the same batch at once.
    async fn claim_open_batches(
        &self,
        collector: &str,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
    ) -> Result<Vec<BatchRecord>, StoreError>;

    /// Ends a hold: the batch is collected for good, or open again for a later call.
    async fn release_batch(
        &self,
        id: &str,
        collector: &str,
        collected: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// How many batches are open.
    async fn count_open_batches(&self) -> Result<u64, StoreError>;
}

/// Everything a backend provides, as one trait object for the service: exams, activity, jobs, batches and job
/// checkpoints.
pub trait Store: ExamStore + ActivityStore + JobStore + BatchStore + CheckpointStore {}

impl<T: ExamStore + ActivityStore + JobStore + BatchStore + CheckpointStore> Store for T {}
