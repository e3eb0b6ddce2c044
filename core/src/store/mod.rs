//! Storage: async traits for exams and user activity, and their backends. Every backend keeps the same
//! semantics: an atomic claim, set-based planning, bounded cleanup and aggregate analytics (see DESIGN.md).

mod error;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod types;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use error::StoreError;
pub use types::{
    AnalyticsCounts, ClaimedExam, CleanupReport, ExamAnalytics, MAX_USER_ID_CHARS, MissingExams, NewExam,
    TypeStock, UserExamStats, UserId, UserStatsSummary, iso,
};

use crate::exam::ExamType;
use crate::policy::Policy;

/// How many rows one cleanup statement deletes at most, so a large backlog never holds the write lock for long.
pub const DEFAULT_CLEANUP_BATCH: u32 = 1_000;

/// Stored exams: insert, claim, stock, planning, cleanup and analytics.
#[async_trait]
pub trait ExamStore: Send + Sync {
    /// Stores a validated exam and returns its new id.
    async fn insert_exam(&self, exam: NewExam) -> Result<String, StoreError> {
        let mut ids = self.insert_exams(vec![exam]).await?;
        ids.pop()
            .ok_or_else(|| StoreError::Database("insert returned no id".into()))
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

    /// How many exams of (user, type) count toward the stock target at `now`.
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

    /// One user's stock per type and activity.
    async fn user_stats(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<UserExamStats, StoreError>;
}

/// When users were last seen, which decides who is active and so who gets exams pre-generated.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Records that `user` was active at `at`; an earlier instant than the one stored changes nothing.
    async fn record_activity(&self, user: &UserId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// How many users were seen at or after `since`.
    async fn count_active_users(&self, since: DateTime<Utc>) -> Result<u64, StoreError>;
}
